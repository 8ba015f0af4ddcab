"""BART in Flax, with transformers' Flax parameter tree; its attention (q/k/v/out projections with a
key/value cache) also serves Whisper."""

from __future__ import annotations

import math

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.bart import BartConfig

from ..activations import get_activation
from ..attention import attend, causal_bias, extend_cache, key_width
from ..generation import FlaxGenerationMixin
from ..modeling import FlaxPreTrainedModel


def padding_bias(attention_mask, dtype):
    if attention_mask is None:
        return None
    return jnp.where(attention_mask[:, None, None, :] > 0, 0.0, jnp.finfo(dtype).min).astype(dtype)


class FlaxSeq2SeqAttention(nn.Module):
    """Self- or cross-attention; a cached cross-attention (key, value) is reused as is."""

    embed_dim: int
    num_heads: int
    key_bias: bool = True

    @nn.compact
    def __call__(self, hidden, bias=None, key_value_states=None, past=None):
        head_dim = self.embed_dim // self.num_heads
        split = lambda x: x.reshape(x.shape[:2] + (self.num_heads, head_dim))  # noqa: E731
        q = split(nn.Dense(self.embed_dim, name="q_proj")(hidden))
        k_proj = nn.Dense(self.embed_dim, use_bias=self.key_bias, name="k_proj")
        v_proj = nn.Dense(self.embed_dim, name="v_proj")
        if key_value_states is not None and past is not None:
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = extend_cache(past, split(k_proj(source)), split(v_proj(source)))
        context = attend(q, k, v, bias, head_dim**-0.5).reshape(hidden.shape[:2] + (self.embed_dim,))
        return nn.Dense(self.embed_dim, name="out_proj")(context), (k, v)


class FlaxBartEncoderLayer(nn.Module):
    config: BartConfig

    @nn.compact
    def __call__(self, hidden, bias=None, past=None):
        c = self.config
        attended, _ = FlaxSeq2SeqAttention(c.d_model, c.encoder_attention_heads, name="self_attn")(hidden, bias)
        hidden = nn.LayerNorm(epsilon=1e-5, name="self_attn_layer_norm")(hidden + attended)
        ff = nn.Dense(c.d_model, name="fc2")(get_activation(c.activation_function)(nn.Dense(c.encoder_ffn_dim, name="fc1")(hidden)))
        return nn.LayerNorm(epsilon=1e-5, name="final_layer_norm")(hidden + ff), None


class FlaxBartDecoderLayer(nn.Module):
    config: BartConfig

    @nn.compact
    def __call__(self, hidden, bias, encoder_hidden=None, encoder_bias=None, past=None):
        c = self.config
        attended, cache = FlaxSeq2SeqAttention(c.d_model, c.decoder_attention_heads, name="self_attn")(
            hidden, bias, past=past[:2] if past else None
        )
        hidden = nn.LayerNorm(epsilon=1e-5, name="self_attn_layer_norm")(hidden + attended)
        if encoder_hidden is not None:
            attended, cross = FlaxSeq2SeqAttention(c.d_model, c.decoder_attention_heads, name="encoder_attn")(
                hidden, encoder_bias, encoder_hidden, past[2:] if past else None
            )
            hidden = nn.LayerNorm(epsilon=1e-5, name="encoder_attn_layer_norm")(hidden + attended)
            cache = cache + cross
        ff = nn.Dense(c.d_model, name="fc2")(get_activation(c.activation_function)(nn.Dense(c.decoder_ffn_dim, name="fc1")(hidden)))
        return nn.LayerNorm(epsilon=1e-5, name="final_layer_norm")(hidden + ff), cache


class FlaxLayerList(nn.Module):
    """Layers under `layers/0`, `layers/1` …; each takes (hidden, *args, past=…) and returns (hidden, cache)."""

    layer_class: type
    config: object
    count: int

    @nn.compact
    def __call__(self, hidden, *args, past_key_values=None):
        states, caches = (), ()
        for i in range(self.count):
            states += (hidden,)
            layer = self.layer_class(self.config, name=str(i))
            hidden, cache = layer(hidden, *args, past=past_key_values[i] if past_key_values else None)
            caches += (cache,)
        return hidden, states, caches


class FlaxBartStack(nn.Module):
    config: BartConfig
    is_decoder: bool

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, encoder_hidden=None, encoder_attention_mask=None,
                 past_key_values=None, shared=None):  # fmt: skip
        c = self.config
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0
        length = input_ids.shape[-1]
        if past_length + length > c.max_position_embeddings:
            raise ValueError(f"Sequence length {past_length + length} is longer than max_position_embeddings "
                             f"({c.max_position_embeddings}).")  # fmt: skip
        scale = math.sqrt(c.d_model) if c.scale_embedding else 1.0
        embeds = shared(input_ids.astype("i4")) * scale
        positions = nn.Embed(c.max_position_embeddings + 2, c.d_model, name="embed_positions")(
            jnp.arange(past_length, past_length + length)[None] + 2
        )
        hidden = nn.LayerNorm(epsilon=1e-5, name="layernorm_embedding")(embeds + positions)
        if self.is_decoder:
            keys = key_width(past_key_values, past_length + length)
            bias = causal_bias(length, past_length, attention_mask, hidden.dtype, keys=keys)
            layers = FlaxLayerList(FlaxBartDecoderLayer, c, c.decoder_layers, name="layers")
            hidden, states, caches = layers(hidden, bias, encoder_hidden, padding_bias(encoder_attention_mask, hidden.dtype),
                                            past_key_values=past_key_values)  # fmt: skip
        else:
            layers = FlaxLayerList(FlaxBartEncoderLayer, c, c.encoder_layers, name="layers")
            hidden, states, caches = layers(hidden, padding_bias(attention_mask, hidden.dtype), past_key_values=None)
        return hidden, states + (hidden,), caches


def shift_tokens_right(input_ids, pad_token_id: int, start_token_id: int):
    shifted = jnp.concatenate([jnp.full(input_ids.shape[:1] + (1,), start_token_id, input_ids.dtype), input_ids[:, :-1]], 1)
    return jnp.where(shifted == -100, pad_token_id, shifted)


class FlaxBartModule(nn.Module):
    config: BartConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.shared = nn.Embed(c.vocab_size, c.d_model, embedding_init=nn.initializers.normal(c.init_std))
        self.encoder = FlaxBartStack(c, is_decoder=False)
        self.decoder = FlaxBartStack(c, is_decoder=True)

    def encode(self, input_ids, attention_mask=None, output_hidden_states=False):
        hidden, states, _ = self.encoder(input_ids, attention_mask, shared=self.shared)
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None)

    def decode(self, decoder_input_ids, encoder_hidden, encoder_attention_mask=None, decoder_attention_mask=None,
               past_key_values=None, output_hidden_states=False):  # fmt: skip
        hidden, states, caches = self.decoder(decoder_input_ids, decoder_attention_mask, encoder_hidden,
                                              encoder_attention_mask, past_key_values, shared=self.shared)  # fmt: skip
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches, hidden_states=states if output_hidden_states else None
        )

    def __call__(self, input_ids, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                 encoder_outputs=None, past_key_values=None, use_cache=False, deterministic=True,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        if decoder_input_ids is None:
            decoder_input_ids = shift_tokens_right(input_ids, c.pad_token_id, c.decoder_start_token_id)
        encoded = encoder_outputs or self.encode(input_ids, attention_mask, output_hidden_states)
        decoded = self.decode(decoder_input_ids, encoded.last_hidden_state, attention_mask, decoder_attention_mask,
                              past_key_values, output_hidden_states)  # fmt: skip
        result = out.Seq2SeqModelOutput(
            last_hidden_state=decoded.last_hidden_state, past_key_values=decoded.past_key_values if use_cache else None,
            decoder_hidden_states=decoded.hidden_states, encoder_last_hidden_state=encoded.last_hidden_state,
            encoder_hidden_states=encoded.hidden_states,
        )  # fmt: skip
        return out.finish(result, return_dict)


def _seq2seq_fields(encoded) -> dict:
    return {k: encoded[k] for k in ("past_key_values", "decoder_hidden_states", "encoder_last_hidden_state",
                                    "encoder_hidden_states") if k in encoded}  # fmt: skip


class FlaxBartForConditionalGenerationModule(nn.Module):
    config: BartConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.model = FlaxBartModule(self.config)
        self.final_logits_bias = self.param("final_logits_bias", nn.initializers.zeros, (1, self.config.vocab_size))

    def logits(self, hidden):
        return hidden @ self.model.shared.embedding.T + self.final_logits_bias

    def encode(self, input_ids, attention_mask=None):
        return self.model.encode(input_ids, attention_mask)

    def decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, past_key_values=None):
        decoded = self.model.decode(decoder_input_ids, encoder_hidden, attention_mask, None, past_key_values)
        return out.Seq2SeqLMOutput(logits=self.logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.model(input_ids, **kwargs)
        result = out.Seq2SeqLMOutput(logits=self.logits(encoded.last_hidden_state), **_seq2seq_fields(encoded))
        return out.finish(result, return_dict)


class FlaxBartClassificationHead(nn.Module):
    config: BartConfig

    @nn.compact
    def __call__(self, hidden):
        hidden = jnp.tanh(nn.Dense(self.config.d_model, name="dense")(hidden))
        return nn.Dense(self.config.num_labels, name="out_proj")(hidden)


class FlaxBartForSequenceClassificationModule(nn.Module):
    config: BartConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.model = FlaxBartModule(self.config)
        self.classification_head = FlaxBartClassificationHead(self.config)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.model(input_ids, **kwargs)
        eos = input_ids == self.config.eos_token_id
        # the hidden state at each row's last end-of-sequence token
        last_eos = input_ids.shape[-1] - 1 - jnp.argmax(eos[:, ::-1], axis=-1)
        sentence = encoded.last_hidden_state[jnp.arange(input_ids.shape[0]), last_eos]
        result = out.Seq2SeqSequenceClassifierOutput(logits=self.classification_head(sentence), **_seq2seq_fields(encoded))
        return out.finish(result, return_dict)


class FlaxBartForQuestionAnsweringModule(nn.Module):
    config: BartConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.model = FlaxBartModule(self.config)
        self.qa_outputs = nn.Dense(self.config.num_labels)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.model(input_ids, **kwargs)
        start, end = jnp.split(self.qa_outputs(encoded.last_hidden_state), 2, axis=-1)
        result = out.Seq2SeqQuestionAnsweringModelOutput(start_logits=start.squeeze(-1), end_logits=end.squeeze(-1),
                                                         **_seq2seq_fields(encoded))  # fmt: skip
        return out.finish(result, return_dict)


class FlaxBartForCausalLMModule(nn.Module):
    config: BartConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, past_key_values=None, use_cache=False, deterministic=True,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        hidden, states, caches, embedding = FlaxBartCausalDecoder(self.config, name="model")(
            input_ids, attention_mask, past_key_values
        )
        result = out.CausalLMOutputWithCrossAttentions(logits=hidden @ embedding.T,
                                                       past_key_values=caches if use_cache else None,
                                                       hidden_states=states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxBartCausalDecoder(nn.Module):
    """`model/decoder/…` with the decoder's own token embedding under `model/decoder/embed_tokens`."""

    config: BartConfig

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, past_key_values=None):
        return FlaxBartOwnEmbeddingDecoder(self.config, name="decoder")(input_ids, attention_mask, past_key_values)


class FlaxBartOwnEmbeddingDecoder(FlaxBartStack):
    is_decoder: bool = True

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, past_key_values=None):
        c = self.config
        shared = nn.Embed(c.vocab_size, c.d_model, name="embed_tokens")
        hidden, states, caches = FlaxBartStack.__call__(self, input_ids, attention_mask, None, None, past_key_values,
                                                        shared=shared)  # fmt: skip
        return hidden, states, caches, shared.embedding


class FlaxSeq2SeqModel(FlaxPreTrainedModel):
    """encode / decode entry points used by generate() for encoder-decoder modules."""

    def encode(self, input_ids=None, attention_mask=None, **kwargs):
        module = self.module
        return module.apply({"params": self.params}, jnp.asarray(input_ids), attention_mask, method=type(module).encode)

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        module = self.module
        return module.apply({"params": self.params}, jnp.asarray(decoder_input_ids), encoder_outputs.last_hidden_state,
                            attention_mask, past_key_values, method=type(module).decode)  # fmt: skip


class FlaxBartPreTrainedModel(FlaxSeq2SeqModel):
    config_class = BartConfig
    base_model_prefix = "model"

    def dummy_inputs(self) -> dict:
        ids = jnp.full((1, 2), 2, dtype="i4")
        return {"input_ids": ids} if self.module_class is not FlaxBartModule else {"input_ids": ids, "decoder_input_ids": ids}

    def __call__(self, input_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), **kwargs)


def _model(name, module_class, *mixins):
    return type(name, (*mixins, FlaxBartPreTrainedModel), {"module_class": module_class, "__module__": __name__})


FlaxBartModel = _model("FlaxBartModel", FlaxBartModule)
FlaxBartForConditionalGeneration = _model("FlaxBartForConditionalGeneration", FlaxBartForConditionalGenerationModule,
                                          FlaxGenerationMixin)  # fmt: skip
FlaxBartForSequenceClassification = _model("FlaxBartForSequenceClassification", FlaxBartForSequenceClassificationModule)
FlaxBartForQuestionAnswering = _model("FlaxBartForQuestionAnswering", FlaxBartForQuestionAnsweringModule)
FlaxBartForCausalLM = _model("FlaxBartForCausalLM", FlaxBartForCausalLMModule, FlaxGenerationMixin)
