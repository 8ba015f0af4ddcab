"""VITS in TensorFlow (Keras 3), inference only. transformers has no TF VITS, so layer and variable names mirror
the PyTorch modules (weight-normalised convolutions keep weight_g / weight_v in PyTorch's layout). Internally
everything runs channels-last ([batch, time, channels]); the spectrogram is returned as [batch, bins, frames] like
PyTorch's. Noise scaled by noise_scale / noise_scale_duration comes from TensorFlow's random generator."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.vits import VitsConfig

from .. import keras_layers
from ..activations import get_activation
from ..modeling import Dropout, Layer, TFPreTrainedModel, channels_last, weights_init

MIN_BIN_SIZE = MIN_DERIVATIVE = 1e-3  # the spline's fixed limits
DDS_LAYER_NORM_EPS = 1e-5  # the depth-separable convolutions' LayerNorms use PyTorch's default eps


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


def conv1d(filters: int, kernel_size: int, name: str, dilation: int = 1, groups: int = 1, use_bias: bool = True):
    """A PyTorch-style Conv1d without padding (pad before calling); kernel [k, in/groups, out]."""
    return keras_layers.Conv1D(filters, kernel_size, dilation_rate=dilation, groups=groups, use_bias=use_bias,
                               name=name, kernel_initializer="he_normal")  # fmt: skip


def over_time(sizes: dict) -> dict:
    """{Conv1D or Conv1DTranspose: its input channels} -> {the layer: its input shape [batch, time, channels]},
    as input_sizes gives it."""
    return {layer: channels_last(channels, (None,)) for layer, channels in sizes.items()}


def pad_time(x, left: int, right: int | None = None):
    right = left if right is None else right
    return tf.pad(x, [[0, 0], [left, right], [0, 0]]) if left or right else x


class TFDepthwiseConv1D(Layer):
    """PyTorch's Conv1d with groups == channels (kernel [k, 1, channels]), without padding. Keras' grouped
    Conv1D compiles through XLA, which cannot build on the placeholder weights used while loading."""

    def __init__(self, channels: int, kernel_size: int, dilation: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.kernel_size, self.dilation = channels, kernel_size, dilation

    def build(self, input_shape=None):
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, 1, self.channels),
                                      initializer="he_normal")  # fmt: skip
        self.bias = self.add_weight(name="bias", shape=(self.channels,), initializer="zeros")
        self.built = True

    def call(self, x):
        kernel = tf.transpose(self.kernel, (1, 0, 2))[..., None]  # [1, k, channels, 1]
        y = tf.nn.depthwise_conv2d(x[:, None], kernel, (1, 1, 1, 1), "VALID", dilations=(1, self.dilation))
        return y[:, 0] + self.bias


def layer_norm(name: str, eps: float):
    return keras_layers.LayerNormalization(epsilon=eps, name=name)


# -- text encoder ---------------------------------------------------------------------------------------------------
class TFVitsAttention(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.num_heads, self.head_dim = config.num_attention_heads, config.head_dim
        self.scaling = self.head_dim**-0.5
        self.window_size = config.window_size
        self.dropout = Dropout(config.attention_dropout)
        size, bias, init = config.hidden_size, config.use_bias, weights_init(config)
        self.k_proj = keras_layers.Dense(size, use_bias=bias, kernel_initializer=init, name="k_proj")
        self.v_proj = keras_layers.Dense(size, use_bias=bias, kernel_initializer=init, name="v_proj")
        self.q_proj = keras_layers.Dense(size, use_bias=bias, kernel_initializer=init, name="q_proj")
        self.out_proj = keras_layers.Dense(size, use_bias=bias, kernel_initializer=init, name="out_proj")

    def build(self, input_shape=None):
        if self.window_size:
            shape = (1, 2 * self.window_size + 1, self.head_dim)
            init = keras.initializers.RandomNormal(stddev=self.head_dim**-0.5)
            self.emb_rel_k = self.add_weight(name="emb_rel_k", shape=shape, initializer=init)
            self.emb_rel_v = self.add_weight(name="emb_rel_v", shape=shape, initializer=init)
        super().build(input_shape)

    def input_sizes(self):
        return dict.fromkeys((self.k_proj, self.v_proj, self.q_proj, self.out_proj), self.config.hidden_size)

    def relative_table(self, embeddings, length: int):
        positions = tf.range(length)
        offsets = positions[None, :] - positions[:, None]
        inside = tf.cast(tf.abs(offsets) <= self.window_size, embeddings.dtype)
        index = tf.clip_by_value(offsets, -self.window_size, self.window_size) + self.window_size
        return tf.gather(embeddings[0], index) * inside[..., None]

    def split_heads(self, x):
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        return tf.transpose(tf.reshape(x, (batch, length, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def call(self, hidden_states, attention_bias=None, output_attentions=False, training=False):
        batch, length = tf.shape(hidden_states)[0], hidden_states.shape[1]
        query = self.split_heads(self.q_proj(hidden_states) * self.scaling)
        key = self.split_heads(self.k_proj(hidden_states))
        value = self.split_heads(self.v_proj(hidden_states))
        scores = tf.matmul(query, key, transpose_b=True)
        if self.window_size:
            scores += tf.einsum("bhqd,qkd->bhqk", query, self.relative_table(self.emb_rel_k, length))
        if attention_bias is not None:
            scores += attention_bias
        weights = tf.nn.softmax(scores, axis=-1)
        probs = self.dropout(weights, training=training)
        context = tf.matmul(probs, value)
        if self.window_size:
            context += tf.einsum("bhqk,qkd->bhqd", probs, self.relative_table(self.emb_rel_v, length))
        context = tf.reshape(tf.transpose(context, (0, 2, 1, 3)), (batch, length, self.config.hidden_size))
        return self.out_proj(context), (weights if output_attentions else None)


class TFVitsFeedForward(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        kernel = config.ffn_kernel_size
        self.conv_1 = conv1d(config.ffn_dim, kernel, "conv_1")
        self.conv_2 = conv1d(config.hidden_size, kernel, "conv_2")
        self.act_fn = get_activation(config.hidden_act)
        self.dropout = Dropout(config.activation_dropout)
        self.padding = ((kernel - 1) // 2, kernel // 2)
        self.conv_sizes = {self.conv_1: config.hidden_size, self.conv_2: config.ffn_dim}

    def input_sizes(self):
        return over_time(self.conv_sizes)

    def call(self, hidden_states, padding_mask, training=False):
        x = self.conv_1(pad_time(hidden_states * padding_mask, *self.padding))
        x = self.dropout(self.act_fn(x), training=training)
        return self.conv_2(pad_time(x * padding_mask, *self.padding)) * padding_mask


class TFVitsEncoderLayer(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFVitsAttention(config, name="attention")
        self.dropout = Dropout(config.hidden_dropout)
        self.layer_norm = layer_norm("layer_norm", config.layer_norm_eps)
        self.feed_forward = TFVitsFeedForward(config, name="feed_forward")
        self.final_layer_norm = layer_norm("final_layer_norm", config.layer_norm_eps)
        self.width = config.hidden_size

    def input_sizes(self):
        return {self.attention: None, self.layer_norm: self.width, self.feed_forward: None,
                self.final_layer_norm: self.width}  # fmt: skip

    def call(self, hidden_states, padding_mask, attention_bias=None, output_attentions=False, training=False):
        attended, weights = self.attention(hidden_states, attention_bias=attention_bias, output_attentions=output_attentions,
                                            training=training)
        hidden_states = self.layer_norm(hidden_states + self.dropout(attended, training=training))
        fed = self.feed_forward(hidden_states, padding_mask, training=training)
        return self.final_layer_norm(hidden_states + self.dropout(fed, training=training)), weights


class TFVitsEncoder(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.layers = [TFVitsEncoderLayer(config, name=f"layers.{i}") for i in range(config.num_hidden_layers)]

    def input_sizes(self):
        return dict.fromkeys(self.layers)

    def call(self, hidden, padding_mask, attention_mask=None, output_attentions=False, output_hidden_states=False,
             training=False):  # fmt: skip
        bias = None
        if attention_mask is not None:
            keep = tf.cast(attention_mask, hidden.dtype)[:, None, None, :]
            bias = (1.0 - keep) * hidden.dtype.min
        hidden = hidden * padding_mask
        states, attentions = (), ()
        for layer in self.layers:
            if output_hidden_states:
                states += (hidden,)
            hidden, weights = layer(hidden, padding_mask, attention_bias=bias, output_attentions=output_attentions,
                                    training=training)
            attentions += (weights,)
        hidden = hidden * padding_mask
        if output_hidden_states:
            states += (hidden,)
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class TFVitsTextEncoder(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embed_tokens = keras_layers.Embedding(config.vocab_size, config.hidden_size,
                                                   embeddings_initializer=weights_init(config), name="embed_tokens")
        self.encoder = TFVitsEncoder(config, name="encoder")
        self.project = conv1d(config.flow_size * 2, 1, "project")

    def input_sizes(self):  # the table: ids [batch, length]
        return {self.embed_tokens: (None, None), self.encoder: None,
                **over_time({self.project: self.config.hidden_size})}  # fmt: skip

    def call(self, input_ids, padding_mask, attention_mask=None, output_attentions=False, output_hidden_states=False,
             training=False):  # fmt: skip
        hidden = self.embed_tokens(input_ids) * math.sqrt(self.config.hidden_size)
        encoded = self.encoder(hidden, padding_mask, attention_mask=attention_mask, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        stats = self.project(encoded.last_hidden_state) * padding_mask
        means, log_variances = tf.split(stats, 2, axis=-1)
        return encoded, means, log_variances


# -- WaveNet and the prior flow -------------------------------------------------------------------------------------
class TFWeightNormConv1D(Layer):
    """kernel = weight_g * weight_v / |weight_v| (norm over all but the output axis); weight_v [out, in, k] and
    weight_g [out, 1, 1] in PyTorch's layout, with PyTorch's symmetric padding."""

    def __init__(self, in_channels, filters, kernel_size, dilation=1, padding=0, **kwargs):
        super().__init__(**kwargs)
        self.shape = (filters, in_channels, kernel_size)
        self.dilation, self.padding = dilation, padding

    def build(self, input_shape=None):
        self.weight_v = self.add_weight(name="weight_v", shape=self.shape, initializer="he_normal")
        self.weight_g = self.add_weight(name="weight_g", shape=(self.shape[0], 1, 1), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(self.shape[0],), initializer="zeros")
        self.built = True

    def call(self, x):
        norm = tf.sqrt(tf.reduce_sum(tf.square(self.weight_v), axis=(1, 2), keepdims=True))
        kernel = tf.transpose(self.weight_g * self.weight_v / norm, (2, 1, 0))
        return tf.nn.conv1d(pad_time(x, self.padding), kernel, 1, "VALID", dilations=self.dilation) + self.bias


class TFVitsWaveNet(Layer):
    def __init__(self, config: VitsConfig, num_layers: int, **kwargs):
        super().__init__(**kwargs)
        size = config.hidden_size
        self.hidden_size, self.num_layers = size, num_layers
        self.dropout = Dropout(config.wavenet_dropout)
        if config.speaker_embedding_size:
            self.cond_layer = TFWeightNormConv1D(config.speaker_embedding_size, 2 * size * num_layers, 1,
                                                 name="cond_layer")  # fmt: skip
        kernel = config.wavenet_kernel_size
        self.in_layers, self.res_skip_layers = [], []
        for i in range(num_layers):
            dilation = config.wavenet_dilation_rate**i
            self.in_layers.append(TFWeightNormConv1D(size, 2 * size, kernel, dilation, same_padding(kernel, dilation),
                                                     name=f"in_layers.{i}"))  # fmt: skip
            width = 2 * size if i < num_layers - 1 else size
            self.res_skip_layers.append(TFWeightNormConv1D(size, width, 1, name=f"res_skip_layers.{i}"))

    def input_sizes(self):  # each weight-normalised convolution knows its channels
        return dict.fromkeys([getattr(self, "cond_layer", None), *self.in_layers, *self.res_skip_layers])

    def call(self, inputs, padding_mask, global_conditioning=None, training=False):
        size = self.hidden_size
        if global_conditioning is not None:
            global_conditioning = self.cond_layer(global_conditioning)
        skipped = tf.zeros_like(inputs)
        for i in range(self.num_layers):
            gates = self.in_layers[i](inputs)
            if global_conditioning is not None:
                gates += global_conditioning[..., 2 * size * i: 2 * size * (i + 1)]
            acts = self.dropout(tf.tanh(gates[..., :size]) * tf.sigmoid(gates[..., size:]), training=training)
            res_skip = self.res_skip_layers[i](acts)
            if i < self.num_layers - 1:
                inputs = (inputs + res_skip[..., :size]) * padding_mask
                skipped += res_skip[..., size:]
            else:
                skipped += res_skip
        return skipped * padding_mask


class TFVitsPosteriorEncoder(Layer):
    """Training only (as in transformers); built for its weights."""

    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = config.flow_size
        self.conv_pre = conv1d(config.hidden_size, 1, "conv_pre")
        self.wavenet = TFVitsWaveNet(config, config.posterior_encoder_num_wavenet_layers, name="wavenet")
        self.conv_proj = conv1d(config.flow_size * 2, 1, "conv_proj")
        self.conv_sizes = {self.conv_pre: config.spectrogram_bins, self.conv_proj: config.hidden_size}

    def input_sizes(self):
        return {self.wavenet: None, **over_time(self.conv_sizes)}

    def call(self, inputs, padding_mask, global_conditioning=None, training=False):
        hidden = self.wavenet(self.conv_pre(inputs) * padding_mask, padding_mask,
                              global_conditioning=global_conditioning, training=training)  # fmt: skip
        mean, log_stddev = tf.split(self.conv_proj(hidden) * padding_mask, 2, axis=-1)
        return (mean + tf.random.normal(tf.shape(mean)) * tf.exp(log_stddev)) * padding_mask, mean, log_stddev


class TFVitsResidualCouplingLayer(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.half_channels = config.flow_size // 2
        self.conv_pre = conv1d(config.hidden_size, 1, "conv_pre")
        self.wavenet = TFVitsWaveNet(config, config.prior_encoder_num_wavenet_layers, name="wavenet")
        self.conv_post = conv1d(self.half_channels, 1, "conv_post")
        self.conv_sizes = {self.conv_pre: self.half_channels, self.conv_post: config.hidden_size}

    def input_sizes(self):
        return {self.wavenet: None, **over_time(self.conv_sizes)}

    def call(self, inputs, padding_mask, global_conditioning=None, reverse=True, training=False):
        first, second = inputs[..., : self.half_channels], inputs[..., self.half_channels:]
        hidden = self.wavenet(self.conv_pre(first) * padding_mask, padding_mask,
                              global_conditioning=global_conditioning, training=training)  # fmt: skip
        mean = self.conv_post(hidden) * padding_mask
        second = (second - mean if reverse else second + mean) * padding_mask
        return tf.concat([first, second], axis=-1)


class TFVitsResidualCouplingBlock(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.flows = [TFVitsResidualCouplingLayer(config, name=f"flows.{i}") for i in range(config.prior_encoder_num_flows)]

    def input_sizes(self):
        return dict.fromkeys(self.flows)

    def call(self, inputs, padding_mask, global_conditioning=None, training=False):
        for flow in reversed(self.flows):
            inputs = flow(tf.reverse(inputs, [-1]), padding_mask, global_conditioning=global_conditioning,
                          training=training)
        return inputs


# -- duration predictors --------------------------------------------------------------------------------------------
class TFVitsDilatedDepthSeparableConv(Layer):
    def __init__(self, config: VitsConfig, dropout_rate: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        kernel, channels = config.duration_predictor_kernel_size, config.hidden_size
        self.num_layers = config.depth_separable_num_layers
        self.dropout = Dropout(dropout_rate)
        self.convs_dilated, self.convs_pointwise, self.norms_1, self.norms_2, self.paddings = [], [], [], [], []
        for i in range(self.num_layers):
            dilation = kernel**i
            self.paddings.append(same_padding(kernel, dilation))
            self.convs_dilated.append(TFDepthwiseConv1D(channels, kernel, dilation, name=f"convs_dilated.{i}"))
            self.convs_pointwise.append(conv1d(channels, 1, f"convs_pointwise.{i}"))
            self.norms_1.append(layer_norm(f"norms_1.{i}", DDS_LAYER_NORM_EPS))
            self.norms_2.append(layer_norm(f"norms_2.{i}", DDS_LAYER_NORM_EPS))
        self.channels = channels

    def input_sizes(self):
        return {**dict.fromkeys(self.convs_dilated), **dict.fromkeys(self.norms_1 + self.norms_2, self.channels),
                **over_time(dict.fromkeys(self.convs_pointwise, self.channels))}  # fmt: skip

    def call(self, inputs, padding_mask, global_conditioning=None, training=False):
        if global_conditioning is not None:
            inputs = inputs + global_conditioning
        gelu = keras.activations.gelu
        for i in range(self.num_layers):
            hidden = self.convs_dilated[i](pad_time(inputs * padding_mask, self.paddings[i]))
            hidden = gelu(self.norms_1[i](hidden), approximate=False)
            hidden = gelu(self.norms_2[i](self.convs_pointwise[i](hidden)), approximate=False)
            inputs = inputs + self.dropout(hidden, training=training)
        return inputs * padding_mask


def inverse_rational_quadratic_spline(inputs, widths, heights, derivatives, tail_bound: float):
    """See the PyTorch backend: the inverse of a monotone rational-quadratic spline on [-B, B], identity outside."""
    bins = widths.shape[-1]

    def knots(unnormalised):
        sizes = MIN_BIN_SIZE + (1 - MIN_BIN_SIZE * bins) * tf.nn.softmax(unnormalised, axis=-1)
        edges = tf.pad(tf.cumsum(sizes, axis=-1), [[0, 0]] * (len(sizes.shape) - 1) + [[1, 0]])
        edges = edges * 2 * tail_bound - tail_bound
        low = tf.fill(tf.shape(edges[..., :1]), tf.constant(-tail_bound, edges.dtype))
        edges = tf.concat([low, edges[..., 1:-1], -low], axis=-1)
        return edges, edges[..., 1:] - edges[..., :-1]

    x_knots, bin_widths = knots(widths)
    y_knots, bin_heights = knots(heights)
    boundary = math.log(math.expm1(1 - MIN_DERIVATIVE))
    padded = tf.pad(derivatives, [[0, 0]] * (len(derivatives.shape) - 1) + [[1, 1]], constant_values=boundary)
    slopes = MIN_DERIVATIVE + tf.nn.softplus(padded)

    inside = (inputs >= -tail_bound) & (inputs <= tail_bound)
    y = tf.where(inside, inputs, tf.zeros_like(inputs))
    locations = tf.concat([y_knots[..., :-1], y_knots[..., -1:] + 1e-6], axis=-1)
    index = tf.reduce_sum(tf.cast(y[..., None] >= locations, tf.int32), axis=-1) - 1
    index = tf.clip_by_value(index, 0, bins - 1)[..., None]

    def pick(table):
        return tf.gather(table, index, batch_dims=len(index.shape) - 1)[..., 0]

    x0, width, y0, height = pick(x_knots), pick(bin_widths), pick(y_knots), pick(bin_heights)
    delta = height / width
    slope0, slope1 = pick(slopes[..., :-1]), pick(slopes[..., 1:])
    curvature = slope0 + slope1 - 2 * delta
    offset = y - y0
    a = height * (delta - slope0) + offset * curvature
    b = height * slope0 - offset * curvature
    c = -delta * offset
    discriminant = b * b - 4 * a * c
    if tf.executing_eagerly() and bool(tf.reduce_any(tf.boolean_mask(discriminant, inside) < 0)):
        raise RuntimeError("VITS duration flow: the spline inversion met a negative discriminant (invalid weights?).")
    theta = (2 * c) / (-b - tf.sqrt(tf.maximum(discriminant, 0.0)))
    return tf.where(inside, theta * width + x0, inputs)


class TFVitsConvFlow(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.filter_channels = config.hidden_size
        self.half_channels = config.depth_separable_channels // 2
        self.num_bins = config.duration_predictor_flow_bins
        self.tail_bound = config.duration_predictor_tail_bound
        self.conv_pre = conv1d(self.filter_channels, 1, "conv_pre")
        self.conv_dds = TFVitsDilatedDepthSeparableConv(config, name="conv_dds")
        self.conv_proj = conv1d(self.half_channels * (self.num_bins * 3 - 1), 1, "conv_proj")

    def input_sizes(self):
        convs = over_time({self.conv_pre: self.half_channels, self.conv_proj: self.filter_channels})
        return {**convs, self.conv_dds: None}

    def call(self, inputs, padding_mask, global_conditioning=None, training=False):
        first, second = inputs[..., : self.half_channels], inputs[..., self.half_channels:]
        hidden = self.conv_dds(self.conv_pre(first), padding_mask, global_conditioning=global_conditioning,
                               training=training)
        hidden = self.conv_proj(hidden) * padding_mask
        batch, length = tf.shape(hidden)[0], tf.shape(hidden)[1]
        hidden = tf.reshape(hidden, (batch, length, self.half_channels, self.num_bins * 3 - 1))
        bins, scale = self.num_bins, math.sqrt(self.filter_channels)
        second = inverse_rational_quadratic_spline(second, hidden[..., :bins] / scale,
                                                   hidden[..., bins: 2 * bins] / scale, hidden[..., 2 * bins:],
                                                   self.tail_bound)  # fmt: skip
        return tf.concat([first, second], axis=-1) * padding_mask


class TFVitsElementwiseAffine(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.channels = config.depth_separable_channels

    def build(self, input_shape=None):
        self.translate = self.add_weight(name="translate", shape=(self.channels, 1), initializer="zeros")
        self.log_scale = self.add_weight(name="log_scale", shape=(self.channels, 1), initializer="zeros")
        self.built = True

    def call(self, inputs, padding_mask, global_conditioning=None, training=False):
        # the [channels, 1] parameters broadcast over time in PyTorch's [batch, channels, time]
        return (inputs - self.translate[:, 0]) * tf.exp(-self.log_scale[:, 0]) * padding_mask


class TFVitsStochasticDurationPredictor(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        channels, flows = config.hidden_size, config.duration_predictor_num_flows
        self.conv_pre = conv1d(channels, 1, "conv_pre")
        self.conv_proj = conv1d(channels, 1, "conv_proj")
        self.conv_dds = TFVitsDilatedDepthSeparableConv(config, config.duration_predictor_dropout, name="conv_dds")
        if config.speaker_embedding_size:
            self.cond = conv1d(channels, 1, "cond")
        self.flows = [TFVitsElementwiseAffine(config, name="flows.0")]
        self.flows += [TFVitsConvFlow(config, name=f"flows.{i + 1}") for i in range(flows)]
        self.post_conv_pre = conv1d(channels, 1, "post_conv_pre")
        self.post_conv_proj = conv1d(channels, 1, "post_conv_proj")
        self.post_conv_dds = TFVitsDilatedDepthSeparableConv(config, config.duration_predictor_dropout,
                                                             name="post_conv_dds")  # fmt: skip
        self.post_flows = [TFVitsElementwiseAffine(config, name="post_flows.0")]
        self.post_flows += [TFVitsConvFlow(config, name=f"post_flows.{i + 1}") for i in range(flows)]
        self.speaker_width = config.speaker_embedding_size

    def input_sizes(self):
        channels = self.conv_pre.filters
        convs = over_time({self.conv_pre: channels, self.conv_proj: channels, self.post_conv_pre: 1,
                           self.post_conv_proj: channels, getattr(self, "cond", None): self.speaker_width})  # fmt: skip
        return {**convs, **dict.fromkeys([self.conv_dds, *self.flows, self.post_conv_dds, *self.post_flows])}

    def build(self, input_shape=None):
        channels = self.conv_pre.filters
        super().build(input_shape)
        # the post_* modules are only used in training: build them here so their weights exist and load (by a call
        # on zeros where they were not built from sizes)
        for conv, width in ((self.post_conv_pre, 1), (self.post_conv_proj, channels)):
            if not conv.built:
                conv.build((None, None, width))
        if not self.post_conv_dds.built:
            self.post_conv_dds(tf.zeros((1, 1, channels)), tf.ones((1, 1, 1)))
        for flow in self.post_flows + self.flows[1:2]:
            if not flow.built:
                flow(tf.zeros((1, 1, 2)), tf.ones((1, 1, 1)), global_conditioning=tf.zeros((1, 1, channels)))

    def call(self, inputs, padding_mask, global_conditioning=None, noise_scale=1.0, training=False):
        inputs = self.conv_pre(tf.stop_gradient(inputs))
        if global_conditioning is not None:
            inputs += self.cond(tf.stop_gradient(global_conditioning))
        inputs = self.conv_proj(self.conv_dds(inputs, padding_mask, training=training)) * padding_mask
        latents = tf.random.normal((tf.shape(inputs)[0], tf.shape(inputs)[1], 2), dtype=inputs.dtype) * noise_scale
        backwards = self.flows[::-1]
        for flow in backwards[:-2] + backwards[-1:]:
            latents = flow(tf.reverse(latents, [-1]), padding_mask, global_conditioning=inputs, training=training)
        return latents[..., :1]


class TFVitsDurationPredictor(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        kernel, channels = config.duration_predictor_kernel_size, config.duration_predictor_filter_channels
        self.padding = kernel // 2
        self.dropout = Dropout(config.duration_predictor_dropout)
        self.conv_1 = conv1d(channels, kernel, "conv_1")
        self.norm_1 = layer_norm("norm_1", config.layer_norm_eps)
        self.conv_2 = conv1d(channels, kernel, "conv_2")
        self.norm_2 = layer_norm("norm_2", config.layer_norm_eps)
        self.proj = conv1d(1, 1, "proj")
        if config.speaker_embedding_size:
            self.cond = conv1d(config.hidden_size, 1, "cond")
        self.conv_sizes = {self.conv_1: config.hidden_size, self.conv_2: channels, self.proj: channels,
                           getattr(self, "cond", None): config.speaker_embedding_size}  # fmt: skip

    def input_sizes(self):
        return {**dict.fromkeys((self.norm_1, self.norm_2), self.conv_1.filters), **over_time(self.conv_sizes)}

    def call(self, inputs, padding_mask, global_conditioning=None, training=False):
        inputs = tf.stop_gradient(inputs)
        if global_conditioning is not None:
            inputs += self.cond(tf.stop_gradient(global_conditioning))
        for conv, norm in ((self.conv_1, self.norm_1), (self.conv_2, self.norm_2)):
            inputs = norm(tf.nn.relu(conv(pad_time(inputs * padding_mask, self.padding))))
            inputs = self.dropout(inputs, training=training)
        return self.proj(inputs * padding_mask) * padding_mask


# -- HiFi-GAN decoder -----------------------------------------------------------------------------------------------
class TFHifiGanResidualBlock(Layer):
    def __init__(self, channels: int, kernel_size: int, dilations, leaky_relu_slope: float, **kwargs):
        super().__init__(**kwargs)
        self.slope, self.kernel_size, self.dilations = leaky_relu_slope, kernel_size, list(dilations)
        self.convs1 = [conv1d(channels, kernel_size, f"convs1.{i}", d) for i, d in enumerate(self.dilations)]
        self.convs2 = [conv1d(channels, kernel_size, f"convs2.{i}") for i in range(len(self.dilations))]
        self.channels = channels

    def input_sizes(self):
        return over_time(dict.fromkeys(self.convs1 + self.convs2, self.channels))

    def call(self, hidden):
        act = tf.nn.leaky_relu
        for conv1, conv2, dilation in zip(self.convs1, self.convs2, self.dilations):
            x = conv1(pad_time(act(hidden, self.slope), same_padding(self.kernel_size, dilation)))
            hidden = conv2(pad_time(act(x, self.slope), same_padding(self.kernel_size))) + hidden
        return hidden


class TFVitsHifiGan(Layer):
    def __init__(self, config: VitsConfig, **kwargs):
        super().__init__(**kwargs)
        self.slope = config.leaky_relu_slope
        self.num_kernels = len(config.resblock_kernel_sizes)
        start = config.upsample_initial_channel
        self.conv_pre = conv1d(start, 7, "conv_pre")
        self.upsampler, self.resblocks, self.crops = [], [], []
        channels = start
        for i, (rate, kernel) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes)):
            channels = start // 2 ** (i + 1)
            self.upsampler.append(keras_layers.Conv1DTranspose(channels, kernel, strides=rate, padding="valid",
                                                               kernel_initializer="he_normal",
                                                               name=f"upsampler.{i}"))  # fmt: skip
            self.crops.append((kernel - rate) // 2)
            for j, (size, dilations) in enumerate(zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes)):
                index = i * self.num_kernels + j
                self.resblocks.append(TFHifiGanResidualBlock(channels, size, dilations, self.slope,
                                                             name=f"resblocks.{index}"))  # fmt: skip
        self.conv_post = conv1d(1, 7, "conv_post", use_bias=False)
        if config.speaker_embedding_size:
            self.cond = conv1d(start, 1, "cond")
        widths = [start // 2**i for i in range(len(self.upsampler) + 1)]  # each stage's input channels
        self.conv_sizes = {self.conv_pre: config.flow_size, **dict(zip(self.upsampler, widths)),
                           self.conv_post: widths[-1], getattr(self, "cond", None): config.speaker_embedding_size}

    def input_sizes(self):
        return {**over_time(self.conv_sizes), **dict.fromkeys(self.resblocks)}

    def call(self, spectrogram, global_conditioning=None):
        hidden = self.conv_pre(pad_time(spectrogram, 3))
        if global_conditioning is not None:
            hidden += self.cond(global_conditioning)
        for i, upsample in enumerate(self.upsampler):
            length = tf.shape(hidden)[1]
            hidden = upsample(tf.nn.leaky_relu(hidden, self.slope))
            rate, crop = upsample.strides[0], self.crops[i]
            # PyTorch's ConvTranspose1d padding p drops p samples at each end of the full output
            hidden = hidden[:, crop: crop + (length - 1) * rate + upsample.kernel_size[0] - 2 * crop]
            blocks = self.resblocks[i * self.num_kernels: (i + 1) * self.num_kernels]
            hidden = tf.add_n([block(hidden) for block in blocks]) / self.num_kernels
        return tf.tanh(self.conv_post(pad_time(tf.nn.leaky_relu(hidden, 0.01), 3)))


# -- model ----------------------------------------------------------------------------------------------------------
def regulate_lengths(durations, input_mask):
    """durations, input_mask: [batch, tokens, 1] -> ([batch, frames, tokens] alignment, [batch, frames, 1] output
    mask, [batch] frame counts)."""
    lengths = tf.cast(tf.maximum(tf.reduce_sum(durations, axis=[1, 2]), 1), tf.int64)
    frames = tf.range(tf.reduce_max(lengths))
    output_mask = tf.cast(frames[None, :] < lengths[:, None], input_mask.dtype)[..., None]
    ends = tf.cumsum(durations[..., 0], axis=-1)
    starts = ends - durations[..., 0]
    position = tf.cast(frames, ends.dtype)[None, :, None]
    alignment = tf.cast((position >= starts[:, None, :]) & (position < ends[:, None, :]), input_mask.dtype)
    alignment = alignment * tf.transpose(input_mask, (0, 2, 1)) * output_mask
    return alignment, output_mask, lengths


class TFVitsPreTrainedModel(TFPreTrainedModel):
    config_class = VitsConfig
    base_model_prefix = "vits"
    main_input_name = "input_ids"

    def dummy_inputs(self) -> dict:
        inputs = {"input_ids": np.zeros((1, 2), dtype=np.int32)}
        if self.config.num_speakers > 1:  # so the speaker embedding and conditioning layers are built too
            inputs["speaker_id"] = np.zeros((), dtype=np.int32)
        return inputs


class TFVitsModel(TFVitsPreTrainedModel):
    def __init__(self, config: VitsConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        config.check_sizes()
        # Synthesis settings users change on the model after loading (model.noise_scale = ...), as in PyTorch.
        self.speaking_rate = config.speaking_rate
        self.noise_scale = config.noise_scale
        self.noise_scale_duration = config.noise_scale_duration
        self.text_encoder = TFVitsTextEncoder(config, name="text_encoder")
        self.flow = TFVitsResidualCouplingBlock(config, name="flow")
        self.decoder = TFVitsHifiGan(config, name="decoder")
        if config.use_stochastic_duration_prediction:
            self.duration_predictor = TFVitsStochasticDurationPredictor(config, name="duration_predictor")
        else:
            self.duration_predictor = TFVitsDurationPredictor(config, name="duration_predictor")
        if config.num_speakers > 1:
            self.embed_speaker = keras_layers.Embedding(config.num_speakers, config.speaker_embedding_size,
                                                        name="embed_speaker")  # fmt: skip
        self.posterior_encoder = TFVitsPosteriorEncoder(config, name="posterior_encoder")

    def input_sizes(self):  # embed_speaker: ids [batch]
        return {self.text_encoder: None, self.flow: None, self.decoder: None, self.duration_predictor: None,
                self.posterior_encoder: None, getattr(self, "embed_speaker", None): (None,)}  # fmt: skip

    def get_input_embeddings(self):
        return self.text_encoder.embed_tokens

    def speaker_embeddings(self, speaker_id):
        c = self.config
        if c.num_speakers <= 1 or speaker_id is None:
            return None
        ids = np.asarray(speaker_id).reshape(-1)
        if ids.size != 1 or not 0 <= int(ids[0]) < c.num_speakers:
            raise ValueError(f"speaker_id must be one int in the range 0-{c.num_speakers - 1}, got {speaker_id}.")
        return self.embed_speaker(tf.constant(ids.astype(np.int32)))[:, None, :]

    def call(self, input_ids=None, attention_mask=None, speaker_id=None, output_attentions=None,
             output_hidden_states=None, return_dict=None, labels=None, training=False, **kwargs):  # fmt: skip
        if labels is not None:
            raise NotImplementedError("Training of VITS is not supported (labels were given), as in transformers.")
        if input_ids is None:
            raise ValueError("TFVitsModel needs input_ids (token ids from VitsTokenizer).")
        c = self.config
        input_ids = tf.convert_to_tensor(input_ids)
        mask = tf.ones_like(input_ids) if attention_mask is None else tf.convert_to_tensor(attention_mask)
        input_mask = tf.cast(mask, tf.float32)[..., None]
        speaker = self.speaker_embeddings(speaker_id)
        encoded, means, log_variances = self.text_encoder(
            input_ids, input_mask, attention_mask=attention_mask, output_attentions=bool(output_attentions),
            output_hidden_states=bool(output_hidden_states), training=training,
        )
        hidden = encoded.last_hidden_state
        if self.posterior_encoder.built is False:  # build the training-only encoder once, for its weights
            self.posterior_encoder(tf.zeros((1, 1, c.spectrogram_bins)), tf.ones((1, 1, 1)), global_conditioning=speaker)
        if c.use_stochastic_duration_prediction:
            log_duration = self.duration_predictor(hidden, input_mask, global_conditioning=speaker,
                                                   noise_scale=self.noise_scale_duration, training=training)  # fmt: skip
        else:
            log_duration = self.duration_predictor(hidden, input_mask, global_conditioning=speaker, training=training)
        durations = tf.math.ceil(tf.exp(log_duration) * input_mask * (1.0 / self.speaking_rate))
        alignment, output_mask, lengths = regulate_lengths(durations, input_mask)
        means = tf.matmul(alignment, means)
        log_variances = tf.matmul(alignment, log_variances)
        latents = means + tf.random.normal(tf.shape(means)) * tf.exp(log_variances) * self.noise_scale
        spectrogram = self.flow(latents, output_mask, global_conditioning=speaker, training=training) * output_mask
        waveform = self.decoder(spectrogram, global_conditioning=speaker)[..., 0]
        result = out.from_encoded(out.VitsModelOutput, encoded, waveform=waveform,
                                  spectrogram=tf.transpose(spectrogram, (0, 2, 1)),
                                  sequence_lengths=lengths * c.hop_length)  # fmt: skip
        return out.finish(result, c.return_dict if return_dict is None else return_dict)
