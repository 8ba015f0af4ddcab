"""Attention helpers shared by the Flax decoders: masks as additive biases, key/value caching."""

from __future__ import annotations

import jax
import jax.numpy as jnp


@jax.tree_util.register_pytree_node_class
class StaticCache:
    """Keys or values [batch, capacity, heads, dim] whose first `length` positions are filled (`length` is a
    Python int, or a traced scalar inside the jitted decoding step).

    Decoding with it keeps every step's shapes the same, so JAX reuses the operations it compiled for the
    previous step instead of compiling each one again for a cache one position longer. Attention reads the
    whole buffer; the causal bias hides the positions not written yet. `shape` is the filled shape, which
    is what the models read as the past length.
    """

    def __init__(self, buffer, length: int):
        self.buffer, self.length = buffer, length

    @property
    def shape(self) -> tuple:
        return (self.buffer.shape[0], self.length, *self.buffer.shape[2:])

    @property
    def capacity(self) -> int:
        return self.buffer.shape[1]

    def append(self, new) -> StaticCache:
        if isinstance(self.length, int) and self.length + new.shape[1] > self.capacity:  # a traced length can't check
            raise ValueError(f"The key/value cache holds {self.capacity} positions; {self.length + new.shape[1]} needed.")
        buffer = jax.lax.dynamic_update_slice_in_dim(self.buffer, new.astype(self.buffer.dtype), self.length, axis=1)
        return StaticCache(buffer, self.length + new.shape[1])

    def tree_flatten(self):
        return (self.buffer,), self.length

    @classmethod
    def tree_unflatten(cls, length, children):
        return cls(children[0], length)


def as_array(keys):
    """The array attention reads: a static cache's whole buffer, or the keys themselves."""
    return keys.buffer if isinstance(keys, StaticCache) else keys


def key_width(past_key_values, total: int) -> int:
    """How many key positions attention sees: `total` (past + new), or a static cache's capacity."""
    if past_key_values and isinstance(past_key_values[0][0], StaticCache):
        return past_key_values[0][0].capacity
    return total


def to_static(past_key_values, capacity: int):
    """Every layer's self-attention keys and values (its first two entries; cross-attention ones follow
    and keep the encoder's length) moved into buffers of `capacity` positions."""

    def grow(x):
        pad = jnp.zeros((x.shape[0], capacity - x.shape[1], *x.shape[2:]), x.dtype)
        return StaticCache(jnp.concatenate([x, pad], axis=1), x.shape[1])

    return tuple(tuple(grow(t) for t in layer[:2]) + tuple(layer[2:]) for layer in past_key_values)


def causal_bias(length: int, past_length: int, attention_mask, dtype, window: int | None = None,
                keys: int | None = None):  # fmt: skip
    """Additive [batch or 1, 1, length, keys] bias (keys defaults to past+length): no later positions, no
    padding, and (with a window) nothing `window` or more positions back."""
    neg = jnp.finfo(dtype).min
    query = past_length + jnp.arange(length)[:, None]  # (past_length may be traced: the jitted step's)
    key = jnp.arange(past_length + length if keys is None else keys)[None, :]
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
    if isinstance(past[0], StaticCache):
        return past[0].append(key), past[1].append(value)
    return jnp.concatenate([past[0], key], axis=1), jnp.concatenate([past[1], value], axis=1)


def attend(q, k, v, bias, scale: float, dropout=None, deterministic=True):
    """q [b, q, h, d], k/v [b, k, h, d] (or static caches) -> [b, q, h, d]."""
    k, v = as_array(k), as_array(v)
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) * scale
    if bias is not None:
        scores = scores + bias
    probs = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(q.dtype)
    if dropout is not None:
        probs = dropout(probs, deterministic=deterministic)
    return jnp.einsum("bhqk,bkhd->bqhd", probs, v)
