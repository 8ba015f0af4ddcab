"""LayoutLMv3 in PyTorch: RoBERTa's embeddings plus box embeddings, the image's patch embeddings behind a class
token, and BERT's encoder layers with the 1-D / 2-D relative position bias as an additive attention bias."""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.layoutlmv3 import (
    LayoutLMv3Config,
    patch_boxes,
    relative_bucket_table,
    token_head_is_projection,
)

from ..blocks.encoder import Embeddings, Encoder, additive_mask
from ..heads import ClassificationHead, QuestionAnsweringModel, SequenceClassificationModel, TokenClassificationModel
from ..losses import token_loss
from ..modeling import PreTrainedModel


def box_embedding_input(bbox: torch.Tensor):
    """The six lookups of a box [.., 4] = (x0, y0, x1, y1): x0, y0, x1, y1, height and width (clipped to 0..1023)."""
    return bbox[..., 0], bbox[..., 1], bbox[..., 2], bbox[..., 3], (bbox[..., 3] - bbox[..., 1]).clamp(0, 1023), \
        (bbox[..., 2] - bbox[..., 0]).clamp(0, 1023)  # fmt: skip


class LayoutLMv3TextEmbeddings(Embeddings):
    """RoBERTa's word, token-type and position embeddings plus the box embeddings, concatenated as
    [x0, y0, x1, y1 (coordinate_size each), height, width (shape_size each)]."""

    def __init__(self, config: LayoutLMv3Config):
        super().__init__(config.encoder_options())
        rows = config.max_2d_position_embeddings
        self.x_position_embeddings = nn.Embedding(rows, config.coordinate_size)
        self.y_position_embeddings = nn.Embedding(rows, config.coordinate_size)
        self.h_position_embeddings = nn.Embedding(rows, config.shape_size)
        self.w_position_embeddings = nn.Embedding(rows, config.shape_size)

    def box_embeddings(self, bbox):
        if int(bbox.max()) >= self.x_position_embeddings.num_embeddings or int(bbox.min()) < 0:
            raise IndexError("The `bbox` coordinate values should be within 0-1000 range.")
        x0, y0, x1, y1, height, width = box_embedding_input(bbox)
        return torch.cat([self.x_position_embeddings(x0), self.y_position_embeddings(y0), self.x_position_embeddings(x1),
                          self.y_position_embeddings(y1), self.h_position_embeddings(height),
                          self.w_position_embeddings(width)], dim=-1)  # fmt: skip

    def forward(self, input_ids=None, bbox=None, token_type_ids=None, position_ids=None, inputs_embeds=None):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        if token_type_ids is None:
            token_type_ids = torch.zeros(embeds.shape[:2], dtype=torch.long, device=embeds.device)
        embeds = embeds + self.token_type_embeddings(token_type_ids)
        if position_ids is None:
            position_ids = self.default_positions(input_ids, embeds.shape[1], embeds.device)
        embeds = embeds + self.position_embeddings(position_ids) + self.box_embeddings(bbox)
        return self.dropout(self.LayerNorm(embeds))


class LayoutLMv3PatchEmbeddings(nn.Module):
    def __init__(self, config: LayoutLMv3Config):
        super().__init__()
        self.proj = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size, stride=config.patch_size)

    def forward(self, pixel_values):
        return self.proj(pixel_values).flatten(2).transpose(1, 2)


def bucket_bias(distance: torch.Tensor, table, weight: torch.Tensor) -> torch.Tensor:
    """[batch, q, k] signed distances (key minus query) -> [batch, heads, q, k] learned bias (weight: [heads, bins])."""
    half = weight.shape[1] // 2
    lookup = torch.tensor(table, device=distance.device)
    bucket = (distance > 0).long() * half + lookup[distance.abs().clamp(max=len(table) - 1)].long()
    return weight.t()[bucket].permute(0, 3, 1, 2)


class LayoutLMv3Encoder(Encoder):
    """BERT's layers plus the relative position bias tables (`rel_pos_bias`: 1-D over token positions;
    `rel_pos_x_bias` / `rel_pos_y_bias`: 2-D over box left edges and bottom edges)."""

    def __init__(self, config: LayoutLMv3Config):
        super().__init__(config.encoder_options())
        self.config = config
        heads = config.num_attention_heads
        if config.has_relative_attention_bias:
            self.rel_pos_bias = nn.Linear(config.rel_pos_bins, heads, bias=False)
        if config.has_spatial_attention_bias:
            self.rel_pos_x_bias = nn.Linear(config.rel_2d_pos_bins, heads, bias=False)
            self.rel_pos_y_bias = nn.Linear(config.rel_2d_pos_bins, heads, bias=False)

    def position_bias(self, position_ids, bbox):
        """The additive attention bias (scaled as transformers adds it: divided by sqrt(head size)), or None."""
        config = self.config
        one_d, two_d = config.attention_bias_kinds
        if not one_d:
            return None
        distance = position_ids[:, None, :] - position_ids[:, :, None]
        bias = bucket_bias(distance, relative_bucket_table(config.rel_pos_bins, config.max_rel_pos),
                           self.rel_pos_bias.weight)  # fmt: skip
        if two_d:
            table = relative_bucket_table(config.rel_2d_pos_bins, config.max_rel_2d_pos)
            x, y = bbox[..., 0], bbox[..., 3]
            spatial = bucket_bias(x[:, None, :] - x[:, :, None], table, self.rel_pos_x_bias.weight) + \
                bucket_bias(y[:, None, :] - y[:, :, None], table, self.rel_pos_y_bias.weight)  # fmt: skip
            bias = bias + spatial
        return bias / math.sqrt(config.hidden_size // config.num_attention_heads)


class LayoutLMv3PreTrainedModel(PreTrainedModel):
    config_class = LayoutLMv3Config
    base_model_prefix = "layoutlmv3"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$"]


class LayoutLMv3Model(LayoutLMv3PreTrainedModel):
    output_class = out.BaseModelOutput

    def __init__(self, config: LayoutLMv3Config):
        super().__init__(config)
        self.embeddings = LayoutLMv3TextEmbeddings(config)
        if config.visual_embed:
            self.patch_embed = LayoutLMv3PatchEmbeddings(config)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
            self.pos_embed = nn.Parameter(torch.zeros(1, config.patches_per_side**2 + 1, config.hidden_size))
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
            self.dropout = nn.Dropout(config.hidden_dropout_prob)
            self.norm = nn.LayerNorm(config.hidden_size, eps=1e-6)
        self.encoder = LayoutLMv3Encoder(config)

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def embed_image(self, pixel_values):
        config = self.config
        if not config.visual_embed:
            raise ValueError("pixel_values were given but the config has visual_embed=False.")
        patches = self.patch_embed(pixel_values)
        if patches.shape[1] != config.patches_per_side**2:
            raise ValueError(f"LayoutLMv3 takes {config.input_size}x{config.input_size} images (config.input_size); "
                             f"got {tuple(pixel_values.shape[2:])}.")  # fmt: skip
        tokens = torch.cat([self.cls_token.expand(patches.shape[0], -1, -1), patches], dim=1) + self.pos_embed
        return self.norm(tokens)

    def forward(self, input_ids=None, bbox=None, attention_mask=None, token_type_ids=None, position_ids=None,
                head_mask=None, inputs_embeds=None, pixel_values=None, output_attentions=None,
                output_hidden_states=None, return_dict=None):  # fmt: skip
        output_attentions = self._flag(output_attentions, "output_attentions")
        output_hidden_states = self._flag(output_hidden_states, "output_hidden_states")
        text = input_ids if input_ids is not None else inputs_embeds
        if text is None and pixel_values is None:
            raise ValueError("You have to specify either input_ids or inputs_embeds or pixel_values")
        parts, masks, positions, boxes = [], [], [], []
        if text is not None:
            batch, length = text.shape[:2]
            device = text.device
            if attention_mask is None:
                attention_mask = torch.ones((batch, length), device=device)
            if bbox is None:
                bbox = torch.zeros((batch, length, 4), dtype=torch.long, device=device)
            parts.append(self.embeddings(input_ids, bbox, token_type_ids, position_ids, inputs_embeds))
            masks.append(attention_mask)
            positions.append(torch.arange(length, device=device).expand(batch, -1))
            boxes.append(bbox)
        if pixel_values is not None:
            image = self.embed_image(pixel_values)
            batch, count = image.shape[:2]
            parts.append(image)
            masks.append(torch.ones((batch, count), dtype=torch.long, device=image.device))
            positions.append(torch.arange(count, device=image.device).expand(batch, -1))
            boxes.append(torch.tensor(patch_boxes(self.config.patches_per_side), device=image.device)
                         .long().expand(batch, -1, -1))  # fmt: skip
        hidden = torch.cat(parts, dim=1)
        if pixel_values is not None:
            hidden = self.dropout(self.LayerNorm(hidden))
        mask = additive_mask(torch.cat([m.to(hidden.device) for m in masks], dim=1), hidden.dtype)
        bias = self.encoder.position_bias(torch.cat(positions, dim=1), torch.cat(boxes, dim=1))
        encoded = self.encoder(hidden, mask, output_attentions, output_hidden_states, head_mask, position_bias=bias)
        result = self.output_class(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states,
                                   attentions=encoded.attentions)  # fmt: skip
        return self._finish(result, return_dict)


class LayoutLMv3ForSequenceClassification(SequenceClassificationModel, LayoutLMv3PreTrainedModel):
    base_class = LayoutLMv3Model


class LayoutLMv3ForQuestionAnswering(QuestionAnsweringModel, LayoutLMv3PreTrainedModel):
    base_class = LayoutLMv3Model


class LayoutLMv3ForTokenClassification(TokenClassificationModel, LayoutLMv3PreTrainedModel):
    """Scores for the text positions only (the image patches follow them in the sequence)."""

    base_class = LayoutLMv3Model

    def build_output_layer(self, out_features: int) -> nn.Module:
        if token_head_is_projection(self.config):
            rate = self.config.classifier_dropout
            rate = self.config.hidden_dropout_prob if rate is None else rate
            return ClassificationHead(self.config.hidden_size, out_features, "tanh", rate)
        return nn.Linear(self.config.hidden_size, out_features)

    def output_layer(self, features):
        return self.classifier(self.dropout(features))

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        text = input_ids if input_ids is not None else kwargs["inputs_embeds"]
        logits = self.output_layer(encoded.last_hidden_state[:, : text.shape[1]])
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.TokenClassifierOutput, encoded, loss=loss, logits=logits), return_dict)
