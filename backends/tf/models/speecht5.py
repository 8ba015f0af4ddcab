"""SpeechT5 in TensorFlow (Keras 3). Mirrors backends/torch/models/speecht5.py; layer names are the PyTorch
module names (`speecht5/encoder/wrapped_encoder/layers.0/attention/q_proj/kernel`), so the shared converter
maps every variable to its canonical name. transformers has no TF SpeechT5: the tf_model.h5 files are ours.

The speech decoder pre-net's consistent dropout (eval mode too) draws its masks with Keras' random ops: from the
layer's own `keras.random.SeedGenerator` (fresh masks on every call), or, given `seed=<int>` (forward,
generate_speech), from a generator seeded with it (the same masks for the same seed). PyTorch and Flax draw
from their own generators, so for speech_decoder_prenet_dropout > 0 the frameworks agree only in distribution;
with 0 (as the fixtures) every framework computes the same deterministic outputs."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.speecht5 import SpeechT5Config
from autoload.speech import check_audio

from .. import keras_layers
from ..attention import causal_bias, merge_heads, split_heads
from ..blocks.seq2seq import TFSeq2SeqAttention, padding_bias, shift_tokens_right
from ..blocks.speech import (
    TFSpeechFeatureEncoder,
    TFSpeechFeatureProjection,
    TFSpeechFeedForward,
    TFSpeechMainLayer,
    TFSpeechPositionalConvEmbedding,
    frame_mask,
)
from ..generation import TFGenerationMixin
from ..losses import token_loss
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, channels_last, dense, weights_init


def _tensor(value):
    return None if value is None else tf.convert_to_tensor(value)


def layer_norm(config, name: str):
    return keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name)


def fairseq_sinusoids(positions, dim: int, padding_idx: int):
    """The fairseq table's rows `positions` (see autoload.models.speecht5.fairseq_sinusoids), in TF ops."""
    half = dim // 2
    freq = tf.constant(np.exp(np.arange(half, dtype=np.float32) * np.float32(-math.log(10000) / (half - 1))))
    angle = tf.cast(positions, tf.float32)[..., None] * freq
    table = tf.concat([tf.sin(angle), tf.cos(angle)], axis=-1)
    if dim % 2:
        table = tf.concat([table, tf.zeros_like(table[..., :1])], axis=-1)
    return tf.where((positions == padding_idx)[..., None], 0.0, table)


def padded_positions(ids, padding_idx: int, past_length=0):
    keep = tf.cast(ids != padding_idx, tf.int32)
    return (tf.cumsum(keep, axis=1) + past_length) * keep + padding_idx


def scaled_positions(length, dim: int, limit: int, limit_name: str):
    if isinstance(length, int) and length > limit:
        raise ValueError(f"Sequence length {length} is longer than the {limit} positions of the SpeechT5 pre-net "
                         f"(config.{limit_name}); shorten the input.")  # fmt: skip
    div = tf.constant(np.exp(np.arange(0, dim, 2, dtype=np.float32) * np.float32(-(math.log(10000.0) / dim))))
    angle = tf.cast(tf.range(length), tf.float32)[:, None] * div
    return tf.reshape(tf.stack([tf.sin(angle), tf.cos(angle)], axis=-1), (-1, dim))


# -- pre-nets ---------------------------------------------------------------------------------------------------
class TFSpeechT5ScaledPositionalEncoding(Layer):
    def __init__(self, dropout: float, limit: int, limit_name: str, **kwargs):
        super().__init__(**kwargs)
        self.dropout = Dropout(dropout)
        self.limit, self.limit_name = limit, limit_name

    def build(self, input_shape=None):
        self.alpha = self.add_weight(name="alpha", shape=(), initializer="ones")
        super().build(input_shape)

    def call(self, embeds, training=False):
        length = embeds.shape[1] if embeds.shape[1] is not None else tf.shape(embeds)[1]
        table = scaled_positions(length, embeds.shape[-1], self.limit, self.limit_name)
        return self.dropout(embeds + self.alpha * tf.cast(table, embeds.dtype), training=training)


class TFSpeechT5TextEncoderPrenet(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.embed_tokens = NamedWeight((config.vocab_size, config.hidden_size), "embeddings", weights_init(config),
                                        name="embed_tokens")  # fmt: skip
        self.encode_positions = TFSpeechT5ScaledPositionalEncoding(config.positional_dropout, config.max_text_positions,
                                                                   "max_text_positions", name="encode_positions")  # fmt: skip

    def input_sizes(self):
        return {self.embed_tokens: None, self.encode_positions: None}

    def call(self, input_ids, training=False):
        return self.encode_positions(self.embed_tokens(input_ids), training=training)


class TFSpeechT5SpeechEncoderPrenet(Layer):
    """Raw audio -> conv features -> projection (-> SpecAugment while training) + positional conv + fairseq
    positions over the real frames. Returns (hidden, frame mask or None)."""

    spec_augment_lengths = True
    mask_hidden = TFSpeechMainLayer.mask_hidden

    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        o = self.options = config.speech_options()
        self.feature_encoder = TFSpeechFeatureEncoder(o, name="feature_encoder")
        self.feature_projection = TFSpeechFeatureProjection(config, o, name="feature_projection")
        self.pos_conv_embed = TFSpeechPositionalConvEmbedding(config, o, name="pos_conv_embed")

    def input_sizes(self):
        return {self.feature_encoder: None, self.feature_projection: None, self.pos_conv_embed: None}

    def build(self, input_shape=None):
        if self.options.masked_spec_embed:
            self.masked_spec_embed = self.add_weight(name="masked_spec_embed", shape=(self.options.hidden_size,),
                                                     initializer="uniform")  # fmt: skip
        super().build(input_shape)

    def call(self, input_values, attention_mask=None, training=False):
        check_audio(self.config, input_values.shape)
        features = self.feature_encoder(tf.cast(input_values, tf.float32))
        frames = None
        if attention_mask is not None:
            frames = frame_mask(self.config, attention_mask, tf.shape(features)[1], add_adapter=False)
        hidden, _ = self.feature_projection(features, training=training)
        hidden = self.mask_hidden(hidden, None, frames, training)
        hidden = hidden + self.pos_conv_embed(hidden, training=training)
        pad = self.config.pad_token_id
        ids = tf.zeros(tf.shape(hidden)[:2], tf.int32) if frames is None else tf.cast(tf.logical_not(frames), tf.int32)
        table = fairseq_sinusoids(padded_positions(ids, pad), self.config.hidden_size, pad)
        return hidden + tf.cast(table, hidden.dtype), frames


class TFSpeechT5TextDecoderPrenet(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.dropout = Dropout(config.positional_dropout)
        self.embed_tokens = NamedWeight((config.vocab_size, config.hidden_size), "embeddings", weights_init(config),
                                        name="embed_tokens")  # fmt: skip

    def input_sizes(self):
        return {self.embed_tokens: None}

    def call(self, input_ids, past_length=0, training=False):
        pad = self.config.pad_token_id
        table = fairseq_sinusoids(padded_positions(input_ids, pad, past_length), self.config.hidden_size, pad)
        embeds = self.embed_tokens(input_ids) * self.config.embed_scale
        return self.dropout(embeds + tf.cast(table, embeds.dtype), training=training)


class TFSpeechT5SpeechDecoderPrenet(Layer):
    """Log-mel frames -> ReLU layers with the consistent dropout (eval mode too; see the module docstring) ->
    final_layer -> scaled positions -> speaker embedding (L2-normalised, concatenated, ReLU(speaker_embeds_layer))."""

    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        units = config.speech_decoder_prenet_units
        self.prenet_layers = [dense(config, units, f"layers.{i}") for i in range(config.speech_decoder_prenet_layers)]
        self.final_layer = dense(config, config.hidden_size, "final_layer")
        self.encode_positions = TFSpeechT5ScaledPositionalEncoding(config.positional_dropout,
                                                                   config.max_speech_positions, "max_speech_positions",
                                                                   name="encode_positions")  # fmt: skip
        self.speaker_embeds_layer = dense(config, config.hidden_size, "speaker_embeds_layer")
        self.seed_generator = keras.random.SeedGenerator()

    def input_sizes(self):  # log-mel frames in; the speaker layer reads the states and the speaker embedding
        c = self.config
        widths = [c.num_mel_bins] + [c.speech_decoder_prenet_units] * len(self.prenet_layers)
        return {**dict(zip(self.prenet_layers, widths)), self.final_layer: widths[-1], self.encode_positions: None,
                self.speaker_embeds_layer: c.hidden_size + c.speaker_embedding_dim}  # fmt: skip

    def consistent_dropout(self, hidden, seed_generator):
        p = self.config.speech_decoder_prenet_dropout
        draws = keras.random.uniform(tf.shape(hidden)[1:], seed=seed_generator)
        keep = tf.cast(draws < p, hidden.dtype) * (1.0 / (1.0 - p))
        return hidden * keep[None]

    def call(self, input_values, speaker_embeddings=None, seed=None, training=False):
        generator = self.seed_generator if seed is None else seed
        hidden = tf.cast(input_values, tf.float32)
        for layer in self.prenet_layers:
            hidden = self.consistent_dropout(tf.nn.relu(layer(hidden)), generator)
        hidden = self.encode_positions(self.final_layer(hidden), training=training)
        if speaker_embeddings is not None:
            speaker = tf.cast(speaker_embeddings, hidden.dtype)
            speaker = speaker / tf.maximum(tf.norm(speaker, axis=-1, keepdims=True), 1e-12)
            speaker = tf.broadcast_to(speaker[:, None], (tf.shape(hidden)[0], tf.shape(hidden)[1], speaker.shape[-1]))
            hidden = tf.nn.relu(self.speaker_embeds_layer(tf.concat([hidden, speaker], axis=-1)))
        return hidden


def seed_generator(seed):
    """A Keras SeedGenerator for `seed` (an int), a given generator as it is, or None."""
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return seed
    return keras.random.SeedGenerator(int(seed))


# -- post-nets --------------------------------------------------------------------------------------------------
class TFSpeechT5BatchNormConvLayer(Layer):
    def __init__(self, config: SpeechT5Config, index: int, **kwargs):
        super().__init__(**kwargs)
        last = index == config.speech_decoder_postnet_layers - 1
        width = config.num_mel_bins if last else config.speech_decoder_postnet_units
        self.conv = keras_layers.Conv1D(width, config.speech_decoder_postnet_kernel, padding="same", use_bias=False,
                                        kernel_initializer="he_normal", name="conv")  # fmt: skip
        self.batch_norm = keras_layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name="batch_norm")
        self.last = last
        self.dropout = Dropout(config.speech_decoder_postnet_dropout)
        self.in_channels = config.num_mel_bins if index == 0 else config.speech_decoder_postnet_units

    def input_sizes(self):
        return {self.conv: channels_last(self.in_channels, (None,)),
                self.batch_norm: channels_last(self.conv.filters, (None,))}  # fmt: skip

    def call(self, hidden, training=False):
        hidden = self.batch_norm(self.conv(hidden), training=training)
        return self.dropout(hidden if self.last else tf.tanh(hidden), training=training)


class TFSpeechT5SpeechDecoderPostnet(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.feat_out = dense(config, config.num_mel_bins * config.reduction_factor, "feat_out")
        self.prob_out = dense(config, config.reduction_factor, "prob_out")
        self.postnet_layers = [TFSpeechT5BatchNormConvLayer(config, i, name=f"layers.{i}")
                               for i in range(config.speech_decoder_postnet_layers)]  # fmt: skip

    def input_sizes(self):
        d = self.config.hidden_size
        return {self.feat_out: d, self.prob_out: d, **dict.fromkeys(self.postnet_layers)}

    def call(self, hidden, training=False):
        batch = tf.shape(hidden)[0]
        before = tf.reshape(self.feat_out(hidden), (batch, -1, self.config.num_mel_bins))
        return before, self.postnet(before, training), tf.reshape(self.prob_out(hidden), (batch, -1))

    def postnet(self, frames, training=False):
        hidden = frames
        for layer in self.postnet_layers:
            hidden = layer(hidden, training=training)
        return frames + hidden


class TFSpeechT5TextDecoderPostnet(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.lm_head = dense(config, config.vocab_size, "lm_head", use_bias=False)
        self.width = config.hidden_size

    def input_sizes(self):
        return {self.lm_head: self.width}

    def call(self, hidden):
        return self.lm_head(hidden)


# -- transformer --------------------------------------------------------------------------------------------------
class TFSpeechT5EncoderAttention(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        d = config.hidden_size
        self.num_heads, self.head_dim = config.encoder_attention_heads, config.encoder_head_dim
        self.k_proj, self.v_proj = dense(config, d, "k_proj"), dense(config, d, "v_proj")
        self.q_proj, self.out_proj = dense(config, d, "q_proj"), dense(config, d, "out_proj")
        self.dropout = Dropout(config.attention_dropout)
        self.width = d

    def input_sizes(self):
        return dict.fromkeys((self.k_proj, self.v_proj, self.q_proj, self.out_proj), self.width)

    def call(self, hidden, bias=None, position_bias=None, output_attentions=False, training=False):
        q = split_heads(self.q_proj(hidden), self.num_heads, self.head_dim) * self.head_dim**-0.5
        k = split_heads(self.k_proj(hidden), self.num_heads, self.head_dim)
        v = split_heads(self.v_proj(hidden), self.num_heads, self.head_dim)
        scores = tf.matmul(q, k, transpose_b=True) + tf.einsum("bhqd,qkd->bhqk", q, position_bias)
        if bias is not None:
            scores = scores + bias
        weights = tf.nn.softmax(scores, axis=-1)
        context = tf.matmul(self.dropout(weights, training=training), v)
        return self.out_proj(merge_heads(context)), weights if output_attentions else None


class TFSpeechT5EncoderLayer(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFSpeechT5EncoderAttention(config, name="attention")
        self.dropout = Dropout(config.hidden_dropout)
        self.layer_norm = layer_norm(config, "layer_norm")
        self.feed_forward = TFSpeechFeedForward(config, config.feed_forward_options(decoder=False), name="feed_forward")
        self.final_layer_norm = layer_norm(config, "final_layer_norm")
        self.width = config.hidden_size

    def input_sizes(self):
        return {self.attention: None, self.layer_norm: self.width, self.feed_forward: None,
                self.final_layer_norm: self.width}  # fmt: skip

    def call(self, hidden, bias=None, position_bias=None, output_attentions=False, training=False):
        attended, weights = self.attention(hidden, bias=bias, position_bias=position_bias,
                                           output_attentions=output_attentions, training=training)
        hidden = self.layer_norm(hidden + self.dropout(attended, training=training))
        return self.final_layer_norm(hidden + self.feed_forward(hidden, training=training)), weights


class TFSpeechT5DecoderLayer(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        d, heads = config.hidden_size, config.decoder_attention_heads
        self.self_attn = TFSeq2SeqAttention(config, d, heads, name="self_attn")
        self.dropout = Dropout(config.hidden_dropout)
        self.self_attn_layer_norm = layer_norm(config, "self_attn_layer_norm")
        self.encoder_attn = TFSeq2SeqAttention(config, d, heads, name="encoder_attn")
        self.encoder_attn_layer_norm = layer_norm(config, "encoder_attn_layer_norm")
        self.feed_forward = TFSpeechFeedForward(config, config.feed_forward_options(decoder=True), name="feed_forward")
        self.final_layer_norm = layer_norm(config, "final_layer_norm")
        self.width = d

    def input_sizes(self):  # the cross-attention too: a decoder run without encoder states still holds it
        d = self.width
        return {self.self_attn: None, self.self_attn_layer_norm: d, self.encoder_attn: None,
                self.encoder_attn_layer_norm: d, self.feed_forward: None, self.final_layer_norm: d}  # fmt: skip

    def call(self, hidden, bias=None, encoder_hidden=None, encoder_bias=None, past=None, output_attentions=False,
             training=False):  # fmt: skip
        attended, cache, weights = self.self_attn(hidden, bias=bias, past=past[:2] if past else None,
                                                  output_attentions=output_attentions, training=training)  # fmt: skip
        hidden = self.self_attn_layer_norm(hidden + self.dropout(attended, training=training))
        cross_weights = None
        if encoder_hidden is not None:
            attended, cross, cross_weights = self.encoder_attn(hidden, bias=encoder_bias, key_value_states=encoder_hidden,
                                                               past=past[2:] if past else None,
                                                               output_attentions=output_attentions, training=training)  # fmt: skip
            hidden = self.encoder_attn_layer_norm(hidden + self.dropout(attended, training=training))
            cache = cache + cross
        elif not self.encoder_attn.built:  # a decoder run without encoder states still holds its weights
            self.encoder_attn(hidden, key_value_states=hidden)
            self.encoder_attn_layer_norm(hidden)
        hidden = self.final_layer_norm(hidden + self.feed_forward(hidden, training=training))
        return hidden, cache, weights, cross_weights


def layer_dropped(rate: float, training: bool) -> bool:
    return bool(training) and rate > 0 and np.random.random() < rate


class TFSpeechT5RelativePositionalEncoding(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.max_length = config.encoder_max_relative_position
        self.pe_k = NamedWeight((2 * self.max_length, config.encoder_head_dim), "embeddings", weights_init(config),
                                name="pe_k")  # fmt: skip

    def input_sizes(self):
        return {self.pe_k: None}

    def call(self, length):
        distance = tf.range(length)[:, None] - tf.range(length)[None, :]
        return self.pe_k(tf.clip_by_value(distance, -self.max_length, self.max_length - 1) + self.max_length)


class TFSpeechT5Encoder(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.layer_norm = layer_norm(config, "layer_norm")
        self.dropout = Dropout(config.hidden_dropout)
        self.encoder_layers = [TFSpeechT5EncoderLayer(config, name=f"layers.{i}") for i in range(config.encoder_layers)]
        self.embed_positions = TFSpeechT5RelativePositionalEncoding(config, name="embed_positions")

    def input_sizes(self):
        return {self.layer_norm: self.config.hidden_size, **dict.fromkeys(self.encoder_layers),
                self.embed_positions: None}  # fmt: skip

    def call(self, hidden, attention_mask=None, output_attentions=False, output_hidden_states=False, training=False):
        bias = padding_bias(_tensor(attention_mask), hidden.dtype)
        hidden = self.dropout(self.layer_norm(hidden), training=training)
        position_bias = tf.cast(self.embed_positions(tf.shape(hidden)[1]), hidden.dtype)
        states, attentions = (), ()
        for layer in self.encoder_layers:
            states += (hidden,)
            if layer_dropped(self.config.encoder_layerdrop, training):
                attentions += (None,)
                continue
            hidden, weights = layer(hidden, bias=bias, position_bias=position_bias, output_attentions=output_attentions,
                                    training=training)
            attentions += (weights,)
        return out.BaseModelOutput(last_hidden_state=hidden,
                                   hidden_states=states + (hidden,) if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class TFSpeechT5Decoder(Layer):
    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.decoder_layers = [TFSpeechT5DecoderLayer(config, name=f"layers.{i}") for i in range(config.decoder_layers)]

    def input_sizes(self):
        return dict.fromkeys(self.decoder_layers)

    def call(self, hidden, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
             past_key_values=None, use_cache=False, output_attentions=False, output_hidden_states=False,
             training=False):  # fmt: skip
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        bias = causal_bias(tf.shape(hidden)[1], past_length, _tensor(attention_mask), hidden.dtype)
        encoder_bias = padding_bias(_tensor(encoder_attention_mask), hidden.dtype)
        states, caches, self_weights, cross_weights = (), (), (), ()
        for i, layer in enumerate(self.decoder_layers):
            states += (hidden,)
            if layer_dropped(self.config.decoder_layerdrop, training):
                caches += (None,)
                continue
            hidden, cache, weights, cross = layer(hidden, bias=bias, encoder_hidden=encoder_hidden_states,
                                                  encoder_bias=encoder_bias,
                                                  past=past_key_values[i] if past_key_values else None,
                                                  output_attentions=output_attentions, training=training)  # fmt: skip
            caches, self_weights, cross_weights = caches + (cache,), self_weights + (weights,), cross_weights + (cross,)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
            attentions=self_weights if output_attentions else None,
            cross_attentions=cross_weights if output_attentions and encoder_hidden_states is not None else None,
        )  # fmt: skip


# -- encoder / decoder wrappers ----------------------------------------------------------------------------------
class TFSpeechT5EncoderWithoutPrenet(Layer):
    speech_input = False
    prenet_class = None

    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        if self.prenet_class is not None:
            self.prenet = self.prenet_class(config, name="prenet")
        self.wrapped_encoder = TFSpeechT5Encoder(config, name="wrapped_encoder")

    def input_sizes(self):
        return {getattr(self, "prenet", None): None, self.wrapped_encoder: None}

    def embed(self, input_values, attention_mask, training):
        return tf.cast(input_values, tf.float32), attention_mask

    def call(self, input_values=None, attention_mask=None, output_attentions=False, output_hidden_states=False,
             training=False):  # fmt: skip
        if input_values is None:
            raise ValueError("The SpeechT5 encoder needs input_values (input_ids for text to speech).")
        hidden, mask = self.embed(_tensor(input_values), _tensor(attention_mask), training)
        return self.wrapped_encoder(hidden, attention_mask=mask, output_attentions=output_attentions,
                                    output_hidden_states=output_hidden_states, training=training)


class TFSpeechT5EncoderWithTextPrenet(TFSpeechT5EncoderWithoutPrenet):
    prenet_class = TFSpeechT5TextEncoderPrenet

    def embed(self, input_ids, attention_mask, training):
        return self.prenet(input_ids, training=training), attention_mask


class TFSpeechT5EncoderWithSpeechPrenet(TFSpeechT5EncoderWithoutPrenet):
    speech_input = True
    prenet_class = TFSpeechT5SpeechEncoderPrenet

    def embed(self, input_values, attention_mask, training):
        return self.prenet(input_values, attention_mask=attention_mask, training=training)


class TFSpeechT5DecoderWithoutPrenet(Layer):
    prenet_class = None

    def __init__(self, config: SpeechT5Config, **kwargs):
        super().__init__(**kwargs)
        if self.prenet_class is not None:
            self.prenet = self.prenet_class(config, name="prenet")
        self.wrapped_decoder = TFSpeechT5Decoder(config, name="wrapped_decoder")

    def input_sizes(self):
        return {getattr(self, "prenet", None): None, self.wrapped_decoder: None}

    def embed(self, input_values, past_length, speaker_embeddings, seed, training):
        return tf.cast(input_values, tf.float32)

    def call(self, input_values=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
             past_key_values=None, use_cache=False, output_attentions=False, output_hidden_states=False,
             speaker_embeddings=None, seed=None, training=False):  # fmt: skip
        if input_values is None:
            raise ValueError("The SpeechT5 decoder needs decoder_input_values (decoder_input_ids for speech to text).")
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        hidden = self.embed(_tensor(input_values), past_length, _tensor(speaker_embeddings), seed, training)
        return self.wrapped_decoder(hidden, attention_mask=attention_mask, encoder_hidden_states=encoder_hidden_states,
                                    encoder_attention_mask=encoder_attention_mask, past_key_values=past_key_values,
                                    use_cache=use_cache, output_attentions=output_attentions,
                                    output_hidden_states=output_hidden_states, training=training)  # fmt: skip


class TFSpeechT5DecoderWithTextPrenet(TFSpeechT5DecoderWithoutPrenet):
    prenet_class = TFSpeechT5TextDecoderPrenet

    def embed(self, input_ids, past_length, speaker_embeddings, seed, training):
        return self.prenet(input_ids, past_length=past_length, training=training)


class TFSpeechT5DecoderWithSpeechPrenet(TFSpeechT5DecoderWithoutPrenet):
    prenet_class = TFSpeechT5SpeechDecoderPrenet

    def embed(self, input_values, past_length, speaker_embeddings, seed, training):
        return self.prenet(input_values, speaker_embeddings=speaker_embeddings, seed=seed_generator(seed),
                           training=training)


class SpeechT5Parts:
    """`encoder` and `decoder` (with the pre-nets a head chooses) and the encoder-decoder pass, for the layer or
    model that holds them (the heads' `speecht5` layer; SpeechT5Model itself, whose names have no prefix)."""

    def init_parts(self, config: SpeechT5Config, encoder_class, decoder_class) -> None:
        self.config = config
        self.encoder = encoder_class(config, name="encoder")
        self.decoder = decoder_class(config, name="decoder")

    def input_sizes(self):
        return {self.encoder: None, self.decoder: None}

    def encoder_mask(self, attention_mask, frames):
        if attention_mask is not None and self.encoder.speech_input:
            return frame_mask(self.config, _tensor(attention_mask), frames, add_adapter=False)
        return _tensor(attention_mask)

    def run(self, input_values=None, attention_mask=None, decoder_input_values=None, decoder_attention_mask=None,
            encoder_outputs=None, past_key_values=None, use_cache=False, speaker_embeddings=None,
            output_attentions=False, output_hidden_states=False, seed=None, training=False):  # fmt: skip
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_values, attention_mask=attention_mask,
                                           output_attentions=output_attentions,
                                           output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        encoded = encoder_outputs.last_hidden_state
        decoded = self.decoder(decoder_input_values, attention_mask=decoder_attention_mask,
                               encoder_hidden_states=encoded,
                               encoder_attention_mask=self.encoder_mask(attention_mask, tf.shape(encoded)[1]),
                               past_key_values=past_key_values, use_cache=use_cache,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               speaker_embeddings=speaker_embeddings, seed=seed, training=training)  # fmt: skip
        return out.Seq2SeqModelOutput(
            last_hidden_state=decoded.last_hidden_state, past_key_values=decoded.past_key_values,
            decoder_hidden_states=decoded.hidden_states, decoder_attentions=decoded.attentions,
            cross_attentions=decoded.cross_attentions, encoder_last_hidden_state=encoded,
            encoder_hidden_states=encoder_outputs.hidden_states, encoder_attentions=encoder_outputs.attentions,
        )  # fmt: skip


class TFSpeechT5Parts(SpeechT5Parts, Layer):
    def __init__(self, config: SpeechT5Config, encoder_class, decoder_class, **kwargs):
        Layer.__init__(self, **kwargs)
        self.init_parts(config, encoder_class, decoder_class)

    call = SpeechT5Parts.run


def refuse_head_masks(kwargs: dict) -> None:
    given = sorted(k for k in ("head_mask", "decoder_head_mask", "cross_attn_head_mask") if kwargs.get(k) is not None)
    if given:
        raise NotImplementedError(f"{', '.join(given)} are not supported by autoload's SpeechT5 models.")


# -- models -------------------------------------------------------------------------------------------------------
class TFSpeechT5PreTrainedModel(TFPreTrainedModel):
    config_class = SpeechT5Config
    base_model_prefix = "speecht5"
    main_input_name = "input_values"

    def __init__(self, config: SpeechT5Config, *args, **kwargs):
        config.check_sizes()
        super().__init__(config, *args, **kwargs)

    def _use_cache(self, use_cache, training):
        return False if training else bool(self.config.use_cache if use_cache is None else use_cache)


class TFSpeechT5Model(SpeechT5Parts, TFSpeechT5PreTrainedModel):
    """The transformer alone: input_values and decoder_input_values are hidden states."""

    def __init__(self, config: SpeechT5Config, *args, **kwargs):
        TFSpeechT5PreTrainedModel.__init__(self, config, *args, **kwargs)
        self.init_parts(config, TFSpeechT5EncoderWithoutPrenet, TFSpeechT5DecoderWithoutPrenet)

    def dummy_inputs(self) -> dict:
        d = self.config.hidden_size
        return {"input_values": np.zeros((1, 2, d), np.float32), "decoder_input_values": np.zeros((1, 1, d), np.float32)}

    def call(self, input_values=None, attention_mask=None, decoder_input_values=None, decoder_attention_mask=None,
             encoder_outputs=None, past_key_values=None, use_cache=None, output_attentions=None,
             output_hidden_states=None, training=False, return_dict=True, **kwargs):  # fmt: skip
        refuse_head_masks(kwargs)
        result = self.run(input_values, attention_mask=attention_mask, decoder_input_values=decoder_input_values,
                            decoder_attention_mask=decoder_attention_mask, encoder_outputs=encoder_outputs,
                            past_key_values=past_key_values, use_cache=self._use_cache(use_cache, training),
                            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                            training=training)  # fmt: skip
        return out.finish(result, return_dict)


class TFSpeechT5ForSpeechToText(TFGenerationMixin, TFSpeechT5PreTrainedModel):
    def __init__(self, config: SpeechT5Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.speecht5 = TFSpeechT5Parts(config, TFSpeechT5EncoderWithSpeechPrenet, TFSpeechT5DecoderWithTextPrenet,
                                        name="speecht5")  # fmt: skip
        if not config.tie_word_embeddings:
            self.text_decoder_postnet = TFSpeechT5TextDecoderPostnet(config, name="text_decoder_postnet")

    def input_sizes(self):
        return {self.speecht5: None, getattr(self, "text_decoder_postnet", None): None}

    # a tied head has no lm_head variable: the decoder's embed_tokens serves
    _keys_to_ignore_on_load_unexpected = [r"^text_decoder_postnet\.lm_head\.weight$"]

    def dummy_inputs(self) -> dict:
        return {"input_values": np.zeros((1, self.config.samples_for_frames(2)), np.float32),
                "decoder_input_ids": np.full((1, 1), self.config.decoder_start_token_id, np.int32)}  # fmt: skip

    def _logits(self, hidden):
        if not self.config.tie_word_embeddings:
            return self.text_decoder_postnet(hidden)
        return tf.matmul(hidden, self.speecht5.decoder.prenet.embed_tokens.weight, transpose_b=True)

    def encode(self, input_values=None, attention_mask=None, **kwargs):
        return self.speecht5.encoder(_tensor(input_values), attention_mask=_tensor(attention_mask))

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        encoded = encoder_outputs.last_hidden_state
        decoded = self.speecht5.decoder(_tensor(decoder_input_ids), encoder_hidden_states=encoded,
                                        encoder_attention_mask=self.speecht5.encoder_mask(attention_mask,
                                                                                          tf.shape(encoded)[1]),
                                        past_key_values=past_key_values, use_cache=True)  # fmt: skip
        return out.Seq2SeqLMOutput(logits=self._logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def call(self, input_values=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
             encoder_outputs=None, past_key_values=None, labels=None, use_cache=None, output_attentions=None,
             output_hidden_states=None, training=False, return_dict=True, **kwargs):  # fmt: skip
        refuse_head_masks(kwargs)
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        result = self.speecht5(input_values, attention_mask=attention_mask, decoder_input_values=decoder_input_ids,
                               decoder_attention_mask=decoder_attention_mask, encoder_outputs=encoder_outputs,
                               past_key_values=past_key_values,
                               use_cache=self._use_cache(use_cache, training) and labels is None,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               training=training)  # fmt: skip
        logits = self._logits(result.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.Seq2SeqLMOutput, result, loss=loss, logits=logits), return_dict)


class TFSpeechT5ForTextToSpeech(TFSpeechT5PreTrainedModel):
    """Text encoder pre-net, speech decoder pre-net (speaker embeddings, consistent dropout: `seed` picks the
    masks, see the module docstring) and the speech post-net; generate / generate_speech as transformers'."""

    main_input_name = "input_ids"

    def __init__(self, config: SpeechT5Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.speecht5 = TFSpeechT5Parts(config, TFSpeechT5EncoderWithTextPrenet, TFSpeechT5DecoderWithSpeechPrenet,
                                        name="speecht5")  # fmt: skip
        self.speech_decoder_postnet = TFSpeechT5SpeechDecoderPostnet(config, name="speech_decoder_postnet")

    def input_sizes(self):
        return {self.speecht5: None, self.speech_decoder_postnet: None}

    @classmethod
    def can_generate(cls) -> bool:
        return True

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"input_ids": np.full((1, 2), c.eos_token_id, np.int32),
                "decoder_input_values": np.zeros((1, 1, c.num_mel_bins), np.float32),
                "speaker_embeddings": np.ones((1, c.speaker_embedding_dim), np.float32)}  # fmt: skip

    def call(self, input_ids=None, attention_mask=None, decoder_input_values=None, decoder_attention_mask=None,
             encoder_outputs=None, past_key_values=None, speaker_embeddings=None, labels=None, stop_labels=None,
             use_cache=None, output_attentions=None, output_hidden_states=None, seed=None, training=False,
             return_dict=True, **kwargs):  # fmt: skip
        refuse_head_masks(kwargs)
        if labels is not None or stop_labels is not None:
            raise NotImplementedError(
                "TFSpeechT5ForTextToSpeech: the training loss (labels / stop_labels) is not implemented by autoload "
                "(backends/tf/models/speecht5.py); compute a loss from the returned spectrogram instead."
            )
        result = self.speecht5(input_ids, attention_mask=attention_mask, decoder_input_values=decoder_input_values,
                               decoder_attention_mask=decoder_attention_mask, encoder_outputs=encoder_outputs,
                               past_key_values=past_key_values, use_cache=self._use_cache(use_cache, training),
                               speaker_embeddings=speaker_embeddings, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, seed=seed, training=training)  # fmt: skip
        _, spectrogram, _ = self.speech_decoder_postnet(result.last_hidden_state, training=training)
        return out.finish(out.from_encoded(out.Seq2SeqSpectrogramOutput, result, spectrogram=spectrogram), return_dict)

    def generate(self, input_ids, attention_mask=None, speaker_embeddings=None, threshold: float = 0.5,
                 minlenratio: float = 0.0, maxlenratio: float = 20.0, vocoder=None, output_cross_attentions=False,
                 return_output_lengths=False, seed=None, **kwargs):  # fmt: skip
        """transformers' generate_speech (autoload/generation/speecht5.py); `seed` fixes the pre-net's masks."""
        from autoload.generation.speecht5 import generate_speech

        return generate_speech(TFSpeechSteps(self, seed), input_ids, attention_mask, speaker_embeddings, threshold,
                               minlenratio, maxlenratio, vocoder, output_cross_attentions, return_output_lengths)  # fmt: skip

    def generate_speech(self, input_ids, speaker_embeddings=None, attention_mask=None, threshold: float = 0.5,
                        minlenratio: float = 0.0, maxlenratio: float = 20.0, vocoder=None,
                        output_cross_attentions=False, return_output_lengths=False, seed=None):  # fmt: skip
        return self.generate(input_ids, attention_mask, speaker_embeddings, threshold, minlenratio, maxlenratio,
                             vocoder, output_cross_attentions, return_output_lengths, seed)  # fmt: skip


class TFSpeechSteps:
    """What the shared spectrogram loop asks of TF (see autoload/generation/speecht5.py)."""

    def __init__(self, model: TFSpeechT5ForTextToSpeech, seed=None):
        self.model, self.generator = model, seed_generator(seed)

    @staticmethod
    def tensor(value):
        return tf.convert_to_tensor(value)

    @staticmethod
    def numpy(value):
        return value.numpy() if tf.is_tensor(value) else np.asarray(value)

    def encode(self, input_ids, attention_mask):
        return self.model.speecht5.encoder(input_ids, attention_mask=attention_mask).last_hidden_state

    def step(self, frames, speaker_embeddings, encoded, encoder_mask, past, output_attentions):
        decoder = self.model.speecht5.decoder
        hidden = decoder.prenet(frames, speaker_embeddings=speaker_embeddings, seed=self.generator)
        decoded = decoder.wrapped_decoder(hidden[:, -1:], encoder_hidden_states=encoded,
                                          encoder_attention_mask=encoder_mask, past_key_values=past, use_cache=True,
                                          output_attentions=output_attentions)  # fmt: skip
        last = decoded.last_hidden_state[:, 0]
        postnet = self.model.speech_decoder_postnet
        cross = tf.concat(decoded.cross_attentions, axis=0) if output_attentions else None
        return postnet.feat_out(last), postnet.prob_out(last), decoded.past_key_values, cross

    def postnet(self, spectrogram):
        return self.model.speech_decoder_postnet.postnet(spectrogram)

    def finish(self):
        pass
