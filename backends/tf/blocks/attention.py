"""Self-attention of the pre-norm decoders in TensorFlow: separate or fused q/k/v projections, optional
q/k RMSNorm, rotary positions, grouped-query heads, an additive bias (causal, padding, sliding window),
logit soft-capping and a (key, value) cache of [batch, kv_heads, seq, head_dim] tensors."""

from __future__ import annotations

import tensorflow as tf

from autoload.decoder_options import DecoderOptions

from ..modeling import Dropout, Layer, dense
from ..rotary import apply_rotary
from .norms import TFRMSNorm


def decoder_bias(length, past_length, attention_mask, dtype, window: int | None = None, causal: bool = True):
    """Additive [batch or 1, 1, length, past+length] bias: no later positions (when causal), no padding, and
    with a window nothing `window` or more positions away (before, or either side when not causal)."""
    neg = dtype.min
    query = tf.range(length)[:, None] + past_length
    key = tf.range(past_length + length)[None, :]
    blocked = key > query if causal else tf.zeros_like(key - query, dtype=tf.bool)
    if window is not None:
        blocked = blocked | (tf.abs(query - key) >= window)
    bias = tf.cast(tf.where(blocked, neg, 0.0)[None, None], dtype)
    if attention_mask is not None:
        padding = (1.0 - tf.cast(attention_mask[:, None, None, :], dtype)) * neg
        bias = tf.maximum(bias + padding, neg)
    return bias


def attend(q, k, v, bias, scale: float, softcap: float | None = None, dropout=None, training=False):
    """q [b, h, q, d], k/v [b, h, k, d] -> (context [b, h, q, d], probabilities); softmax in float32."""
    scores = tf.matmul(q, k, transpose_b=True) * tf.cast(scale, q.dtype)
    if softcap is not None:
        scores = tf.tanh(scores / softcap) * softcap
    if bias is not None:
        scores = scores + bias
    probs = tf.cast(tf.nn.softmax(tf.cast(scores, tf.float32), axis=-1), q.dtype)
    if dropout is not None:
        probs = dropout(probs, training=training)
    return tf.matmul(probs, v), probs


def _heads(x, count: int, head_dim: int):
    shape = tf.shape(x)
    return tf.transpose(tf.reshape(x, (shape[0], shape[1], count, head_dim)), (0, 2, 1, 3))


class TFDecoderAttention(Layer):
    def __init__(self, options: DecoderOptions, config, **kwargs):
        super().__init__(**kwargs)
        o = self.options = options
        kv_width = o.num_kv_heads * o.head_dim
        if o.fused_qkv:
            self.qkv_proj = dense(config, o.num_heads * o.head_dim + 2 * kv_width, "qkv_proj", use_bias=o.qkv_bias)
        else:
            self.q_proj = dense(config, o.num_heads * o.head_dim, "q_proj", use_bias=o.qkv_bias)
            self.k_proj = dense(config, kv_width, "k_proj", use_bias=o.qkv_bias)
            self.v_proj = dense(config, kv_width, "v_proj", use_bias=o.qkv_bias)
        self.o_proj = dense(config, o.hidden_size, "o_proj", use_bias=o.o_bias)
        if o.qk_norm:
            self.q_norm = TFRMSNorm(o.head_dim, o.norm_eps, o.norm_offset, name="q_norm")
            self.k_norm = TFRMSNorm(o.head_dim, o.norm_eps, o.norm_offset, name="k_norm")
        self.dropout = Dropout(o.attention_dropout) if o.attention_dropout else None

    def input_sizes(self):
        o = self.options
        projections = [self.qkv_proj] if o.fused_qkv else [self.q_proj, self.k_proj, self.v_proj]
        sizes = {**dict.fromkeys(projections, o.hidden_size), self.o_proj: o.num_heads * o.head_dim}
        if o.qk_norm:  # over each head's dims
            sizes.update({self.q_norm: o.head_dim, self.k_norm: o.head_dim})
        return sizes

    def project(self, hidden):
        o = self.options
        if o.fused_qkv:
            kv_width = o.num_kv_heads * o.head_dim
            return tf.split(self.qkv_proj(hidden), [o.num_heads * o.head_dim, kv_width, kv_width], axis=-1)
        return self.q_proj(hidden), self.k_proj(hidden), self.v_proj(hidden)

    def call(self, hidden, cos=None, sin=None, bias=None, past=None, output_attentions=False, training=False):
        o = self.options
        q, k, v = self.project(hidden)
        shape = tf.shape(hidden)
        if o.qk_norm:  # over each head's dims, before the heads move forward
            q = tf.reshape(self.q_norm(tf.reshape(q, (shape[0], shape[1], o.num_heads, o.head_dim))), tf.shape(q))
            k = tf.reshape(self.k_norm(tf.reshape(k, (shape[0], shape[1], o.num_kv_heads, o.head_dim))), tf.shape(k))
        q = apply_rotary(_heads(q, o.num_heads, o.head_dim), cos, sin)
        k = apply_rotary(_heads(k, o.num_kv_heads, o.head_dim), cos, sin)
        v = _heads(v, o.num_kv_heads, o.head_dim)
        if past is not None:
            k, v = tf.concat([past[0], k], axis=2), tf.concat([past[1], v], axis=2)
        keys, values = (k, v) if o.groups == 1 else (tf.repeat(k, o.groups, axis=1), tf.repeat(v, o.groups, axis=1))
        context, probs = attend(q, keys, values, bias, o.attention_scale, o.attn_softcap, self.dropout, training)
        context = tf.reshape(tf.transpose(context, (0, 2, 1, 3)), (shape[0], shape[1], o.num_heads * o.head_dim))
        return self.o_proj(context), probs if output_attentions else None, (k, v)
