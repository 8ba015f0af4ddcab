"""Rotary embeddings in TensorFlow ("rotate half" layout), from the core's inverse frequencies."""

from __future__ import annotations

import tensorflow as tf

from autoload.rope import inverse_frequencies


def rotary_cos_sin(config, positions, seq_len: int, dtype):
    """cos and sin [batch, seq, head_dim] for integer positions [batch, seq]."""
    inv = tf.constant(inverse_frequencies(config, seq_len))
    angles = tf.cast(positions, tf.float32)[..., None] * inv
    angles = tf.concat([angles, angles], axis=-1)
    return tf.cast(tf.cos(angles), dtype), tf.cast(tf.sin(angles), dtype)


def apply_rotary(x, cos, sin):
    """x [batch, heads, seq, head_dim]."""
    half = x.shape[-1] // 2
    rotated = tf.concat([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos[:, None] + rotated * sin[:, None]
