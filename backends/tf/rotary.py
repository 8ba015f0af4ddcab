"""Rotary embeddings in TensorFlow, from the core's inverse frequencies: "rotate half" (Llama) or
interleaved (GPT-J) layout, over all of each head or its first rotary_dim dims."""

from __future__ import annotations

import tensorflow as tf

from autoload.rope import (
    LENGTH_DEPENDENT,
    attention_factor,
    dynamic_ntk_terms,
    inverse_frequencies,
    longrope_choices,
    rope_kind,
)


def rope_length(config, positions, default):
    """The length dynamic and longrope frequencies depend on: the largest position + 1, a tensor while TF traces
    (the compiled decoding step); `default` for the other rope types, which do not read it."""
    if rope_kind(config) not in LENGTH_DEPENDENT:
        return default
    top = tf.reduce_max(positions) + 1
    return int(top) if tf.executing_eagerly() else top


def traced_inverse_frequencies(config, seq_len):
    """inverse_frequencies for a length known only when the traced graph runs."""
    if rope_kind(config) == "longrope":
        original, short, long = longrope_choices(config)
        return tf.where(seq_len > original, tf.constant(long), tf.constant(short))
    limit, base, factor, exponents = dynamic_ntk_terms(config)
    dim = 2 * exponents.shape[0]
    stretched = base * ((factor * tf.cast(seq_len, tf.float32) / limit) - (factor - 1)) ** (dim / (dim - 2))
    return tf.where(seq_len > limit, 1.0 / stretched ** tf.constant(exponents), tf.constant(1.0 / base**exponents))


def rotary_cos_sin(config, positions, seq_len, dtype, local: bool = False, interleaved: bool = False):
    """cos and sin [batch, seq, rotary_dim] for integer positions [batch, seq], computed in float32 and
    scaled by the rope type's attention factor. seq_len (dynamic and longrope read it) may be a traced tensor."""
    if tf.is_tensor(seq_len) and rope_kind(config, local) in LENGTH_DEPENDENT:
        inv = tf.cast(traced_inverse_frequencies(config, seq_len), tf.float32)
    else:
        inv = tf.constant(inverse_frequencies(config, seq_len, local=local))
    angles = tf.cast(positions, tf.float32)[..., None] * inv
    if interleaved:  # tf.repeat keeps the static width, which apply_rotary reads when traced
        angles = tf.repeat(angles, 2, axis=-1)
    else:
        angles = tf.concat([angles, angles], axis=-1)
    scale = attention_factor(config, local=local)
    return tf.cast(tf.cos(angles) * scale, dtype), tf.cast(tf.sin(angles) * scale, dtype)


def apply_rotary(x, cos, sin, interleaved: bool = False):
    """x [batch, heads, seq, head_dim]; dims past cos's width (partial rotary) pass through unchanged."""
    width = cos.shape[-1]
    rotated, kept = (x, None) if width == x.shape[-1] else (x[..., :width], x[..., width:])
    if interleaved:
        pairs = tf.stack([-rotated[..., 1::2], rotated[..., ::2]], axis=-1)
        turn = tf.reshape(pairs, tf.shape(rotated))
    else:
        half = width // 2
        turn = tf.concat([-rotated[..., half:], rotated[..., :half]], axis=-1)
    rotated = rotated * cos[:, None] + turn * sin[:, None]
    return rotated if kept is None else tf.concat([rotated, kept], axis=-1)
