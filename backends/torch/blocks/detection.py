"""DETR-style detection blocks in PyTorch (DETR, MaskFormer); attribute names are the checkpoint names.

- The backbone: our own backbone class for the config's backbone_config (ResNet, Swin, MaskFormer's Swin),
  DETR's with every BatchNorm frozen (`DetrFrozenBatchNorm2d`: weight, bias and statistics are buffers).
- 2-D position embeddings of a feature map: sine (from the pixel mask, normalised to 2 pi) or learned row /
  column tables (`row_embeddings`, `column_embeddings`).
- The post-norm encoder-decoder whose attention adds position embeddings to the queries and keys, never to
  the values (`self_attn`, `encoder_attn`, `{q,k,v,out}_proj`, `*_layer_norm`, `fc1`, `fc2`, the decoder's
  final `layernorm`), and the MLP box head (`layers.N`).
See autoload/detr.py for what is decided from the config.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autoload import outputs as out
from autoload import registry
from autoload.detr import LEARNED_POSITIONS, nearest_index

from ..activations import get_activation


def resize_nearest(x: torch.Tensor, size) -> torch.Tensor:
    """torch.nn.functional.interpolate(mode="nearest") of the last two axes, by the shared index arrays."""
    rows = torch.from_numpy(nearest_index(x.shape[-2], size[0])).to(x.device)
    cols = torch.from_numpy(nearest_index(x.shape[-1], size[1])).to(x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def additive_mask(keep: torch.Tensor, dtype) -> torch.Tensor:
    """[batch, keys] (true/1 = attend) -> [batch, 1, 1, keys]: 0 where kept, the dtype's minimum elsewhere."""
    return (1.0 - keep[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class DetrFrozenBatchNorm2d(nn.Module):
    """BatchNorm with fixed statistics and affine parameters (all buffers), eps 1e-5, in training too."""

    def __init__(self, num_features: int):
        super().__init__()
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        scale = self.weight * (self.running_var + 1e-5).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale[None, :, None, None] + shift[None, :, None, None]


def freeze_batch_norms(module: nn.Module) -> None:
    """Replace every BatchNorm2d inside `module` by a DetrFrozenBatchNorm2d (same names, same buffers)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, DetrFrozenBatchNorm2d(child.num_features))
        else:
            freeze_batch_norms(child)


def build_backbone(backbone_config) -> nn.Module:
    """Our own backbone model for `backbone_config` (what transformers' load_backbone builds from it)."""
    return registry.model_class_for("MODEL_FOR_BACKBONE", "torch", backbone_config)(backbone_config)


def sine_frequencies(dim: int) -> np.ndarray:
    """temperature ** (2 * (i // 2) / dim) for i < dim, in float32 as transformers computes it."""
    exponent = (2 * (np.arange(dim) // 2)).astype(np.float32) / np.float32(dim)
    return (np.float32(10000) ** exponent).astype(np.float32)


def sine_positions(mask: torch.Tensor, dim: int) -> torch.Tensor:
    """[batch, H, W] mask (1 = real pixel) -> [batch, 2 * dim, H, W]: sin/cos of the cumulative row (first
    half) and column (second half) positions of the real pixels, normalised to 2 pi."""
    mask = mask.to(torch.float32)
    y = mask.cumsum(1)
    x = mask.cumsum(2)
    y = y / (y[:, -1:, :] + 1e-6) * (2 * np.pi)
    x = x / (x[:, :, -1:] + 1e-6) * (2 * np.pi)
    frequencies = torch.from_numpy(sine_frequencies(dim)).to(mask.device)

    def encode(values):
        angles = values[..., None] / frequencies
        return torch.stack((angles[..., 0::2].sin(), angles[..., 1::2].cos()), dim=4).flatten(3)

    return torch.cat((encode(y), encode(x)), dim=3).permute(0, 3, 1, 2)


class DetrSinePositionEmbedding(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, feature_map, mask):
        return sine_positions(mask, self.dim).to(feature_map.dtype)


class DetrLearnedPositionEmbedding(nn.Module):
    """Column (first half of the channels) and row (second half) tables of 50 positions each."""

    def __init__(self, dim: int):
        super().__init__()
        self.row_embeddings = nn.Embedding(LEARNED_POSITIONS, dim)
        self.column_embeddings = nn.Embedding(LEARNED_POSITIONS, dim)

    def forward(self, feature_map, mask=None):
        batch, _, height, width = feature_map.shape
        if max(height, width) > LEARNED_POSITIONS:
            raise ValueError(
                f"Learned position embeddings cover {LEARNED_POSITIONS} rows and columns; this feature map is "
                f"{height}x{width}. Use smaller images."
            )
        device = self.row_embeddings.weight.device
        columns = self.column_embeddings(torch.arange(width, device=device))
        rows = self.row_embeddings(torch.arange(height, device=device))
        grid = torch.cat([columns[None].expand(height, -1, -1), rows[:, None].expand(-1, width, -1)], dim=-1)
        return grid.permute(2, 0, 1)[None].expand(batch, -1, -1, -1)


def position_embedding(config) -> nn.Module:
    if config.position_embedding_type == "sine":
        return DetrSinePositionEmbedding(config.d_model // 2)
    return DetrLearnedPositionEmbedding(config.d_model // 2)


class DetrAttention(nn.Module):
    """Multi-head attention whose queries and keys (not values) get position embeddings added."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.dropout = dropout
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _heads(self, x):
        return x.view(x.shape[0], -1, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask=None, positions=None, key_value_states=None, key_positions=None,
                output_attentions=False):  # fmt: skip
        """`mask` is additive [batch, 1, 1, keys]; returns (output, attention weights or None)."""
        queries_in = hidden if positions is None else hidden + positions
        if key_value_states is None:
            keys_in, values_in = queries_in, hidden
        else:
            keys_in = key_value_states if key_positions is None else key_value_states + key_positions
            values_in = key_value_states
        q = self._heads(self.q_proj(queries_in) * self.head_dim**-0.5)
        k, v = self._heads(self.k_proj(keys_in)), self._heads(self.v_proj(values_in))
        scores = q @ k.transpose(-1, -2)
        if mask is not None:
            scores = scores + mask
        weights = scores.softmax(-1)
        context = nn.functional.dropout(weights, self.dropout, self.training) @ v
        context = context.transpose(1, 2).reshape(hidden.shape[0], -1, self.num_heads * self.head_dim)
        return self.out_proj(context), (weights if output_attentions else None)


class _FeedForward(nn.Module):
    def __init__(self, config, ffn_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(config.d_model, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, config.d_model)
        self.final_layer_norm = nn.LayerNorm(config.d_model)
        self.act = get_activation(config.activation_function)
        self.dropout, self.activation_dropout = config.dropout, config.activation_dropout

    def feed_forward(self, hidden):
        residual = hidden
        hidden = nn.functional.dropout(self.act(self.fc1(hidden)), self.activation_dropout, self.training)
        hidden = nn.functional.dropout(self.fc2(hidden), self.dropout, self.training)
        return self.final_layer_norm(residual + hidden)


class DetrEncoderLayer(_FeedForward):
    def __init__(self, config):
        super().__init__(config, config.encoder_ffn_dim)
        self.self_attn = DetrAttention(config.d_model, config.encoder_attention_heads, config.attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(config.d_model)

    def forward(self, hidden, mask, positions, output_attentions=False):
        attended, weights = self.self_attn(hidden, mask, positions, output_attentions=output_attentions)
        hidden = self.self_attn_layer_norm(hidden + nn.functional.dropout(attended, self.dropout, self.training))
        hidden = self.feed_forward(hidden)
        if self.training and not torch.isfinite(hidden).all():  # as transformers: keep fp16 training finite
            limit = torch.finfo(hidden.dtype).max - 1000
            hidden = hidden.clamp(-limit, limit)
        return hidden, weights


class DetrDecoderLayer(_FeedForward):
    def __init__(self, config):
        super().__init__(config, config.decoder_ffn_dim)
        heads, dropout = config.decoder_attention_heads, config.attention_dropout
        self.self_attn = DetrAttention(config.d_model, heads, dropout)
        self.self_attn_layer_norm = nn.LayerNorm(config.d_model)
        self.encoder_attn = DetrAttention(config.d_model, heads, dropout)
        self.encoder_attn_layer_norm = nn.LayerNorm(config.d_model)

    def forward(self, hidden, query_positions, memory, memory_positions, memory_mask=None, output_attentions=False):
        attended, self_weights = self.self_attn(hidden, positions=query_positions, output_attentions=output_attentions)
        hidden = self.self_attn_layer_norm(hidden + nn.functional.dropout(attended, self.dropout, self.training))
        attended, cross_weights = self.encoder_attn(hidden, memory_mask, query_positions, memory, memory_positions,
                                                    output_attentions)  # fmt: skip
        hidden = self.encoder_attn_layer_norm(hidden + nn.functional.dropout(attended, self.dropout, self.training))
        return self.feed_forward(hidden), self_weights, cross_weights


def _dropped(layerdrop: float, training: bool) -> bool:
    return training and bool(torch.rand([]) < layerdrop)


class DetrEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dropout, self.layerdrop = config.dropout, config.encoder_layerdrop
        self.layers = nn.ModuleList(DetrEncoderLayer(config) for _ in range(config.encoder_layers))

    def forward(self, hidden, keep_mask, positions, output_attentions=False, output_hidden_states=False):
        """`keep_mask` [batch, tokens]: 1 for real pixels. Returns a BaseModelOutput."""
        hidden = nn.functional.dropout(hidden, self.dropout, self.training)
        mask = None if keep_mask is None else additive_mask(keep_mask, hidden.dtype)
        states, attentions = (), ()
        for layer in self.layers:
            states += (hidden,)
            if _dropped(self.layerdrop, self.training):
                attentions += (None,)
                continue
            hidden, weights = layer(hidden, mask, positions, output_attentions)
            attentions += (weights,)
        return out.BaseModelOutput(last_hidden_state=hidden,
                                   hidden_states=states + (hidden,) if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class DetrDecoder(nn.Module):
    """Queries through self- and cross-attention layers and a final LayerNorm. With config.auxiliary_loss,
    every layer's output is normalised by that LayerNorm before the next layer reads it (as transformers
    does) and the normalised outputs are returned stacked as intermediate_hidden_states."""

    def __init__(self, config):
        super().__init__()
        self.layerdrop, self.auxiliary = config.decoder_layerdrop, config.auxiliary_loss
        self.layers = nn.ModuleList(DetrDecoderLayer(config) for _ in range(config.decoder_layers))
        self.layernorm = nn.LayerNorm(config.d_model)

    def forward(self, hidden, query_positions, memory, memory_positions, memory_keep=None, output_attentions=False,
                output_hidden_states=False):  # fmt: skip
        memory_mask = None if memory_keep is None else additive_mask(memory_keep, hidden.dtype)
        states, self_attentions, cross_attentions, intermediate = (), (), (), ()
        for layer in self.layers:
            states += (hidden,)
            if _dropped(self.layerdrop, self.training):
                continue
            hidden, self_weights, cross_weights = layer(hidden, query_positions, memory, memory_positions,
                                                        memory_mask, output_attentions)  # fmt: skip
            if self.auxiliary:
                hidden = self.layernorm(hidden)
                intermediate += (hidden,)
            self_attentions += (self_weights,)
            cross_attentions += (cross_weights,)
        hidden = self.layernorm(hidden)
        return out.DetrModelOutput(
            last_hidden_state=hidden,
            decoder_hidden_states=states + (hidden,) if output_hidden_states else None,
            decoder_attentions=self_attentions if output_attentions else None,
            cross_attentions=cross_attentions if output_attentions else None,
            intermediate_hidden_states=torch.stack(intermediate) if self.auxiliary and intermediate else None,
        )


class DetrMLPPredictionHead(nn.Module):
    """Linear layers `layers.N` with ReLU between them (DETR's box head)."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int):
        super().__init__()
        widths = [input_dim] + [hidden_dim] * (num_layers - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:] + [output_dim]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else nn.functional.relu(layer(x))
        return x


def flatten_map(x: torch.Tensor) -> torch.Tensor:
    """[batch, channels, H, W] -> [batch, H * W, channels]."""
    return x.flatten(2).permute(0, 2, 1)
