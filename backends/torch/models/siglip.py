"""SigLIP in PyTorch: text and image towers of CLIP-style pre-norm layers, an attention-pooling image head, and
image-text logits scored with a learned scale and bias (trained with the sigmoid loss)."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.siglip import SiglipConfig, SiglipTextConfig, SiglipVisionConfig

from ..attention import padding_mask
from ..blocks.vision import CLIPMLP, CLIPEncoder, CLIPTextEmbeddings, check_pixel_values, config_flag, resize_grid
from ..heads import ImageClassificationModel
from ..modeling import PreTrainedModel


class SiglipVisionEmbeddings(nn.Module):
    """Patch embeddings plus a position per patch (no class token)."""

    def __init__(self, config: SiglipVisionConfig):
        super().__init__()
        self.config = config
        self.patch_embedding = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size, config.patch_size)
        self.position_embedding = nn.Embedding((config.image_size // config.patch_size) ** 2, config.hidden_size)

    def positions_for(self, height: int, width: int) -> torch.Tensor:
        table = self.position_embedding.weight
        grid = int(table.shape[0] ** 0.5)
        rows, cols = height // self.config.patch_size, width // self.config.patch_size
        if (rows, cols) == (grid, grid):
            return table
        return resize_grid(table.reshape(grid, grid, -1), rows, cols).reshape(rows * cols, -1)

    def forward(self, pixel_values, interpolate_pos_encoding=False):
        check_pixel_values(pixel_values, self.config.num_channels)
        patches = self.patch_embedding(pixel_values.to(self.patch_embedding.weight.dtype)).flatten(2).transpose(1, 2)
        if interpolate_pos_encoding:
            return patches + self.positions_for(*pixel_values.shape[-2:])[None]
        if patches.shape[1] != self.position_embedding.num_embeddings:
            raise ValueError(
                f"Input image size ({pixel_values.shape[-2]}*{pixel_values.shape[-1]}) doesn't match the model "
                f"({self.config.image_size}*{self.config.image_size}); resize it or pass interpolate_pos_encoding=True."
            )
        return patches + self.position_embedding.weight[None]


class SiglipMultiheadAttentionPoolingHead(nn.Module):
    """A learned probe attends over the patches (torch.nn.MultiheadAttention's weights), then a residual MLP."""

    def __init__(self, config: SiglipVisionConfig):
        super().__init__()
        self.probe = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.attention = nn.MultiheadAttention(config.hidden_size, config.num_attention_heads, batch_first=True)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)

    def forward(self, hidden):
        probe = self.probe.expand(hidden.shape[0], -1, -1)
        pooled = self.attention(probe, hidden, hidden, need_weights=False)[0]
        return (pooled + self.mlp(self.layernorm(pooled)))[:, 0]


def _flags(config, output_attentions, output_hidden_states) -> tuple[bool, bool]:
    return (config_flag(config, output_attentions, "output_attentions"),
            config_flag(config, output_hidden_states, "output_hidden_states"))  # fmt: skip


class SiglipTextTransformer(nn.Module):
    """Bidirectional (padding-masked) text encoder; pooled output: the projected last position."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        text = getattr(config, "text_config", config)
        self.embeddings = CLIPTextEmbeddings(text)
        self.encoder = CLIPEncoder(text)
        self.final_layer_norm = nn.LayerNorm(text.hidden_size, eps=text.layer_norm_eps)
        self.head = nn.Linear(text.hidden_size, text.projection_size)

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=True, **kwargs):  # fmt: skip
        if input_ids is None:
            raise ValueError("You have to specify input_ids.")
        attend, keep = _flags(self.config, output_attentions, output_hidden_states)
        hidden = self.embeddings(input_ids, position_ids)
        hidden, states, attentions = self.encoder(hidden, padding_mask(attention_mask, hidden.dtype), attend)
        hidden = self.final_layer_norm(hidden)
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=self.head(hidden[:, -1]),
                                              hidden_states=states if keep else None, attentions=attentions)  # fmt: skip


class SiglipVisionTransformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        vision = getattr(config, "vision_config", config)
        self.embeddings = SiglipVisionEmbeddings(vision)
        self.encoder = CLIPEncoder(vision)
        self.post_layernorm = nn.LayerNorm(vision.hidden_size, eps=vision.layer_norm_eps)
        self.head = SiglipMultiheadAttentionPoolingHead(vision) if vision.use_head else None

    def forward(self, pixel_values=None, interpolate_pos_encoding=False, output_attentions=None,
                output_hidden_states=None, return_dict=True, **kwargs):  # fmt: skip
        attend, keep = _flags(self.config, output_attentions, output_hidden_states)
        hidden, states, attentions = self.encoder(self.embeddings(pixel_values, interpolate_pos_encoding), None, attend)
        hidden = self.post_layernorm(hidden)
        pooled = self.head(hidden) if self.head is not None else None
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled,
                                              hidden_states=states if keep else None, attentions=attentions)  # fmt: skip


class SiglipPreTrainedModel(PreTrainedModel):
    config_class = SiglipConfig
    base_model_prefix = "siglip"


class SiglipTextModel(SiglipPreTrainedModel):
    config_class = SiglipTextConfig

    def __init__(self, config: SiglipTextConfig):
        super().__init__(config)
        self.text_model = SiglipTextTransformer(config)

    def get_input_embeddings(self):
        return self.text_model.embeddings.token_embedding

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, return_dict=None, **kwargs):
        return self._finish(self.text_model(input_ids, attention_mask, position_ids, **kwargs), return_dict)


class SiglipVisionModel(SiglipPreTrainedModel):
    config_class = SiglipVisionConfig
    main_input_name = "pixel_values"

    def __init__(self, config: SiglipVisionConfig):
        super().__init__(config)
        self.vision_model = SiglipVisionTransformer(config)

    def get_input_embeddings(self):
        return self.vision_model.embeddings.patch_embedding

    def forward(self, pixel_values=None, interpolate_pos_encoding=False, return_dict=None, **kwargs):
        return self._finish(self.vision_model(pixel_values, interpolate_pos_encoding, **kwargs), return_dict)


def sigmoid_loss(logits_per_text: torch.Tensor) -> torch.Tensor:
    """Every text-image pair is a binary decision: matching (the diagonal) or not."""
    signs = 2 * torch.eye(logits_per_text.shape[0], device=logits_per_text.device) - 1
    return -nn.functional.logsigmoid(signs * logits_per_text).sum(-1).mean()


class SiglipModel(SiglipPreTrainedModel):
    """As in transformers 4.57.6 the towers' outputs here carry no hidden states or attentions."""

    def __init__(self, config: SiglipConfig):
        super().__init__(config)
        self.text_model = SiglipTextTransformer(config.text_config)
        self.vision_model = SiglipVisionTransformer(config.vision_config)
        self.logit_scale = nn.Parameter(torch.zeros(1))
        self.logit_bias = nn.Parameter(torch.zeros(1))

    def get_input_embeddings(self):
        return self.text_model.embeddings.token_embedding

    def get_text_features(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        return self.text_model(input_ids, attention_mask, position_ids, False, False).pooler_output

    def get_image_features(self, pixel_values=None, interpolate_pos_encoding=False, **kwargs):
        return self.vision_model(pixel_values, interpolate_pos_encoding, False, False).pooler_output

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):  # fmt: skip
        vision = self.vision_model(pixel_values, interpolate_pos_encoding, False, False)
        text = self.text_model(input_ids, attention_mask, position_ids, False, False)
        image_embeds = vision.pooler_output / vision.pooler_output.norm(p=2, dim=-1, keepdim=True)
        text_embeds = text.pooler_output / text.pooler_output.norm(p=2, dim=-1, keepdim=True)
        logits_per_text = text_embeds @ image_embeds.t() * self.logit_scale.exp() + self.logit_bias
        loss = sigmoid_loss(logits_per_text) if return_loss else None
        result = out.SiglipOutput(
            loss=loss, logits_per_image=logits_per_text.t(), logits_per_text=logits_per_text,
            text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text, vision_model_output=vision,
        )  # fmt: skip
        return self._finish(result, return_dict)


class SiglipForImageClassification(ImageClassificationModel, SiglipPreTrainedModel):
    """The image tower with a linear classifier on the mean of its (normalised) patch tokens."""

    base_class = SiglipVisionTransformer
