"""Self-attention of the pre-norm decoders in Flax: separate or fused q/k/v projections, optional q/k
RMSNorm, rotary positions, grouped-query heads, an additive bias (causal, padding, sliding window), logit
soft-capping, and a (key, value) cache of [batch, seq, kv_heads, head_dim] arrays or StaticCaches (the
fixed-capacity buffers generate() decodes into, so every step has the same shapes)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from ..attention import as_array, extend_cache
from ..rotary import apply_rotary
from .norms import FlaxRMSNorm


def dense(config, features: int, use_bias: bool, dtype, name: str | None = None) -> nn.Dense:
    init = nn.initializers.normal(getattr(config, "initializer_range", 0.02))
    return nn.Dense(features, use_bias=use_bias, dtype=dtype, kernel_init=init, name=name)


def decoder_bias(length: int, past_length: int, attention_mask, dtype, window: int | None = None,
                 causal: bool = True, keys: int | None = None):  # fmt: skip
    """Additive [batch or 1, 1, length, keys] bias (keys: past+length, or a static cache's capacity, whose
    unwritten positions lie in the future and so stay hidden): no later positions (when causal; when not,
    the unwritten positions are hidden by the mask), no padding, nothing `window` or more positions away."""
    neg = jnp.finfo(dtype).min
    query = past_length + jnp.arange(length)[:, None]  # past_length may be traced (the jitted decoding step)
    key = jnp.arange(past_length + length if keys is None else keys)[None, :]
    blocked = key > query if causal else key >= past_length + length
    if window is not None:
        blocked = blocked | (jnp.abs(query - key) >= window)
    bias = jnp.where(blocked, neg, 0.0).astype(dtype)[None, None]
    if attention_mask is not None:
        bias = jnp.maximum(bias + jnp.where(attention_mask[:, None, None, :] > 0, 0.0, neg).astype(dtype), neg)
    return bias


def attend(q, k, v, bias, scale: float, softcap: float | None = None, dropout=None, deterministic=True):
    """q [b, q, h, d], k/v [b, k, h, d] -> (context [b, q, h, d], probabilities [b, h, q, k])."""
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) * jnp.asarray(scale, q.dtype)
    if softcap is not None:
        scores = jnp.tanh(scores / softcap) * softcap
    if bias is not None:
        scores = scores + bias
    probs = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(q.dtype)
    if dropout is not None:
        probs = dropout(probs, deterministic=deterministic)
    return jnp.einsum("bhqk,bkhd->bqhd", probs, v), probs


class FlaxDecoderAttention(nn.Module):
    options: Any
    config: Any
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        o, c = self.options, self.config
        kv_width = o.num_kv_heads * o.head_dim
        if o.fused_qkv:
            self.qkv_proj = dense(c, o.num_heads * o.head_dim + 2 * kv_width, o.qkv_bias, self.dtype)
        else:
            self.q_proj = dense(c, o.num_heads * o.head_dim, o.qkv_bias, self.dtype)
            self.k_proj = dense(c, kv_width, o.qkv_bias, self.dtype)
            self.v_proj = dense(c, kv_width, o.qkv_bias, self.dtype)
        self.o_proj = dense(c, o.hidden_size, o.o_bias, self.dtype)
        if o.qk_norm:
            self.q_norm = FlaxRMSNorm(o.head_dim, o.norm_eps, o.norm_offset, self.dtype)
            self.k_norm = FlaxRMSNorm(o.head_dim, o.norm_eps, o.norm_offset, self.dtype)
        self.dropout = nn.Dropout(o.attention_dropout) if o.attention_dropout else None

    def project(self, hidden):
        o = self.options
        if o.fused_qkv:
            q_width, kv_width = o.num_heads * o.head_dim, o.num_kv_heads * o.head_dim
            return jnp.split(self.qkv_proj(hidden), [q_width, q_width + kv_width], axis=-1)
        return self.q_proj(hidden), self.k_proj(hidden), self.v_proj(hidden)

    def __call__(self, hidden, cos, sin, bias, past=None, output_attentions=False, deterministic=True):
        o = self.options
        q, k, v = (x.reshape(hidden.shape[:2] + (-1, o.head_dim)) for x in self.project(hidden))
        if o.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        k, v = extend_cache(past, k, v)
        keys, values = as_array(k), as_array(v)
        if o.groups > 1:
            keys, values = jnp.repeat(keys, o.groups, axis=2), jnp.repeat(values, o.groups, axis=2)
        context, probs = attend(q, keys, values, bias, o.attention_scale, o.attn_softcap, self.dropout, deterministic)
        out = self.o_proj(context.reshape(hidden.shape[:2] + (-1,)))
        return out, probs if output_attentions else None, (k, v)
