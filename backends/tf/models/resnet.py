"""ResNet in TensorFlow (Keras 3), named like transformers' TF ResNet. Channels-first in and out; the layers
run NHWC inside. Convolutions pad explicitly (PyTorch pads both sides alike, Keras "same" does not)."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.models.resnet import ResNetConfig

from .. import keras_layers
from ..activations import get_activation
from ..blocks.vision import TFVisionPreTrainedModel, channels_last, check_pixel_values, conv, to_nchw, to_nhwc
from ..heads import TFImageClassificationModel
from ..modeling import Layer, dense


def batch_norm(name: str = "normalization", epsilon: float = 1e-5):
    return keras_layers.BatchNormalization(epsilon=epsilon, momentum=0.9, name=name)


def pad_nhwc(x, pad: int, value=0.0):
    if not pad:
        return x
    return tf.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=value)


class TFResNetConvLayer(Layer):
    def __init__(self, config, in_channels, out_channels, kernel_size=3, stride=1, activation: str | None = "relu",
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.pad, self.in_channels = kernel_size // 2, in_channels
        self.convolution = conv(config, out_channels, kernel_size, "convolution", strides=stride, use_bias=False)
        self.normalization = batch_norm()
        self.activation = get_activation(activation) if activation else None

    def input_sizes(self):
        return {self.convolution: channels_last(self.in_channels),
                self.normalization: channels_last(self.convolution.filters)}  # fmt: skip

    def call(self, x, training=False):
        x = self.normalization(self.convolution(pad_nhwc(x, self.pad)), training=training)
        return self.activation(x) if self.activation else x


class TFResNetEmbeddings(Layer):
    def __init__(self, config: ResNetConfig, **kwargs):
        super().__init__(**kwargs)
        self.embedder = TFResNetConvLayer(config, config.num_channels, config.embedding_size, 7, 2, config.hidden_act,
                                          name="embedder")  # fmt: skip
        self.num_channels = config.num_channels

    def input_sizes(self):
        return {self.embedder: None}

    def call(self, pixel_values, training=False):
        check_pixel_values(pixel_values, self.num_channels)
        x = self.embedder(to_nhwc(pixel_values), training=training)
        return tf.nn.max_pool2d(pad_nhwc(x, 1, float("-inf")), 3, 2, "VALID")


class TFResNetShortCut(Layer):
    def __init__(self, config, in_channels, out_channels, stride=2, **kwargs):
        super().__init__(**kwargs)
        self.in_channels = in_channels
        self.convolution = conv(config, out_channels, 1, "convolution", strides=stride, use_bias=False)
        self.normalization = batch_norm()

    def input_sizes(self):
        return {self.convolution: channels_last(self.in_channels),
                self.normalization: channels_last(self.convolution.filters)}  # fmt: skip

    def call(self, x, training=False):
        return self.normalization(self.convolution(x), training=training)


def _shortcut(config, in_channels, out_channels, stride):
    if in_channels != out_channels or stride != 1:
        return TFResNetShortCut(config, in_channels, out_channels, stride, name="shortcut")
    return None


class TFResNetResidualLayer(Layer):
    """Basic (two 3x3) or bottleneck (1x1, 3x3, 1x1) block: `layer.N` convs plus an optional shortcut."""

    def __init__(self, config, in_channels, out_channels, stride=1, bottleneck=False, **kwargs):
        super().__init__(**kwargs)
        act = config.block_conv_activation
        self.shortcut = _shortcut(config, in_channels, out_channels, stride)
        if bottleneck:
            reduced, early = out_channels // 4, config.downsample_in_bottleneck
            specs = [(reduced, 1, stride if early else 1, act), (reduced, 3, 1 if early else stride, act),
                     (out_channels, 1, 1, None)]  # fmt: skip
        else:
            specs = [(out_channels, 3, stride, act), (out_channels, 3, 1, None)]
        inputs = [in_channels] + [c for c, *_ in specs[:-1]]
        self.layer = [TFResNetConvLayer(config, n, c, k, s, a, name=f"layer.{i}")
                      for i, (n, (c, k, s, a)) in enumerate(zip(inputs, specs))]  # fmt: skip
        self.activation = get_activation(config.hidden_act)

    def input_sizes(self):
        return {self.shortcut: None, **dict.fromkeys(self.layer)}

    def call(self, x, training=False):
        residual = self.shortcut(x, training=training) if self.shortcut is not None else x
        hidden = x
        for layer in self.layer:
            hidden = layer(hidden, training=training)
        return self.activation(hidden + residual)


class TFResNetStage(Layer):
    def __init__(self, config: ResNetConfig, in_channels, out_channels, stride=2, depth=2, **kwargs):
        super().__init__(**kwargs)
        bottleneck = config.layer_type == "bottleneck"
        self.stage_layers = [
            TFResNetResidualLayer(
                config,
                in_channels if i == 0 else out_channels,
                out_channels,
                stride if i == 0 else 1,
                bottleneck,
                name=f"layers.{i}",
            )  # fmt: skip
            for i in range(depth)
        ]

    def input_sizes(self):
        return dict.fromkeys(self.stage_layers)

    def call(self, x, training=False):
        for layer in self.stage_layers:
            x = layer(x, training=training)
        return x


class TFResNetEncoder(Layer):
    def __init__(self, config: ResNetConfig, **kwargs):
        super().__init__(**kwargs)
        widths = [config.embedding_size] + list(config.hidden_sizes)
        first_stride = 2 if config.downsample_in_first_stage else 1
        self.stages = [
            TFResNetStage(config, widths[i], widths[i + 1], first_stride if i == 0 else 2, depth, name=f"stages.{i}")
            for i, depth in enumerate(config.depths)
        ]

    def input_sizes(self):
        return dict.fromkeys(self.stages)

    def call(self, hidden, training=False):
        """NHWC stem output and every stage's output."""
        states = (hidden,)
        for stage in self.stages:
            hidden = stage(hidden, training=training)
            states += (hidden,)
        return states


class TFResNetMainLayer(Layer):
    def __init__(self, config: ResNetConfig, **kwargs):
        super().__init__(**kwargs)
        self.embedder = TFResNetEmbeddings(config, name="embedder")
        self.encoder = TFResNetEncoder(config, name="encoder")
        self.output_width = config.hidden_sizes[-1]  # the channels of last_hidden_state (and the pooled map)

    def input_sizes(self):
        return {self.embedder: None, self.encoder: None}

    def call(self, pixel_values, output_hidden_states=False, training=False):
        states = self.encoder(self.embedder(pixel_values, training=training), training=training)
        last = states[-1]
        pooled = tf.reduce_mean(last, axis=(1, 2), keepdims=True)
        return out.BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=to_nchw(last), pooler_output=to_nchw(pooled),
            hidden_states=tuple(to_nchw(s) for s in states) if output_hidden_states else None,
        )  # fmt: skip


class TFResNetPreTrainedModel(TFVisionPreTrainedModel):
    config_class = ResNetConfig
    base_model_prefix = "resnet"
    main_layer_class = TFResNetMainLayer


class TFResNetModel(TFResNetPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.resnet = TFResNetMainLayer(config, name="resnet")

    def input_sizes(self):
        return {self.resnet: None}

    def call(self, pixel_values=None, training=False, return_dict=True, output_hidden_states=False, **kwargs):
        result = self.resnet(pixel_values, output_hidden_states=output_hidden_states, training=training)
        return out.finish(result, return_dict)


class TFResNetForImageClassification(TFImageClassificationModel, TFResNetPreTrainedModel):
    """The classifier is the Dense layer `classifier.1` (PyTorch's Sequential(Flatten, Linear)) on the pooled map."""

    output_class = out.ImageClassifierOutputWithNoAttention

    def add_output_layer(self, out_features: int) -> None:
        self.classifier_layer = dense(self.config, out_features, "classifier.1") if out_features else None

    def input_sizes(self):
        return {**super().input_sizes(), self.classifier_layer: self.pooled_width()}

    def output_layer(self, features, training=False):
        flat = tf.reshape(features, (tf.shape(features)[0], -1))
        return flat if self.classifier_layer is None else self.classifier_layer(flat)


class TFResNetBackbone(TFResNetPreTrainedModel):
    """Feature maps (channels-first) of the stages named by config.out_features / out_indices."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.embedder = TFResNetEmbeddings(config, name="embedder")
        self.encoder = TFResNetEncoder(config, name="encoder")
        self.num_features = [config.embedding_size] + list(config.hidden_sizes)

    def input_sizes(self):
        return {self.embedder: None, self.encoder: None}

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def call(self, pixel_values=None, training=False, return_dict=True, output_hidden_states=False, **kwargs):
        states = self.encoder(self.embedder(pixel_values, training=training), training=training)
        result = out.BackboneOutput(
            feature_maps=tuple(to_nchw(states[i]) for i in self.config.out_indices),
            hidden_states=tuple(to_nchw(s) for s in states) if output_hidden_states else None,
        )
        return out.finish(result, return_dict)
