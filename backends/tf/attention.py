"""Attention helpers shared by the TF decoders: additive masks and a key/value cache."""

from __future__ import annotations

import tensorflow as tf


def causal_bias(length: int, past_length, attention_mask, dtype, window: int | None = None):
    """Additive [batch or 1, 1, length, past+length] bias: no later positions, no padding, nothing at or
    beyond `window` positions back."""
    neg = dtype.min
    query = tf.range(length)[:, None] + past_length
    key = tf.range(past_length + length)[None, :]
    blocked = key > query
    if window is not None:
        blocked = blocked | ((query - key) >= window)
    bias = tf.where(blocked, neg, 0.0)[None, None]
    bias = tf.cast(bias, dtype)
    if attention_mask is not None:
        padding = (1.0 - tf.cast(attention_mask[:, None, None, :], dtype)) * neg
        bias = tf.maximum(bias + padding, neg)
    return bias


def extend_cache(past, key, value):
    """Append this step's keys/values ([batch, heads, seq, dim]) to the cached ones."""
    if past is None:
        return key, value
    return tf.concat([past[0], key], axis=2), tf.concat([past[1], value], axis=2)


def attend(q, k, v, bias, scale: float):
    """q [b, h, q, d], k/v [b, h, k, d] -> [b, h, q, d]."""
    scores = tf.matmul(q, k, transpose_b=True) * scale
    if bias is not None:
        scores = scores + bias
    return tf.matmul(tf.nn.softmax(scores, axis=-1), v)


def split_heads(x, heads: int, head_dim: int):
    shape = tf.shape(x)
    return tf.transpose(tf.reshape(x, (shape[0], shape[1], heads, head_dim)), (0, 2, 1, 3))


def merge_heads(x):
    shape = tf.shape(x)
    return tf.reshape(tf.transpose(x, (0, 2, 1, 3)), (shape[0], shape[2], shape[1] * shape[3]))
