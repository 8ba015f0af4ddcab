"""Rotary embeddings in TensorFlow, from the core's inverse frequencies: "rotate half" (Llama) or
interleaved (GPT-J) layout, over all of each head or its first rotary_dim dims."""

from __future__ import annotations

import tensorflow as tf

from autoload.rope import attention_factor, inverse_frequencies


def rotary_cos_sin(config, positions, seq_len: int, dtype, local: bool = False, interleaved: bool = False):
    """cos and sin [batch, seq, rotary_dim] for integer positions [batch, seq], computed in float32 and
    scaled by the rope type's attention factor."""
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
