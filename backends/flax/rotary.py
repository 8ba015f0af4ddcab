"""Rotary embeddings in JAX, from the core's inverse frequencies: "rotate half" (Llama) or interleaved
(GPT-J) layout, over all of each head or its first rotary_dim dims."""

from __future__ import annotations

import jax.numpy as jnp

from autoload.rope import attention_factor, inverse_frequencies


def rotary_cos_sin(config, positions, seq_len: int, dtype, local: bool = False, interleaved: bool = False):
    """cos and sin [batch, seq, rotary_dim] for integer positions [batch, seq], computed in float32 and
    scaled by the rope type's attention factor."""
    inv = jnp.asarray(inverse_frequencies(config, seq_len, local=local))
    angles = positions[..., None].astype(jnp.float32) * inv
    angles = jnp.repeat(angles, 2, axis=-1) if interleaved else jnp.concatenate([angles, angles], axis=-1)
    scale = attention_factor(config, local=local)
    return (jnp.cos(angles) * scale).astype(dtype), (jnp.sin(angles) * scale).astype(dtype)


def apply_rotary(x, cos, sin, interleaved: bool = False):
    """x [batch, seq, heads, head_dim]; dims past cos's width (partial rotary) pass through unchanged."""
    width = cos.shape[-1]
    rotated, kept = (x, None) if width == x.shape[-1] else (x[..., :width], x[..., width:])
    if interleaved:
        turn = jnp.stack([-rotated[..., 1::2], rotated[..., ::2]], axis=-1).reshape(rotated.shape)
    else:
        half = width // 2
        turn = jnp.concatenate([-rotated[..., half:], rotated[..., :half]], axis=-1)
    rotated = rotated * cos[:, :, None] + turn * sin[:, :, None]
    return rotated if kept is None else jnp.concatenate([rotated, kept], axis=-1)
