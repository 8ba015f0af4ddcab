"""Speech-encoder building blocks in TensorFlow (Keras 3) for Wav2Vec2, HuBERT and WavLM, built from
autoload.speech.SpeechOptions; layer names are transformers' TF names (`conv_layers.0`, `layers.0`, weight_g /
weight_v, gamma / beta), which are the checkpoint names. Mirrors autoload/backends/torch/blocks/speech.py:
feature encoder and projection, positional convolution (weight norm or HuBERT's batch norm), post-norm or
stable transformer layers with plain or WavLM gated-relative attention and attention adapters, the adapter,
the main layer and the audio heads (CTC, utterance and frame classification, x-vector)."""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.speech import (
    ConvLayerOptions,
    SpeechOptions,
    check_audio,
    effective_frame_lengths,
    refuse_adapter,
    spec_augment_mask,
)

from .. import keras_layers
from ..activations import get_activation
from ..heads import TFMainLayerModel, TFTaskModel
from ..modeling import Dropout, Layer, channels_last, dense, weights_init

EPS = 1e-5  # PyTorch's default for the GroupNorm / LayerNorm layers built without an eps


def frame_lengths(config, attention_mask, add_adapter: bool | None = None):
    return config.conv_output_lengths(tf.reduce_sum(tf.cast(attention_mask, tf.int32), axis=-1), add_adapter)


def frame_mask(config, attention_mask, frames, add_adapter: bool | None = None):
    """[batch, frames] bool mask of the frames covering real audio, as transformers derives it."""
    lengths = effective_frame_lengths(frame_lengths(config, attention_mask, add_adapter), frames)
    return tf.range(frames)[None, :] < lengths[:, None]


def layer_norm(options: SpeechOptions, name: str, eps: float | None = None):
    return keras_layers.LayerNormalization(epsilon=options.layer_norm_eps if eps is None else eps, name=name)


class TFChannelNorm(Layer):
    """GroupNorm with one group per channel: each channel normalised over time, then scaled and shifted."""

    def build(self, input_shape=None):
        self.gamma = self.add_weight(name="gamma", shape=(input_shape[-1],), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(input_shape[-1],), initializer="zeros")
        self.built = True

    def call(self, x):
        mean, variance = tf.nn.moments(x, axes=[1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(variance + EPS) * self.gamma + self.beta


class TFSpeechConvLayer(Layer):
    def __init__(self, layer: ConvLayerOptions, options: SpeechOptions, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras_layers.Conv1D(layer.out_dim, layer.kernel, strides=layer.stride, use_bias=options.conv_bias,
                                        kernel_initializer="he_normal", name="conv")  # fmt: skip
        if layer.norm == "group":
            self.layer_norm = TFChannelNorm(name="layer_norm")
        elif layer.norm == "layer":
            self.layer_norm = keras_layers.LayerNormalization(epsilon=EPS, name="layer_norm")
        self.norm = layer.norm
        self.activation = get_activation(options.conv_activation)
        self.in_dim, self.out_dim = layer.in_dim, layer.out_dim

    def input_sizes(self):
        return {self.conv: channels_last(self.in_dim, (None,)), getattr(self, "layer_norm", None): self.out_dim}

    def call(self, x):
        x = self.conv(x)
        if self.norm is not None:
            x = self.layer_norm(x)
        return self.activation(x)


class TFSpeechFeatureEncoder(Layer):
    def __init__(self, options: SpeechOptions, **kwargs):
        super().__init__(**kwargs)
        self.conv_layers = [TFSpeechConvLayer(layer, options, name=f"conv_layers.{i}")
                            for i, layer in enumerate(options.conv_layers)]  # fmt: skip

    def input_sizes(self):
        return dict.fromkeys(self.conv_layers)

    def call(self, input_values):
        hidden = input_values[:, :, None]
        for layer in self.conv_layers:
            hidden = layer(hidden)
        return hidden


class TFSpeechFeatureProjection(Layer):
    def __init__(self, config, options: SpeechOptions, **kwargs):
        super().__init__(**kwargs)
        self.has_norm = options.feature_layer_norm
        if self.has_norm:
            self.layer_norm = layer_norm(options, "layer_norm")
        self.projection = dense(config, options.hidden_size, "projection")
        self.dropout = Dropout(options.feat_proj_dropout)
        self.features = options.conv_layers[-1].out_dim  # the conv features' channels

    def input_sizes(self):
        return {getattr(self, "layer_norm", None): self.features, self.projection: self.features}

    def call(self, features, training=False):
        if self.has_norm:
            features = self.layer_norm(features)
        return self.dropout(self.projection(features), training=training), features


def grouped_conv1d(hidden, kernel, groups: int, training: bool):
    """A "VALID" stride-1 conv with kernel [size, channels / groups, out]. TensorFlow computes no gradient for
    a grouped convolution on CPU (fit() used to run under XLA there, which does; Keras 3.15 stopped compiling on
    CPU-only machines), so while training each group is convolved on its own."""
    if not training or groups == 1:
        return tf.nn.conv1d(hidden, kernel, 1, "VALID")
    parts = zip(tf.split(hidden, groups, axis=-1), tf.split(kernel, groups, axis=-1))
    return tf.concat([tf.nn.conv1d(x, k, 1, "VALID") for x, k in parts], axis=-1)


class TFWeightNormConv1D(Layer):
    """A grouped conv whose kernel is weight_g * weight_v / |weight_v| (norm over all but the kernel axis);
    weight_v in PyTorch's [out, in/groups, kernel] layout and weight_g as [kernel, 1, 1], as transformers' TF
    checkpoints store them. Pads size // 2 on both sides."""

    def __init__(self, config, options: SpeechOptions, **kwargs):
        super().__init__(**kwargs)
        self.config, self.options = config, options

    def build(self, input_shape=None):
        o = self.options
        size, width = o.pos_conv_kernel, o.hidden_size
        self.weight_v = self.add_weight(name="weight_v", shape=(width, width // o.pos_conv_groups, size),
                                        initializer=weights_init(self.config))  # fmt: skip
        self.weight_g = self.add_weight(name="weight_g", shape=(size, 1, 1), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(width,), initializer="zeros")
        self.built = True

    def call(self, hidden, training=False):
        size = self.options.pos_conv_kernel
        norm = tf.sqrt(tf.reduce_sum(tf.square(self.weight_v), axis=(0, 1), keepdims=True))
        weight = tf.reshape(self.weight_g, (1, 1, size)) * self.weight_v / norm
        hidden = tf.pad(hidden, [[0, 0], [size // 2, size // 2], [0, 0]])
        kernel = tf.transpose(weight, (2, 1, 0))
        return grouped_conv1d(hidden, kernel, self.options.pos_conv_groups, training) + self.bias


class TFSpeechPositionalConvEmbedding(Layer):
    def __init__(self, config, options: SpeechOptions, **kwargs):
        super().__init__(**kwargs)
        self.options = options
        if options.pos_conv_batch_norm:
            self.batch_norm = keras_layers.BatchNormalization(epsilon=EPS, momentum=0.9, name="batch_norm")
            self.conv = keras_layers.Conv1D(options.hidden_size, options.pos_conv_kernel,
                                            groups=options.pos_conv_groups, name="conv")  # fmt: skip
        else:
            self.conv = TFWeightNormConv1D(config, options, name="conv")
        self.trim = 1 if options.pos_conv_kernel % 2 == 0 else 0
        self.activation = get_activation(options.conv_activation)

    def input_sizes(self):  # a BatchNorm and a Keras conv on the hidden states, or our weight-normed conv
        if self.options.pos_conv_batch_norm:
            return dict.fromkeys((self.batch_norm, self.conv), channels_last(self.options.hidden_size, (None,)))
        return {self.conv: None}

    def call(self, hidden, training=False):
        if self.options.pos_conv_batch_norm:
            size = self.options.pos_conv_kernel
            hidden = self.batch_norm(hidden, training=training)
            hidden = tf.pad(hidden, [[0, 0], [size // 2, size // 2], [0, 0]])
            if training:  # the Keras conv's own op has no CPU gradient for its groups (grouped_conv1d)
                x = grouped_conv1d(hidden, self.conv.kernel, self.options.pos_conv_groups, True) + self.conv.bias
            else:
                x = self.conv(hidden)
        else:
            x = self.conv(hidden, training=training)
        if self.trim:
            x = x[:, : -self.trim]
        return self.activation(x)


class TFSpeechFeedForward(Layer):
    def __init__(self, config, options: SpeechOptions, **kwargs):
        super().__init__(**kwargs)
        self.intermediate_dense = dense(config, options.intermediate_size, "intermediate_dense")
        self.intermediate_dropout = Dropout(options.activation_dropout)
        self.output_dense = dense(config, options.hidden_size, "output_dense")
        self.output_dropout = Dropout(options.hidden_dropout)
        self.act = get_activation(options.activation)
        self.sizes = {self.intermediate_dense: options.hidden_size, self.output_dense: options.intermediate_size}

    def input_sizes(self):
        return self.sizes

    def call(self, hidden, training=False):
        hidden = self.intermediate_dropout(self.act(self.intermediate_dense(hidden)), training=training)
        return self.output_dropout(self.output_dense(hidden), training=training)


def relative_buckets(length, num_buckets: int, max_distance: int):
    """[length, length] bucket of each (query, key) distance (see the PyTorch block)."""
    relative = tf.range(length)[None, :] - tf.range(length)[:, None]
    half = num_buckets // 2
    exact = half // 2
    buckets = tf.cast(relative > 0, tf.int32) * half
    distance = tf.abs(relative)
    safe = tf.maximum(distance, 1)  # log(0) is not used (those distances are exact) but must not poison casts
    far = tf.math.log(tf.cast(safe, tf.float32) / exact) / math.log(max_distance / exact) * (half - exact)
    far = tf.minimum(tf.cast(exact + far, tf.int32), half - 1)
    return buckets + tf.where(distance < exact, distance, far)


class TFSpeechSelfAttention(Layer):
    """q/k/v/out_proj self-attention, with WavLM's gated relative position bias when options.relative."""

    def __init__(self, config, options: SpeechOptions, has_bias_table: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.options = options
        width = options.hidden_size
        self.k_proj = dense(config, width, "k_proj")
        self.q_proj = dense(config, width, "q_proj")
        self.v_proj = dense(config, width, "v_proj")
        self.out_proj = dense(config, width, "out_proj")
        self.dropout = Dropout(options.attention_dropout)
        self.has_bias_table = options.relative and has_bias_table
        if options.relative:
            self.gru_rel_pos_linear = dense(config, 8, "gru_rel_pos_linear")
        if self.has_bias_table:
            self.rel_attn_embed = keras_layers.Embedding(options.relative_buckets, options.num_heads,
                                                         name="rel_attn_embed")  # fmt: skip

    def input_sizes(self):  # the gate reads each head's slice of the input; the table, [query, key] buckets
        o = self.options
        sizes = dict.fromkeys((self.k_proj, self.q_proj, self.v_proj, self.out_proj), o.hidden_size)
        return {**sizes, getattr(self, "gru_rel_pos_linear", None): o.head_dim,
                getattr(self, "rel_attn_embed", None): (None, None)}  # fmt: skip

    def build(self, input_shape=None):
        if self.options.relative:
            self.gru_rel_pos_const = self.add_weight(name="gru_rel_pos_const", shape=(1, self.options.num_heads, 1, 1),
                                                     initializer="ones")  # fmt: skip
        super().build(input_shape)

    def position_bias(self, length):
        o = self.options
        table = self.rel_attn_embed(relative_buckets(length, o.relative_buckets, o.relative_max_distance))
        return tf.transpose(table, (2, 0, 1))  # [heads, query, key]

    def call(self, hidden, bias=None, position_bias=None, output_attentions=False, training=False):
        o = self.options
        shape = tf.shape(hidden)
        batch, length = shape[0], shape[1]

        def heads(x):
            return tf.transpose(tf.reshape(x, (batch, length, o.num_heads, o.head_dim)), (0, 2, 1, 3))

        q, k, v = heads(self.q_proj(hidden)), heads(self.k_proj(hidden)), heads(self.v_proj(hidden))
        scores = tf.matmul(q, k, transpose_b=True) * (o.head_dim**-0.5)
        if o.relative:
            if position_bias is None:
                position_bias = self.position_bias(length)
            gates = self.gru_rel_pos_linear(heads(hidden))
            gates = tf.sigmoid(tf.reduce_sum(tf.reshape(gates, (batch, o.num_heads, length, 2, 4)), axis=-1))
            gate_a, gate_b = gates[..., :1], gates[..., 1:]
            gate = gate_a * (gate_b * self.gru_rel_pos_const - 1.0) + 2.0
            scores = scores + gate * position_bias[None]
        if bias is not None:
            scores = scores + bias
        probs = tf.nn.softmax(scores, axis=-1)
        context = tf.matmul(self.dropout(probs, training=training), v)
        context = tf.reshape(tf.transpose(context, (0, 2, 1, 3)), (batch, length, o.hidden_size))
        if output_attentions and o.relative:  # WavLM reports head-averaged weights, repeated per head
            probs = tf.repeat(tf.reduce_mean(probs, axis=1, keepdims=True), o.num_heads, axis=1)
        return self.out_proj(context), probs if output_attentions else None, position_bias


class TFSpeechAttnAdapterLayer(Layer):
    def __init__(self, config, options: SpeechOptions, **kwargs):
        super().__init__(**kwargs)
        self.norm = keras_layers.LayerNormalization(epsilon=EPS, name="norm")
        self.linear_1 = dense(config, options.attn_adapter_dim, "linear_1")
        self.linear_2 = dense(config, options.hidden_size, "linear_2")
        self.sizes = {self.norm: options.hidden_size, self.linear_1: options.hidden_size,
                      self.linear_2: options.attn_adapter_dim}  # fmt: skip

    def input_sizes(self):
        return self.sizes

    def call(self, hidden):
        return self.linear_2(tf.nn.relu(self.linear_1(self.norm(hidden))))


class TFSpeechEncoderLayer(Layer):
    def __init__(self, config, options: SpeechOptions, index: int, **kwargs):
        super().__init__(**kwargs)
        self.options = options
        self.attention = TFSpeechSelfAttention(config, options, has_bias_table=index == 0, name="attention")
        self.dropout = Dropout(options.hidden_dropout)
        self.layer_norm = layer_norm(options, "layer_norm")
        self.feed_forward = TFSpeechFeedForward(config, options, name="feed_forward")
        self.final_layer_norm = layer_norm(options, "final_layer_norm")
        self.has_adapter = options.stable_layer_norm and options.attn_adapter_dim is not None
        if self.has_adapter:
            self.adapter_layer = TFSpeechAttnAdapterLayer(config, options, name="adapter_layer")

    def input_sizes(self):
        width = self.options.hidden_size
        return {self.attention: None, self.layer_norm: width, self.feed_forward: None, self.final_layer_norm: width,
                getattr(self, "adapter_layer", None): None}  # fmt: skip

    def call(self, hidden, bias=None, position_bias=None, output_attentions=False, training=False):
        if self.options.stable_layer_norm:
            attended, probs, position_bias = self.attention(self.layer_norm(hidden), bias=bias,
                                                            position_bias=position_bias,
                                                            output_attentions=output_attentions, training=training)  # fmt: skip
            hidden = hidden + self.dropout(attended, training=training)
            hidden = hidden + self.feed_forward(self.final_layer_norm(hidden), training=training)
            if self.has_adapter:
                hidden = hidden + self.adapter_layer(hidden)
            return hidden, probs, position_bias
        attended, probs, position_bias = self.attention(hidden, bias=bias, position_bias=position_bias,
                                                        output_attentions=output_attentions, training=training)  # fmt: skip
        hidden = self.layer_norm(hidden + self.dropout(attended, training=training))
        hidden = self.final_layer_norm(hidden + self.feed_forward(hidden, training=training))
        return hidden, probs, position_bias


class TFSpeechEncoder(Layer):
    def __init__(self, config, options: SpeechOptions, **kwargs):
        super().__init__(**kwargs)
        self.options = options
        self.pos_conv_embed = TFSpeechPositionalConvEmbedding(config, options, name="pos_conv_embed")
        self.layer_norm = layer_norm(options, "layer_norm")
        self.dropout = Dropout(options.hidden_dropout)
        self.layers = [TFSpeechEncoderLayer(config, options, i, name=f"layers.{i}") for i in range(options.num_layers)]

    def input_sizes(self):
        return {self.pos_conv_embed: None, self.layer_norm: self.options.hidden_size, **dict.fromkeys(self.layers)}

    def call(self, hidden, frames=None, output_attentions=False, training=False):
        o = self.options
        bias = None
        if frames is not None:
            hidden = tf.where(frames[..., None], hidden, tf.zeros_like(hidden))
            bias = tf.cast(~frames, hidden.dtype)[:, None, None, :] * hidden.dtype.min
        hidden = hidden + self.pos_conv_embed(hidden, training=training)
        if not o.stable_layer_norm:
            hidden = self.layer_norm(hidden)
        hidden = self.dropout(hidden, training=training)
        states, attentions, position_bias = (), (), None
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            # LayerDrop while training, decided when the call is traced (as transformers' TF models do).
            if training and (i > 0 or not o.relative) and np.random.uniform() < o.layerdrop:
                attentions += (None,)
                continue
            hidden, probs, position_bias = layer(hidden, bias=bias, position_bias=position_bias,
                                                 output_attentions=output_attentions, training=training)
            attentions += (probs,)
        if o.stable_layer_norm:
            hidden = self.layer_norm(hidden)
        return hidden, states + (hidden,), attentions if output_attentions else None


class TFSpeechAdapter(Layer):
    """add_adapter: optional proj + proj_layer_norm, then strided convs (padding 1) with a GLU over channels."""

    def __init__(self, config, options: SpeechOptions, **kwargs):
        super().__init__(**kwargs)
        a = self.adapter = options.adapter
        if a.project:
            self.proj = dense(config, a.width, "proj")
            self.proj_layer_norm = keras_layers.LayerNormalization(epsilon=EPS, name="proj_layer_norm")
        self.layers = [TFSpeechAdapterLayer(a, name=f"layers.{i}") for i in range(a.num_layers)]
        self.layerdrop = options.layerdrop
        self.hidden_size = options.hidden_size

    def input_sizes(self):
        projection = {getattr(self, "proj", None): self.hidden_size,
                      getattr(self, "proj_layer_norm", None): self.adapter.width}  # fmt: skip
        return {**projection, **dict.fromkeys(self.layers)}

    def call(self, hidden, training=False):
        if self.adapter.project:
            hidden = self.proj_layer_norm(self.proj(hidden))
        for layer in self.layers:
            if not training or np.random.random() > self.layerdrop:
                hidden = layer(hidden)
        return hidden


class TFSpeechAdapterLayer(Layer):
    def __init__(self, adapter, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras_layers.Conv1D(2 * adapter.width, adapter.kernel, strides=adapter.stride, name="conv")
        self.width = adapter.width  # its input: the projection's width, or hidden_size where they are equal

    def input_sizes(self):
        return {self.conv: channels_last(self.width, (None,))}

    def call(self, hidden):
        hidden = self.conv(tf.pad(hidden, [[0, 0], [1, 1], [0, 0]]))
        value, gate = tf.split(hidden, 2, axis=-1)
        return value * tf.sigmoid(gate)


class TFSpeechMainLayer(Layer):
    """The base model's layers under the base prefix: features -> projection -> (masked time steps) ->
    transformer -> (adapter)."""

    extract_features = True  # whether the output carries the projection's input (Wav2Vec2BaseModelOutput)
    spec_augment_lengths = True  # whether training's random time masks stay within each example's frames

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        o = self.options = config.speech_options()
        self.feature_extractor = TFSpeechFeatureEncoder(o, name="feature_extractor")
        self.feature_projection = TFSpeechFeatureProjection(config, o, name="feature_projection")
        self.encoder = TFSpeechEncoder(config, o, name="encoder")
        if o.adapter is not None:
            self.adapter = TFSpeechAdapter(config, o, name="adapter")

    @property
    def output_width(self) -> int:
        return self.options.output_width

    def input_sizes(self):
        return {self.feature_extractor: None, self.feature_projection: None, self.encoder: None,
                getattr(self, "adapter", None): None}  # fmt: skip

    def build(self, input_shape=None):
        if self.options.masked_spec_embed:
            self.masked_spec_embed = self.add_weight(name="masked_spec_embed", shape=(self.options.hidden_size,),
                                                     initializer="uniform")  # fmt: skip
        super().build(input_shape)

    def call(self, input_values=None, attention_mask=None, mask_time_indices=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        o = self.options
        if input_values is None:
            raise ValueError("The speech model needs input_values.")
        check_audio(self.config, input_values.shape)
        features = self.feature_extractor(tf.cast(input_values, tf.float32))
        frames = None
        if attention_mask is not None:
            frames = frame_mask(self.config, attention_mask, tf.shape(features)[1], add_adapter=False)
        hidden, extract_features = self.feature_projection(features, training=training)
        hidden = self.mask_hidden(hidden, mask_time_indices, frames, training)
        hidden, states, attentions = self.encoder(hidden, frames=frames, output_attentions=output_attentions,
                                                  training=training)
        if o.adapter is not None:
            hidden = self.adapter(hidden, training=training)
        values = dict(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None,
                      attentions=attentions)  # fmt: skip
        if self.extract_features:
            return out.Wav2Vec2BaseModelOutput(extract_features=extract_features, **values)
        return out.BaseModelOutput(**values)

    def mask_hidden(self, hidden, mask_time_indices=None, frames=None, training=False):
        """SpecAugment: the given masked time steps take the learned vector; while training, random time spans
        (unless given) do too and random feature channels are zeroed, as the config asks. The random masks are
        drawn by numpy on every call, also inside a traced function."""
        o = self.options
        if not o.apply_spec_augment:
            return hidden
        if mask_time_indices is not None:
            if not o.masked_spec_embed:
                raise ValueError(
                    "mask_time_indices needs the learned masked_spec_embed, which this config has none of "
                    "(mask_time_prob and mask_feature_prob are both 0)."
                )
            spec = tf.cast(self.masked_spec_embed, hidden.dtype)
            hidden = tf.where(tf.cast(mask_time_indices, tf.bool)[..., None], spec, hidden)
        if not training:
            return hidden
        shape = tf.shape(hidden)
        if mask_time_indices is None and o.mask_time[0] > 0:
            if frames is not None and self.spec_augment_lengths:
                lengths = tf.reduce_sum(tf.cast(frames, tf.int32), axis=-1)
            else:
                lengths = tf.fill(shape[:1], shape[1])
            time = tf.numpy_function(lambda n, steps: spec_augment_mask((len(n), int(steps)), *o.mask_time, n),
                                     [lengths, shape[1]], tf.bool)  # fmt: skip
            time = tf.ensure_shape(time, [None, None])
            hidden = tf.where(time[..., None], tf.cast(self.masked_spec_embed, hidden.dtype), hidden)
        if o.mask_feature[0] > 0:
            feature = tf.numpy_function(lambda batch: spec_augment_mask((int(batch), o.hidden_size), *o.mask_feature),
                                        [shape[0]], tf.bool)  # fmt: skip
            feature = tf.ensure_shape(feature, [None, o.hidden_size])
            hidden = tf.where(feature[:, None, :], tf.zeros_like(hidden), hidden)
        return hidden


class TFSpeechPreTrainedModel(TFMainLayerModel):
    main_input_name = "input_values"

    def freeze_feature_encoder(self) -> None:
        """Stop training the convolutional feature encoder (its weights become non-trainable)."""
        self.main_layer.feature_extractor.trainable = False

    def freeze_feature_extractor(self) -> None:
        """The deprecated name of freeze_feature_encoder."""
        warnings.warn("freeze_feature_extractor is deprecated; use freeze_feature_encoder.", FutureWarning,
                      stacklevel=2)  # fmt: skip
        self.freeze_feature_encoder()

    def freeze_base_model(self) -> None:
        """Train only the head: the main layer's weights become non-trainable."""
        self.main_layer.trainable = False

    def dummy_inputs(self) -> dict:
        c = self.config
        frames = 2 + sum((k - 1) * d for k, d in zip(getattr(c, "tdnn_kernel", ()), getattr(c, "tdnn_dilation", ())))
        options = c.speech_options()
        if options.adapter is not None:
            frames = frames * options.adapter.stride**options.adapter.num_layers + options.adapter.kernel
        return {"input_values": np.zeros((1, c.samples_for_frames(frames)), np.float32)}


class TFSpeechModel(TFSpeechPreTrainedModel):
    is_base_model = True

    def call(self, input_values=None, attention_mask=None, mask_time_indices=None, output_attentions=None,
             output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        result = self.main_layer(input_values, attention_mask=attention_mask, mask_time_indices=mask_time_indices,
                                 output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                 training=training)  # fmt: skip
        return out.finish(result, return_dict)


# -- heads -------------------------------------------------------------------------------------------------
class TFSpeechTaskModel(TFTaskModel):
    """A speech main layer plus one head; `weighted` heads read the learned softmax-weighted sum of every
    hidden state (`layer_weights`) when config.use_weighted_layer_sum."""

    main_input_name = "input_values"
    weighted = False

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        if self.uses_layer_sum:
            count = config.num_hidden_layers + 1
            self.layer_weights = self.add_weight(name="layer_weights", shape=(count,),
                                                 initializer=keras.initializers.Constant(1 / count))  # fmt: skip

    @property
    def uses_layer_sum(self) -> bool:
        return self.weighted and bool(self.config.use_weighted_layer_sum)

    def encode_audio(self, input_values, attention_mask, output_attentions, output_hidden_states, training):
        if input_values is None:
            raise ValueError(f"{type(self).__name__} needs input_values.")
        return self.main_layer(input_values, attention_mask=attention_mask, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states or self.uses_layer_sum, training=training)  # fmt: skip

    def layer_output(self, encoded):
        if not self.uses_layer_sum:
            return encoded.last_hidden_state
        weights = tf.nn.softmax(self.layer_weights)
        return tf.reduce_sum(tf.stack(encoded.hidden_states, axis=1) * weights[None, :, None, None], axis=1)


def ctc_loss(logits, labels, input_lengths, config):
    """CTC over the frames of each example; labels padded with negative values (-100), blank = pad_token_id."""
    labels = tf.cast(labels, tf.int32)
    if tf.executing_eagerly() and int(tf.reduce_max(labels)) >= config.vocab_size:
        raise ValueError(f"Label values must be < vocab_size ({config.vocab_size}).")
    targets = labels >= 0
    label_lengths = tf.reduce_sum(tf.cast(targets, tf.int32), axis=-1)
    losses = tf.nn.ctc_loss(tf.where(targets, labels, 0), tf.cast(logits, tf.float32), label_lengths,
                            tf.cast(input_lengths, tf.int32), logits_time_major=False,
                            blank_index=config.pad_token_id)  # fmt: skip
    # TF gives a finite value where no alignment exists; PyTorch (and so transformers) gives inf. An alignment
    # needs a frame per label plus a blank between equal neighbours.
    repeats = tf.reduce_sum(tf.cast(targets[:, 1:] & (labels[:, 1:] == labels[:, :-1]), tf.int32), axis=-1)
    impossible = tf.cast(input_lengths, tf.int32) < label_lengths + repeats
    losses = tf.where(impossible, tf.constant(np.inf, losses.dtype), losses)
    if config.ctc_zero_infinity:
        losses = tf.where(tf.math.is_inf(losses), tf.zeros_like(losses), losses)
    if config.ctc_loss_reduction == "sum":
        return tf.reduce_sum(losses)
    if config.ctc_loss_reduction == "mean":
        return tf.reduce_mean(losses / tf.cast(tf.maximum(label_lengths, 1), losses.dtype))
    return losses


class TFCTCModel(TFSpeechTaskModel):
    def __init__(self, config, *args, **kwargs):
        if config.vocab_size is None:
            raise ValueError(f"{type(self).__name__} needs config.vocab_size (the CTC vocabulary) to be set.")
        super().__init__(config, *args, **kwargs)
        self.add_output_layer(config.vocab_size)

    def call(self, input_values=None, attention_mask=None, labels=None, output_attentions=None,
             output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states, training)
        logits = self.output_layer(encoded.last_hidden_state, training)
        loss = None
        if labels is not None:
            if attention_mask is None:
                samples = tf.fill(tf.shape(input_values)[:1], tf.shape(input_values)[1])
            else:
                samples = tf.reduce_sum(tf.cast(attention_mask, tf.int32), axis=-1)
            loss = ctc_loss(logits, labels, self.config.conv_output_lengths(samples), self.config)
        return out.finish(out.from_encoded(out.CausalLMOutput, encoded, loss=loss, logits=logits), return_dict)


class TFAudioClassificationModel(TFSpeechTaskModel):
    weighted = True

    def __init__(self, config, *args, **kwargs):
        refuse_adapter(config, type(self).__name__)
        super().__init__(config, *args, **kwargs)
        self.projector = dense(config, config.classifier_proj_size, "projector")
        self.add_output_layer(config.num_labels)

    def pooled_width(self) -> int:  # the classifier reads the pooled projector output
        return self.config.classifier_proj_size

    def input_sizes(self):
        return {**super().input_sizes(), self.projector: self.main_layer.output_width}

    def call(self, input_values=None, attention_mask=None, labels=None, output_attentions=None,
             output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states, training)
        projected = self.projector(self.layer_output(encoded))
        frames = None
        if attention_mask is not None:
            frames = frame_mask(self.config, attention_mask, tf.shape(projected)[1])
        pooled = self.pool(out.BaseModelOutput(last_hidden_state=projected), mask=frames)
        logits = self.output_layer(pooled, training)
        loss = None
        if labels is not None:
            labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
            logits_2d = tf.reshape(logits, [-1, self.config.num_labels])
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits_2d))
        return out.finish(out.from_encoded(out.SequenceClassifierOutput, encoded, loss=loss, logits=logits),
                          return_dict)  # fmt: skip


class TFAudioFrameClassificationModel(TFSpeechTaskModel):
    weighted = True

    def __init__(self, config, *args, **kwargs):
        refuse_adapter(config, type(self).__name__)
        super().__init__(config, *args, **kwargs)
        self.add_output_layer(config.num_labels)

    def call(self, input_values=None, attention_mask=None, labels=None, output_attentions=None,
             output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states, training)
        logits = self.output_layer(self.layer_output(encoded), training)
        loss = None
        if labels is not None:  # per-frame one-hot labels (or scores): their argmax is the target class
            n = self.config.num_labels
            targets = tf.argmax(tf.reshape(labels, [-1, n]), axis=1, output_type=tf.int32)
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, tf.reshape(logits, [-1, n]))
            loss = tf.reduce_mean(losses)
        return out.finish(out.from_encoded(out.TokenClassifierOutput, encoded, loss=loss, logits=logits), return_dict)


class TFTDNNLayer(Layer):
    """A dilated 1-D conv + ReLU stored as a Dense over the unfolded kernel (the checkpoints' `kernel`)."""

    def __init__(self, config, index: int, **kwargs):
        super().__init__(**kwargs)
        self.in_dim = config.tdnn_dim[index - 1] if index > 0 else config.tdnn_dim[0]
        self.out_dim = config.tdnn_dim[index]
        self.kernel_size = config.tdnn_kernel[index]
        self.dilation = config.tdnn_dilation[index]
        self.kernel = dense(config, self.out_dim, "kernel")

    def input_sizes(self):
        return {self.kernel: self.in_dim * self.kernel_size}

    def call(self, hidden):
        if not self.kernel.built:
            self.kernel.build((None, self.in_dim * self.kernel_size))
        # The Dense kernel's rows are ordered (kernel position, input channel).
        weight = tf.reshape(self.kernel.kernel, (self.kernel_size, self.in_dim, self.out_dim))
        hidden = tf.nn.conv1d(hidden, weight, 1, "VALID", dilations=self.dilation)
        return tf.nn.relu(hidden + self.kernel.bias)


class TFAMSoftmaxLoss(Layer):
    """The additive-margin softmax weight (`objective.weight`); used only for the loss."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config

    def build(self, input_shape=None):
        c = self.config
        self.weight = self.add_weight(name="weight", shape=(c.xvector_output_dim, c.num_labels),
                                      initializer="random_normal")  # fmt: skip
        self.built = True

    def call(self, hidden, labels, scale: float = 30.0, margin: float = 0.4):
        cos = tf.matmul(tf.math.l2_normalize(hidden, axis=1), tf.math.l2_normalize(self.weight, axis=0))
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        logits = scale * (cos - margin * tf.one_hot(labels, tf.shape(cos)[-1], dtype=cos.dtype))
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


class TFXVectorModel(TFSpeechTaskModel):
    weighted = True

    def __init__(self, config, *args, **kwargs):
        width = config.speech_options().output_width
        if width != config.hidden_size:
            raise ValueError(
                f"{type(self).__name__}: the adapter's output width (output_hidden_size={width}) must equal "
                f"hidden_size ({config.hidden_size}), which the x-vector projector reads."
            )
        super().__init__(config, *args, **kwargs)
        self.projector = dense(config, config.tdnn_dim[0], "projector")
        self.tdnn = [TFTDNNLayer(config, i, name=f"tdnn.{i}") for i in range(len(config.tdnn_dim))]
        self.feature_extractor = dense(config, config.xvector_output_dim, "feature_extractor")
        self.classifier = dense(config, config.xvector_output_dim, "classifier")
        self.objective = TFAMSoftmaxLoss(config, name="objective")

    def input_sizes(self):  # the statistics pooling concatenates mean and standard deviation
        c = self.config
        return {**super().input_sizes(), self.projector: self.main_layer.output_width, **dict.fromkeys(self.tdnn),
                self.feature_extractor: 2 * c.tdnn_dim[-1], self.classifier: c.xvector_output_dim,
                self.objective: None}  # fmt: skip

    def call(self, input_values=None, attention_mask=None, labels=None, output_attentions=None,
             output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        c = self.config
        encoded = self.encode_audio(input_values, attention_mask, output_attentions, output_hidden_states, training)
        hidden = self.projector(self.layer_output(encoded))
        for layer in self.tdnn:
            hidden = layer(hidden)
        steps = tf.shape(hidden)[1]
        if attention_mask is None:
            lengths = tf.fill(tf.shape(hidden)[:1], steps)
        else:
            lengths = c.tdnn_output_lengths(frame_lengths(c, attention_mask))
            # hidden[:n] as Python slices it: at most every frame, a negative n counts from the end
            lengths = tf.where(lengths >= 0, tf.minimum(lengths, steps), tf.maximum(steps + lengths, 0))
        keep = tf.cast(tf.range(steps)[None, :] < lengths[:, None], hidden.dtype)[..., None]
        count = tf.cast(lengths, hidden.dtype)[:, None]
        mean = tf.reduce_sum(hidden * keep, axis=1) / count
        variance = tf.reduce_sum(tf.square((hidden - mean[:, None]) * keep), axis=1) / (count - 1)  # unbiased
        embeddings = self.feature_extractor(tf.concat([mean, tf.sqrt(variance)], axis=-1))
        logits = self.classifier(embeddings)
        if not self.objective.built:  # only the loss uses it, but checkpoints hold it
            self.objective.build()
        loss = self.objective(logits, labels) if labels is not None else None
        result = out.from_encoded(out.XVectorOutput, encoded, loss=loss, logits=logits, embeddings=embeddings)
        return out.finish(result, return_dict)
