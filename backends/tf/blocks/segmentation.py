"""Semantic-segmentation blocks in TensorFlow (Keras 3), named as the PyTorch checkpoints name them (see
autoload/backends/torch/blocks/segmentation.py). Maps are NHWC inside."""

from __future__ import annotations

import keras
import tensorflow as tf

from autoload.vision import adaptive_pool_matrix

from ..modeling import Layer, channels_last, weights_init
from .vision import ConvBatchNormReLU, batch_norm, conv, resize_maps_nhwc, to_nchw, to_nhwc


class PyramidPoolingBlock(Layer):
    """Adaptive average pooling to `scale` x `scale` (layer `0` in PyTorch, no weights), then `1`: conv/BN/ReLU."""

    def __init__(self, config, scale: int, channels: int, input_width: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.conv_module = ConvBatchNormReLU(config, channels, 1, input_width=input_width, name="1")

    def input_sizes(self):
        return {self.conv_module: None}

    def call(self, x, training=False):
        height, width = x.shape[1:3]
        pooled = tf.einsum("rh,bhwc,sw->brsc", adaptive_pool_matrix(height, self.scale), x,
                           adaptive_pool_matrix(width, self.scale))  # fmt: skip
        return self.conv_module(pooled, training=training)


class UperHead(Layer):
    """in_channels: the channels of every input level (BEiT's pyramid keeps hidden_size), None if unknown."""

    def __init__(self, config, channels: int, levels: int = 4, in_channels: int | None = None, **kwargs):
        super().__init__(**kwargs)
        known = in_channels is not None
        self.classifier = conv(config, config.num_labels, 1, "classifier")
        self.psp_modules = [PyramidPoolingBlock(config, scale, channels, in_channels, name=f"psp_modules.{i}")
                            for i, scale in enumerate(config.pool_scales)]  # fmt: skip
        # the top level beside its pooled copies, each pooled to `channels`
        top = in_channels + len(self.psp_modules) * channels if known else None
        self.bottleneck = ConvBatchNormReLU(config, channels, 3, padding=1, input_width=top, name="bottleneck")
        self.lateral_convs = [ConvBatchNormReLU(config, channels, 1, input_width=in_channels, name=f"lateral_convs.{i}")
                              for i in range(levels - 1)]  # fmt: skip
        self.fpn_convs = [ConvBatchNormReLU(config, channels, 3, padding=1, input_width=channels, name=f"fpn_convs.{i}")
                          for i in range(levels - 1)]  # fmt: skip
        self.fpn_bottleneck = ConvBatchNormReLU(config, channels, 3, padding=1, input_width=levels * channels,
                                                name="fpn_bottleneck")  # fmt: skip
        self.channels = channels

    def input_sizes(self):
        return {**dict.fromkeys([*self.psp_modules, self.bottleneck, *self.lateral_convs, *self.fpn_convs,
                                 self.fpn_bottleneck]), self.classifier: channels_last(self.channels)}  # fmt: skip

    def call(self, features, training=False):
        top = features[-1]
        size = top.shape[1:3]
        pooled = [resize_maps_nhwc(block(top, training=training), size) for block in self.psp_modules]
        laterals = [layer(features[i], training=training) for i, layer in enumerate(self.lateral_convs)]
        laterals.append(self.bottleneck(tf.concat([top, *pooled], axis=-1), training=training))
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + resize_maps_nhwc(laterals[i], laterals[i - 1].shape[1:3])
        outs = [layer(laterals[i], training=training) for i, layer in enumerate(self.fpn_convs)] + [laterals[-1]]
        outs = [outs[0]] + [resize_maps_nhwc(o, outs[0].shape[1:3]) for o in outs[1:]]
        return self.classifier(self.fpn_bottleneck(tf.concat(outs, axis=-1), training=training))


class FCNHead(Layer):
    def __init__(self, config, in_index: int = 2, kernel_size: int = 3, dilation: int = 1,
                 in_channels: int | None = None, **kwargs):  # fmt: skip
        """in_channels: those of the input level, None if unknown."""
        super().__init__(**kwargs)
        channels = config.auxiliary_channels
        self.in_index = in_index
        padding = (kernel_size // 2) * dilation
        self.convs, width = [], in_channels
        for i in range(config.auxiliary_num_convs):
            self.convs.append(ConvBatchNormReLU(config, channels, kernel_size, padding, dilation, input_width=width,
                                                name=f"convs.{i}"))  # fmt: skip
            width = channels
        self.conv_cat = None
        if config.auxiliary_concat_input:  # the input beside the convs' output
            both = in_channels + width if in_channels is not None else None
            self.conv_cat = ConvBatchNormReLU(config, channels, kernel_size, kernel_size // 2, input_width=both,
                                              name="conv_cat")  # fmt: skip
            width = channels
        self.classifier = conv(config, config.num_labels, 1, "classifier")
        self.classifier_width = width

    def input_sizes(self):
        return {**dict.fromkeys([*self.convs, self.conv_cat]), self.classifier: channels_last(self.classifier_width)}

    def call(self, features, training=False):
        x = features[self.in_index]
        hidden = x
        for layer in self.convs:
            hidden = layer(hidden, training=training)
        if self.conv_cat is not None:
            hidden = self.conv_cat(tf.concat([x, hidden], axis=-1), training=training)
        return self.classifier(hidden)


class TransposedConv2x(Layer):
    """PyTorch's ConvTranspose2d(kernel_size=2, stride=2): each input position writes one 2x2 output block.
    The kernel is kept as [2, 2, out, in] (what the shared converter makes of PyTorch's [in, out, 2, 2])."""

    def __init__(self, config, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.config, self.channels = config, channels

    def build(self, input_shape=None):
        self.kernel = self.add_weight(name="kernel", shape=(2, 2, self.channels, self.channels),
                                      initializer=weights_init(self.config))  # fmt: skip
        self.bias = self.add_weight(name="bias", shape=(self.channels,), initializer="zeros")
        self.built = True

    def call(self, x):
        blocks = tf.einsum("bhwi,rsoi->bhrwso", x, self.kernel)
        shape = tf.shape(x)
        return tf.reshape(blocks, (shape[0], shape[1] * 2, shape[2] * 2, self.channels)) + self.bias


class FeaturePyramidLevel(Layer):
    """One of BEiT's fpn1..fpn4 on a channels-first map: x4 (`0` transposed conv, `1` BatchNorm, GELU, `3`
    transposed conv), x2 (`0`), x1, or max pooling /2."""

    def __init__(self, config, level: int, batch_norm_eps: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.level = level
        channels = config.hidden_size
        self.steps = []
        if level == 1:
            self.steps = [TransposedConv2x(config, channels, name="0"), batch_norm("1", batch_norm_eps),
                          TransposedConv2x(config, channels, name="3")]  # fmt: skip
        elif level == 2:
            self.steps = [TransposedConv2x(config, channels, name="0")]

    def input_sizes(self):  # the BatchNorm: on the upsampled hidden_size maps
        return {step: None if isinstance(step, Layer) else channels_last(self.steps[0].channels) for step in self.steps}

    def call(self, x, training=False):
        x = to_nhwc(x)
        if self.level == 1:
            up, norm, up_again = self.steps
            x = up_again(tf.nn.gelu(norm(up(x), training=training), approximate=False))
        elif self.level == 2:
            x = self.steps[0](x)
        elif self.level == 4:
            x = keras.ops.max_pool(x, 2, 2)
        return to_nchw(x)


def feature_pyramid(config, batch_norm_eps: float = 1e-5) -> list:
    return [FeaturePyramidLevel(config, level, batch_norm_eps, name=f"fpn{level}") for level in (1, 2, 3, 4)]


def segmentation_loss(logits_nchw, auxiliary_nchw, labels, config):
    """Cross-entropy of the logits resized to the labels, ignoring semantic_loss_ignore_index; plus the
    auxiliary head's, weighted."""

    def loss_of(logits):
        logits = resize_maps_nhwc(to_nhwc(logits), labels.shape[-2:])
        labels_ = tf.cast(labels, tf.int32)
        keep = labels_ != config.semantic_loss_ignore_index
        safe = tf.where(keep, labels_, 0)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits)
        weights = tf.cast(keep, losses.dtype)
        return tf.reduce_sum(losses * weights) / tf.reduce_sum(weights)

    loss = loss_of(logits_nchw)
    if auxiliary_nchw is not None:
        loss = loss + config.auxiliary_loss_weight * loss_of(auxiliary_nchw)
    return loss
