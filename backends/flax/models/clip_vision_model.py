"""FlaxCLIPVisionModel: CLIP's image tower alone, with transformers' Flax parameter tree (`vision_model/…`)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload.models.clip import CLIPVisionConfig

from ..modeling import FlaxPreTrainedModel
from .clip import FlaxCLIPVisionTransformer


class FlaxCLIPVisionModule(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    def setup(self):
        self.vision_model = FlaxCLIPVisionTransformer(self.config, dtype=self.dtype)

    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        return self.vision_model(pixel_values, deterministic, output_attentions=output_attentions,
                                 output_hidden_states=output_hidden_states,
                                 interpolate_pos_encoding=bool(interpolate_pos_encoding), return_dict=return_dict)  # fmt: skip


class FlaxCLIPVisionModel(FlaxPreTrainedModel):
    config_class = CLIPVisionConfig
    module_class = FlaxCLIPVisionModule
    base_model_prefix = "clip"
    main_input_name = "pixel_values"

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"pixel_values": jnp.zeros((1, c.num_channels, c.image_size, c.image_size), jnp.float32)}

    def __call__(self, pixel_values=None, **kwargs):
        return super().__call__(jnp.asarray(pixel_values), **kwargs)
