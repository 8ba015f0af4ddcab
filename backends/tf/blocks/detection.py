"""DETR-style detection blocks in TensorFlow (Keras 3); layer names are the checkpoint names, as in
backends/torch/blocks/detection.py (see there and autoload/detr.py for what each block computes). Feature maps
run channels-last inside; what a block returns to the model is laid out as the PyTorch block returns it."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload import registry
from autoload.detr import LEARNED_POSITIONS, nearest_index

from .. import keras_layers
from ..activations import get_activation
from ..modeling import Layer, dense


def resize_nearest(x, size, axes=(-2, -1)):
    """PyTorch's interpolate(mode="nearest") of two axes (the last two by default), by the shared index arrays."""
    rows, cols = axes
    x = tf.gather(x, nearest_index(x.shape[rows], size[0]), axis=rows)
    return tf.gather(x, nearest_index(x.shape[cols], size[1]), axis=cols)


def additive_mask(keep, dtype=tf.float32):
    """[batch, keys] (1 = attend) -> [batch, 1, 1, keys]: 0 where kept, the dtype's minimum elsewhere."""
    return (1.0 - tf.cast(keep[:, None, None, :], dtype)) * dtype.min


def build_backbone(backbone_config, name: str = "model"):
    """Our own TF backbone model for `backbone_config`."""
    return registry.model_class_for("MODEL_FOR_BACKBONE", "tf", backbone_config)(backbone_config, name=name)


def sine_frequencies(dim: int) -> np.ndarray:
    exponent = (2 * (np.arange(dim) // 2)).astype(np.float32) / np.float32(dim)
    return (np.float32(10000) ** exponent).astype(np.float32)


def sine_positions(mask, dim: int):
    """[batch, H, W] mask (1 = real pixel) -> channels-first [batch, 2 * dim, H, W] sine positions."""
    mask = tf.cast(mask, tf.float32)
    y = tf.cumsum(mask, axis=1)
    x = tf.cumsum(mask, axis=2)
    y = y / (y[:, -1:, :] + 1e-6) * (2 * np.pi)
    x = x / (x[:, :, -1:] + 1e-6) * (2 * np.pi)
    frequencies = tf.constant(sine_frequencies(dim))

    def encode(values):
        angles = values[..., None] / frequencies
        paired = tf.stack((tf.sin(angles[..., 0::2]), tf.cos(angles[..., 1::2])), axis=4)
        shape = tf.shape(paired)
        return tf.reshape(paired, tf.concat([shape[:3], [dim]], 0))

    return tf.transpose(tf.concat((encode(y), encode(x)), axis=3), (0, 3, 1, 2))


class TFDetrSinePositionEmbedding(Layer):
    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim

    def call(self, feature_map, pixel_mask):
        return sine_positions(pixel_mask, self.dim)


class TFDetrLearnedPositionEmbedding(Layer):
    """Column (first half of the channels) and row (second half) tables of 50 positions each."""

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.row_embeddings = keras_layers.Embedding(LEARNED_POSITIONS, dim, name="row_embeddings")
        self.column_embeddings = keras_layers.Embedding(LEARNED_POSITIONS, dim, name="column_embeddings")

    def input_sizes(self):  # each reads a range of positions
        return dict.fromkeys((self.row_embeddings, self.column_embeddings), (None,))

    def call(self, feature_map, pixel_mask=None):
        height, width = feature_map.shape[-2], feature_map.shape[-1]
        if max(height, width) > LEARNED_POSITIONS:
            raise ValueError(
                f"Learned position embeddings cover {LEARNED_POSITIONS} rows and columns; this feature map is "
                f"{height}x{width}. Use smaller images."
            )
        columns = self.column_embeddings(tf.range(width))
        rows = self.row_embeddings(tf.range(height))
        grid = tf.concat([tf.tile(columns[None], (height, 1, 1)), tf.tile(rows[:, None], (1, width, 1))], axis=-1)
        grid = tf.transpose(grid, (2, 0, 1))[None]
        return tf.tile(grid, (tf.shape(feature_map)[0], 1, 1, 1))


def position_embedding(config, name: str = "position_embedding"):
    if config.position_embedding_type == "sine":
        return TFDetrSinePositionEmbedding(config.d_model // 2, name=name)
    return TFDetrLearnedPositionEmbedding(config.d_model // 2, name=name)


def _dropout(x, rate: float, training: bool):
    return tf.nn.dropout(x, rate) if training and rate > 0 else x


class TFDetrAttention(Layer):
    """Multi-head attention whose queries and keys (not values) get position embeddings added."""

    def __init__(self, config, embed_dim: int, num_heads: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.dropout = dropout
        self.k_proj = dense(config, embed_dim, "k_proj")
        self.v_proj = dense(config, embed_dim, "v_proj")
        self.q_proj = dense(config, embed_dim, "q_proj")
        self.out_proj = dense(config, embed_dim, "out_proj")

    def input_sizes(self):
        return dict.fromkeys((self.k_proj, self.v_proj, self.q_proj, self.out_proj), self.out_proj.units)

    def _heads(self, x):
        shape = tf.shape(x)
        return tf.transpose(tf.reshape(x, (shape[0], shape[1], self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def call(self, hidden, bias=None, positions=None, key_value_states=None, key_positions=None, training=False):
        """`bias` is additive [batch, 1, 1, keys]; returns (output, attention weights)."""
        queries_in = hidden if positions is None else hidden + positions
        if key_value_states is None:
            keys_in, values_in = queries_in, hidden
        else:
            keys_in = key_value_states if key_positions is None else key_value_states + key_positions
            values_in = key_value_states
        q = self._heads(self.q_proj(queries_in) * self.head_dim**-0.5)
        k, v = self._heads(self.k_proj(keys_in)), self._heads(self.v_proj(values_in))
        scores = tf.matmul(q, k, transpose_b=True)
        if bias is not None:
            scores = scores + bias
        weights = tf.nn.softmax(scores, axis=-1)
        context = tf.matmul(_dropout(weights, self.dropout, training), v)
        shape = tf.shape(context)
        context = tf.reshape(tf.transpose(context, (0, 2, 1, 3)), (shape[0], shape[2], self.num_heads * self.head_dim))
        return self.out_proj(context), weights


class _TFFeedForward(Layer):
    def __init__(self, config, ffn_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.fc1 = dense(config, ffn_dim, "fc1")
        self.fc2 = dense(config, config.d_model, "fc2")
        self.final_layer_norm = keras_layers.LayerNormalization(epsilon=1e-5, name="final_layer_norm")
        self.act = get_activation(config.activation_function)
        self.dropout, self.activation_dropout = config.dropout, config.activation_dropout
        self.width = config.d_model

    def input_sizes(self):
        return {self.fc1: self.width, self.fc2: self.fc1.units, self.final_layer_norm: self.width}

    def feed_forward(self, hidden, training=False):
        inner = _dropout(self.act(self.fc1(hidden)), self.activation_dropout, training)
        return self.final_layer_norm(hidden + _dropout(self.fc2(inner), self.dropout, training))


class TFDetrEncoderLayer(_TFFeedForward):
    def __init__(self, config, **kwargs):
        super().__init__(config, config.encoder_ffn_dim, **kwargs)
        self.self_attn = TFDetrAttention(config, config.d_model, config.encoder_attention_heads,
                                         config.attention_dropout, name="self_attn")  # fmt: skip
        self.self_attn_layer_norm = keras_layers.LayerNormalization(epsilon=1e-5, name="self_attn_layer_norm")

    def input_sizes(self):
        return {**super().input_sizes(), self.self_attn: None, self.self_attn_layer_norm: self.width}

    def call(self, hidden, bias=None, positions=None, training=False):
        attended, weights = self.self_attn(hidden, bias=bias, positions=positions, training=training)
        hidden = self.self_attn_layer_norm(hidden + _dropout(attended, self.dropout, training))
        return self.feed_forward(hidden, training), weights


class TFDetrDecoderLayer(_TFFeedForward):
    def __init__(self, config, **kwargs):
        super().__init__(config, config.decoder_ffn_dim, **kwargs)
        heads, dropout = config.decoder_attention_heads, config.attention_dropout
        self.self_attn = TFDetrAttention(config, config.d_model, heads, dropout, name="self_attn")
        self.self_attn_layer_norm = keras_layers.LayerNormalization(epsilon=1e-5, name="self_attn_layer_norm")
        self.encoder_attn = TFDetrAttention(config, config.d_model, heads, dropout, name="encoder_attn")
        self.encoder_attn_layer_norm = keras_layers.LayerNormalization(epsilon=1e-5, name="encoder_attn_layer_norm")

    def input_sizes(self):
        return {**super().input_sizes(), self.self_attn: None, self.self_attn_layer_norm: self.width,
                self.encoder_attn: None, self.encoder_attn_layer_norm: self.width}  # fmt: skip

    def call(self, hidden, query_positions, memory, memory_positions, memory_mask=None, training=False):
        attended, self_weights = self.self_attn(hidden, positions=query_positions, training=training)
        hidden = self.self_attn_layer_norm(hidden + _dropout(attended, self.dropout, training))
        attended, cross_weights = self.encoder_attn(hidden, bias=memory_mask, positions=query_positions,
                                                    key_value_states=memory, key_positions=memory_positions,
                                                    training=training)  # fmt: skip
        hidden = self.encoder_attn_layer_norm(hidden + _dropout(attended, self.dropout, training))
        return self.feed_forward(hidden, training), self_weights, cross_weights


def _dropped(layerdrop: float, training: bool) -> bool:
    return training and layerdrop > 0 and float(np.random.uniform()) < layerdrop


class TFDetrEncoder(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.dropout, self.layerdrop = config.dropout, config.encoder_layerdrop
        self.layers = [TFDetrEncoderLayer(config, name=f"layers.{i}") for i in range(config.encoder_layers)]

    def input_sizes(self):
        return dict.fromkeys(self.layers)

    def call(self, hidden, keep_mask, positions, output_attentions=False, output_hidden_states=False, training=False):
        hidden = _dropout(hidden, self.dropout, training)
        bias = None if keep_mask is None else additive_mask(keep_mask, hidden.dtype)
        states, attentions = (), ()
        for layer in self.layers:
            states += (hidden,)
            if _dropped(self.layerdrop, training):
                attentions += (None,)
                continue
            hidden, weights = layer(hidden, bias=bias, positions=positions, training=training)
            attentions += (weights,)
        return out.BaseModelOutput(last_hidden_state=hidden,
                                   hidden_states=states + (hidden,) if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class TFDetrDecoder(Layer):
    """Queries through self- and cross-attention layers and a final LayerNorm (see the PyTorch block for the
    auxiliary-loss intermediate states)."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.layerdrop, self.auxiliary = config.decoder_layerdrop, config.auxiliary_loss
        self.layers = [TFDetrDecoderLayer(config, name=f"layers.{i}") for i in range(config.decoder_layers)]
        self.layernorm = keras_layers.LayerNormalization(epsilon=1e-5, name="layernorm")
        self.width = config.d_model

    def input_sizes(self):
        return {**dict.fromkeys(self.layers), self.layernorm: self.width}

    def call(self, hidden, query_positions, memory, memory_positions, memory_keep=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        memory_mask = None if memory_keep is None else additive_mask(memory_keep, hidden.dtype)
        states, self_attentions, cross_attentions, intermediate = (), (), (), ()
        for layer in self.layers:
            states += (hidden,)
            if _dropped(self.layerdrop, training):
                continue
            hidden, self_weights, cross_weights = layer(hidden, query_positions, memory, memory_positions,
                                                        memory_mask=memory_mask, training=training)  # fmt: skip
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
            intermediate_hidden_states=tf.stack(intermediate) if self.auxiliary and intermediate else None,
        )


class TFDetrMLPPredictionHead(Layer):
    """Dense layers `layers.N` with ReLU between them (DETR's box head)."""

    def __init__(self, config, hidden_dim: int, output_dim: int, num_layers: int, input_dim: int | None = None,
                 **kwargs):  # fmt: skip
        """input_dim: the features' width (hidden_dim by default)."""
        super().__init__(**kwargs)
        widths = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = [dense(config, w, f"layers.{i}") for i, w in enumerate(widths)]
        self.sizes = dict(zip(self.layers, [hidden_dim if input_dim is None else input_dim] + widths[:-1]))

    def input_sizes(self):
        return self.sizes

    def call(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else tf.nn.relu(layer(x))
        return x


def flatten_map(x):
    """Channels-first [batch, channels, H, W] -> [batch, H * W, channels]."""
    shape = tf.shape(x)
    return tf.transpose(tf.reshape(x, (shape[0], x.shape[1], -1)), (0, 2, 1))
