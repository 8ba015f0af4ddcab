"""Wav2Vec2 in TensorFlow (Keras 3), named like transformers' TF Wav2Vec2 so tf_model.h5 files interchange: a
strided conv feature encoder over raw audio, a weight-normed grouped positional conv, a post-norm (or pre-norm
when do_stable_layer_norm) transformer encoder, and the audio heads."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.wav2vec2 import Wav2Vec2Config

from ..activations import get_activation
from ..losses import sequence_classification_loss, token_loss
from ..modeling import Layer, TFPreTrainedModel, dense, weights_init
from .bart import TFSeq2SeqAttention, padding_bias


def samples_for_frames(config: Wav2Vec2Config, frames: int = 1) -> int:
    """The fewest audio samples the feature encoder turns into `frames` frames."""
    for kernel, stride in reversed(list(zip(config.conv_kernel, config.conv_stride))):
        frames = (frames - 1) * stride + kernel
    return frames


def frame_mask(num_frames, attention_mask, config: Wav2Vec2Config):
    """Sample-level attention mask -> [batch, frames] bool mask of the frames that cover real audio."""
    lengths = config.conv_output_lengths(tf.reduce_sum(tf.cast(attention_mask, tf.int32), axis=-1))
    return tf.range(num_frames)[None, :] < lengths[:, None]


def _norm(config, name):
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name)


class TFWav2Vec2ChannelNorm(Layer):
    """GroupNorm with one group per channel: each channel normalised over time, then scaled and shifted."""

    def build(self, input_shape=None):
        self.gamma = self.add_weight(name="gamma", shape=(input_shape[-1],), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(input_shape[-1],), initializer="zeros")
        self.built = True

    def call(self, x):
        mean, variance = tf.nn.moments(x, axes=[1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(variance + 1e-5) * self.gamma + self.beta


class TFWav2Vec2ConvLayer(Layer):
    """One feature-encoder conv; `norm` is "group" (first layer of the group variant), "layer" or None."""

    def __init__(self, config: Wav2Vec2Config, index: int, norm: str | None, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv1D(config.conv_dim[index], config.conv_kernel[index],
                                        strides=config.conv_stride[index], use_bias=config.conv_bias,
                                        kernel_initializer=weights_init(config, "he_normal"), name="conv")  # fmt: skip
        if norm == "group":
            self.layer_norm = TFWav2Vec2ChannelNorm(name="layer_norm")
        elif norm == "layer":
            self.layer_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="layer_norm")
        self.norm = norm
        self.activation = get_activation(config.feat_extract_activation)

    def call(self, x):
        x = self.conv(x)
        if self.norm is not None:
            x = self.layer_norm(x)
        return self.activation(x)


class TFWav2Vec2FeatureEncoder(Layer):
    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        count = config.num_feat_extract_layers
        norms = ["group"] + [None] * (count - 1) if config.feat_extract_norm == "group" else ["layer"] * count
        self.conv_layers = [TFWav2Vec2ConvLayer(config, i, norm, name=f"conv_layers.{i}")
                            for i, norm in enumerate(norms)]  # fmt: skip

    def call(self, input_values):
        hidden = input_values[:, :, None]
        for layer in self.conv_layers:
            hidden = layer(hidden)
        return hidden


class TFWav2Vec2FeatureProjection(Layer):
    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        self.layer_norm = _norm(config, "layer_norm")
        self.projection = dense(config, config.hidden_size, "projection")
        self.dropout = keras.layers.Dropout(config.feat_proj_dropout)

    def call(self, features, training=False):
        normed = self.layer_norm(features)
        return self.dropout(self.projection(normed), training=training), normed


class TFWav2Vec2WeightNormConv1D(Layer):
    """The positional conv: a grouped conv whose kernel is weight_g * weight_v / |weight_v| (norm over all but
    the kernel axis). weight_v is kept in PyTorch's [out, in/groups, kernel] layout and weight_g as
    [kernel, 1, 1], as transformers' TF checkpoints store them."""

    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config

    def build(self, input_shape=None):
        c = self.config
        size, groups, dim = c.num_conv_pos_embeddings, c.num_conv_pos_embedding_groups, c.hidden_size
        self.weight_v = self.add_weight(name="weight_v", shape=(dim, dim // groups, size), initializer=weights_init(c))
        self.weight_g = self.add_weight(name="weight_g", shape=(size, 1, 1), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(dim,), initializer="zeros")
        self.built = True

    def call(self, hidden):
        size = self.config.num_conv_pos_embeddings
        norm = tf.sqrt(tf.reduce_sum(tf.square(self.weight_v), axis=(0, 1), keepdims=True))
        weight = tf.reshape(self.weight_g, (1, 1, size)) * self.weight_v / norm
        hidden = tf.pad(hidden, [[0, 0], [size // 2, size // 2], [0, 0]])
        # A kernel with in-channels = channels / groups makes conv1d a grouped conv.
        return tf.nn.conv1d(hidden, tf.transpose(weight, (2, 1, 0)), 1, "VALID") + self.bias


class TFWav2Vec2PositionalConvEmbedding(Layer):
    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        self.conv = TFWav2Vec2WeightNormConv1D(config, name="conv")
        self.trim = 1 if config.num_conv_pos_embeddings % 2 == 0 else 0  # an even kernel yields one frame too many
        self.activation = get_activation(config.feat_extract_activation)

    def call(self, hidden):
        x = self.conv(hidden)
        if self.trim:
            x = x[:, : -self.trim]
        return self.activation(x)


class TFWav2Vec2FeedForward(Layer):
    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        self.intermediate_dense = dense(config, config.intermediate_size, "intermediate_dense")
        self.intermediate_dropout = keras.layers.Dropout(config.activation_dropout)
        self.output_dense = dense(config, config.hidden_size, "output_dense")
        self.output_dropout = keras.layers.Dropout(config.hidden_dropout)
        self.act = get_activation(config.hidden_act)

    def call(self, hidden, training=False):
        hidden = self.intermediate_dropout(self.act(self.intermediate_dense(hidden)), training=training)
        return self.output_dropout(self.output_dense(hidden), training=training)


class TFWav2Vec2EncoderLayer(Layer):
    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFSeq2SeqAttention(config, config.hidden_size, config.num_attention_heads, name="attention")
        self.dropout = keras.layers.Dropout(config.hidden_dropout)
        self.layer_norm = _norm(config, "layer_norm")
        self.feed_forward = TFWav2Vec2FeedForward(config, name="feed_forward")
        self.final_layer_norm = _norm(config, "final_layer_norm")
        self.pre_norm = config.do_stable_layer_norm

    def call(self, hidden, bias=None, training=False):
        if self.pre_norm:
            attended, _ = self.attention(self.layer_norm(hidden), bias=bias)
            hidden = hidden + self.dropout(attended, training=training)
            return hidden + self.feed_forward(self.final_layer_norm(hidden), training=training)
        attended, _ = self.attention(hidden, bias=bias)
        hidden = self.layer_norm(hidden + self.dropout(attended, training=training))
        return self.final_layer_norm(hidden + self.feed_forward(hidden, training=training))


class TFWav2Vec2Encoder(Layer):
    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        self.pos_conv_embed = TFWav2Vec2PositionalConvEmbedding(config, name="pos_conv_embed")
        self.layer_norm = _norm(config, "layer_norm")
        self.dropout = keras.layers.Dropout(config.hidden_dropout)
        self.layers = [TFWav2Vec2EncoderLayer(config, name=f"layers.{i}") for i in range(config.num_hidden_layers)]
        self.pre_norm = config.do_stable_layer_norm

    def call(self, hidden, frames=None, training=False):
        bias = None
        if frames is not None:
            hidden = tf.where(frames[..., None], hidden, tf.zeros_like(hidden))
            bias = padding_bias(frames, hidden.dtype)
        hidden = hidden + self.pos_conv_embed(hidden)
        if not self.pre_norm:
            hidden = self.layer_norm(hidden)
        hidden = self.dropout(hidden, training=training)
        states = ()
        for layer in self.layers:
            states += (hidden,)
            hidden = layer(hidden, bias=bias, training=training)
        if self.pre_norm:
            hidden = self.layer_norm(hidden)
        return hidden, states + (hidden,)


class TFWav2Vec2MainLayer(Layer):
    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        if config.add_adapter:
            raise NotImplementedError("Wav2Vec2 with add_adapter=True is not supported by autoload yet.")
        self.config = config
        self.feature_extractor = TFWav2Vec2FeatureEncoder(config, name="feature_extractor")
        self.feature_projection = TFWav2Vec2FeatureProjection(config, name="feature_projection")
        self.encoder = TFWav2Vec2Encoder(config, name="encoder")
        self.masked_spec_embed = None

    def build(self, input_shape=None):
        c = self.config
        if c.mask_time_prob > 0.0 or c.mask_feature_prob > 0.0:
            self.masked_spec_embed = self.add_weight(name="masked_spec_embed", shape=(c.hidden_size,),
                                                     initializer=weights_init(c, "uniform"))  # fmt: skip
        self.built = True

    def call(self, input_values, attention_mask=None, mask_time_indices=None, output_hidden_states=False,
             training=False):  # fmt: skip
        c = self.config
        if len(input_values.shape) != 2:
            raise ValueError(
                f"input_values must be mono audio of shape [batch, samples]; got {tuple(input_values.shape)}. "
                "Average or pick a channel of stereo audio first (the feature extractor does this)."
            )
        samples, needed = input_values.shape[1], samples_for_frames(c)
        if samples is not None and samples < needed:
            raise ValueError(
                f"input_values has {samples} samples per example; this Wav2Vec2 config needs at least {needed} "
                "(its conv feature encoder's receptive field) to produce one frame. Pad or drop the short clip."
            )
        features = self.feature_extractor(tf.cast(input_values, tf.float32))
        frames = None
        if attention_mask is not None:
            frames = frame_mask(tf.shape(features)[1], attention_mask, c)
        hidden, extract_features = self.feature_projection(features, training=training)
        if mask_time_indices is not None and self.masked_spec_embed is not None:
            spec = tf.cast(self.masked_spec_embed, hidden.dtype)
            hidden = tf.where(tf.cast(mask_time_indices, tf.bool)[..., None], spec, hidden)
        hidden, states = self.encoder(hidden, frames, training=training)
        return out.Wav2Vec2BaseModelOutput(last_hidden_state=hidden, extract_features=extract_features,
                                           hidden_states=states if output_hidden_states else None)  # fmt: skip


class TFWav2Vec2PreTrainedModel(TFPreTrainedModel):
    config_class = Wav2Vec2Config
    base_model_prefix = "wav2vec2"
    main_input_name = "input_values"

    def __init__(self, config: Wav2Vec2Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.wav2vec2 = TFWav2Vec2MainLayer(config, name="wav2vec2")

    def dummy_inputs(self) -> dict:
        c = self.config
        # Long enough that the x-vector TDNN layers (valid, dilated convs) still have a frame left.
        frames = 1 + sum((k - 1) * d for k, d in zip(c.tdnn_kernel, c.tdnn_dilation))
        return {"input_values": np.zeros((1, samples_for_frames(c, frames)), np.float32)}

    def _encode(self, input_values, attention_mask, output_hidden_states, training, mask_time_indices=None):
        if input_values is None:
            raise ValueError(f"{type(self).__name__} needs input_values.")
        return self.wav2vec2(input_values, attention_mask=attention_mask, mask_time_indices=mask_time_indices,
                             output_hidden_states=output_hidden_states, training=training)  # fmt: skip

    def _add_layer_weights(self):
        if self.config.use_weighted_layer_sum:
            count = self.config.num_hidden_layers + 1
            self.layer_weights = self.add_weight(name="layer_weights", shape=(count,),
                                                 initializer=keras.initializers.Constant(1 / count))  # fmt: skip

    def _encode_for_head(self, input_values, attention_mask, output_hidden_states, training):
        """(encoder output, what the head reads: the last hidden state, or the learned softmax-weighted sum
        of all of them)."""
        weighted = self.config.use_weighted_layer_sum
        encoded = self._encode(input_values, attention_mask, output_hidden_states or weighted, training)
        if not weighted:
            return encoded, encoded.last_hidden_state
        weights = tf.nn.softmax(self.layer_weights)
        return encoded, tf.reduce_sum(tf.stack(encoded.hidden_states, axis=1) * weights[None, :, None, None], axis=1)


class TFWav2Vec2Model(TFWav2Vec2PreTrainedModel):
    is_base_model = True

    def call(self, input_values=None, attention_mask=None, mask_time_indices=None, training=False,
                return_dict=True, output_hidden_states=False, **kwargs):  # fmt: skip
        result = self._encode(input_values, attention_mask, output_hidden_states, training, mask_time_indices)
        return out.finish(result, return_dict)


def ctc_loss(logits, labels, input_lengths, config: Wav2Vec2Config):
    """CTC over the frames of each example; labels padded with negative values (-100), blank = pad_token_id."""
    labels = tf.cast(labels, tf.int32)
    if tf.executing_eagerly() and int(tf.reduce_max(labels)) >= config.vocab_size:
        raise ValueError(f"Label values must be < vocab_size ({config.vocab_size}).")
    targets = labels >= 0
    label_lengths = tf.reduce_sum(tf.cast(targets, tf.int32), axis=-1)
    losses = tf.nn.ctc_loss(tf.where(targets, labels, 0), tf.cast(logits, tf.float32), label_lengths,
                            tf.cast(input_lengths, tf.int32), logits_time_major=False,
                            blank_index=config.pad_token_id)  # fmt: skip
    if config.ctc_zero_infinity:
        losses = tf.where(tf.math.is_inf(losses), tf.zeros_like(losses), losses)
    if config.ctc_loss_reduction == "sum":
        return tf.reduce_sum(losses)
    if config.ctc_loss_reduction == "mean":
        return tf.reduce_mean(losses / tf.cast(tf.maximum(label_lengths, 1), losses.dtype))
    return losses


class TFWav2Vec2ForCTC(TFWav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.dropout = keras.layers.Dropout(config.final_dropout)
        self.lm_head = dense(config, config.vocab_size, "lm_head")

    def call(self, input_values=None, attention_mask=None, labels=None, training=False, return_dict=True,
                output_hidden_states=False, **kwargs):  # fmt: skip
        encoded = self._encode(input_values, attention_mask, output_hidden_states, training)
        logits = self.lm_head(self.dropout(encoded.last_hidden_state, training=training))
        loss = None
        if labels is not None:
            if attention_mask is None:
                samples = tf.fill(tf.shape(input_values)[:1], tf.shape(input_values)[1])
            else:
                samples = tf.reduce_sum(tf.cast(attention_mask, tf.int32), axis=-1)
            loss = ctc_loss(logits, labels, self.config.conv_output_lengths(samples), self.config)
        result = out.CausalLMOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        return out.finish(result, return_dict)


class TFWav2Vec2ForMaskedLM(TFWav2Vec2ForCTC):
    """The deprecated name of a CTC head without the CTC loss; kept so its checkpoints load."""

    def call(self, input_values=None, attention_mask=None, training=False, return_dict=True,
                output_hidden_states=False, **kwargs):  # fmt: skip
        # Like the original deprecated class (and the PyTorch / Flax ones here), this head ignores attention_mask.
        encoded = self._encode(input_values, None, output_hidden_states, training)
        logits = self.lm_head(self.dropout(encoded.last_hidden_state, training=training))
        return out.finish(out.MaskedLMOutput(logits=logits, hidden_states=encoded.hidden_states), return_dict)


class TFWav2Vec2ForSequenceClassification(TFWav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self._add_layer_weights()
        self.projector = dense(config, config.classifier_proj_size, "projector")
        self.classifier = dense(config, config.num_labels, "classifier")

    def call(self, input_values=None, attention_mask=None, labels=None, training=False, return_dict=True,
                output_hidden_states=False, **kwargs):  # fmt: skip
        encoded, hidden = self._encode_for_head(input_values, attention_mask, output_hidden_states, training)
        hidden = self.projector(hidden)
        if attention_mask is None:
            pooled = tf.reduce_mean(hidden, axis=1)
        else:
            frames = tf.cast(frame_mask(tf.shape(hidden)[1], attention_mask, self.config), hidden.dtype)[..., None]
            pooled = tf.reduce_sum(hidden * frames, axis=1) / tf.reduce_sum(frames, axis=1)
        logits = self.classifier(pooled)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return out.finish(out.SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=encoded.hidden_states if output_hidden_states else None),
            return_dict)  # fmt: skip


class TFWav2Vec2ForAudioFrameClassification(TFWav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self._add_layer_weights()
        self.classifier = dense(config, config.num_labels, "classifier")

    def call(self, input_values=None, attention_mask=None, labels=None, training=False, return_dict=True,
                output_hidden_states=False, **kwargs):  # fmt: skip
        encoded, hidden = self._encode_for_head(input_values, attention_mask, output_hidden_states, training)
        logits = self.classifier(hidden)
        # Like the PyTorch head: labels are per-frame one-hot (or scores); their argmax is the target class.
        loss = token_loss(logits, tf.argmax(labels, axis=-1)) if labels is not None else None
        return out.finish(out.TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=encoded.hidden_states if output_hidden_states else None),
            return_dict)  # fmt: skip


class TFWav2Vec2TDNNLayer(Layer):
    """A dilated 1-D conv stored as a Dense over the unfolded kernel (the checkpoints' `kernel` layout)."""

    def __init__(self, config: Wav2Vec2Config, index: int, **kwargs):
        super().__init__(**kwargs)
        self.in_dim = config.tdnn_dim[index - 1] if index > 0 else config.tdnn_dim[0]
        self.out_dim = config.tdnn_dim[index]
        self.kernel_size = config.tdnn_kernel[index]
        self.dilation = config.tdnn_dilation[index]
        self.kernel = dense(config, self.out_dim, "kernel")

    def call(self, hidden):
        if not self.kernel.built:
            self.kernel.build((None, self.in_dim * self.kernel_size))
        # The Dense kernel's rows are ordered (kernel position, input channel).
        weight = tf.reshape(self.kernel.kernel, (self.kernel_size, self.in_dim, self.out_dim))
        hidden = tf.nn.conv1d(hidden, weight, 1, "VALID", dilations=self.dilation)
        return tf.nn.relu(hidden + self.kernel.bias)


class TFWav2Vec2AMSoftmaxWeight(Layer):
    """The additive-margin softmax weight (named `objective.weight` in checkpoints); used only for the loss."""

    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config

    def build(self, input_shape=None):
        c = self.config
        self.weight = self.add_weight(name="weight", shape=(c.xvector_output_dim, c.num_labels),
                                      initializer=weights_init(c, "random_normal"))  # fmt: skip
        self.built = True

    def call(self, hidden, labels, scale: float = 30.0, margin: float = 0.4):
        cos = tf.matmul(tf.math.l2_normalize(hidden, axis=1), tf.math.l2_normalize(self.weight, axis=0))
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        logits = scale * (cos - margin * tf.one_hot(labels, tf.shape(cos)[-1], dtype=cos.dtype))
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


class TFWav2Vec2ForXVector(TFWav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self._add_layer_weights()
        self.projector = dense(config, config.tdnn_dim[0], "projector")
        self.tdnn = [TFWav2Vec2TDNNLayer(config, i, name=f"tdnn.{i}") for i in range(len(config.tdnn_dim))]
        self.feature_extractor = dense(config, config.xvector_output_dim, "feature_extractor")
        self.classifier = dense(config, config.xvector_output_dim, "classifier")
        self.objective = TFWav2Vec2AMSoftmaxWeight(config, name="objective")

    def call(self, input_values=None, attention_mask=None, labels=None, training=False, return_dict=True,
                output_hidden_states=False, **kwargs):  # fmt: skip
        c = self.config
        encoded, hidden = self._encode_for_head(input_values, attention_mask, output_hidden_states, training)
        hidden = self.projector(hidden)
        for layer in self.tdnn:
            hidden = layer(hidden)
        steps = tf.shape(hidden)[1]
        if attention_mask is None:
            lengths = tf.fill(tf.shape(hidden)[:1], steps)
        else:
            lengths = c.conv_output_lengths(tf.reduce_sum(tf.cast(attention_mask, tf.int32), axis=-1))
            # As in the PyTorch head: each TDNN layer shortens by kernel - 1 (its dilation is not counted).
            lengths = tf.minimum(lengths - sum(k - 1 for k in c.tdnn_kernel), steps)
        keep = tf.cast(tf.range(steps)[None, :] < lengths[:, None], hidden.dtype)[..., None]
        count = tf.cast(lengths, hidden.dtype)[:, None]
        mean = tf.reduce_sum(hidden * keep, axis=1) / count
        variance = tf.reduce_sum(tf.square((hidden - mean[:, None]) * keep), axis=1) / (count - 1)  # unbiased
        embeddings = self.feature_extractor(tf.concat([mean, tf.sqrt(variance)], axis=-1))
        logits = self.classifier(embeddings)
        if not self.objective.built:  # only the loss uses it, but checkpoints hold it
            self.objective.build()
        loss = self.objective(logits, labels) if labels is not None else None
        return out.finish(out.XVectorOutput(loss=loss, logits=logits, embeddings=embeddings,
                                            hidden_states=encoded.hidden_states if output_hidden_states else None),
                          return_dict)  # fmt: skip


class TFWav2Vec2GumbelVectorQuantizer(Layer):
    """Product quantisation of the conv features: the argmax code of each group (inference; no Gumbel noise)."""

    def __init__(self, config: Wav2Vec2Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.num_groups = config.num_codevector_groups
        self.num_vars = config.num_codevectors_per_group
        if config.codevector_dim % self.num_groups:
            raise ValueError(f"codevector_dim {config.codevector_dim} must be divisible by {self.num_groups} groups.")
        self.weight_proj = dense(config, self.num_groups * self.num_vars, "weight_proj")

    def build(self, input_shape=None):
        c = self.config
        shape = (1, self.num_groups * self.num_vars, c.codevector_dim // self.num_groups)
        self.codevectors = self.add_weight(name="codevectors", shape=shape, initializer=weights_init(c, "uniform"))
        self.built = True

    def call(self, hidden, mask_time_indices=None):
        groups, variables = self.num_groups, self.num_vars
        logits = tf.reshape(self.weight_proj(hidden), (-1, groups, variables))
        probs = tf.one_hot(tf.argmax(logits, axis=-1), variables, dtype=logits.dtype)
        if mask_time_indices is not None:
            keep = tf.cast(tf.reshape(mask_time_indices, (-1, 1, 1)), probs.dtype)
            marginal = tf.reduce_sum(probs * keep, axis=0) / tf.reduce_sum(keep)
        else:
            marginal = tf.reduce_mean(probs, axis=0)
        perplexity = tf.reduce_sum(tf.exp(-tf.reduce_sum(marginal * tf.math.log(marginal + 1e-7), axis=-1)))
        codebook = tf.reshape(self.codevectors, (groups, variables, -1))
        codes = tf.einsum("ngv,gvd->ngd", probs, codebook)
        shape = tf.shape(hidden)
        return tf.reshape(codes, (shape[0], shape[1], -1)), perplexity


class TFWav2Vec2ForPreTraining(TFWav2Vec2PreTrainedModel):
    def __init__(self, config: Wav2Vec2Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.dropout_features = keras.layers.Dropout(config.feat_quantizer_dropout)
        self.quantizer = TFWav2Vec2GumbelVectorQuantizer(config, name="quantizer")
        self.project_hid = dense(config, config.proj_codevector_dim, "project_hid")
        self.project_q = dense(config, config.proj_codevector_dim, "project_q")

    def call(self, input_values=None, attention_mask=None, mask_time_indices=None, training=False,
                return_dict=True, output_hidden_states=False, **kwargs):  # fmt: skip
        if mask_time_indices is not None:
            mask_time_indices = tf.cast(mask_time_indices, tf.bool)
        encoded = self._encode(input_values, attention_mask, output_hidden_states, training, mask_time_indices)
        projected = self.project_hid(encoded.last_hidden_state)
        features = self.dropout_features(encoded.extract_features, training=training)
        quantized, perplexity = self.quantizer(features, mask_time_indices)
        return out.finish(out.Wav2Vec2ForPreTrainingOutput(
            projected_states=projected, projected_quantized_states=self.project_q(quantized),
            codevector_perplexity=perplexity, hidden_states=encoded.hidden_states), return_dict)  # fmt: skip
