"""Attention helpers shared by the Flax decoders: masks as additive biases, key/value caching."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def causal_bias(length: int, past_length: int, attention_mask, dtype, window: int | None = None):
    """Additive [batch or 1, 1, length, past+length] bias: no later positions, no padding, and (with a
    window) nothing `window` or more positions back."""
    neg = jnp.finfo(dtype).min
    query = jnp.arange(past_length, past_length + length)[:, None]
    key = jnp.arange(past_length + length)[None, :]
    blocked = key > query
    if window is not None:
        blocked = blocked | ((query - key) >= window)
    bias = jnp.where(blocked, neg, 0.0).astype(dtype)[None, None]
    if attention_mask is not None:
        bias = jnp.maximum(bias + jnp.where(attention_mask[:, None, None, :] > 0, 0.0, neg).astype(dtype), neg)
    return bias


def extend_cache(past, key, value):
    """Append this step's keys/values ([batch, seq, heads, dim]) to the cached ones."""
    if past is None:
        return key, value
    return jnp.concatenate([past[0], key], axis=1), jnp.concatenate([past[1], value], axis=1)


def attend(q, k, v, bias, scale: float, dropout=None, deterministic=True):
    """q [b, q, h, d], k/v [b, k, h, d] -> [b, q, h, d]."""
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) * scale
    if bias is not None:
        scores = scores + bias
    probs = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(q.dtype)
    if dropout is not None:
        probs = dropout(probs, deterministic=deterministic)
    return jnp.einsum("bhqk,bkhd->bqhd", probs, v)
