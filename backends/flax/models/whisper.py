"""Whisper in Flax, with transformers' Flax parameter tree: conv front end over log-mel features and a
pre-norm encoder-decoder (BART's attention module, without key biases)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.generation.whisper import model_decoder_prompt
from autoload.models.whisper import WhisperConfig

from ..activations import get_activation
from ..attention import causal_bias, key_width
from ..generation import FlaxGenerationMixin
from .bart import FlaxLayerList, FlaxSeq2SeqAttention, FlaxSeq2SeqModel


class FlaxWhisperLayer(nn.Module):
    config: WhisperConfig
    decoder: bool = False

    @nn.compact
    def __call__(self, hidden, bias=None, encoder_hidden=None, past=None):
        c = self.config
        heads = c.decoder_attention_heads if self.decoder else c.encoder_attention_heads
        ffn = c.decoder_ffn_dim if self.decoder else c.encoder_ffn_dim
        x = nn.LayerNorm(epsilon=1e-5, name="self_attn_layer_norm")(hidden)
        attended, cache = FlaxSeq2SeqAttention(c.d_model, heads, key_bias=False, name="self_attn")(
            x, bias, past=past[:2] if past else None
        )
        hidden = hidden + attended
        if encoder_hidden is not None:
            x = nn.LayerNorm(epsilon=1e-5, name="encoder_attn_layer_norm")(hidden)
            attended, cross = FlaxSeq2SeqAttention(c.d_model, heads, key_bias=False, name="encoder_attn")(
                x, None, encoder_hidden, past[2:] if past else None
            )
            hidden, cache = hidden + attended, cache + cross
        x = nn.LayerNorm(epsilon=1e-5, name="final_layer_norm")(hidden)
        x = nn.Dense(c.d_model, name="fc2")(get_activation(c.activation_function)(nn.Dense(ffn, name="fc1")(x)))
        return hidden + x, cache


class FlaxWhisperDecoderLayer(FlaxWhisperLayer):
    decoder: bool = True


class FlaxWhisperEncoder(nn.Module):
    config: WhisperConfig

    @nn.compact
    def __call__(self, input_features, output_hidden_states=False):
        c = self.config
        frames = c.max_source_positions * 2
        if input_features.ndim != 3 or tuple(input_features.shape[1:]) != (c.num_mel_bins, frames):
            raise ValueError(
                f"Whisper expects input_features of shape [batch, {c.num_mel_bins}, {frames}]; got "
                f"{tuple(input_features.shape)}. Use WhisperFeatureExtractor."
            )
        x = jnp.transpose(input_features, (0, 2, 1))
        x = jax.nn.gelu(nn.Conv(c.d_model, (3,), padding=[(1, 1)], name="conv1")(x), approximate=False)
        x = jax.nn.gelu(nn.Conv(c.d_model, (3,), strides=(2,), padding=[(1, 1)], name="conv2")(x), approximate=False)
        hidden = x + nn.Embed(c.max_source_positions, c.d_model, name="embed_positions")(jnp.arange(x.shape[1]))
        hidden, states, _ = FlaxLayerList(FlaxWhisperLayer, c, c.encoder_layers, name="layers")(hidden)
        hidden = nn.LayerNorm(epsilon=1e-5, name="layer_norm")(hidden)
        return out.BaseModelOutput(last_hidden_state=hidden,
                                   hidden_states=states + (hidden,) if output_hidden_states else None)  # fmt: skip


class FlaxWhisperDecoder(nn.Module):
    config: WhisperConfig

    @nn.compact
    def __call__(self, input_ids, encoder_hidden=None, attention_mask=None, past_key_values=None,
                 output_hidden_states=False):  # fmt: skip
        c = self.config
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0
        length = input_ids.shape[-1]
        if past_length + length > c.max_target_positions:
            raise ValueError(f"Decoder length {past_length + length} exceeds max_target_positions ({c.max_target_positions}).")
        embed_tokens = nn.Embed(c.vocab_size, c.d_model, name="embed_tokens")
        positions = nn.Embed(c.max_target_positions, c.d_model, name="embed_positions")(
            jnp.arange(past_length, past_length + length)
        )
        hidden = embed_tokens(input_ids.astype("i4")) + positions
        keys = key_width(past_key_values, past_length + length)
        bias = causal_bias(length, past_length, attention_mask, hidden.dtype, keys=keys)
        hidden, states, caches = FlaxLayerList(FlaxWhisperDecoderLayer, c, c.decoder_layers, name="layers")(
            hidden, bias, encoder_hidden, past_key_values=past_key_values
        )
        hidden = nn.LayerNorm(epsilon=1e-5, name="layer_norm")(hidden)
        decoded = out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches,
            hidden_states=states + (hidden,) if output_hidden_states else None,
        )  # fmt: skip
        return decoded, embed_tokens.embedding


class FlaxWhisperModule(nn.Module):
    config: WhisperConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.encoder = FlaxWhisperEncoder(self.config)
        self.decoder = FlaxWhisperDecoder(self.config)

    def encode(self, input_features, attention_mask=None, output_hidden_states=False):
        return self.encoder(input_features, output_hidden_states)

    def decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, past_key_values=None,
               output_hidden_states=False):  # fmt: skip
        return self.decoder(decoder_input_ids, encoder_hidden, None, past_key_values, output_hidden_states)

    def __call__(self, input_features, decoder_input_ids=None, encoder_outputs=None, past_key_values=None,
                 use_cache=False, deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        if decoder_input_ids is None:
            raise ValueError("Whisper's decoder needs decoder_input_ids (start with config.decoder_start_token_id).")
        encoded = encoder_outputs or self.encode(input_features, None, output_hidden_states)
        decoded, _ = self.decode(decoder_input_ids, encoded.last_hidden_state, None, past_key_values, output_hidden_states)
        result = out.Seq2SeqModelOutput(
            last_hidden_state=decoded.last_hidden_state, past_key_values=decoded.past_key_values if use_cache else None,
            decoder_hidden_states=decoded.hidden_states, encoder_last_hidden_state=encoded.last_hidden_state,
            encoder_hidden_states=encoded.hidden_states,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxWhisperForConditionalGenerationModule(nn.Module):
    config: WhisperConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.model = FlaxWhisperModule(self.config)

    def encode(self, input_features, attention_mask=None):
        return self.model.encode(input_features)

    def decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, past_key_values=None):
        decoded, embedding = self.model.decode(decoder_input_ids, encoder_hidden, None, past_key_values)
        return out.Seq2SeqLMOutput(logits=decoded.last_hidden_state @ embedding.T, past_key_values=decoded.past_key_values)

    def __call__(self, input_features, decoder_input_ids=None, return_dict=True, output_hidden_states=False, **kwargs):
        if decoder_input_ids is None:
            raise ValueError("WhisperForConditionalGeneration needs decoder_input_ids (start with "
                             "config.decoder_start_token_id); generate() supplies them.")  # fmt: skip
        encoded = self.model.encode(input_features, None, output_hidden_states)
        decoded, embedding = self.model.decode(decoder_input_ids, encoded.last_hidden_state, None,
                                               kwargs.get("past_key_values"), output_hidden_states)  # fmt: skip
        result = out.Seq2SeqLMOutput(
            logits=decoded.last_hidden_state @ embedding.T, decoder_hidden_states=decoded.hidden_states,
            encoder_last_hidden_state=encoded.last_hidden_state, encoder_hidden_states=encoded.hidden_states,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxWhisperCausalWrapper(nn.Module):
    """The decoder under `model/decoder`, as the PyTorch causal LM names it."""

    config: WhisperConfig

    @nn.compact
    def __call__(self, input_ids, attention_mask, past_key_values, output_hidden_states):
        return FlaxWhisperDecoder(self.config, name="decoder")(input_ids, None, attention_mask, past_key_values,
                                                                output_hidden_states)  # fmt: skip


class FlaxWhisperForCausalLMModule(nn.Module):
    config: WhisperConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, past_key_values=None, use_cache=False, deterministic=True,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        decoded, embedding = FlaxWhisperCausalWrapper(self.config, name="model")(
            input_ids, attention_mask, past_key_values, output_hidden_states
        )
        result = out.CausalLMOutputWithCrossAttentions(
            logits=decoded.last_hidden_state @ embedding.T,
            past_key_values=decoded.past_key_values if use_cache else None, hidden_states=decoded.hidden_states,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxWhisperForAudioClassificationModule(nn.Module):
    config: WhisperConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_features, deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):
        c = self.config
        encoded = FlaxWhisperEncoder(c, name="encoder")(input_features, output_hidden_states or c.use_weighted_layer_sum)
        if c.use_weighted_layer_sum:
            count = c.encoder_layers + 1
            weights = jax.nn.softmax(self.param("layer_weights", nn.initializers.constant(1 / count), (count,)))
            hidden = (jnp.stack(encoded.hidden_states, axis=1) * weights[None, :, None, None]).sum(axis=1)
        else:
            hidden = encoded.last_hidden_state
        pooled = nn.Dense(c.classifier_proj_size, name="projector")(hidden).mean(axis=1)
        result = out.SequenceClassifierOutput(logits=nn.Dense(c.num_labels, name="classifier")(pooled),
                                              hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxWhisperPreTrainedModel(FlaxSeq2SeqModel):
    config_class = WhisperConfig
    base_model_prefix = "model"
    main_input_name = "input_features"

    def dummy_inputs(self) -> dict:
        c = self.config
        features = jnp.zeros((1, c.num_mel_bins, 2 * c.max_source_positions), jnp.float32)
        ids = jnp.zeros((1, 1), "i4")
        if self.module_class is FlaxWhisperForAudioClassificationModule:
            return {"input_features": features}
        if self.module_class is FlaxWhisperForCausalLMModule:
            return {"input_ids": ids}
        return {"input_features": features, "decoder_input_ids": ids}


def _model(name, module_class, *mixins, **attrs):
    namespace = {"module_class": module_class, "__module__": __name__, **attrs}
    return type(name, (*mixins, FlaxWhisperPreTrainedModel), namespace)


FlaxWhisperModel = _model("FlaxWhisperModel", FlaxWhisperModule)
FlaxWhisperForAudioClassification = _model("FlaxWhisperForAudioClassification", FlaxWhisperForAudioClassificationModule)
FlaxWhisperForCausalLM = _model("FlaxWhisperForCausalLM", FlaxWhisperForCausalLMModule, FlaxGenerationMixin,
                                main_input_name="input_ids")  # fmt: skip


class FlaxWhisperForConditionalGeneration(FlaxGenerationMixin, FlaxWhisperPreTrainedModel):
    module_class = FlaxWhisperForConditionalGenerationModule

    def encode(self, input_features=None, attention_mask=None, **kwargs):
        return self.module.apply({"params": self.params}, jnp.asarray(input_features),
                                 method=FlaxWhisperForConditionalGenerationModule.encode)  # fmt: skip

    def generate(self, input_features=None, language=None, task=None, return_timestamps=None, **kwargs):
        """Like transformers' Whisper: the returned tokens exclude the decoder prompt (start, language, task)."""
        features = np.asarray(input_features)

        def first_logits(tokens):
            return np.asarray(self(input_features=features, decoder_input_ids=tokens).logits[:, -1])

        prompt = model_decoder_prompt(self, features.shape[0], kwargs, language=language, task=task,
                                      return_timestamps=return_timestamps, first_logits=first_logits)  # fmt: skip
        return super().generate(input_features=features, decoder_input_ids=prompt, **kwargs)[:, prompt.shape[1] :]
