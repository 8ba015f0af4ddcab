"""Dense-prediction blocks in TensorFlow (Keras 3), named as the PyTorch checkpoints name them (see
autoload/backends/torch/blocks/dense_prediction.py). Maps are NHWC inside."""

from __future__ import annotations

import math

import tensorflow as tf

from autoload.vision import bilinear_matrix

from ..activations import get_activation
from ..modeling import Dropout, Layer, channels_last, dense, weights_init
from .vision import batch_norm, conv, resize_maps_nhwc, to_nchw, to_nhwc


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


# -- DPT's neck and heads ----------------------------------------------------------------------------------------
def upsample_twice(x, align_corners: bool = True):
    """PyTorch's bilinear interpolate(scale_factor=2) of NHWC maps."""
    height, width = x.shape[1:3]
    return tf.einsum("rh,bhwc,sw->brsc", bilinear_matrix(height, 2 * height, align_corners), x,
                     bilinear_matrix(width, 2 * width, align_corners))  # fmt: skip


def tokens_to_square_map(tokens):
    """[batch, n, channels] -> NHWC [batch, side, side, channels] for a square grid of n tokens."""
    side = math.isqrt(tokens.shape[1])
    if side * side != tokens.shape[1]:
        raise ValueError(
            f"DPT reassembles {tokens.shape[1]} patch tokens into a square map, so the patch grid must be square "
            "(transformers 4.57.6 reshapes by the square root too); use a square image."
        )
    return tf.reshape(tokens, (-1, side, side, tokens.shape[-1]))


class TransposedConvBlocks(Layer):
    """PyTorch's ConvTranspose2d with kernel_size == stride == k: each input position writes one k x k block. The
    kernel is kept as [k, k, out, in] (what the shared converter makes of PyTorch's [in, out, k, k])."""

    def __init__(self, config, channels: int, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.config, self.channels, self.factor = config, channels, factor

    def build(self, input_shape=None):
        k = self.factor
        self.kernel = self.add_weight(name="kernel", shape=(k, k, self.channels, self.channels),
                                      initializer=weights_init(self.config))  # fmt: skip
        self.bias = self.add_weight(name="bias", shape=(self.channels,), initializer="zeros")
        self.built = True

    def call(self, x):
        blocks = tf.einsum("bhwi,rsoi->bhrwso", x, self.kernel)
        shape, k = tf.shape(x), self.factor
        return tf.reshape(blocks, (shape[0], shape[1] * k, shape[2] * k, self.channels)) + self.bias


class ReassembleLayer(Layer):
    """`projection` (1x1), then `resize`: transposed conv (factor > 1), nothing (1) or a strided 3x3 conv."""

    def __init__(self, config, channels: int, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.projection = conv(config, channels, 1, "projection")
        self.padding = 1 if factor < 0 else 0
        self.resize = None
        if factor > 1:
            self.resize = TransposedConvBlocks(config, channels, factor, name="resize")
        elif factor < 0:
            self.resize = conv(config, channels, 3, "resize", strides=-factor)
        self.input_width = config.hidden_size  # the tokens' width (a readout projection keeps it)

    def input_sizes(self):  # resize: our transposed conv (None), or a Keras conv on the projection
        resize = None if isinstance(self.resize, Layer) else channels_last(self.projection.filters)
        return {self.projection: channels_last(self.input_width), self.resize: resize}

    def call(self, x):
        x = self.projection(x)
        return x if self.resize is None else self.resize(pad_nhwc(x, self.padding))


class ReadoutProject(Layer):
    """`0`: dense from [tokens, class token] to hidden_size, then the activation."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "0")
        self.act = get_activation(config.hidden_act)

    def input_sizes(self):
        return {self.dense: 2 * self.dense.units}  # the tokens and the class token, concatenated

    def call(self, x):
        return self.act(self.dense(x))


class ReassembleStage(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        options = config.dpt_options()
        self.readout_type = config.readout_type
        self.reassemble_layers = [ReassembleLayer(config, c, f, name=f"layers.{i}")
                                  for i, (c, f) in enumerate(zip(config.neck_hidden_sizes, options.factors))]  # fmt: skip
        self.readout_projects = []
        if self.readout_type == "project":
            self.readout_projects = [ReadoutProject(config, name=f"readout_projects.{i}")
                                     for i in range(len(config.neck_hidden_sizes))]  # fmt: skip

    def input_sizes(self):
        return dict.fromkeys([*self.reassemble_layers, *self.readout_projects])

    def call(self, hidden_states):
        maps = []
        for i, hidden in enumerate(hidden_states):
            cls_token, tokens = hidden[:, :1], hidden[:, 1:]
            if self.readout_type == "project":
                readout = tf.broadcast_to(cls_token, tf.shape(tokens))
                tokens = self.readout_projects[i](tf.concat([tokens, readout], axis=-1))
            elif self.readout_type == "add":
                tokens = tokens + cls_token
            maps.append(self.reassemble_layers[i](tokens_to_square_map(tokens)))
        return maps


class PreActResidualLayer(Layer):
    def __init__(self, config, bias: bool, **kwargs):
        super().__init__(**kwargs)
        width = config.fusion_hidden_size
        self.convolution1 = conv(config, width, 3, "convolution1", use_bias=bias)
        self.convolution2 = conv(config, width, 3, "convolution2", use_bias=bias)
        self.norms = None
        if config.use_batch_norm_in_fusion_residual:
            self.norms = (batch_norm("batch_norm1"), batch_norm("batch_norm2"))
        self.width = width

    def input_sizes(self):
        return dict.fromkeys((self.convolution1, self.convolution2, *(self.norms or ())), channels_last(self.width))

    def call(self, x, training=False):
        hidden = self.convolution1(pad_nhwc(tf.nn.relu(x), 1))
        if self.norms:
            hidden = self.norms[0](hidden, training=training)
        hidden = self.convolution2(pad_nhwc(tf.nn.relu(hidden), 1))
        if self.norms:
            hidden = self.norms[1](hidden, training=training)
        return hidden + x


class FeatureFusionLayer(Layer):
    def __init__(self, config, bias: bool, **kwargs):
        super().__init__(**kwargs)
        width = config.fusion_hidden_size
        self.projection = conv(config, width, 1, "projection")
        self.residual_layer1 = PreActResidualLayer(config, bias, name="residual_layer1")
        self.residual_layer2 = PreActResidualLayer(config, bias, name="residual_layer2")

    def input_sizes(self):  # the projection: fusion_hidden_size in and out
        return {self.projection: channels_last(self.projection.filters), self.residual_layer1: None,
                self.residual_layer2: None}  # fmt: skip

    def call(self, hidden, residual=None, training=False):
        if residual is not None:
            if hidden.shape[1:3] != residual.shape[1:3]:
                residual = resize_maps_nhwc(residual, hidden.shape[1:3])
            hidden = hidden + self.residual_layer1(residual, training=training)
        elif not self.residual_layer1.built:
            self.residual_layer1(hidden)  # the deepest level has no skip map, but the checkpoint has this unit
        return self.projection(upsample_twice(self.residual_layer2(hidden, training=training)))


class DPTNeck(Layer):
    """reassemble_stage -> `convs.<i>` (3x3 to fusion_hidden_size) -> fusion_stage; NHWC maps out, coarse to fine."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        options = config.dpt_options()
        self.reassemble_stage = ReassembleStage(config, name="reassemble_stage")
        self.convs = [conv(config, config.fusion_hidden_size, 3, f"convs.{i}", use_bias=False)
                      for i in range(len(config.neck_hidden_sizes))]  # fmt: skip
        self.fusion_stage = FusionStage(config, options.fusion_bias, name="fusion_stage")
        self.widths = config.neck_hidden_sizes  # the reassembled maps' channels

    def input_sizes(self):
        return {**{layer: channels_last(width) for layer, width in zip(self.convs, self.widths)},
                self.reassemble_stage: None, self.fusion_stage: None}  # fmt: skip

    def call(self, hidden_states, training=False):
        maps = self.reassemble_stage(hidden_states)
        return self.fusion_stage([c(pad_nhwc(m, 1)) for c, m in zip(self.convs, maps)], training=training)


class FusionStage(Layer):
    def __init__(self, config, bias: bool, **kwargs):
        super().__init__(**kwargs)
        self.fusion_layers = [FeatureFusionLayer(config, bias, name=f"layers.{i}")
                              for i in range(len(config.neck_hidden_sizes))]  # fmt: skip

    def input_sizes(self):
        return dict.fromkeys(self.fusion_layers)

    def call(self, maps, training=False):
        fused, outputs = None, []
        for hidden, layer in zip(maps[::-1], self.fusion_layers):
            fused = layer(hidden, training=training) if fused is None else layer(fused, hidden, training=training)
            outputs.append(fused)
        return outputs


class DepthConvs(Layer):
    """`0` conv to half width, x2 upsample, `2` conv to 32, ReLU, `4` conv to 1, ReLU (an nn.Sequential in PyTorch)."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        width = config.fusion_hidden_size
        self.first, self.second, self.last = conv(config, width // 2, 3, "0"), conv(config, 32, 3, "2"), conv(config, 1, 1, "4")
        self.input_width = 256 if config.add_projection else width

    def input_sizes(self):
        return {self.first: channels_last(self.input_width), self.second: channels_last(self.first.filters),
                self.last: channels_last(self.second.filters)}  # fmt: skip

    def call(self, x):
        hidden = upsample_twice(self.first(pad_nhwc(x, 1)))
        return tf.nn.relu(self.last(tf.nn.relu(self.second(pad_nhwc(hidden, 1)))))


class DepthEstimationHead(Layer):
    """(`projection` + ReLU,) then `head`; the depth map [batch, height, width]."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.head_in_index = config.head_in_index
        self.projection = conv(config, 256, 3, "projection") if config.add_projection else None
        self.head = DepthConvs(config, name="head")
        self.input_width = config.fusion_hidden_size

    def input_sizes(self):
        return {self.projection: channels_last(self.input_width), self.head: None}

    def call(self, maps):
        hidden = maps[self.head_in_index]
        if self.projection is not None:
            hidden = tf.nn.relu(self.projection(pad_nhwc(hidden, 1)))
        return self.head(hidden)[..., 0]


class ConvBatchNormClassifier(Layer):
    """`0` 3x3 conv (no bias), `1` BatchNorm, ReLU, dropout, `4` 1x1 classifier (DPT's segmentation and auxiliary
    heads); channels-first logits out, upsampled x2 (align_corners) for the main head."""

    def __init__(self, config, dropout: float, upsample: bool, **kwargs):
        super().__init__(**kwargs)
        width = config.fusion_hidden_size
        self.upsample = upsample
        self.conv = conv(config, width, 3, "0", use_bias=False)
        self.norm = batch_norm("1")
        self.dropout = Dropout(dropout)
        self.classifier = conv(config, config.num_labels, 1, "4")
        self.width = width

    def input_sizes(self):  # fusion_hidden_size in, each
        return dict.fromkeys((self.conv, self.norm, self.classifier), channels_last(self.width))

    def call(self, x, training=False):
        hidden = tf.nn.relu(self.norm(self.conv(pad_nhwc(x, 1)), training=training))
        logits = self.classifier(self.dropout(hidden, training=training))
        return to_nchw(upsample_twice(logits) if self.upsample else logits)


class SemanticSegmentationHead(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.head_in_index = config.head_in_index
        self.head = ConvBatchNormClassifier(config, config.semantic_classifier_dropout, True, name="head")

    def input_sizes(self):
        return {self.head: None}

    def call(self, maps, training=False):
        return self.head(maps[self.head_in_index], training=training)


class AuxiliaryHead(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.head = ConvBatchNormClassifier(config, 0.1, False, name="head")

    def input_sizes(self):
        return {self.head: None}

    def call(self, x, training=False):
        return self.head(x, training=training)
