"""Whisper in Flax, with transformers' Flax parameter tree: a convolution front end over log-mel features, then
the block library's pre-norm encoder-decoder (no key bias, final layer norms, learned decoder positions)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.generation import decoder_mask_inputs
from autoload.generation.whisper import outputs_as, transcribe
from autoload.models.whisper import WhisperConfig

from ..blocks.seq2seq import (
    FlaxLayerList,
    FlaxSeq2SeqForCausalLM,
    FlaxSeq2SeqForCausalLMModule,
    FlaxSeq2SeqModule,
    FlaxSeq2SeqPreTrainedModel,
    _dense,
    _layer_norm,
    check_length,
    encoder_output,
    finish_stack,
)
from ..generation import FlaxGenerationMixin


class FlaxWhisperEncoder(nn.Module):
    config: WhisperConfig
    decoder: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_features, attention_mask=None, inputs_embeds=None, encoder_hidden=None,
                 encoder_attention_mask=None, past_key_values=None, shared=None, use_cache=False,
                 output_attentions=False, output_hidden_states=False, deterministic=True):  # fmt: skip
        c = self.config
        frames = c.max_source_positions * 2
        if input_features is None or input_features.ndim != 3 or tuple(input_features.shape[1:]) != (c.num_mel_bins, frames):
            shape = None if input_features is None else tuple(input_features.shape)
            raise ValueError(f"Whisper expects input_features of shape [batch, {c.num_mel_bins}, {frames}]; got "
                             f"{shape}. Use WhisperFeatureExtractor.")  # fmt: skip
        x = jnp.transpose(input_features, (0, 2, 1))
        x = jax.nn.gelu(nn.Conv(c.d_model, (3,), padding=[(1, 1)], name="conv1")(x), approximate=False)
        x = jax.nn.gelu(nn.Conv(c.d_model, (3,), strides=(2,), padding=[(1, 1)], name="conv2")(x), approximate=False)
        check_length(x.shape[1], c.max_source_positions, "max_source_positions")
        hidden = x + nn.Embed(c.max_source_positions, c.d_model, name="embed_positions")(jnp.arange(x.shape[1]))
        hidden = nn.Dropout(c.dropout)(hidden, deterministic=deterministic)
        results = FlaxLayerList(c, False, self.dtype, name="layers")(
            hidden, None, output_attentions=output_attentions, deterministic=deterministic
        )
        return finish_stack(*results, _layer_norm("layer_norm", self.dtype), False, output_attentions,
                            output_hidden_states, False)  # fmt: skip


class FlaxWhisperModule(FlaxSeq2SeqModule):
    encoder_class: Any = FlaxWhisperEncoder

    def shares_embeddings(self) -> bool:
        return False

    def __call__(self, input_features=None, decoder_input_ids=None, decoder_attention_mask=None,
                 encoder_outputs=None, past_key_values=None, decoder_inputs_embeds=None, **kwargs):  # fmt: skip
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            raise ValueError("Whisper's decoder needs decoder_input_ids (start with config.decoder_start_token_id).")
        if encoder_outputs is None and input_features is None:
            raise ValueError("Whisper needs input_features (or encoder_outputs).")
        kwargs.pop("attention_mask", None)  # Whisper does not mask input features
        return super().__call__(input_features, None, decoder_input_ids, decoder_attention_mask, encoder_outputs,
                                past_key_values, None, decoder_inputs_embeds, **kwargs)  # fmt: skip


class FlaxWhisperForConditionalGenerationModule(nn.Module):
    config: WhisperConfig
    dtype: Any = jnp.float32

    def setup(self):
        self.model = FlaxWhisperModule(self.config, dtype=self.dtype)
        if not self.config.tie_word_embeddings:
            self.proj_out = _dense(self.config, self.config.vocab_size, None, use_bias=False, dtype=self.dtype)

    def logits(self, hidden):
        if self.config.tie_word_embeddings:
            return hidden @ self.model.decoder_embedding().T
        return self.proj_out(hidden)

    def encode(self, input_features, attention_mask=None):
        return self.model.encode(input_features)

    def decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, past_key_values=None,
               decoder_attention_mask=None, decoder_position_ids=None):  # fmt: skip
        decoded = self.model.decode(decoder_input_ids, encoder_hidden, None, decoder_attention_mask, past_key_values,
                                    decoder_position_ids=decoder_position_ids)  # fmt: skip
        return out.Seq2SeqLMOutput(logits=self.logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def __call__(self, input_features=None, decoder_input_ids=None, return_dict=True, **kwargs):
        encoded = self.model(input_features, decoder_input_ids, **kwargs)
        return out.finish(out.from_encoded(out.Seq2SeqLMOutput, encoded, logits=self.logits(encoded.last_hidden_state)),
                          return_dict)  # fmt: skip


class FlaxWhisperForCausalLMModule(FlaxSeq2SeqForCausalLMModule):
    lm_head_name: str = "proj_out"

    def __call__(self, input_ids=None, attention_mask=None, encoder_outputs=None, **kwargs):
        encoder_hidden = encoder_outputs[0] if encoder_outputs is not None else None
        return super().__call__(input_ids, attention_mask, encoder_hidden, **kwargs)


class FlaxWhisperForAudioClassificationModule(nn.Module):
    config: WhisperConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_features, output_attentions=False, output_hidden_states=False, deterministic=True,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        weighted = c.use_weighted_layer_sum
        encoded = FlaxWhisperEncoder(c, name="encoder")(input_features, output_attentions=output_attentions,
                                                        output_hidden_states=output_hidden_states or weighted,
                                                        deterministic=deterministic)  # fmt: skip
        if weighted:
            count = c.encoder_layers + 1
            weights = jax.nn.softmax(self.param("layer_weights", nn.initializers.constant(1 / count), (count,)))
            hidden = (jnp.stack(encoded.hidden_states, axis=1) * weights[None, :, None, None]).sum(axis=1)
        else:
            hidden = encoded.last_hidden_state
        pooled = nn.Dense(c.classifier_proj_size, name="projector")(hidden).mean(axis=1)
        logits = nn.Dense(c.num_labels, name="classifier")(pooled)
        return out.finish(out.from_encoded(out.SequenceClassifierOutput, encoder_output(encoded), logits=logits),
                          return_dict)  # fmt: skip


class FlaxWhisperPreTrainedModel(FlaxSeq2SeqPreTrainedModel):
    config_class = WhisperConfig
    main_input_name = "input_features"
    _keys_to_ignore_on_load_unexpected = [r"^proj_out\.weight$"]  # the decoder embedding when tied

    def dummy_inputs(self) -> dict:
        c = self.config
        features = jnp.zeros((1, c.num_mel_bins, 2 * c.max_source_positions), jnp.float32)
        return {"input_features": features, "decoder_input_ids": jnp.zeros((1, 1), "i4")}

    def encode(self, input_features=None, attention_mask=None, **kwargs):  # (features are not masked)
        return super().encode(input_features)


class FlaxWhisperModel(FlaxWhisperPreTrainedModel):
    module_class = FlaxWhisperModule


class FlaxWhisperForConditionalGeneration(FlaxGenerationMixin, FlaxWhisperPreTrainedModel):
    decoder_positions_from_mask = True  # generate() counts a left-padded decoder prompt's positions from its mask
    module_class = FlaxWhisperForConditionalGenerationModule

    def generate(self, input_features=None, language=None, task=None, return_timestamps=None, **kwargs):
        """Like transformers' Whisper: the transcript tokens of each example without the decoder prompt (start,
        language, task) or end token, with timestamp tokens when return_timestamps; with return_segments=True,
        {"sequences": those, "segments": each example's segments} (autoload.generation.whisper.transcribe)."""
        features = np.asarray(input_features)

        def first_logits(window, tokens, mask=None):
            logits = self(input_features=window, decoder_input_ids=tokens, **decoder_mask_inputs(mask)).logits
            return np.asarray(logits[:, -1])

        def run(segment, prompt, config, options):
            return np.asarray(FlaxGenerationMixin.generate(self, input_features=segment, decoder_input_ids=prompt,
                                                           generation_config=config, **options))  # fmt: skip

        def alignment_weights(window, tokens, heads, mask=None):
            attentions = self(input_features=window, decoder_input_ids=tokens, output_attentions=True,
                              **decoder_mask_inputs(mask)).cross_attentions  # fmt: skip
            return np.stack([np.asarray(attentions[layer][:, head], np.float32) for layer, head in heads], 1)

        result = transcribe(self, features, kwargs, language=language, task=task,
                            return_timestamps=return_timestamps, first_logits=first_logits, generate=run,
                            alignment_weights=alignment_weights)  # fmt: skip
        # segment times stay numpy float64: JAX keeps 32-bit floats unless jax_enable_x64 is set
        return outputs_as(result, lambda array: array if array.dtype == np.float64 else jnp.asarray(array))


class FlaxWhisperForCausalLM(FlaxGenerationMixin, FlaxSeq2SeqForCausalLM, FlaxWhisperPreTrainedModel):
    module_class = FlaxWhisperForCausalLMModule
    main_input_name = "input_ids"
    marks_decoder = False

    def dummy_inputs(self) -> dict:
        return {"input_ids": jnp.zeros((1, 1), "i4")}


class FlaxWhisperForAudioClassification(FlaxWhisperPreTrainedModel):
    module_class = FlaxWhisperForAudioClassificationModule

    def dummy_inputs(self) -> dict:
        return {"input_features": super().dummy_inputs()["input_features"]}
