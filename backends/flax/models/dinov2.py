"""DINOv2 in Flax, with transformers' Flax parameter tree (see autoload/backends/torch/models/dinov2.py)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.dinov2 import Dinov2Config

from ..blocks.norms import LayerNorm
from ..blocks.vision import (
    CLIPMLP,
    DropPath,
    FlaxVisionPreTrainedModel,
    LayerScale,
    SwiGLUMLP,
    ViTAttention,
    ViTEmbeddings,
    ViTEncoder,
    ViTLayerCollection,
    ViTModule,
    tokens_to_map,
)
from ..heads import FlaxImageClassificationModel


class FlaxDinov2Layer(nn.Module):
    config: Any
    index: int = 0
    window: tuple | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, deterministic=True, head_mask=None, **kwargs):
        c = self.config
        drop = DropPath(c.drop_path_rates[self.index])
        norm1 = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="norm1")
        attended, probs = ViTAttention(c, dtype=self.dtype, name="attention")(norm1(hidden), deterministic,
                                                                              head_mask=head_mask)  # fmt: skip
        hidden = drop(LayerScale(c.hidden_size, c.layerscale_value, name="layer_scale1")(attended), deterministic) + hidden
        mlp = (SwiGLUMLP(c, c.mlp_width, name="mlp") if c.use_swiglu_ffn else CLIPMLP(c, c.mlp_width, name="mlp"))
        x = mlp(LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="norm2")(hidden))
        return drop(LayerScale(c.hidden_size, c.layerscale_value, name="layer_scale2")(x), deterministic) + hidden, probs


class FlaxDinov2LayerCollection(ViTLayerCollection):
    layer_class = FlaxDinov2Layer


class FlaxDinov2Encoder(ViTEncoder):
    collection_class = FlaxDinov2LayerCollection


class FlaxDinov2Module(ViTModule):
    """The pooled output is the (normalised) class token; the mask token comes from the config."""

    encoder_class = FlaxDinov2Encoder
    ignores_mask_without_token = True

    def has_mask_token(self) -> bool:
        return bool(self.config.use_mask_token)

    def pool(self, hidden):
        return hidden[:, 0]


class FlaxDinov2BackboneModule(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        hidden, grid = ViTEmbeddings(c, c.use_mask_token, self.dtype, name="embeddings")(pixel_values,
                                                                                        deterministic=deterministic)  # fmt: skip
        _, states, attentions = FlaxDinov2Encoder(c, None, self.dtype, name="encoder")(
            hidden, None, output_attentions, True, grid, False, deterministic)
        norm = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="layernorm")
        maps = []
        for stage, state in zip(c.stage_names, states):
            if stage in c.out_features:
                state = norm(state) if c.apply_layernorm else state
                maps.append(tokens_to_map(state[:, 1:], *grid) if c.reshape_hidden_states else state)
        result = out.BackboneOutput(feature_maps=tuple(maps), hidden_states=states if output_hidden_states else None,
                                    attentions=attentions)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxDinov2PreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = Dinov2Config
    base_model_prefix = "dinov2"
    base_module = FlaxDinov2Module


class FlaxDinov2Model(FlaxDinov2PreTrainedModel):
    module_class = FlaxDinov2Module


class FlaxDinov2ForImageClassification(FlaxImageClassificationModel, FlaxDinov2PreTrainedModel):
    pass


class FlaxDinov2Backbone(FlaxDinov2PreTrainedModel):
    module_class = FlaxDinov2BackboneModule
