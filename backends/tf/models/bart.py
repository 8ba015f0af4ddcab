"""BART in TensorFlow (Keras 3): post-norm encoder-decoder with learned positions (offset 2). Its attention
(q/k/v/out projections with a key/value cache) also serves Whisper."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.bart import BartConfig

from ..activations import get_activation
from ..attention import attend, causal_bias, extend_cache, merge_heads, split_heads
from ..generation import TFGenerationMixin
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


def padding_bias(attention_mask, dtype):
    if attention_mask is None:
        return None
    return (1.0 - tf.cast(attention_mask[:, None, None, :], dtype)) * dtype.min


class TFSeq2SeqAttention(Layer):
    """Self- or cross-attention; a cached cross-attention (key, value) is reused as is."""

    def __init__(self, config, embed_dim: int, num_heads: int, key_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.q_proj, self.v_proj = dense(config, embed_dim, "q_proj"), dense(config, embed_dim, "v_proj")
        self.k_proj = dense(config, embed_dim, "k_proj", use_bias=key_bias)
        self.out_proj = dense(config, embed_dim, "out_proj")

    def call(self, hidden, bias=None, key_value_states=None, past=None):
        q = split_heads(self.q_proj(hidden), self.num_heads, self.head_dim)
        if key_value_states is not None and past is not None:
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = extend_cache(past, split_heads(self.k_proj(source), self.num_heads, self.head_dim),
                                split_heads(self.v_proj(source), self.num_heads, self.head_dim))  # fmt: skip
        return self.out_proj(merge_heads(attend(q, k, v, bias, self.head_dim**-0.5))), (k, v)


def _norm(name):
    return keras.layers.LayerNormalization(epsilon=1e-5, name=name)


class TFBartEncoderLayer(Layer):
    def __init__(self, config: BartConfig, **kwargs):
        super().__init__(**kwargs)
        self.self_attn = TFSeq2SeqAttention(config, config.d_model, config.encoder_attention_heads, name="self_attn")
        self.self_attn_layer_norm = _norm("self_attn_layer_norm")
        self.fc1 = dense(config, config.encoder_ffn_dim, "fc1")
        self.fc2 = dense(config, config.d_model, "fc2")
        self.final_layer_norm = _norm("final_layer_norm")
        self.act = get_activation(config.activation_function)

    def call(self, hidden, bias=None, past=None):
        attended, _ = self.self_attn(hidden, bias=bias)
        hidden = self.self_attn_layer_norm(hidden + attended)
        return self.final_layer_norm(hidden + self.fc2(self.act(self.fc1(hidden)))), None


class TFBartDecoderLayer(Layer):
    def __init__(self, config: BartConfig, **kwargs):
        super().__init__(**kwargs)
        d, heads = config.d_model, config.decoder_attention_heads
        self.self_attn = TFSeq2SeqAttention(config, d, heads, name="self_attn")
        self.self_attn_layer_norm = _norm("self_attn_layer_norm")
        self.encoder_attn = TFSeq2SeqAttention(config, d, heads, name="encoder_attn")
        self.encoder_attn_layer_norm = _norm("encoder_attn_layer_norm")
        self.fc1 = dense(config, config.decoder_ffn_dim, "fc1")
        self.fc2 = dense(config, d, "fc2")
        self.final_layer_norm = _norm("final_layer_norm")
        self.act = get_activation(config.activation_function)

    def call(self, hidden, bias=None, encoder_hidden=None, encoder_bias=None, past=None):
        attended, cache = self.self_attn(hidden, bias=bias, past=past[:2] if past else None)
        hidden = self.self_attn_layer_norm(hidden + attended)
        if encoder_hidden is not None:
            attended, cross = self.encoder_attn(hidden, bias=encoder_bias, key_value_states=encoder_hidden,
                                                past=past[2:] if past else None)  # fmt: skip
            hidden = self.encoder_attn_layer_norm(hidden + attended)
            cache = cache + cross
        return self.final_layer_norm(hidden + self.fc2(self.act(self.fc1(hidden)))), cache


class TFBartStack(Layer):
    def __init__(self, config: BartConfig, embed_tokens: NamedWeight, is_decoder: bool, **kwargs):
        super().__init__(**kwargs)
        self.config, self.is_decoder, self.embed_tokens = config, is_decoder, embed_tokens
        self.embed_positions = NamedWeight((config.max_position_embeddings + 2, config.d_model), "embeddings",
                                           weights_init(config), name="embed_positions")  # fmt: skip
        layer_class = TFBartDecoderLayer if is_decoder else TFBartEncoderLayer
        count = config.decoder_layers if is_decoder else config.encoder_layers
        self.layers = [layer_class(config, name=f"layers_._{i}") for i in range(count)]
        self.layernorm_embedding = _norm("layernorm_embedding")

    def call(self, input_ids, attention_mask=None, encoder_hidden=None, encoder_attention_mask=None,
             past_key_values=None, output_hidden_states=False):  # fmt: skip
        c = self.config
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        length = input_ids.shape[-1]
        if length is not None and past_length + length > c.max_position_embeddings:
            raise ValueError(f"Sequence length {past_length + length} is longer than max_position_embeddings "
                             f"({c.max_position_embeddings}).")  # fmt: skip
        scale = math.sqrt(c.d_model) if c.scale_embedding else 1.0
        positions = self.embed_positions(tf.range(past_length, past_length + tf.shape(input_ids)[-1])[None] + 2)
        hidden = self.layernorm_embedding(self.embed_tokens(input_ids) * scale + positions)
        if self.is_decoder:
            bias = causal_bias(tf.shape(input_ids)[-1], past_length, attention_mask, hidden.dtype)
            extra = {"encoder_hidden": encoder_hidden, "encoder_bias": padding_bias(encoder_attention_mask, hidden.dtype)}
        else:
            bias, extra = padding_bias(attention_mask, hidden.dtype), {}
        states, caches = (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            hidden, cache = layer(hidden, bias=bias, past=past_key_values[i] if past_key_values else None, **extra)
            caches += (cache,)
        return hidden, (states + (hidden,) if output_hidden_states else None), caches


class TFBartMainLayer(Layer):
    def __init__(self, config: BartConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.shared = NamedWeight((config.vocab_size, config.d_model), "embeddings", weights_init(config), name="shared")
        self.encoder = TFBartStack(config, self.shared, False, name="encoder")
        self.decoder = TFBartStack(config, self.shared, True, name="decoder")

    def encode(self, input_ids, attention_mask=None, output_hidden_states=False):
        if not self.shared.built:
            self.shared(tf.zeros((1, 1), tf.int32))
        hidden, states, _ = self.encoder(input_ids, attention_mask=attention_mask, output_hidden_states=output_hidden_states)
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states)

    def call(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
             encoder_outputs=None, past_key_values=None, use_cache=False, output_hidden_states=False):  # fmt: skip
        c = self.config
        if not self.shared.built:  # create it under `model/shared`, not under whichever stack uses it first
            self.shared(tf.zeros((1, 1), tf.int32))
        if decoder_input_ids is None:
            start = tf.fill((tf.shape(input_ids)[0], 1), tf.cast(c.decoder_start_token_id, input_ids.dtype))
            decoder_input_ids = tf.concat([start, input_ids[:, :-1]], axis=1)
        encoded = encoder_outputs or self.encode(input_ids, attention_mask, output_hidden_states)
        hidden, states, caches = self.decoder(decoder_input_ids, attention_mask=decoder_attention_mask,
                                              encoder_hidden=encoded.last_hidden_state,
                                              encoder_attention_mask=attention_mask, past_key_values=past_key_values,
                                              output_hidden_states=output_hidden_states)  # fmt: skip
        return out.Seq2SeqModelOutput(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None, decoder_hidden_states=states,
            encoder_last_hidden_state=encoded.last_hidden_state, encoder_hidden_states=encoded.hidden_states,
        )  # fmt: skip


def _fields(result) -> dict:
    return {k: result[k] for k in ("past_key_values", "decoder_hidden_states", "encoder_last_hidden_state",
                                   "encoder_hidden_states") if k in result}  # fmt: skip


class TFBartPreTrainedModel(TFPreTrainedModel):
    config_class = BartConfig
    base_model_prefix = "model"

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.model = TFBartMainLayer(config, name="model")

    def dummy_inputs(self) -> dict:
        return {"input_ids": np.full((1, 2), 2, np.int32)}

    def _run(self, input_ids, kwargs):
        keys = ("attention_mask", "decoder_input_ids", "decoder_attention_mask", "encoder_outputs", "past_key_values",
                "use_cache", "output_hidden_states")  # fmt: skip
        return self.model(input_ids, **{k: kwargs.get(k) for k in keys})


class TFBartModel(TFBartPreTrainedModel):
    is_base_model = True

    def call(self, input_ids=None, training=False, return_dict=True, **kwargs):
        return out.finish(self._run(input_ids, kwargs), return_dict)


class TFBartForConditionalGeneration(TFGenerationMixin, TFBartPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        # Created outside any layer scope: its path is the bare name, as the PyTorch buffer's.
        self.final_logits_bias = self.add_weight(name="final_logits_bias", shape=(1, config.vocab_size),
                                                 initializer="zeros", trainable=False)  # fmt: skip

    def _logits(self, hidden):
        return tf.matmul(hidden, self.model.shared.weight, transpose_b=True) + self.final_logits_bias

    def encode(self, input_ids=None, attention_mask=None, **kwargs):
        return self.model.encode(tf.convert_to_tensor(input_ids), attention_mask)

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        result = self.model(None, attention_mask=attention_mask, decoder_input_ids=tf.convert_to_tensor(decoder_input_ids),
                            encoder_outputs=encoder_outputs, past_key_values=past_key_values, use_cache=True)  # fmt: skip
        return out.Seq2SeqLMOutput(logits=self._logits(result.last_hidden_state), past_key_values=result.past_key_values)

    def call(self, input_ids=None, training=False, return_dict=True, **kwargs):
        result = self._run(input_ids, kwargs)
        return out.finish(out.Seq2SeqLMOutput(logits=self._logits(result.last_hidden_state), **_fields(result)),
                            return_dict)  # fmt: skip


class TFBartClassificationHead(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.d_model, "dense")
        self.out_proj = dense(config, config.num_labels, "out_proj")

    def call(self, hidden):
        return self.out_proj(tf.tanh(self.dense(hidden)))


class TFBartForSequenceClassification(TFBartPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.classification_head = TFBartClassificationHead(config, name="classification_head")

    def call(self, input_ids=None, training=False, return_dict=True, **kwargs):
        result = self._run(input_ids, kwargs)
        eos = tf.cast(input_ids == self.config.eos_token_id, tf.int32)
        last_eos = tf.shape(input_ids)[-1] - 1 - tf.argmax(eos[:, ::-1], axis=-1, output_type=tf.int32)
        sentence = tf.gather(result.last_hidden_state, last_eos, batch_dims=1)
        return out.finish(out.Seq2SeqSequenceClassifierOutput(logits=self.classification_head(sentence),
                            **_fields(result)), return_dict)  # fmt: skip


class TFBartForQuestionAnswering(TFBartPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.qa_outputs = dense(config, config.num_labels, "qa_outputs")

    def call(self, input_ids=None, training=False, return_dict=True, **kwargs):
        result = self._run(input_ids, kwargs)
        start, end = tf.split(self.qa_outputs(result.last_hidden_state), 2, axis=-1)
        return out.finish(out.Seq2SeqQuestionAnsweringModelOutput(
            start_logits=tf.squeeze(start, -1), end_logits=tf.squeeze(end, -1), **_fields(result)), return_dict)  # fmt: skip


class TFBartDecoderWrapper(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        embed = NamedWeight((config.vocab_size, config.d_model), "embeddings", weights_init(config), name="embed_tokens")
        self.decoder = TFBartStack(config, embed, True, name="decoder")
        self.decoder.own_embedding = embed


class TFBartForCausalLM(TFGenerationMixin, TFBartPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        TFPreTrainedModel.__init__(self, config, *args, **kwargs)
        self.model = TFBartDecoderWrapper(config, name="model")

    def call(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=False, training=False,
                return_dict=True, output_hidden_states=False, **kwargs):  # fmt: skip
        hidden, states, caches = self.model.decoder(input_ids, attention_mask=attention_mask,
                                                    past_key_values=past_key_values,
                                                    output_hidden_states=output_hidden_states)  # fmt: skip
        logits = tf.matmul(hidden, self.model.decoder.embed_tokens.weight, transpose_b=True)
        return out.finish(out.CausalLMOutputWithCrossAttentions(
            logits=logits, past_key_values=caches if use_cache else None, hidden_states=states), return_dict)  # fmt: skip
