"""T5 in Flax, with transformers' Flax parameter tree: RMS norms, bucketed relative attention bias (owned
by the first block, shared by the rest), no score scaling, an optional gated feed-forward."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.t5 import T5Config

from ..activations import get_activation
from ..attention import as_array, extend_cache, key_width
from ..blocks.norms import FlaxRMSNorm
from ..blocks.seq2seq import FlaxSeq2SeqPreTrainedModel as FlaxSeq2SeqModel
from ..generation import FlaxGenerationMixin


def relative_position_bucket(relative: np.ndarray, bidirectional: bool, num_buckets: int, max_distance: int):
    """Exact buckets for small offsets, logarithmically wider ones up to max_distance."""
    bucket = np.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        bucket += (relative > 0).astype(relative.dtype) * num_buckets
        distance = np.abs(relative)
    else:
        distance = -np.minimum(relative, 0)
    exact = num_buckets // 2
    # max(distance, 1): the log branch is only used where distance >= exact; this keeps log(0) out of it.
    far = exact + (np.log(np.maximum(distance, 1).astype(np.float32) / exact) / math.log(max_distance / exact)
                   * (num_buckets - exact)).astype(relative.dtype)  # fmt: skip
    far = np.minimum(far, num_buckets - 1)
    return bucket + np.where(distance < exact, distance, far)


class FlaxT5Attention(nn.Module):
    """Returns (output, (key, value), position bias); the first block computes the position bias."""

    config: T5Config
    is_decoder: bool
    has_relative_attention_bias: bool = False

    @nn.compact
    def __call__(self, hidden, mask_bias, position_bias=None, key_value_states=None, past=None):
        c = self.config
        inner = c.num_heads * c.d_kv
        split = lambda x: x.reshape(x.shape[:2] + (c.num_heads, c.d_kv))  # noqa: E731
        q = split(nn.Dense(inner, use_bias=False, name="q")(hidden))
        k_dense, v_dense = nn.Dense(inner, use_bias=False, name="k"), nn.Dense(inner, use_bias=False, name="v")
        if key_value_states is not None and past is not None:
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = extend_cache(past, split(k_dense(source)), split(v_dense(source)))
        if position_bias is None:
            length, total, width = hidden.shape[1], k.shape[1], as_array(k).shape[1]
            if self.has_relative_attention_bias:
                context = np.arange(total - length, total)[:, None]
                buckets = relative_position_bucket(np.arange(width)[None, :] - context, not self.is_decoder,
                                                   c.relative_attention_num_buckets, c.relative_attention_max_distance)  # fmt: skip
                table = nn.Embed(c.relative_attention_num_buckets, c.num_heads, name="relative_attention_bias")
                position_bias = table(jnp.asarray(buckets)).transpose(2, 0, 1)[None]
            else:
                position_bias = jnp.zeros((1, c.num_heads, length, width), hidden.dtype)
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, as_array(k)) + position_bias
        if mask_bias is not None:
            scores = scores + mask_bias
        probs = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(scores.dtype)
        context = jnp.einsum("bhqk,bkhd->bqhd", probs, as_array(v)).reshape(hidden.shape[:2] + (inner,))
        return nn.Dense(c.d_model, use_bias=False, name="o")(context), (k, v), position_bias


class FlaxT5FeedForward(nn.Module):
    config: T5Config

    @nn.compact
    def __call__(self, x):
        c = self.config
        act = get_activation(c.dense_act_fn)
        if c.is_gated_act:
            x = act(nn.Dense(c.d_ff, use_bias=False, name="wi_0")(x)) * nn.Dense(c.d_ff, use_bias=False, name="wi_1")(x)
        else:
            x = act(nn.Dense(c.d_ff, use_bias=False, name="wi")(x))
        return nn.Dense(c.d_model, use_bias=False, name="wo")(x)


class FlaxT5SubLayer(nn.Module):
    """One of a block's `layer/<i>` entries: self-attention, cross-attention or feed-forward, pre-normed."""

    config: T5Config
    kind: str
    is_decoder: bool = False
    first: bool = False

    @nn.compact
    def __call__(self, hidden, mask_bias=None, position_bias=None, encoder_hidden=None, past=None):
        c = self.config
        normed = FlaxRMSNorm(c.d_model, c.layer_norm_epsilon, name="layer_norm")(hidden)
        if self.kind == "ff":
            return hidden + FlaxT5FeedForward(c, name="DenseReluDense")(normed), None, position_bias
        name = "SelfAttention" if self.kind == "self" else "EncDecAttention"
        attention = FlaxT5Attention(c, self.is_decoder, self.kind == "self" and self.first, name=name)
        attended, cache, bias = attention(normed, mask_bias, position_bias, encoder_hidden, past)
        return hidden + attended, cache, bias


class FlaxT5Block(nn.Module):
    config: T5Config
    is_decoder: bool
    first: bool

    @nn.compact
    def __call__(self, hidden, mask_bias, position_bias, encoder_hidden=None, cross_bias=None, cross_position=None,
                 past=None):  # fmt: skip
        layers = FlaxT5Layers(self.config, self.is_decoder, self.first, name="layer")
        return layers(hidden, mask_bias, position_bias, encoder_hidden, cross_bias, cross_position, past)


class FlaxT5Layers(nn.Module):
    config: T5Config
    is_decoder: bool
    first: bool

    @nn.compact
    def __call__(self, hidden, mask_bias, position_bias, encoder_hidden, cross_bias, cross_position, past):
        c = self.config
        hidden, cache, position_bias = FlaxT5SubLayer(c, "self", self.is_decoder, self.first, name="0")(
            hidden, mask_bias, position_bias, None, past[:2] if past else None
        )
        if self.is_decoder:
            hidden, cross, cross_position = FlaxT5SubLayer(c, "cross", True, name="1")(
                hidden, cross_bias, cross_position, encoder_hidden, past[2:] if past else None
            )
            cache = cache + cross
        hidden, _, _ = FlaxT5SubLayer(c, "ff", name="2" if self.is_decoder else "1")(hidden)
        return hidden, cache, position_bias, cross_position


class FlaxT5Blocks(nn.Module):
    config: T5Config
    is_decoder: bool

    @nn.compact
    def __call__(self, hidden, mask_bias, encoder_hidden=None, cross_bias=None, past_key_values=None):
        c = self.config
        depth = c.num_decoder_layers if self.is_decoder else c.num_layers
        position_bias = cross_position = None
        states, caches = (), ()
        for i in range(depth):
            states += (hidden,)
            hidden, cache, position_bias, cross_position = FlaxT5Block(c, self.is_decoder, i == 0, name=str(i))(
                hidden, mask_bias, position_bias, encoder_hidden, cross_bias, cross_position,
                past_key_values[i] if past_key_values else None,
            )  # fmt: skip
            caches += (cache,)
        return hidden, states, caches


def _padding_bias(mask, dtype):
    if mask is None:
        return None
    return jnp.where(mask[:, None, None, :] > 0, 0.0, jnp.finfo(dtype).min).astype(dtype)


class FlaxT5Stack(nn.Module):
    config: T5Config
    is_decoder: bool

    @nn.compact
    def __call__(self, input_ids, embedding, attention_mask=None, encoder_hidden=None, encoder_attention_mask=None,
                 past_key_values=None, output_hidden_states=False):  # fmt: skip
        c = self.config
        hidden = embedding(input_ids.astype("i4"))
        length = hidden.shape[1]
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0
        mask_bias = _padding_bias(attention_mask, hidden.dtype)
        if self.is_decoder:
            query = np.arange(past_length, past_length + length)[:, None]
            keys = np.arange(key_width(past_key_values, past_length + length))[None, :]
            causal = jnp.where(keys > query, jnp.finfo(hidden.dtype).min, 0.0)
            causal = causal.astype(hidden.dtype)[None, None]
            mask_bias = causal if mask_bias is None else jnp.maximum(mask_bias + causal, jnp.finfo(hidden.dtype).min)
        cross_bias = _padding_bias(encoder_attention_mask, hidden.dtype)
        hidden, states, caches = FlaxT5Blocks(c, self.is_decoder, name="block")(
            hidden, mask_bias, encoder_hidden, cross_bias, past_key_values
        )
        hidden = FlaxRMSNorm(c.d_model, c.layer_norm_epsilon, name="final_layer_norm")(hidden)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches,
            hidden_states=states + (hidden,) if output_hidden_states else None,
        )


def shift_right(input_ids, start: int, pad: int):
    shifted = jnp.concatenate([jnp.full(input_ids.shape[:1] + (1,), start, input_ids.dtype), input_ids[:, :-1]], 1)
    return jnp.where(shifted == -100, pad, shifted)


class FlaxT5Module(nn.Module):
    config: T5Config
    dtype: jnp.dtype = jnp.float32
    with_decoder: bool = True

    def setup(self):
        c = self.config
        self.shared = nn.Embed(c.vocab_size, c.d_model, embedding_init=nn.initializers.normal(c.initializer_factor))
        self.encoder = FlaxT5Stack(c, is_decoder=False)
        if self.with_decoder:
            self.decoder = FlaxT5Stack(c, is_decoder=True)

    def encode(self, input_ids, attention_mask=None, output_hidden_states=False):
        return self.encoder(input_ids, self.shared, attention_mask, output_hidden_states=output_hidden_states)

    def decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, past_key_values=None,
               output_hidden_states=False):  # fmt: skip
        return self.decoder(decoder_input_ids, self.shared, None, encoder_hidden, attention_mask, past_key_values,
                            output_hidden_states)  # fmt: skip

    def __call__(self, input_ids, attention_mask=None, decoder_input_ids=None, use_cache=False, deterministic=True,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        encoded = self.encode(input_ids, attention_mask, output_hidden_states)
        if not self.with_decoder:
            result = out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states)
            return out.finish(result, return_dict)
        if decoder_input_ids is None:
            raise ValueError("T5 needs decoder_input_ids to run its decoder.")
        decoded = self.decode(decoder_input_ids, encoded.last_hidden_state, attention_mask, None, output_hidden_states)
        result = out.Seq2SeqModelOutput(
            last_hidden_state=decoded.last_hidden_state, past_key_values=decoded.past_key_values if use_cache else None,
            decoder_hidden_states=decoded.hidden_states, encoder_last_hidden_state=encoded.last_hidden_state,
            encoder_hidden_states=encoded.hidden_states,
        )  # fmt: skip
        return out.finish(result, return_dict)


def _fields(encoded, decoded) -> dict:
    return dict(decoder_hidden_states=decoded.hidden_states, encoder_last_hidden_state=encoded.last_hidden_state,
                encoder_hidden_states=encoded.hidden_states)  # fmt: skip


class FlaxT5ForConditionalGenerationModule(FlaxT5Module):
    def setup(self):
        super().setup()
        if not self.config.tie_word_embeddings:
            self.lm_head = nn.Dense(self.config.vocab_size, use_bias=False)

    def logits(self, hidden):
        if self.config.tie_word_embeddings:  # the shared matrix was trained at this scale
            return (hidden * self.config.d_model**-0.5) @ self.shared.embedding.T
        return self.lm_head(hidden)

    def decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, past_key_values=None,
               output_hidden_states=False):  # fmt: skip
        decoded = super().decode(decoder_input_ids, encoder_hidden, attention_mask, past_key_values, output_hidden_states)
        return out.Seq2SeqLMOutput(logits=self.logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values,
                                   decoder_hidden_states=decoded.hidden_states)  # fmt: skip

    def __call__(self, input_ids, attention_mask=None, decoder_input_ids=None, deterministic=True,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        if decoder_input_ids is None:
            raise ValueError("T5ForConditionalGeneration needs decoder_input_ids to run its decoder; "
                             "generate() supplies them.")  # fmt: skip
        encoded = self.encode(input_ids, attention_mask, output_hidden_states)
        decoded = self.decode(decoder_input_ids, encoded.last_hidden_state, attention_mask, None, output_hidden_states)
        result = out.Seq2SeqLMOutput(logits=decoded.logits, decoder_hidden_states=decoded.decoder_hidden_states,
                                     encoder_last_hidden_state=encoded.last_hidden_state,
                                     encoder_hidden_states=encoded.hidden_states)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxT5ForQuestionAnsweringModule(FlaxT5Module):
    def setup(self):
        super().setup()
        self.qa_outputs = nn.Dense(self.config.num_labels)

    def __call__(self, input_ids, attention_mask=None, decoder_input_ids=None, deterministic=True,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        if decoder_input_ids is None:
            decoder_input_ids = shift_right(input_ids, c.decoder_start_token_id, c.pad_token_id)
        encoded = self.encode(input_ids, attention_mask, output_hidden_states)
        decoded = FlaxT5Module.decode(self, decoder_input_ids, encoded.last_hidden_state, attention_mask, None,
                                      output_hidden_states)  # fmt: skip
        start, end = jnp.split(self.qa_outputs(decoded.last_hidden_state), 2, axis=-1)
        result = out.Seq2SeqQuestionAnsweringModelOutput(start_logits=start.squeeze(-1), end_logits=end.squeeze(-1),
                                                         **_fields(encoded, decoded))  # fmt: skip
        return out.finish(result, return_dict)


class FlaxT5ForSequenceClassificationModule(nn.Module):
    config: T5Config
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        decoder_input_ids = shift_right(input_ids, c.decoder_start_token_id, c.pad_token_id)
        encoded = FlaxT5Module(c, name="transformer")(input_ids, attention_mask, decoder_input_ids,
                                                     output_hidden_states=output_hidden_states)  # fmt: skip
        eos = input_ids == c.eos_token_id
        last_eos = input_ids.shape[-1] - 1 - jnp.argmax(eos[:, ::-1], axis=-1)
        sentence = encoded.last_hidden_state[jnp.arange(input_ids.shape[0]), last_eos]
        logits = FlaxT5ClassificationHead(c, name="classification_head")(sentence)
        result = out.Seq2SeqSequenceClassifierOutput(
            logits=logits, decoder_hidden_states=encoded.decoder_hidden_states,
            encoder_last_hidden_state=encoded.encoder_last_hidden_state, encoder_hidden_states=encoded.encoder_hidden_states,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxT5ClassificationHead(nn.Module):
    config: T5Config

    @nn.compact
    def __call__(self, hidden):
        hidden = jnp.tanh(nn.Dense(self.config.d_model, name="dense")(hidden))
        return nn.Dense(self.config.num_labels, name="out_proj")(hidden)


class FlaxT5ForTokenClassificationModule(nn.Module):
    config: T5Config
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        encoded = FlaxT5Module(self.config, with_decoder=False, name="transformer")(
            input_ids, attention_mask, output_hidden_states=output_hidden_states
        )
        logits = nn.Dense(self.config.num_labels, name="classifier")(encoded.last_hidden_state)
        result = out.TokenClassifierOutput(logits=logits, hidden_states=encoded.hidden_states)
        return out.finish(result, return_dict)


class FlaxT5PreTrainedModel(FlaxSeq2SeqModel):
    config_class = T5Config
    base_model_prefix = "transformer"

    def dummy_inputs(self) -> dict:
        ids = jnp.ones((1, 2), dtype="i4")
        return {"input_ids": ids, "decoder_input_ids": ids}

    def __call__(self, input_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), **kwargs)


def _model(name, module_class, *mixins, **module_kwargs):
    def __init__(self, config, *args, **kwargs):
        FlaxT5PreTrainedModel.__init__(self, config, *args, **module_kwargs, **kwargs)

    namespace = {"module_class": module_class, "__module__": __name__, "__init__": __init__}
    return type(name, (*mixins, FlaxT5PreTrainedModel), namespace)


FlaxT5Model = _model("FlaxT5Model", FlaxT5Module)
FlaxT5EncoderModel = _model("FlaxT5EncoderModel", FlaxT5Module, with_decoder=False)
FlaxT5ForConditionalGeneration = _model("FlaxT5ForConditionalGeneration", FlaxT5ForConditionalGenerationModule,
                                        FlaxGenerationMixin)  # fmt: skip
FlaxT5ForQuestionAnswering = _model("FlaxT5ForQuestionAnswering", FlaxT5ForQuestionAnsweringModule)
FlaxT5ForSequenceClassification = _model("FlaxT5ForSequenceClassification", FlaxT5ForSequenceClassificationModule)
FlaxT5ForTokenClassification = _model("FlaxT5ForTokenClassification", FlaxT5ForTokenClassificationModule)
