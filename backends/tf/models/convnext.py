"""ConvNeXt in TensorFlow (Keras 3), named like transformers' TF ConvNeXt. Channels-first in and out; the
layers run NHWC inside, where PyTorch's channels-first LayerNorm is an ordinary last-axis LayerNorm."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.convnext import ConvNextConfig

from .. import keras_layers
from ..activations import get_activation
from ..blocks.vision import DropPath, TFVisionPreTrainedModel, channels_last, check_pixel_values, conv, to_nchw, to_nhwc
from ..heads import TFImageClassificationModel
from ..modeling import Layer, dense, weights_init


def layer_norm(name: str, epsilon: float = 1e-6):
    return keras_layers.LayerNormalization(epsilon=epsilon, name=name)


class TFConvNextEmbeddings(Layer):
    def __init__(self, config: ConvNextConfig, **kwargs):
        super().__init__(**kwargs)
        size = config.patch_size
        self.patch_embeddings = conv(config, config.hidden_sizes[0], size, "patch_embeddings", strides=size)
        self.layernorm = layer_norm("layernorm")
        self.num_channels = config.num_channels

    def input_sizes(self):
        return {self.patch_embeddings: channels_last(self.num_channels), self.layernorm: self.patch_embeddings.filters}

    def call(self, pixel_values):
        check_pixel_values(pixel_values, self.num_channels)
        return self.layernorm(self.patch_embeddings(to_nhwc(pixel_values)))


class TFDepthwiseConv(Layer):
    """A 7x7 depthwise conv (`dwconv/kernel` [7, 7, 1, dim] as Keras' grouped Conv2D stores it) computed with
    tf.nn.depthwise_conv2d: Keras' grouped convolution runs in an XLA function that cannot read variables
    created while loading."""

    def __init__(self, config, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.config, self.dim = config, dim

    def build(self, input_shape=None):
        self.kernel = self.add_weight(name="kernel", shape=(7, 7, 1, self.dim), initializer=weights_init(self.config))
        self.bias = self.add_weight(name="bias", shape=(self.dim,), initializer="zeros")
        self.built = True

    def call(self, x):
        kernel = tf.reshape(self.kernel, (7, 7, self.dim, 1))
        return tf.nn.depthwise_conv2d(x, kernel, strides=(1, 1, 1, 1), padding="VALID") + self.bias


class TFConvNextLayer(Layer):
    def __init__(self, config: ConvNextConfig, dim: int, drop_path: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.config, self.dim = config, dim
        self.dwconv = TFDepthwiseConv(config, dim, name="dwconv")
        self.layernorm = layer_norm("layernorm")
        self.pwconv1 = dense(config, 4 * dim, "pwconv1")
        self.act = get_activation(config.hidden_act)
        self.pwconv2 = dense(config, dim, "pwconv2")
        self.drop_path = DropPath(drop_path)
        self.layer_scale_parameter = None

    def build(self, input_shape=None):
        scale = self.config.layer_scale_init_value
        if scale > 0:
            init = keras.initializers.Constant(scale)
            self.layer_scale_parameter = self.add_weight(name="layer_scale_parameter", shape=(self.dim,),
                                                         initializer=init)  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        return {self.dwconv: None, self.layernorm: self.dim, self.pwconv1: self.dim, self.pwconv2: self.pwconv1.units}

    def call(self, x, training=False):
        y = self.dwconv(tf.pad(x, ((0, 0), (3, 3), (3, 3), (0, 0))))
        y = self.pwconv2(self.act(self.pwconv1(self.layernorm(y))))
        if self.layer_scale_parameter is not None:
            y = self.layer_scale_parameter * y
        return x + self.drop_path(y, training=training)


class TFConvNextStage(Layer):
    def __init__(self, config: ConvNextConfig, in_channels, out_channels, stride=2, depth=2, drop_rates=None,
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.downsampling_layer, self.in_channels = [], in_channels
        if in_channels != out_channels or stride > 1:
            self.downsampling_layer = [layer_norm("downsampling_layer.0"),
                                       conv(config, out_channels, stride, "downsampling_layer.1", strides=stride)]  # fmt: skip
        rates = drop_rates or [0.0] * depth
        self.stage_layers = [TFConvNextLayer(config, out_channels, rates[j], name=f"layers.{j}") for j in range(depth)]

    def input_sizes(self):  # the downsampling LayerNorm, then conv, both on the stage's input
        return {**dict.fromkeys(self.downsampling_layer, channels_last(self.in_channels)),
                **dict.fromkeys(self.stage_layers)}  # fmt: skip

    def call(self, x, training=False):
        for layer in self.downsampling_layer:
            x = layer(x)
        for layer in self.stage_layers:
            x = layer(x, training=training)
        return x


class TFConvNextEncoder(Layer):
    def __init__(self, config: ConvNextConfig, **kwargs):
        super().__init__(**kwargs)
        rates = np.linspace(0, config.drop_path_rate, sum(config.depths)).tolist()
        self.stages, start, previous = [], 0, config.hidden_sizes[0]
        for i, (width, depth) in enumerate(zip(config.hidden_sizes, config.depths)):
            self.stages.append(TFConvNextStage(config, previous, width, 2 if i > 0 else 1, depth,
                                               rates[start : start + depth], name=f"stages.{i}"))  # fmt: skip
            start, previous = start + depth, width

    def input_sizes(self):
        return dict.fromkeys(self.stages)

    def call(self, hidden, training=False):
        """NHWC embeddings output and every stage's output."""
        states = (hidden,)
        for stage in self.stages:
            hidden = stage(hidden, training=training)
            states += (hidden,)
        return states


class TFConvNextMainLayer(Layer):
    def __init__(self, config: ConvNextConfig, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = TFConvNextEmbeddings(config, name="embeddings")
        self.encoder = TFConvNextEncoder(config, name="encoder")
        self.layernorm = layer_norm("layernorm", config.layer_norm_eps)
        self.output_width = config.hidden_sizes[-1]  # the channels of last_hidden_state, the pooled size

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.layernorm: self.output_width}

    def call(self, pixel_values, output_hidden_states=False, training=False):
        states = self.encoder(self.embeddings(pixel_values), training=training)
        return out.BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=to_nchw(states[-1]),
            pooler_output=self.layernorm(tf.reduce_mean(states[-1], axis=(1, 2))),
            hidden_states=tuple(to_nchw(s) for s in states) if output_hidden_states else None,
        )


class TFConvNextPreTrainedModel(TFVisionPreTrainedModel):
    config_class = ConvNextConfig
    base_model_prefix = "convnext"
    main_layer_class = TFConvNextMainLayer


class TFConvNextModel(TFConvNextPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.convnext = TFConvNextMainLayer(config, name="convnext")

    def input_sizes(self):
        return {self.convnext: None}

    def call(self, pixel_values=None, training=False, return_dict=True, output_hidden_states=False, **kwargs):
        result = self.convnext(pixel_values, output_hidden_states=output_hidden_states, training=training)
        return out.finish(result, return_dict)


class TFConvNextForImageClassification(TFImageClassificationModel, TFConvNextPreTrainedModel):
    output_class = out.ImageClassifierOutputWithNoAttention


class TFConvNextBackbone(TFConvNextPreTrainedModel):
    """Feature maps (channels-first, each layer-normalised) of the stages named by out_features."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.embeddings = TFConvNextEmbeddings(config, name="embeddings")
        self.encoder = TFConvNextEncoder(config, name="encoder")
        self.num_features = [config.hidden_sizes[0]] + list(config.hidden_sizes)
        self.hidden_states_norms = {stage: layer_norm(f"hidden_states_norms.{stage}") for stage in config.out_features}

    def input_sizes(self):
        norms = {self.hidden_states_norms[s]: self.num_features[i]
                 for s, i in zip(self.config.out_features, self.config.out_indices)}  # fmt: skip
        return {self.embeddings: None, self.encoder: None, **norms}

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def call(self, pixel_values=None, training=False, return_dict=True, output_hidden_states=False, **kwargs):
        states = self.encoder(self.embeddings(pixel_values), training=training)
        maps = tuple(to_nchw(self.hidden_states_norms[s](states[i]))
                     for s, i in zip(self.config.out_features, self.config.out_indices))  # fmt: skip
        result = out.BackboneOutput(
            feature_maps=maps, hidden_states=tuple(to_nchw(s) for s in states) if output_hidden_states else None
        )
        return out.finish(result, return_dict)
