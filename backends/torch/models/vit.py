"""ViT in PyTorch: patch embeddings, a pre-norm transformer encoder, and the image heads."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.vit import ViTConfig

from ..activations import get_activation
from ..losses import sequence_classification_loss
from ..modeling import PreTrainedModel
from .bert import BertIntermediate, BertSelfAttention


def check_pixel_values(pixel_values: torch.Tensor, num_channels: int) -> None:
    if pixel_values.ndim != 4 or pixel_values.shape[1] != num_channels:
        raise ValueError(
            f"pixel_values must have shape [batch, {num_channels}, height, width]; got {tuple(pixel_values.shape)}. "
            "Images are channels-first (use the image processor's output)."
        )


class ViTPatchEmbeddings(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.projection = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size, config.patch_size)

    def forward(self, pixel_values):
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    def __init__(self, config: ViTConfig, use_mask_token: bool = False):
        super().__init__()
        num_patches = (config.image_size // config.patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size)) if use_mask_token else None
        self.patch_embeddings = ViTPatchEmbeddings(config)
        self.position_embeddings = nn.Parameter(torch.zeros(1, num_patches + 1, config.hidden_size))
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.config = config

    def interpolated_positions(self, height: int, width: int) -> torch.Tensor:
        """Resize the learned patch position grid (bicubic) for an image of another size."""
        positions = self.position_embeddings
        grid = int((positions.shape[1] - 1) ** 0.5)
        rows, cols = height // self.config.patch_size, width // self.config.patch_size
        if rows == grid and cols == grid:
            return positions
        patch = positions[:, 1:].reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
        patch = nn.functional.interpolate(patch, size=(rows, cols), mode="bicubic", align_corners=False)
        return torch.cat([positions[:, :1], patch.permute(0, 2, 3, 1).reshape(1, rows * cols, -1)], dim=1)

    def forward(self, pixel_values, bool_masked_pos=None, interpolate_pos_encoding=False):
        check_pixel_values(pixel_values, self.config.num_channels)
        height, width = pixel_values.shape[-2:]
        if not interpolate_pos_encoding and (height, width) != (self.config.image_size, self.config.image_size):
            raise ValueError(
                f"Input image size ({height}*{width}) doesn't match the model ({self.config.image_size}*"
                f"{self.config.image_size}); resize it or pass interpolate_pos_encoding=True."
            )
        embeds = self.patch_embeddings(pixel_values.to(self.patch_embeddings.projection.weight.dtype))
        if bool_masked_pos is not None and self.mask_token is not None:
            keep = 1.0 - bool_masked_pos.unsqueeze(-1).to(embeds.dtype)
            embeds = embeds * keep + self.mask_token.expand_as(embeds) * (1.0 - keep)
        embeds = torch.cat([self.cls_token.expand(embeds.shape[0], -1, -1), embeds], dim=1)
        positions = self.interpolated_positions(height, width) if interpolate_pos_encoding else self.position_embeddings
        return self.dropout(embeds + positions)


class ViTSelfAttention(BertSelfAttention):
    def __init__(self, config: ViTConfig):
        super().__init__(config)
        if not config.qkv_bias:
            size = config.hidden_size
            self.query, self.key, self.value = (nn.Linear(size, size, bias=False) for _ in range(3))


class ViTSelfOutput(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden):
        return self.dropout(self.dense(hidden))


class ViTAttention(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.attention = ViTSelfAttention(config)
        self.output = ViTSelfOutput(config)

    def forward(self, hidden, output_attentions=False):
        context, probs = self.attention(hidden, None, output_attentions)
        return self.output(context), probs


class ViTOutput(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden, residual):
        return self.dropout(self.dense(hidden)) + residual


class ViTLayer(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.attention = ViTAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = ViTOutput(config)
        self.layernorm_before = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden, output_attentions=False):
        attended, probs = self.attention(self.layernorm_before(hidden), output_attentions)
        hidden = attended + hidden
        return self.output(self.intermediate(self.layernorm_after(hidden)), hidden), probs


class ViTEncoder(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.layer = nn.ModuleList(ViTLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, hidden, output_attentions=False, output_hidden_states=False):
        all_hidden = (hidden,) if output_hidden_states else None
        all_attn = () if output_attentions else None
        for layer in self.layer:
            hidden, probs = layer(hidden, output_attentions)
            all_hidden = all_hidden + (hidden,) if output_hidden_states else None
            all_attn = all_attn + (probs,) if output_attentions else None
        return hidden, all_hidden, all_attn


class ViTPooler(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.pooler_output_size)
        self.activation = get_activation(config.pooler_act)

    def forward(self, hidden):
        return self.activation(self.dense(hidden[:, 0]))


class ViTPreTrainedModel(PreTrainedModel):
    config_class = ViTConfig
    base_model_prefix = "vit"
    main_input_name = "pixel_values"

    def _init_weights(self, module):
        super()._init_weights(module)
        std = self.config.initializer_range
        if isinstance(module, nn.Conv2d):
            nn.init.trunc_normal_(module.weight, std=std)
            nn.init.zeros_(module.bias)
        elif isinstance(module, ViTEmbeddings):
            for param in (module.cls_token, module.position_embeddings, module.mask_token):
                if param is not None:
                    nn.init.trunc_normal_(param, std=std)


class ViTModel(ViTPreTrainedModel):
    def __init__(self, config: ViTConfig, add_pooling_layer: bool = True, use_mask_token: bool = False):
        super().__init__(config)
        self.embeddings = ViTEmbeddings(config, use_mask_token)
        self.encoder = ViTEncoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pooler = ViTPooler(config) if add_pooling_layer else None

    def get_input_embeddings(self):
        return self.embeddings.patch_embeddings

    def forward(self, pixel_values=None, bool_masked_pos=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):  # fmt: skip
        if pixel_values is None:
            raise ValueError("ViT needs pixel_values.")
        output_attentions = self._flag(output_attentions, "output_attentions")
        output_hidden_states = self._flag(output_hidden_states, "output_hidden_states")
        hidden = self.embeddings(pixel_values, bool_masked_pos, interpolate_pos_encoding)
        hidden, all_hidden, all_attn = self.encoder(hidden, output_attentions, output_hidden_states)
        hidden = self.layernorm(hidden)
        pooled = self.pooler(hidden) if self.pooler is not None else None
        result = out.BaseModelOutputWithPooling(
            last_hidden_state=hidden, pooler_output=pooled, hidden_states=all_hidden, attentions=all_attn
        )
        return self._finish(result, return_dict)


class ViTForImageClassification(ViTPreTrainedModel):
    def __init__(self, config: ViTConfig):
        super().__init__(config)
        self.vit = ViTModel(config, add_pooling_layer=False)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels) if config.num_labels else nn.Identity()

    def forward(self, pixel_values=None, labels=None, return_dict=None, **kwargs):
        encoded = self.vit(pixel_values, return_dict=True, **kwargs)
        logits = self.classifier(encoded.last_hidden_state[:, 0])
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        result = out.ImageClassifierOutput(
            loss=loss, logits=logits, hidden_states=encoded.hidden_states, attentions=encoded.attentions
        )
        return self._finish(result, return_dict)


class ViTForMaskedImageModeling(ViTPreTrainedModel):
    """SimMIM-style: reconstruct the pixels of masked patches with a 1x1 conv and a pixel shuffle."""

    def __init__(self, config: ViTConfig):
        super().__init__(config)
        self.vit = ViTModel(config, add_pooling_layer=False, use_mask_token=True)
        self.decoder = nn.Sequential(
            nn.Conv2d(config.hidden_size, config.encoder_stride**2 * config.num_channels, kernel_size=1),
            nn.PixelShuffle(config.encoder_stride),
        )

    def forward(self, pixel_values=None, bool_masked_pos=None, return_dict=None, **kwargs):
        encoded = self.vit(pixel_values, bool_masked_pos=bool_masked_pos, return_dict=True, **kwargs)
        patches = encoded.last_hidden_state[:, 1:]
        batch, length, channels = patches.shape
        side = int(length**0.5)
        reconstruction = self.decoder(patches.permute(0, 2, 1).reshape(batch, channels, side, side))
        loss = None
        if bool_masked_pos is not None:
            size = self.config.image_size // self.config.patch_size
            mask = bool_masked_pos.reshape(-1, size, size)
            mask = mask.repeat_interleave(self.config.patch_size, 1).repeat_interleave(self.config.patch_size, 2)
            mask = mask.unsqueeze(1).to(reconstruction.dtype)
            l1 = nn.functional.l1_loss(pixel_values, reconstruction, reduction="none")
            loss = (l1 * mask).sum() / (mask.sum() + 1e-5) / self.config.num_channels
        result = out.MaskedImageModelingOutput(
            loss=loss, reconstruction=reconstruction, hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
        )  # fmt: skip
        return self._finish(result, return_dict)
