"""ViT in PyTorch on the vision blocks: patch embeddings, a pre-norm transformer encoder, and the heads."""

from __future__ import annotations

import math

from torch import nn

from autoload import outputs as out
from autoload.models.vit import ViTConfig

from ..blocks.vision import (
    PixelDecoder,
    ViTEmbeddings,
    ViTEncoder,
    ViTPooler,
    check_mim_stride,
    masked_image_loss,
)
from ..heads import ImageClassificationModel
from ..modeling import PreTrainedModel


class ViTPreTrainedModel(PreTrainedModel):
    config_class = ViTConfig
    base_model_prefix = "vit"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.trunc_normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, ViTEmbeddings):
            for name in ("position_embeddings", *module.layout.tokens):
                if getattr(module, name, None) is not None:
                    nn.init.trunc_normal_(getattr(module, name), std=std)
            if module.mask_token is not None:
                nn.init.zeros_(module.mask_token)


class ViTModel(ViTPreTrainedModel):
    """Embeddings, encoder, final LayerNorm and (optionally) the pooler. DeiT, BEiT and DINOv2 subclass it,
    changing what their config's token layout and layer options say and, where they differ, the final norm
    and the pooling."""

    encoder_class = ViTEncoder
    output_class = out.BaseModelOutputWithPooling
    ignores_mask_without_token = False  # DINOv2 ignores bool_masked_pos without a mask token; others refuse it

    def __init__(self, config, add_pooling_layer: bool = True, use_mask_token: bool = False):
        super().__init__(config)
        self.embeddings = ViTEmbeddings(config, use_mask_token)
        grid = self.embeddings.patch_embeddings
        window = (grid.image_size[0] // grid.patch_size[0], grid.image_size[1] // grid.patch_size[1])
        self.encoder = self.encoder_class(config, window)
        self.layernorm = self.build_final_norm(config)
        self.pooler = self.build_pooler(config) if add_pooling_layer else None

    def build_final_norm(self, config) -> nn.Module:
        return nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def build_pooler(self, config) -> nn.Module | None:
        return ViTPooler(config)

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    def forward(self, pixel_values=None, bool_masked_pos=None, head_mask=None, output_attentions=None,
                output_hidden_states=None, interpolate_pos_encoding=None, return_dict=None, **kwargs):  # fmt: skip
        output_attentions = self._flag(output_attentions, "output_attentions")
        output_hidden_states = self._flag(output_hidden_states, "output_hidden_states")
        interpolate = bool(interpolate_pos_encoding)
        if self.ignores_mask_without_token and self.embeddings.mask_token is None:
            bool_masked_pos = None
        hidden, grid = self.embeddings(pixel_values, bool_masked_pos, interpolate)
        hidden, all_hidden, all_attn = self.encoder(hidden, head_mask, output_attentions, output_hidden_states, grid,
                                                    interpolate)  # fmt: skip
        hidden = self.layernorm(hidden)
        pooled = self.pooler(hidden) if self.pooler is not None else None
        result = self.output_class(last_hidden_state=hidden, pooler_output=pooled, hidden_states=all_hidden,
                                   attentions=all_attn)  # fmt: skip
        return self._finish(result, return_dict)


class ViTForImageClassification(ImageClassificationModel, ViTPreTrainedModel):
    base_class = ViTModel


class ViTForMaskedImageModeling(ViTPreTrainedModel):
    """SimMIM: reconstruct the pixels of masked patches with a 1x1 conv and a pixel shuffle."""

    base_class = ViTModel
    # The tokens the decoder sees: the patches behind the class token (DeiT's slice differs, see there).
    patch_tokens = slice(1, None)
    check_stride = True

    def __init__(self, config):
        super().__init__(config)
        setattr(self, self.base_model_prefix, self.base_class(config, add_pooling_layer=False, use_mask_token=True))
        self.decoder = PixelDecoder(config.hidden_size, config.encoder_stride, config.num_channels)

    def forward(self, pixel_values=None, bool_masked_pos=None, return_dict=None, **kwargs):
        if self.check_stride:
            check_mim_stride(self.config, bool_masked_pos)
        encoded = self.base_model(pixel_values, bool_masked_pos=bool_masked_pos, return_dict=True, **kwargs)
        patches = encoded.last_hidden_state[:, self.patch_tokens]
        batch, length, channels = patches.shape
        side = math.floor(length**0.5)
        reconstruction = self.decoder(patches.permute(0, 2, 1).reshape(batch, channels, side, side))
        loss = None
        if bool_masked_pos is not None:
            loss = masked_image_loss(pixel_values, reconstruction, bool_masked_pos, self.config)
        result = out.from_encoded(out.MaskedImageModelingOutput, encoded, loss=loss, reconstruction=reconstruction)
        return self._finish(result, return_dict)
