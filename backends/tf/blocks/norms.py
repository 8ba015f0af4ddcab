"""RMSNorm as the decoders use it: statistics in float32; Llama's scales after casting back, Gemma's
(`offset`: scale 1 + weight, weights starting at 0) before."""

from __future__ import annotations

import tensorflow as tf

from .. import keras_layers


class TFRMSNorm(keras_layers.Layer):
    def __init__(self, size: int, eps: float, offset: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.size, self.eps, self.offset = size, eps, offset

    def build(self, input_shape=None):
        self.weight = self.add_weight(name="weight", shape=(self.size,), initializer="zeros" if self.offset else "ones")
        self.built = True

    def call(self, hidden):
        x = tf.cast(hidden, tf.float32)
        x = x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + self.eps)
        if self.offset:
            return tf.cast(x * (1.0 + tf.cast(self.weight, tf.float32)), hidden.dtype)
        return tf.cast(self.weight, hidden.dtype) * tf.cast(x, hidden.dtype)
