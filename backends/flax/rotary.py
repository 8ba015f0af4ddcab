"""Rotary embeddings in JAX, from the core's inverse frequencies: "rotate half" (Llama) or interleaved
(GPT-J) layout, over all of each head or its first rotary_dim dims."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from autoload.rope import (
    LENGTH_DEPENDENT,
    attention_factor,
    dynamic_ntk_terms,
    inverse_frequencies,
    longrope_choices,
    rope_kind,
)


def rope_length(config, positions, default):
    """The length dynamic and longrope frequencies depend on: the largest position + 1, a traced scalar under
    jax.jit (the compiled decoding step); `default` for the other rope types, which do not read it."""
    if rope_kind(config) not in LENGTH_DEPENDENT:
        return default
    top = jnp.max(positions) + 1
    return top if isinstance(top, jax.core.Tracer) else int(top)


def traced_inverse_frequencies(config, seq_len):
    """inverse_frequencies for a length known only when the traced code runs."""
    if rope_kind(config) == "longrope":
        original, short, long = longrope_choices(config)
        return jnp.where(seq_len > original, jnp.asarray(long), jnp.asarray(short))
    limit, base, factor, exponents = dynamic_ntk_terms(config)
    dim = 2 * exponents.shape[0]
    stretched = base * ((factor * seq_len.astype(jnp.float32) / limit) - (factor - 1)) ** (dim / (dim - 2))
    return jnp.where(seq_len > limit, 1.0 / stretched ** jnp.asarray(exponents), 1.0 / base ** jnp.asarray(exponents))


def rotary_cos_sin(config, positions, seq_len, dtype, local: bool = False, interleaved: bool = False):
    """cos and sin [batch, seq, rotary_dim] for integer positions [batch, seq], computed in float32 and
    scaled by the rope type's attention factor. seq_len (dynamic and longrope read it) may be traced."""
    if isinstance(seq_len, jax.core.Tracer) and rope_kind(config, local) in LENGTH_DEPENDENT:
        inv = traced_inverse_frequencies(config, seq_len).astype(jnp.float32)
    else:
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
