"""DETR-style detection blocks in Flax (linen); submodule names are the checkpoint names, as in
backends/torch/blocks/detection.py (see there and autoload/detr.py for what each block computes). Feature maps
run channels-last inside; what a block returns to the model is laid out as the PyTorch block returns it."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload import registry
from autoload.detr import LEARNED_POSITIONS, nearest_index

from ..activations import get_activation
from .norms import LayerNorm


def resize_nearest(x, size, axes=(-2, -1)):
    """PyTorch's interpolate(mode="nearest") of two axes (the last two by default), by the shared index arrays."""
    rows, cols = axes
    x = jnp.take(x, nearest_index(x.shape[rows], size[0]), axis=rows)
    return jnp.take(x, nearest_index(x.shape[cols], size[1]), axis=cols)


def additive_mask(keep, dtype=jnp.float32):
    """[batch, keys] (1 = attend) -> [batch, 1, 1, keys]: 0 where kept, the dtype's minimum elsewhere."""
    return (1.0 - keep[:, None, None, :].astype(dtype)) * jnp.finfo(dtype).min


def backbone_module(backbone_config, dtype, name: str = "model") -> nn.Module:
    """Our own Flax backbone module for `backbone_config` (BatchNorm always with its stored statistics)."""
    model_class = registry.model_class_for("MODEL_FOR_BACKBONE", "flax", backbone_config)
    return model_class.module_class(config=backbone_config, dtype=dtype, name=name)


def normal(config):
    return nn.initializers.normal(getattr(config, "init_std", 0.02))


def dense(config, features: int, name: str, dtype=jnp.float32) -> nn.Dense:
    return nn.Dense(features, dtype=dtype, kernel_init=normal(config), name=name)


def conv(config, features: int, kernel: int, name: str, dtype=jnp.float32) -> nn.Conv:
    """A stride-1 convolution padded like PyTorch's `padding=kernel // 2`."""
    pad = kernel // 2
    return nn.Conv(features, (kernel, kernel), padding=[(pad, pad)] * 2, kernel_init=normal(config), dtype=dtype,
                   name=name)  # fmt: skip


def sine_frequencies(dim: int) -> np.ndarray:
    exponent = (2 * (np.arange(dim) // 2)).astype(np.float32) / np.float32(dim)
    return (np.float32(10000) ** exponent).astype(np.float32)


def sine_positions(mask, dim: int):
    """[batch, H, W] mask (1 = real pixel) -> channels-first [batch, 2 * dim, H, W] sine positions."""
    mask = mask.astype(jnp.float32)
    y = jnp.cumsum(mask, axis=1)
    x = jnp.cumsum(mask, axis=2)
    y = y / (y[:, -1:, :] + 1e-6) * (2 * np.pi)
    x = x / (x[:, :, -1:] + 1e-6) * (2 * np.pi)
    frequencies = jnp.asarray(sine_frequencies(dim))

    def encode(values):
        angles = values[..., None] / frequencies
        paired = jnp.stack((jnp.sin(angles[..., 0::2]), jnp.cos(angles[..., 1::2])), axis=4)
        return paired.reshape(paired.shape[:3] + (dim,))

    return jnp.transpose(jnp.concatenate((encode(y), encode(x)), axis=3), (0, 3, 1, 2))


class DetrLearnedPositionEmbedding(nn.Module):
    """Column (first half of the channels) and row (second half) tables of 50 positions each."""

    dim: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, feature_map, mask=None):
        batch, _, height, width = feature_map.shape
        if max(height, width) > LEARNED_POSITIONS:
            raise ValueError(
                f"Learned position embeddings cover {LEARNED_POSITIONS} rows and columns; this feature map is "
                f"{height}x{width}. Use smaller images."
            )
        rows = nn.Embed(LEARNED_POSITIONS, self.dim, name="row_embeddings")(jnp.arange(height))
        columns = nn.Embed(LEARNED_POSITIONS, self.dim, name="column_embeddings")(jnp.arange(width))
        grid = jnp.concatenate([jnp.broadcast_to(columns[None], (height, width, self.dim)),
                                jnp.broadcast_to(rows[:, None], (height, width, self.dim))], axis=-1)  # fmt: skip
        return jnp.broadcast_to(jnp.transpose(grid, (2, 0, 1))[None], (batch, 2 * self.dim, height, width))


def positions_of(config, feature_map, mask, name: str = "position_embedding"):
    """The position embedding of one feature map (the learned tables live under `name`)."""
    if config.position_embedding_type == "sine":
        return sine_positions(mask, config.d_model // 2).astype(feature_map.dtype)
    return DetrLearnedPositionEmbedding(config.d_model // 2, name=name)(feature_map, mask)


class DetrAttention(nn.Module):
    """Multi-head attention whose queries and keys (not values) get position embeddings added."""

    config: Any
    num_heads: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, mask=None, positions=None, key_value_states=None, key_positions=None,
                 deterministic=True):  # fmt: skip
        width = self.config.d_model
        head_dim = width // self.num_heads
        queries_in = hidden if positions is None else hidden + positions
        if key_value_states is None:
            keys_in, values_in = queries_in, hidden
        else:
            keys_in = key_value_states if key_positions is None else key_value_states + key_positions
            values_in = key_value_states

        def heads(x):
            return x.reshape(x.shape[0], x.shape[1], self.num_heads, head_dim).transpose(0, 2, 1, 3)

        q = heads(dense(self.config, width, "q_proj", self.dtype)(queries_in) * head_dim**-0.5)
        k = heads(dense(self.config, width, "k_proj", self.dtype)(keys_in))
        v = heads(dense(self.config, width, "v_proj", self.dtype)(values_in))
        scores = q @ k.transpose(0, 1, 3, 2)
        if mask is not None:
            scores = scores + mask
        weights = jax.nn.softmax(scores, axis=-1)
        dropped = nn.Dropout(self.config.attention_dropout)(weights, deterministic=deterministic)
        context = (dropped @ v).transpose(0, 2, 1, 3).reshape(hidden.shape[0], -1, width)
        return dense(self.config, width, "out_proj", self.dtype)(context), weights


def feed_forward(module, config, ffn_dim: int, hidden, deterministic: bool):
    """fc1 -> activation -> fc2, residual, final_layer_norm (called inside a compact module)."""
    inner = get_activation(config.activation_function)(dense(config, ffn_dim, "fc1", module.dtype)(hidden))
    inner = nn.Dropout(config.activation_dropout)(inner, deterministic=deterministic)
    outer = nn.Dropout(config.dropout)(dense(config, config.d_model, "fc2", module.dtype)(inner),
                                       deterministic=deterministic)  # fmt: skip
    return LayerNorm(epsilon=1e-5, dtype=module.dtype, name="final_layer_norm")(hidden + outer)


class DetrEncoderLayer(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, mask, positions, deterministic=True):
        c = self.config
        attended, weights = DetrAttention(c, c.encoder_attention_heads, self.dtype, name="self_attn")(
            hidden, mask, positions, deterministic=deterministic)
        attended = nn.Dropout(c.dropout)(attended, deterministic=deterministic)
        hidden = LayerNorm(epsilon=1e-5, dtype=self.dtype, name="self_attn_layer_norm")(hidden + attended)
        return feed_forward(self, c, c.encoder_ffn_dim, hidden, deterministic), weights


class DetrDecoderLayer(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, query_positions, memory, memory_positions, memory_mask=None, deterministic=True):
        c = self.config
        heads = c.decoder_attention_heads
        attended, self_weights = DetrAttention(c, heads, self.dtype, name="self_attn")(
            hidden, positions=query_positions, deterministic=deterministic)
        attended = nn.Dropout(c.dropout)(attended, deterministic=deterministic)
        hidden = LayerNorm(epsilon=1e-5, dtype=self.dtype, name="self_attn_layer_norm")(hidden + attended)
        attended, cross_weights = DetrAttention(c, heads, self.dtype, name="encoder_attn")(
            hidden, memory_mask, query_positions, memory, memory_positions, deterministic=deterministic)
        attended = nn.Dropout(c.dropout)(attended, deterministic=deterministic)
        hidden = LayerNorm(epsilon=1e-5, dtype=self.dtype, name="encoder_attn_layer_norm")(hidden + attended)
        return feed_forward(self, c, c.decoder_ffn_dim, hidden, deterministic), self_weights, cross_weights


def _dropped(module, layerdrop: float, deterministic: bool) -> bool:
    if deterministic or layerdrop <= 0:
        return False
    return bool(jax.random.uniform(module.make_rng("dropout")) < layerdrop)


class DetrEncoderLayers(nn.Module):
    """The layers `0`, `1`, … under `encoder/layers`."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, mask, positions, deterministic=True):
        states, attentions = (), ()
        for i in range(self.config.encoder_layers):
            states += (hidden,)
            layer = DetrEncoderLayer(self.config, self.dtype, name=str(i))
            if _dropped(self, self.config.encoder_layerdrop, deterministic):
                attentions += (None,)
                continue
            hidden, weights = layer(hidden, mask, positions, deterministic)
            attentions += (weights,)
        return hidden, states, attentions


class DetrEncoder(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, keep_mask, positions, output_attentions=False, output_hidden_states=False,
                 deterministic=True):  # fmt: skip
        hidden = nn.Dropout(self.config.dropout)(hidden, deterministic=deterministic)
        mask = None if keep_mask is None else additive_mask(keep_mask, hidden.dtype)
        hidden, states, attentions = DetrEncoderLayers(self.config, self.dtype, name="layers")(
            hidden, mask, positions, deterministic)
        return out.BaseModelOutput(last_hidden_state=hidden,
                                   hidden_states=states + (hidden,) if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class DetrDecoderLayers(nn.Module):
    """The layers `0`, `1`, … under `decoder/layers`; with auxiliary_loss each output goes through `norm`
    (the decoder's final LayerNorm) before the next layer (see the PyTorch block)."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, query_positions, memory, memory_positions, memory_mask, norm, deterministic=True):
        states, self_attentions, cross_attentions, intermediate = (), (), (), ()
        for i in range(self.config.decoder_layers):
            states += (hidden,)
            layer = DetrDecoderLayer(self.config, self.dtype, name=str(i))
            if _dropped(self, self.config.decoder_layerdrop, deterministic):
                continue
            hidden, self_weights, cross_weights = layer(hidden, query_positions, memory, memory_positions,
                                                        memory_mask, deterministic)  # fmt: skip
            if self.config.auxiliary_loss:
                hidden = norm(hidden)
                intermediate += (hidden,)
            self_attentions += (self_weights,)
            cross_attentions += (cross_weights,)
        return hidden, states, self_attentions, cross_attentions, intermediate


class DetrDecoder(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, query_positions, memory, memory_positions, memory_keep=None, output_attentions=False,
                 output_hidden_states=False, deterministic=True):  # fmt: skip
        memory_mask = None if memory_keep is None else additive_mask(memory_keep, hidden.dtype)
        norm = LayerNorm(epsilon=1e-5, dtype=self.dtype, name="layernorm")
        hidden, states, self_attentions, cross_attentions, intermediate = DetrDecoderLayers(
            self.config, self.dtype, name="layers")(hidden, query_positions, memory, memory_positions, memory_mask,
                                                    norm, deterministic)  # fmt: skip
        hidden = norm(hidden)
        return out.DetrModelOutput(
            last_hidden_state=hidden,
            decoder_hidden_states=states + (hidden,) if output_hidden_states else None,
            decoder_attentions=self_attentions if output_attentions else None,
            cross_attentions=cross_attentions if output_attentions else None,
            intermediate_hidden_states=jnp.stack(intermediate) if self.config.auxiliary_loss and intermediate else None,
        )


class DetrMLPLayers(nn.Module):
    """Dense layers `0`, `1`, … with ReLU between them (under the box head's `layers`)."""

    config: Any
    hidden_dim: int
    output_dim: int
    num_layers: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        widths = [self.hidden_dim] * (self.num_layers - 1) + [self.output_dim]
        for i, width in enumerate(widths):
            x = dense(self.config, width, str(i), self.dtype)(x)
            if i < len(widths) - 1:
                x = jax.nn.relu(x)
        return x


class DetrMLPPredictionHead(nn.Module):
    config: Any
    hidden_dim: int
    output_dim: int
    num_layers: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        return DetrMLPLayers(self.config, self.hidden_dim, self.output_dim, self.num_layers, self.dtype,
                             name="layers")(x)  # fmt: skip


def flatten_map(x):
    """Channels-first [batch, channels, H, W] -> [batch, H * W, channels]."""
    return x.reshape(x.shape[0], x.shape[1], -1).transpose(0, 2, 1)
