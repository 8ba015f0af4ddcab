"""SpeechT5 in Flax (linen). Mirrors backends/torch/models/speecht5.py; parameter paths are the PyTorch module
names (`speecht5/encoder/wrapped_encoder/layers.0/attention/q_proj/kernel`, the post-net's batch norms in
`batch_stats`), so the shared converter maps every leaf to its canonical name. transformers has no Flax SpeechT5:
the flax_model.msgpack files are ours.

The speech decoder pre-net's consistent dropout (eval mode too) draws its masks from the "dropout" rng stream:
the model wrappers take `rng=` (a jax.random key) for forward and generate_speech; without one a fresh key is
drawn from numpy's global generator, so masks change from call to call as in PyTorch. PyTorch and TF draw from
their own generators: for speech_decoder_prenet_dropout > 0 the frameworks agree only in distribution; with 0 (as
the fixtures) every framework computes the same deterministic outputs."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.speecht5 import SpeechT5Config, relative_distances, scaled_positions
from autoload.speech import check_audio

from ..attention import StaticCache, causal_bias, key_width, to_static
from ..blocks.norms import LayerNorm
from ..blocks.seq2seq import FlaxSeq2SeqAttention, padding_bias, shift_tokens_right
from ..blocks.speech import (
    FlaxSpeechFeatureEncoder,
    FlaxSpeechFeatureProjection,
    FlaxSpeechFeedForward,
    FlaxSpeechModule,
    FlaxSpeechPositionalConvEmbedding,
    frame_mask,
)
from ..generation import CACHE_BUCKET, FlaxGenerationMixin
from ..modeling import FlaxPreTrainedModel


def _dense(config, features: int, name: str, use_bias: bool = True) -> nn.Dense:
    return nn.Dense(features, use_bias=use_bias, kernel_init=nn.initializers.normal(config.initializer_range),
                    name=name)  # fmt: skip


def _layer_norm(config, name: str) -> nn.LayerNorm:
    return LayerNorm(epsilon=config.layer_norm_eps, name=name)


def fairseq_sinusoids(positions, dim: int, padding_idx: int):
    """The fairseq table's rows `positions` (see autoload.models.speecht5.fairseq_sinusoids), in jnp."""
    half = dim // 2
    freq = jnp.asarray(np.exp(np.arange(half, dtype=np.float32) * np.float32(-math.log(10000) / (half - 1))))
    angle = positions.astype(jnp.float32)[..., None] * freq
    table = jnp.concatenate([jnp.sin(angle), jnp.cos(angle)], axis=-1)
    if dim % 2:
        table = jnp.concatenate([table, jnp.zeros_like(table[..., :1])], axis=-1)
    return jnp.where((positions == padding_idx)[..., None], 0.0, table)


def padded_positions(ids, padding_idx: int, past_length: int = 0):
    keep = (ids != padding_idx).astype(jnp.int32)
    return (jnp.cumsum(keep, axis=1) + past_length) * keep + padding_idx


# -- pre-nets ---------------------------------------------------------------------------------------------------
class FlaxSpeechT5ScaledPositionalEncoding(nn.Module):
    dropout: float
    limit: int
    limit_name: str

    @nn.compact
    def __call__(self, embeds, deterministic=True, offset: int = 0):
        alpha = self.param("alpha", nn.initializers.ones, ())
        length = offset + embeds.shape[1]
        table = jnp.asarray(scaled_positions(length, embeds.shape[2], self.limit, self.limit_name)[offset:])
        return nn.Dropout(self.dropout)(embeds + alpha * table.astype(embeds.dtype), deterministic=deterministic)


class FlaxSpeechT5TextEncoderPrenet(nn.Module):
    config: SpeechT5Config

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, deterministic=True):
        c = self.config
        embeds = nn.Embed(c.vocab_size, c.hidden_size, embedding_init=nn.initializers.normal(c.initializer_range),
                          name="embed_tokens")(input_ids.astype("i4"))  # fmt: skip
        encode = FlaxSpeechT5ScaledPositionalEncoding(c.positional_dropout, c.max_text_positions, "max_text_positions",
                                                      name="encode_positions")  # fmt: skip
        return encode(embeds, deterministic), attention_mask


class FlaxSpeechT5SpeechEncoderPrenet(nn.Module):
    """Raw audio -> conv features -> projection (-> SpecAugment while training) + positional conv + fairseq
    positions over the real frames. Returns (hidden, frame mask or None)."""

    config: SpeechT5Config
    spec_augment_lengths: bool = True
    mask_hidden = FlaxSpeechModule.mask_hidden

    @nn.compact
    def __call__(self, input_values, attention_mask=None, deterministic=True):
        c = self.config
        o = c.speech_options()
        check_audio(c, input_values.shape)
        features = FlaxSpeechFeatureEncoder(o, name="feature_encoder")(input_values.astype(jnp.float32))
        frames = None if attention_mask is None else frame_mask(c, attention_mask, features.shape[1], add_adapter=False)
        hidden, _ = FlaxSpeechFeatureProjection(c, o, name="feature_projection")(features, deterministic)
        spec = self.param("masked_spec_embed", nn.initializers.uniform(), (o.hidden_size,)) if o.masked_spec_embed else None
        hidden = self.mask_hidden(hidden, spec, None, frames, deterministic)
        hidden = hidden + FlaxSpeechPositionalConvEmbedding(o, name="pos_conv_embed")(hidden)
        ids = jnp.zeros(hidden.shape[:2], jnp.int32) if frames is None else (~frames).astype(jnp.int32)
        table = fairseq_sinusoids(padded_positions(ids, c.pad_token_id), c.hidden_size, c.pad_token_id)
        return hidden + table.astype(hidden.dtype), frames


class FlaxSpeechT5TextDecoderPrenet(nn.Module):
    config: SpeechT5Config

    @nn.compact
    def __call__(self, input_ids, past_length=0, speaker_embeddings=None, deterministic=True, position_offset=0):
        c = self.config
        table = fairseq_sinusoids(padded_positions(input_ids, c.pad_token_id, past_length), c.hidden_size,
                                  c.pad_token_id)  # fmt: skip
        embeds = nn.Embed(c.vocab_size, c.hidden_size, embedding_init=nn.initializers.normal(c.initializer_range),
                          name="embed_tokens")(input_ids.astype("i4")) * c.embed_scale  # fmt: skip
        return nn.Dropout(c.positional_dropout)(embeds + table.astype(embeds.dtype), deterministic=deterministic)


class FlaxSpeechT5SpeechDecoderPrenet(nn.Module):
    """Log-mel frames -> ReLU layers with the consistent dropout (eval mode too, masks from the "dropout" rng; see
    the module docstring) -> final_layer -> scaled positions -> speaker embedding (L2-normalised, concatenated,
    ReLU(speaker_embeds_layer)). `position_offset` is the position of the first frame given (generation feeds
    the last frame alone)."""

    config: SpeechT5Config

    @nn.compact
    def __call__(self, input_values, past_length=0, speaker_embeddings=None, deterministic=True, position_offset=0):
        c = self.config
        p = c.speech_decoder_prenet_dropout
        hidden = input_values.astype(jnp.float32)
        for i in range(c.speech_decoder_prenet_layers):
            hidden = jax.nn.relu(_dense(c, c.speech_decoder_prenet_units, f"layers.{i}")(hidden))
            if p > 0:
                keep = jax.random.uniform(self.make_rng("dropout"), hidden.shape[1:]) < p
                hidden = jnp.where(keep[None], hidden / (1.0 - p), 0.0)
            else:  # bernoulli(0) keeps nothing
                hidden = jnp.zeros_like(hidden)
        hidden = _dense(c, c.hidden_size, "final_layer")(hidden)
        hidden = FlaxSpeechT5ScaledPositionalEncoding(c.positional_dropout, c.max_speech_positions,
                                                      "max_speech_positions", name="encode_positions")(
            hidden, deterministic, position_offset)  # fmt: skip
        speaker_layer = _dense(c, c.hidden_size, "speaker_embeds_layer")
        if speaker_embeddings is not None:
            speaker = speaker_embeddings.astype(hidden.dtype)
            speaker = speaker / jnp.maximum(jnp.linalg.norm(speaker, axis=-1, keepdims=True), 1e-12)
            speaker = jnp.broadcast_to(speaker[:, None], hidden.shape[:2] + speaker.shape[-1:])
            hidden = jax.nn.relu(speaker_layer(jnp.concatenate([hidden, speaker], axis=-1)))
        return hidden


# -- post-nets --------------------------------------------------------------------------------------------------
class FlaxSpeechT5SpeechDecoderPostnet(nn.Module):
    """feat_out, prob_out and the conv + batch-norm layers (running statistics: inference only)."""

    config: SpeechT5Config

    def setup(self):
        c = self.config
        self.feat_out = _dense(c, c.num_mel_bins * c.reduction_factor, "feat_out")
        self.prob_out = _dense(c, c.reduction_factor, "prob_out")
        self.layers = FlaxSpeechT5PostnetLayers(c)

    def __call__(self, hidden, deterministic=True):
        before = self.feat_out(hidden).reshape(hidden.shape[0], -1, self.config.num_mel_bins)
        return before, self.postnet(before, deterministic), self.prob_out(hidden).reshape(hidden.shape[0], -1)

    def postnet(self, frames, deterministic=True):
        return frames + self.layers(frames, deterministic)


class FlaxSpeechT5PostnetLayers(nn.Module):
    """The post-net's conv layers under `layers/0`, `layers/1`, ..."""

    config: SpeechT5Config

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        for i in range(self.config.speech_decoder_postnet_layers):
            hidden = FlaxSpeechT5BatchNormConvLayer(self.config, i, name=str(i))(hidden, deterministic)
        return hidden


class FlaxSpeechT5BatchNormConvLayer(nn.Module):
    config: SpeechT5Config
    index: int

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        c = self.config
        last = self.index == c.speech_decoder_postnet_layers - 1
        kernel = c.speech_decoder_postnet_kernel
        hidden = nn.Conv(c.num_mel_bins if last else c.speech_decoder_postnet_units, (kernel,),
                         padding=[((kernel - 1) // 2, (kernel - 1) // 2)], use_bias=False,
                         kernel_init=nn.initializers.he_normal(), name="conv")(hidden)  # fmt: skip
        hidden = nn.BatchNorm(use_running_average=True, momentum=0.9, epsilon=1e-5, name="batch_norm")(hidden)
        hidden = hidden if last else jnp.tanh(hidden)
        return nn.Dropout(c.speech_decoder_postnet_dropout)(hidden, deterministic=deterministic)


# -- transformer --------------------------------------------------------------------------------------------------
class FlaxSpeechT5EncoderAttention(nn.Module):
    config: SpeechT5Config

    @nn.compact
    def __call__(self, hidden, bias=None, position_bias=None, output_attentions=False, deterministic=True):
        c = self.config
        heads, head_dim = c.encoder_attention_heads, c.encoder_head_dim

        def project(name):
            return _dense(c, c.hidden_size, name)(hidden).reshape(hidden.shape[:2] + (heads, head_dim))

        q, k, v = project("q_proj") * head_dim**-0.5, project("k_proj"), project("v_proj")
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) + jnp.einsum("bqhd,qkd->bhqk", q, position_bias)
        if bias is not None:
            scores = scores + bias
        weights = jax.nn.softmax(scores, axis=-1)
        dropped = nn.Dropout(c.attention_dropout)(weights, deterministic=deterministic)
        context = jnp.einsum("bhqk,bkhd->bqhd", dropped, v).reshape(hidden.shape[:2] + (c.hidden_size,))
        return _dense(c, c.hidden_size, "out_proj")(context), weights if output_attentions else None


class FlaxSpeechT5EncoderLayer(nn.Module):
    config: SpeechT5Config

    @nn.compact
    def __call__(self, hidden, bias=None, position_bias=None, output_attentions=False, deterministic=True):
        c = self.config
        attended, weights = FlaxSpeechT5EncoderAttention(c, name="attention")(hidden, bias, position_bias,
                                                                              output_attentions, deterministic)  # fmt: skip
        attended = nn.Dropout(c.hidden_dropout)(attended, deterministic=deterministic)
        hidden = _layer_norm(c, "layer_norm")(hidden + attended)
        feed_forward = FlaxSpeechFeedForward(c, c.feed_forward_options(decoder=False), name="feed_forward")
        return _layer_norm(c, "final_layer_norm")(hidden + feed_forward(hidden, deterministic)), weights


class FlaxSpeechT5DecoderLayer(nn.Module):
    config: SpeechT5Config

    @nn.compact
    def __call__(self, hidden, bias=None, encoder_hidden=None, encoder_bias=None, past=None, output_attentions=False,
                 deterministic=True):  # fmt: skip
        c = self.config
        dropout = nn.Dropout(c.hidden_dropout)

        def attention(name):
            return FlaxSeq2SeqAttention(c.hidden_size, c.decoder_attention_heads, True, c.attention_dropout, name=name)

        attended, cache, weights = attention("self_attn")(hidden, bias, past=past[:2] if past else None,
                                                          output_attentions=output_attentions,
                                                          deterministic=deterministic)  # fmt: skip
        hidden = _layer_norm(c, "self_attn_layer_norm")(hidden + dropout(attended, deterministic=deterministic))
        cross_weights = None
        if encoder_hidden is None and self.is_initializing():  # the weights exist whatever the first call
            attention("encoder_attn")(hidden, None, hidden)
            _layer_norm(c, "encoder_attn_layer_norm")(hidden)
        if encoder_hidden is not None:
            attended, cross, cross_weights = attention("encoder_attn")(hidden, encoder_bias, encoder_hidden,
                                                                       past[2:] if past else None, output_attentions,
                                                                       deterministic)  # fmt: skip
            hidden = _layer_norm(c, "encoder_attn_layer_norm")(hidden + dropout(attended, deterministic=deterministic))
            cache = cache + cross
        feed_forward = FlaxSpeechFeedForward(c, c.feed_forward_options(decoder=True), name="feed_forward")
        hidden = _layer_norm(c, "final_layer_norm")(hidden + feed_forward(hidden, deterministic))
        return hidden, cache, weights, cross_weights


class FlaxSpeechT5Encoder(nn.Module):
    """LayerNorm and dropout first, then the post-norm layers with the relative position bias."""

    config: SpeechT5Config

    @nn.compact
    def __call__(self, hidden, attention_mask=None, output_attentions=False, output_hidden_states=False,
                 deterministic=True):  # fmt: skip
        c = self.config
        bias = padding_bias(attention_mask, hidden.dtype)
        hidden = nn.Dropout(c.hidden_dropout)(_layer_norm(c, "layer_norm")(hidden), deterministic=deterministic)
        table = FlaxSpeechT5RelativePositions(c, name="embed_positions")
        position_bias = table(relative_distances(hidden.shape[1], c.encoder_max_relative_position)).astype(hidden.dtype)
        states, attentions = (), ()
        for i in range(c.encoder_layers):
            states += (hidden,)
            hidden, weights = FlaxSpeechT5EncoderLayer(c, name=f"layers.{i}")(hidden, bias, position_bias,
                                                                              output_attentions, deterministic)  # fmt: skip
            attentions += (weights,)
        return out.BaseModelOutput(last_hidden_state=hidden,
                                   hidden_states=states + (hidden,) if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class FlaxSpeechT5RelativePositions(nn.Module):
    config: SpeechT5Config

    @nn.compact
    def __call__(self, index):
        c = self.config
        return nn.Embed(2 * c.encoder_max_relative_position, c.encoder_head_dim,
                        embedding_init=nn.initializers.normal(c.initializer_range), name="pe_k")(jnp.asarray(index))  # fmt: skip


class FlaxSpeechT5Decoder(nn.Module):
    config: SpeechT5Config

    @nn.compact
    def __call__(self, hidden, attention_mask=None, encoder_hidden=None, encoder_attention_mask=None,
                 past_key_values=None, use_cache=False, output_attentions=False, output_hidden_states=False,
                 deterministic=True):  # fmt: skip
        c = self.config
        length = hidden.shape[1]
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0
        keys = key_width(past_key_values, past_length + length)
        bias = causal_bias(length, past_length, attention_mask, hidden.dtype, keys=keys)
        encoder_bias = padding_bias(encoder_attention_mask, hidden.dtype)
        states, caches, self_weights, cross_weights = (), (), (), ()
        for i in range(c.decoder_layers):
            states += (hidden,)
            hidden, cache, weights, cross = FlaxSpeechT5DecoderLayer(c, name=f"layers.{i}")(
                hidden, bias, encoder_hidden, encoder_bias, past_key_values[i] if past_key_values else None,
                output_attentions, deterministic)  # fmt: skip
            caches, self_weights, cross_weights = caches + (cache,), self_weights + (weights,), cross_weights + (cross,)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
            attentions=self_weights if output_attentions else None,
            cross_attentions=cross_weights if output_attentions and encoder_hidden is not None else None,
        )  # fmt: skip


# -- encoder / decoder wrappers ----------------------------------------------------------------------------------
ENCODER_PRENETS = {None: None, "text": FlaxSpeechT5TextEncoderPrenet, "speech": FlaxSpeechT5SpeechEncoderPrenet}
DECODER_PRENETS = {None: None, "text": FlaxSpeechT5TextDecoderPrenet, "speech": FlaxSpeechT5SpeechDecoderPrenet}


class FlaxSpeechT5EncoderWrapper(nn.Module):
    config: SpeechT5Config
    prenet: str | None = None

    @nn.compact
    def __call__(self, input_values, attention_mask=None, output_attentions=False, output_hidden_states=False,
                 deterministic=True):  # fmt: skip
        if input_values is None:
            raise ValueError("The SpeechT5 encoder needs input_values (input_ids for text to speech).")
        hidden, mask = input_values, attention_mask
        if self.prenet is not None:
            hidden, mask = ENCODER_PRENETS[self.prenet](self.config, name="prenet")(hidden, mask, deterministic)
        else:
            hidden = hidden.astype(jnp.float32)
        return FlaxSpeechT5Encoder(self.config, name="wrapped_encoder")(hidden, mask, output_attentions,
                                                                       output_hidden_states, deterministic)  # fmt: skip


class FlaxSpeechT5DecoderWrapper(nn.Module):
    config: SpeechT5Config
    prenet: str | None = None

    @nn.compact
    def __call__(self, input_values, attention_mask=None, encoder_hidden=None, encoder_attention_mask=None,
                 past_key_values=None, use_cache=False, output_attentions=False, output_hidden_states=False,
                 speaker_embeddings=None, position_offset=0, deterministic=True):  # fmt: skip
        if input_values is None:
            raise ValueError("The SpeechT5 decoder needs decoder_input_values (decoder_input_ids for speech to text).")
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0
        hidden = input_values
        if self.prenet is not None:
            hidden = DECODER_PRENETS[self.prenet](self.config, name="prenet")(hidden, past_length, speaker_embeddings,
                                                                              deterministic, position_offset)  # fmt: skip
        else:
            hidden = hidden.astype(jnp.float32)
        return FlaxSpeechT5Decoder(self.config, name="wrapped_decoder")(
            hidden, attention_mask, encoder_hidden, encoder_attention_mask, past_key_values, use_cache,
            output_attentions, output_hidden_states, deterministic)  # fmt: skip


class FlaxSpeechT5Module(nn.Module):
    """`encoder` and `decoder` with the pre-nets a head chooses ("text", "speech" or none)."""

    config: SpeechT5Config
    dtype: Any = jnp.float32
    encoder_prenet: str | None = None
    decoder_prenet: str | None = None

    def setup(self):
        self.encoder = FlaxSpeechT5EncoderWrapper(self.config, self.encoder_prenet)
        self.decoder = FlaxSpeechT5DecoderWrapper(self.config, self.decoder_prenet)

    def encoder_mask(self, attention_mask, frames: int):
        if attention_mask is not None and self.encoder_prenet == "speech":
            return frame_mask(self.config, attention_mask, frames, add_adapter=False)
        return attention_mask

    def __call__(self, input_values=None, attention_mask=None, decoder_input_values=None, decoder_attention_mask=None,
                 encoder_outputs=None, past_key_values=None, use_cache=False, speaker_embeddings=None,
                 output_attentions=False, output_hidden_states=False, deterministic=True, return_dict=True,
                 **kwargs):  # fmt: skip
        given = sorted(k for k in ("head_mask", "decoder_head_mask", "cross_attn_head_mask") if kwargs.get(k) is not None)
        if given:
            raise NotImplementedError(f"{', '.join(given)} are not supported by autoload's SpeechT5 models.")
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_values, attention_mask, output_attentions, output_hidden_states,
                                           deterministic)  # fmt: skip
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        encoded = encoder_outputs.last_hidden_state
        decoded = self.decoder(decoder_input_values, decoder_attention_mask, encoded,
                               self.encoder_mask(attention_mask, encoded.shape[1]), past_key_values, use_cache,
                               output_attentions, output_hidden_states, speaker_embeddings,
                               deterministic=deterministic)  # fmt: skip
        result = out.Seq2SeqModelOutput(
            last_hidden_state=decoded.last_hidden_state, past_key_values=decoded.past_key_values,
            decoder_hidden_states=decoded.hidden_states, decoder_attentions=decoded.attentions,
            cross_attentions=decoded.cross_attentions, encoder_last_hidden_state=encoded,
            encoder_hidden_states=encoder_outputs.hidden_states, encoder_attentions=encoder_outputs.attentions,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSpeechT5ForSpeechToTextModule(nn.Module):
    config: SpeechT5Config
    dtype: Any = jnp.float32

    def setup(self):
        self.speecht5 = FlaxSpeechT5Module(self.config, self.dtype, "speech", "text")
        if not self.config.tie_word_embeddings:
            self.text_decoder_postnet = FlaxSpeechT5TextDecoderPostnet(self.config)

    def logits(self, hidden):
        if not self.config.tie_word_embeddings:
            return self.text_decoder_postnet(hidden)
        return hidden @ self.speecht5.decoder.variables["params"]["prenet"]["embed_tokens"]["embedding"].T

    def encode(self, input_values, attention_mask=None):
        return self.speecht5.encoder(input_values, attention_mask)

    def decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, past_key_values=None):
        mask = self.speecht5.encoder_mask(attention_mask, encoder_hidden.shape[1])
        decoded = self.speecht5.decoder(decoder_input_ids, None, encoder_hidden, mask, past_key_values, True)
        return out.Seq2SeqLMOutput(logits=self.logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def __call__(self, input_values=None, attention_mask=None, decoder_input_ids=None, labels=None, return_dict=True,
                 **kwargs):  # fmt: skip
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        encoded = self.speecht5(input_values, attention_mask, decoder_input_ids, **kwargs)
        logits = self.logits(encoded.last_hidden_state)
        return out.finish(out.from_encoded(out.Seq2SeqLMOutput, encoded, logits=logits), return_dict)


class FlaxSpeechT5TextDecoderPostnet(nn.Module):
    config: SpeechT5Config

    @nn.compact
    def __call__(self, hidden):
        return _dense(self.config, self.config.vocab_size, "lm_head", use_bias=False)(hidden)


class FlaxSpeechT5ForTextToSpeechModule(nn.Module):
    config: SpeechT5Config
    dtype: Any = jnp.float32

    def setup(self):
        self.speecht5 = FlaxSpeechT5Module(self.config, self.dtype, "text", "speech")
        self.speech_decoder_postnet = FlaxSpeechT5SpeechDecoderPostnet(self.config)

    def encode(self, input_ids, attention_mask=None):
        return self.speecht5.encoder(input_ids, attention_mask).last_hidden_state

    def step(self, frame, position, speaker_embeddings, encoded, encoder_mask, past_key_values,
             output_attentions=False):  # fmt: skip
        """One generation step on the last frame alone (at `position`): the pre-net works frame by frame, so this
        is transformers' pass over every frame without recomputing the earlier ones."""
        decoded = self.speecht5.decoder(frame, None, encoded, encoder_mask, past_key_values, True, output_attentions,
                                        False, speaker_embeddings, position)  # fmt: skip
        last = decoded.last_hidden_state[:, 0]
        postnet = self.speech_decoder_postnet
        cross = jnp.concatenate(decoded.cross_attentions, axis=0) if output_attentions else None
        return postnet.feat_out(last), postnet.prob_out(last), decoded.past_key_values, cross

    def postnet(self, spectrogram):
        return self.speech_decoder_postnet.postnet(spectrogram)

    def __call__(self, input_ids=None, attention_mask=None, decoder_input_values=None, speaker_embeddings=None,
                 labels=None, stop_labels=None, deterministic=True, return_dict=True, **kwargs):  # fmt: skip
        if labels is not None or stop_labels is not None:
            raise NotImplementedError(
                "FlaxSpeechT5ForTextToSpeech: the training loss (labels / stop_labels) is not implemented by autoload "
                "(backends/flax/models/speecht5.py); compute a loss from the returned spectrogram instead."
            )
        encoded = self.speecht5(input_ids, attention_mask, decoder_input_values, speaker_embeddings=speaker_embeddings,
                                deterministic=deterministic, **kwargs)  # fmt: skip
        _, spectrogram, _ = self.speech_decoder_postnet(encoded.last_hidden_state, deterministic)
        return out.finish(out.from_encoded(out.Seq2SeqSpectrogramOutput, encoded, spectrogram=spectrogram),
                          return_dict)  # fmt: skip


# -- model wrappers -----------------------------------------------------------------------------------------------
class FlaxSpeechT5PreTrainedModel(FlaxPreTrainedModel):
    config_class = SpeechT5Config
    base_model_prefix = "speecht5"
    main_input_name = "input_values"

    def __init__(self, config: SpeechT5Config, *args, **kwargs):
        config.check_sizes()
        super().__init__(config, *args, **kwargs)

    def variables(self, params=None) -> dict:
        params = self.params if params is None else params
        return params if "batch_stats" in params else {"params": params}


class FlaxSpeechT5Model(FlaxSpeechT5PreTrainedModel):
    module_class = FlaxSpeechT5Module

    def dummy_inputs(self) -> dict:
        d = self.config.hidden_size
        return {"input_values": jnp.zeros((1, 2, d)), "decoder_input_values": jnp.zeros((1, 1, d))}


class FlaxSpeechT5ForSpeechToText(FlaxGenerationMixin, FlaxSpeechT5PreTrainedModel):
    module_class = FlaxSpeechT5ForSpeechToTextModule
    # a tied head has no lm_head parameter: the decoder's embed_tokens serves
    _keys_to_ignore_on_load_unexpected = [r"^text_decoder_postnet\.lm_head\.weight$"]

    def dummy_inputs(self) -> dict:
        return {"input_values": jnp.zeros((1, self.config.samples_for_frames(2))),
                "decoder_input_ids": jnp.full((1, 1), self.config.decoder_start_token_id, dtype="i4")}  # fmt: skip

    def encode(self, input_values=None, attention_mask=None, **kwargs):
        mask = None if attention_mask is None else jnp.asarray(attention_mask)
        return self.module.apply(self.variables(), jnp.asarray(input_values), mask,
                                 method=FlaxSpeechT5ForSpeechToTextModule.encode)  # fmt: skip

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        mask = None if attention_mask is None else jnp.asarray(attention_mask)
        return self.module.apply(self.variables(), jnp.asarray(decoder_input_ids), encoder_outputs.last_hidden_state,
                                 mask, past_key_values, method=FlaxSpeechT5ForSpeechToTextModule.decode)  # fmt: skip


def _fresh_key():
    return jax.random.PRNGKey(int(np.random.randint(0, 2**31 - 1)))


class FlaxSpeechT5ForTextToSpeech(FlaxSpeechT5PreTrainedModel):
    """`rng` (forward, generate, generate_speech): the jax.random key the pre-net's dropout masks are drawn
    from (a fresh one from numpy's global generator when None); see the module docstring."""

    module_class = FlaxSpeechT5ForTextToSpeechModule
    main_input_name = "input_ids"

    @classmethod
    def can_generate(cls) -> bool:
        return True

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"input_ids": jnp.full((1, 2), c.eos_token_id, dtype="i4"),
                "decoder_input_values": jnp.zeros((1, 1, c.num_mel_bins)),
                "speaker_embeddings": jnp.ones((1, c.speaker_embedding_dim))}  # fmt: skip

    def __call__(self, *args, rng=None, dropout_rng=None, **kwargs):
        if dropout_rng is None:
            dropout_rng = rng if rng is not None else _fresh_key()
        return super().__call__(*args, dropout_rng=dropout_rng, **kwargs)

    def generate(self, input_ids, attention_mask=None, speaker_embeddings=None, threshold: float = 0.5,
                 minlenratio: float = 0.0, maxlenratio: float = 20.0, vocoder=None, output_cross_attentions=False,
                 return_output_lengths=False, rng=None, **kwargs):  # fmt: skip
        """transformers' generate_speech (autoload/generation/speecht5.py); `rng` fixes the pre-net's masks."""
        from autoload.generation.speecht5 import generate_speech

        return generate_speech(FlaxSpeechSteps(self, rng), input_ids, attention_mask, speaker_embeddings, threshold,
                               minlenratio, maxlenratio, vocoder, output_cross_attentions, return_output_lengths)  # fmt: skip

    def generate_speech(self, input_ids, speaker_embeddings=None, attention_mask=None, threshold: float = 0.5,
                        minlenratio: float = 0.0, maxlenratio: float = 20.0, vocoder=None,
                        output_cross_attentions=False, return_output_lengths=False, rng=None):  # fmt: skip
        return self.generate(input_ids, attention_mask, speaker_embeddings, threshold, minlenratio, maxlenratio,
                             vocoder, output_cross_attentions, return_output_lengths, rng)  # fmt: skip


def _room_for_one_more(past):
    """The cache as StaticCaches with room for the next step (capacity a multiple of CACHE_BUCKET)."""
    keys = past[0][0]
    length = keys.shape[1]
    if isinstance(keys, StaticCache) and keys.capacity > length:
        return past
    if isinstance(keys, StaticCache):
        past = tuple(tuple(t.buffer[:, :length] for t in layer[:2]) + tuple(layer[2:]) for layer in past)
    return to_static(past, -(-(length + 1) // CACHE_BUCKET) * CACHE_BUCKET)


class FlaxSpeechSteps:
    """What the shared spectrogram loop asks of Flax (see autoload/generation/speecht5.py)."""

    def __init__(self, model: FlaxSpeechT5ForTextToSpeech, rng=None):
        self.model = model
        self.rng = rng if rng is not None else _fresh_key()

    @staticmethod
    def tensor(value):
        return jnp.asarray(value)

    @staticmethod
    def numpy(value):
        return np.asarray(value)

    def _apply(self, method, *args, **kwargs):
        return self.model.module.apply(self.model.variables(), *args, method=method, **kwargs)

    def encode(self, input_ids, attention_mask):
        return self._apply(FlaxSpeechT5ForTextToSpeechModule.encode, input_ids, attention_mask)

    def step(self, frames, speaker_embeddings, encoded, encoder_mask, past, output_attentions):
        """The last frame alone, with the self-attention cache in a StaticCache, so steps keep their shapes and
        reuse what JAX compiled for the step before."""
        self.rng, key = jax.random.split(self.rng)
        spectrum, stop, past, cross = self._apply(
            FlaxSpeechT5ForTextToSpeechModule.step, frames[:, -1:], frames.shape[1] - 1, speaker_embeddings, encoded,
            encoder_mask, past, output_attentions, rngs={"dropout": key})  # fmt: skip
        return spectrum, stop, _room_for_one_more(past), cross

    def postnet(self, spectrogram):
        return self._apply(FlaxSpeechT5ForTextToSpeechModule.postnet, spectrogram)

    def finish(self):
        pass
