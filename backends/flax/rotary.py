"""Rotary embeddings in JAX ("rotate half" layout), from the core's inverse frequencies."""

from __future__ import annotations

import jax.numpy as jnp

from autoload.rope import inverse_frequencies


def rotary_cos_sin(config, positions, seq_len: int, dtype):
    """cos and sin [batch, seq, head_dim] for integer positions [batch, seq]."""
    inv = jnp.asarray(inverse_frequencies(config, seq_len))
    angles = positions[..., None].astype(jnp.float32) * inv
    angles = jnp.concatenate([angles, angles], axis=-1)
    return jnp.cos(angles).astype(dtype), jnp.sin(angles).astype(dtype)


def apply_rotary(x, cos, sin):
    """x [batch, seq, heads, head_dim]."""
    half = x.shape[-1] // 2
    rotated = jnp.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos[:, :, None] + rotated * sin[:, :, None]
