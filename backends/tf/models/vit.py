"""ViT in TensorFlow (Keras 3) on the vision blocks, named like transformers' TF ViT. Images are channels-first
in and out."""

from __future__ import annotations

import math

from autoload import outputs as out
from autoload.models.vit import ViTConfig

from ..blocks.vision import (
    PixelDecoder,
    TFVisionBaseModel,
    TFVisionPreTrainedModel,
    TFViTMainLayer,
    check_mim_stride,
    masked_image_loss,
    tokens_to_map,
)
from ..heads import TFImageClassificationModel, TFMainLayerModel


class TFViTPreTrainedModel(TFVisionPreTrainedModel):
    config_class = ViTConfig
    base_model_prefix = "vit"
    main_layer_class = TFViTMainLayer


class TFViTModel(TFVisionBaseModel, TFViTPreTrainedModel):
    pass


class TFViTForImageClassification(TFImageClassificationModel, TFViTPreTrainedModel):
    pass


class TFViTForMaskedImageModeling(TFMainLayerModel, TFViTPreTrainedModel):
    """SimMIM: reconstruct the pixels of masked patches with a 1x1 conv (`decoder/0`) and a pixel shuffle."""

    main_layer_kwargs = {"add_pooling_layer": False, "use_mask_token": True}
    patch_tokens = slice(1, None)  # DeiT's slice differs, see there
    check_stride = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.decoder = PixelDecoder(config, config.encoder_stride, config.num_channels, config.hidden_size,
                                    name="decoder")  # fmt: skip

    def input_sizes(self):
        return {**super().input_sizes(), self.decoder: None}

    def call(self, pixel_values=None, bool_masked_pos=None, training=False, return_dict=True, **kwargs):
        if self.check_stride:
            check_mim_stride(self.config, bool_masked_pos)
        encoded = self.encode(pixel_values, training, bool_masked_pos=bool_masked_pos, **kwargs)
        patches = encoded.last_hidden_state[:, self.patch_tokens]
        side = math.floor(patches.shape[1] ** 0.5)
        reconstruction = self.decoder(tokens_to_map(patches, side, side))
        loss = None
        if bool_masked_pos is not None:
            loss = masked_image_loss(pixel_values, reconstruction, bool_masked_pos, self.config)
        result = out.from_encoded(out.MaskedImageModelingOutput, encoded, loss=loss, reconstruction=reconstruction)
        return out.finish(result, return_dict)
