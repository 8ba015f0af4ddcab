"""ViT in Flax on the vision blocks, with transformers' Flax parameter tree. Inputs and outputs are
channels-first like the PyTorch model; convolutions run channels-last inside."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.vit import ViTConfig

from ..blocks.vision import (
    FlaxVisionPreTrainedModel,
    PixelDecoder,
    ViTModule,
    check_mim_stride,
    masked_image_loss,
    tokens_to_map,
)
from ..heads import FlaxImageClassificationModel


class FlaxViTModule(ViTModule):
    pass


class FlaxViTForMaskedImageModelingModule(nn.Module):
    """SimMIM: reconstruct the pixels of masked patches with a 1x1 conv (`decoder/0`) and a pixel shuffle."""

    config: Any
    dtype: Any = jnp.float32
    base_module = FlaxViTModule
    prefix = "vit"
    patch_tokens = slice(1, None)  # DeiT's slice differs, see there
    check_stride = True

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, return_dict=True, **kwargs):
        c = self.config
        if self.check_stride:
            check_mim_stride(c, bool_masked_pos)
        base = self.base_module(c, self.dtype, add_pooling_layer=False, use_mask_token=True, name=self.prefix)
        encoded = base(pixel_values, bool_masked_pos, **kwargs)
        patches = encoded.last_hidden_state[:, self.patch_tokens]
        side = math.floor(patches.shape[1] ** 0.5)
        decoder = PixelDecoder(c.encoder_stride, c.num_channels, self.dtype, name="decoder")
        reconstruction = decoder(tokens_to_map(patches, side, side))
        loss = None
        if bool_masked_pos is not None:
            loss = masked_image_loss(pixel_values, reconstruction, bool_masked_pos, c)
        result = out.from_encoded(out.MaskedImageModelingOutput, encoded, loss=loss, reconstruction=reconstruction)
        return out.finish(result, return_dict)


class FlaxViTPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = ViTConfig
    base_model_prefix = "vit"
    base_module = FlaxViTModule


class FlaxViTModel(FlaxViTPreTrainedModel):
    module_class = FlaxViTModule


class FlaxViTForImageClassification(FlaxImageClassificationModel, FlaxViTPreTrainedModel):
    pass


class FlaxViTForMaskedImageModeling(FlaxViTPreTrainedModel):
    module_class = FlaxViTForMaskedImageModelingModule
