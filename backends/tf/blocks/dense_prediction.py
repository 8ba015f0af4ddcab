"""Dense-prediction blocks in TensorFlow (Keras 3), named as the PyTorch checkpoints name them (see
autoload/backends/torch/blocks/dense_prediction.py). Maps are NHWC inside."""

from __future__ import annotations

import tensorflow as tf

from ..modeling import Layer, weights_init
from .vision import resize_maps_nhwc, to_nhwc


class DepthwiseConv(Layer):
    """A depthwise convolution with PyTorch's symmetric zero padding, its kernel stored as Keras' grouped Conv2D
    stores it ([k, k, 1, channels], what the shared converter makes of PyTorch's [channels, 1, k, k]); computed
    with tf.nn.depthwise_conv2d (Keras' grouped convolution cannot read variables created while loading)."""

    def __init__(self, config, channels: int, kernel_size: int = 3, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.config, self.channels, self.kernel_size, self.padding = config, channels, kernel_size, padding

    def build(self, input_shape=None):
        k = self.kernel_size
        self.kernel = self.add_weight(name="kernel", shape=(k, k, 1, self.channels),
                                      initializer=weights_init(self.config))  # fmt: skip
        self.bias = self.add_weight(name="bias", shape=(self.channels,), initializer="zeros")
        self.built = True

    def call(self, x):
        p, k = self.padding, self.kernel_size
        if p:
            x = tf.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        kernel = tf.reshape(self.kernel, (k, k, self.channels, 1))
        return tf.nn.depthwise_conv2d(x, kernel, strides=(1, 1, 1, 1), padding="VALID") + self.bias


def pad_nhwc(x, padding: int):
    """PyTorch's symmetric zero padding of a convolution, applied before a "valid" Keras convolution."""
    if not padding:
        return x
    return tf.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))


def semantic_loss(logits_nchw, labels, config):
    """Cross-entropy of the logits resized to the labels, ignoring semantic_loss_ignore_index (the mean over the
    other pixels); with one label, binary cross-entropy averaged over every pixel, the ignored ones counted as 0."""
    logits = resize_maps_nhwc(to_nhwc(logits_nchw), labels.shape[-2:])
    labels = tf.convert_to_tensor(labels)
    if config.num_labels > 1:
        labels_ = tf.cast(labels, tf.int32)
        keep = labels_ != config.semantic_loss_ignore_index
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.where(keep, labels_, 0), logits=logits)
        weights = tf.cast(keep, losses.dtype)
        return tf.reduce_sum(losses * weights) / tf.reduce_sum(weights)
    valid = tf.cast((labels >= 0) & (labels != config.semantic_loss_ignore_index), logits.dtype)
    losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(labels, logits.dtype), logits=logits[..., 0])
    return tf.reduce_mean(losses * valid)
