"""Whisper in TensorFlow (Keras 3): conv front end over log-mel features, pre-norm encoder-decoder."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.generation.whisper import model_decoder_prompt
from autoload.models.whisper import WhisperConfig

from ..activations import get_activation
from ..attention import causal_bias
from ..generation import TFGenerationMixin
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init
from .bart import TFSeq2SeqAttention, _fields, _norm


class TFWhisperLayer(Layer):
    def __init__(self, config: WhisperConfig, decoder: bool = False, **kwargs):
        super().__init__(**kwargs)
        d = config.d_model
        heads = config.decoder_attention_heads if decoder else config.encoder_attention_heads
        ffn = config.decoder_ffn_dim if decoder else config.encoder_ffn_dim
        self.self_attn = TFSeq2SeqAttention(config, d, heads, key_bias=False, name="self_attn")
        self.self_attn_layer_norm = _norm("self_attn_layer_norm")
        if decoder:
            self.encoder_attn = TFSeq2SeqAttention(config, d, heads, key_bias=False, name="encoder_attn")
            self.encoder_attn_layer_norm = _norm("encoder_attn_layer_norm")
        self.fc1, self.fc2 = dense(config, ffn, "fc1"), dense(config, d, "fc2")
        self.final_layer_norm = _norm("final_layer_norm")
        self.act = get_activation(config.activation_function)

    def call(self, hidden, bias=None, encoder_hidden=None, past=None):
        attended, cache = self.self_attn(self.self_attn_layer_norm(hidden), bias=bias, past=past[:2] if past else None)
        hidden = hidden + attended
        if encoder_hidden is not None:
            attended, cross = self.encoder_attn(self.encoder_attn_layer_norm(hidden), key_value_states=encoder_hidden,
                                                past=past[2:] if past else None)  # fmt: skip
            hidden, cache = hidden + attended, cache + cross
        return hidden + self.fc2(self.act(self.fc1(self.final_layer_norm(hidden)))), cache


class TFWhisperEncoder(Layer):
    def __init__(self, config: WhisperConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.conv1 = keras.layers.Conv1D(config.d_model, 3, padding="same", name="conv1")
        self.conv2 = keras.layers.Conv1D(config.d_model, 3, strides=2, padding="valid", name="conv2")
        self.embed_positions = NamedWeight((config.max_source_positions, config.d_model), "weight", "zeros",
                                           name="embed_positions")  # fmt: skip
        self.layers = [TFWhisperLayer(config, name=f"layers_._{i}") for i in range(config.encoder_layers)]
        self.layer_norm = _norm("layer_norm")

    def call(self, input_features, output_hidden_states=False):
        c = self.config
        frames = c.max_source_positions * 2
        if len(input_features.shape) != 3 or tuple(input_features.shape[1:]) != (c.num_mel_bins, frames):
            raise ValueError(f"Whisper expects input_features of shape [batch, {c.num_mel_bins}, {frames}]; got "
                             f"{tuple(input_features.shape)}. Use WhisperFeatureExtractor.")  # fmt: skip
        x = tf.nn.gelu(self.conv1(tf.transpose(input_features, (0, 2, 1))), approximate=False)
        x = tf.nn.gelu(self.conv2(tf.pad(x, [[0, 0], [1, 1], [0, 0]])), approximate=False)
        hidden = x + self.embed_positions(tf.range(tf.shape(x)[1]))
        states = ()
        for layer in self.layers:
            states += (hidden,)
            hidden, _ = layer(hidden)
        hidden = self.layer_norm(hidden)
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states + (hidden,) if output_hidden_states else None)


class TFWhisperDecoder(Layer):
    def __init__(self, config: WhisperConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embed_tokens = NamedWeight((config.vocab_size, config.d_model), "embeddings", weights_init(config),
                                        name="embed_tokens")  # fmt: skip
        self.embed_positions = NamedWeight((config.max_target_positions, config.d_model), "weight", weights_init(config),
                                           name="embed_positions")  # fmt: skip
        self.layers = [TFWhisperLayer(config, decoder=True, name=f"layers_._{i}") for i in range(config.decoder_layers)]
        self.layer_norm = _norm("layer_norm")

    def call(self, input_ids, encoder_hidden=None, attention_mask=None, past_key_values=None, output_hidden_states=False):
        c = self.config
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        length = input_ids.shape[-1]
        if length is not None and past_length + length > c.max_target_positions:
            raise ValueError(f"Decoder length {past_length + length} exceeds max_target_positions ({c.max_target_positions}).")
        positions = self.embed_positions(tf.range(past_length, past_length + tf.shape(input_ids)[-1]))
        hidden = self.embed_tokens(input_ids) + positions
        bias = causal_bias(tf.shape(input_ids)[-1], past_length, attention_mask, hidden.dtype)
        states, caches = (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            hidden, cache = layer(hidden, bias=bias, encoder_hidden=encoder_hidden,
                                  past=past_key_values[i] if past_key_values else None)  # fmt: skip
            caches += (cache,)
        hidden = self.layer_norm(hidden)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches,
            hidden_states=states + (hidden,) if output_hidden_states else None,
        )  # fmt: skip


class TFWhisperMainLayer(Layer):
    def __init__(self, config: WhisperConfig, **kwargs):
        super().__init__(**kwargs)
        self.encoder = TFWhisperEncoder(config, name="encoder")
        self.decoder = TFWhisperDecoder(config, name="decoder")

    def call(self, input_features=None, decoder_input_ids=None, encoder_outputs=None, past_key_values=None,
             use_cache=False, output_hidden_states=False):  # fmt: skip
        if decoder_input_ids is None:
            raise ValueError("Whisper's decoder needs decoder_input_ids (start with config.decoder_start_token_id).")
        encoded = encoder_outputs or self.encoder(input_features, output_hidden_states=output_hidden_states)
        decoded = self.decoder(decoder_input_ids, encoder_hidden=encoded.last_hidden_state,
                               past_key_values=past_key_values, output_hidden_states=output_hidden_states)  # fmt: skip
        return out.Seq2SeqModelOutput(
            last_hidden_state=decoded.last_hidden_state, past_key_values=decoded.past_key_values if use_cache else None,
            decoder_hidden_states=decoded.hidden_states, encoder_last_hidden_state=encoded.last_hidden_state,
            encoder_hidden_states=encoded.hidden_states,
        )  # fmt: skip


class TFWhisperPreTrainedModel(TFPreTrainedModel):
    config_class = WhisperConfig
    base_model_prefix = "model"
    main_input_name = "input_features"

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"input_features": np.zeros((1, c.num_mel_bins, 2 * c.max_source_positions), np.float32),
                "decoder_input_ids": np.zeros((1, 1), np.int32)}  # fmt: skip


class TFWhisperModel(TFWhisperPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = TFWhisperMainLayer(config, name="model")

    def call(self, input_features=None, decoder_input_ids=None, training=False, return_dict=True, **kwargs):
        keys = ("encoder_outputs", "past_key_values", "use_cache", "output_hidden_states")
        result = self.model(input_features, decoder_input_ids=decoder_input_ids, **{k: kwargs.get(k) for k in keys})
        return out.finish(result, return_dict)


class TFWhisperForConditionalGeneration(TFGenerationMixin, TFWhisperModel):
    is_base_model = False

    def _logits(self, hidden):
        return tf.matmul(hidden, self.model.decoder.embed_tokens.weight, transpose_b=True)

    def encode(self, input_features=None, **kwargs):
        return self.model.encoder(tf.convert_to_tensor(input_features))

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        decoded = self.model.decoder(tf.convert_to_tensor(decoder_input_ids), encoder_hidden=encoder_outputs.last_hidden_state,
                                     past_key_values=past_key_values)  # fmt: skip
        return out.Seq2SeqLMOutput(logits=self._logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def call(self, input_features=None, decoder_input_ids=None, training=False, return_dict=True, **kwargs):
        result = TFWhisperModel.call(self, input_features, decoder_input_ids, return_dict=True, **kwargs)
        return out.finish(out.Seq2SeqLMOutput(logits=self._logits(result.last_hidden_state), **_fields(result)),
                            return_dict)  # fmt: skip

    def generate(self, input_features=None, language=None, task=None, return_timestamps=None, **kwargs):
        """Like transformers' Whisper: the returned tokens exclude the decoder prompt (start, language, task)."""
        features = np.asarray(input_features)

        def first_logits(tokens):
            return self.decode(tokens, self.encode(features)).logits[:, -1].numpy()

        prompt = model_decoder_prompt(self, features.shape[0], kwargs, language=language, task=task,
                                      return_timestamps=return_timestamps, first_logits=first_logits)  # fmt: skip
        return super().generate(input_features=features, decoder_input_ids=prompt, **kwargs)[:, prompt.shape[1] :]


class TFWhisperDecoderWrapper(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.decoder = TFWhisperDecoder(config, name="decoder")


class TFWhisperForCausalLM(TFGenerationMixin, TFWhisperPreTrainedModel):
    main_input_name = "input_ids"

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = TFWhisperDecoderWrapper(config, name="model")

    def dummy_inputs(self) -> dict:
        return {"input_ids": np.zeros((1, 1), np.int32)}

    def call(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=False, training=False,
                return_dict=True, output_hidden_states=False, **kwargs):  # fmt: skip
        decoded = self.model.decoder(input_ids, attention_mask=attention_mask, past_key_values=past_key_values,
                                     output_hidden_states=output_hidden_states)  # fmt: skip
        logits = tf.matmul(decoded.last_hidden_state, self.model.decoder.embed_tokens.weight, transpose_b=True)
        return out.finish(out.CausalLMOutputWithCrossAttentions(
            logits=logits, past_key_values=decoded.past_key_values if use_cache else None,
            hidden_states=decoded.hidden_states), return_dict)  # fmt: skip


class TFWhisperForAudioClassification(TFWhisperPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.encoder = TFWhisperEncoder(config, name="encoder")
        self.projector = dense(config, config.classifier_proj_size, "projector")
        self.classifier = dense(config, config.num_labels, "classifier")
        if config.use_weighted_layer_sum:
            count = config.encoder_layers + 1
            self.layer_weights = self.add_weight(name="layer_weights", shape=(count,),
                                                 initializer=keras.initializers.Constant(1 / count))  # fmt: skip

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"input_features": np.zeros((1, c.num_mel_bins, 2 * c.max_source_positions), np.float32)}

    def call(self, input_features=None, training=False, return_dict=True, output_hidden_states=False, **kwargs):
        c = self.config
        encoded = self.encoder(input_features, output_hidden_states=output_hidden_states or c.use_weighted_layer_sum)
        if c.use_weighted_layer_sum:
            weights = tf.nn.softmax(self.layer_weights)
            hidden = tf.reduce_sum(tf.stack(encoded.hidden_states, axis=1) * weights[None, :, None, None], axis=1)
        else:
            hidden = encoded.last_hidden_state
        logits = self.classifier(tf.reduce_mean(self.projector(hidden), axis=1))
        return out.finish(out.SequenceClassifierOutput(
            logits=logits, hidden_states=encoded.hidden_states if output_hidden_states else None), return_dict)  # fmt: skip
