"""T5 in Flax, with transformers' Flax parameter tree: RMS norms, bucketed relative attention bias (owned
by the first block, shared by the rest), no score scaling, an optional gated feed-forward.

T5 keeps its own attention and stacks; the encoder-decoder module, the output fields, the RMS norm and the
sequence / token classification heads are the shared ones.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.t5 import T5Config

from ..activations import get_activation
from ..attention import as_array, extend_cache, key_width
from ..blocks.norms import FlaxRMSNorm
from ..blocks.seq2seq import (
    FlaxSeq2SeqModule,
    FlaxSeq2SeqPreTrainedModel,
    Seq2SeqSequenceClassificationModule,
    encoder_output,
    padding_bias,
    shift_tokens_right,
)
from ..generation import FlaxGenerationMixin
from ..heads import FlaxSequenceClassificationModel, FlaxTokenClassificationModel


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
    """Returns (output, (key, value), position bias, weights); the first block computes the position bias."""

    config: T5Config
    is_decoder: bool
    has_relative_attention_bias: bool = False

    @nn.compact
    def __call__(self, hidden, mask_bias, position_bias=None, key_value_states=None, past=None, deterministic=True):
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
        weights = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(scores.dtype)
        probs = nn.Dropout(c.dropout_rate)(weights, deterministic=deterministic)
        context = jnp.einsum("bhqk,bkhd->bqhd", probs, as_array(v)).reshape(hidden.shape[:2] + (inner,))
        return nn.Dense(c.d_model, use_bias=False, name="o")(context), (k, v), position_bias, weights


class FlaxT5FeedForward(nn.Module):
    config: T5Config

    @nn.compact
    def __call__(self, x, deterministic=True):
        c = self.config
        act = get_activation(c.dense_act_fn)
        if c.is_gated_act:
            x = act(nn.Dense(c.d_ff, use_bias=False, name="wi_0")(x)) * nn.Dense(c.d_ff, use_bias=False, name="wi_1")(x)
        else:
            x = act(nn.Dense(c.d_ff, use_bias=False, name="wi")(x))
        x = nn.Dropout(c.dropout_rate)(x, deterministic=deterministic)
        return nn.Dense(c.d_model, use_bias=False, name="wo")(x)


class FlaxT5SubLayer(nn.Module):
    """One of a block's `layer/<i>` entries: self-attention, cross-attention or feed-forward, pre-normed.
    Returns (hidden, cache, position bias, attention weights)."""

    config: T5Config
    kind: str
    is_decoder: bool = False
    first: bool = False

    @nn.compact
    def __call__(self, hidden, mask_bias=None, position_bias=None, encoder_hidden=None, past=None, deterministic=True):
        c = self.config
        dropout = nn.Dropout(c.dropout_rate)
        normed = FlaxRMSNorm(c.d_model, c.layer_norm_epsilon, name="layer_norm")(hidden)
        if self.kind == "ff":
            ff = FlaxT5FeedForward(c, name="DenseReluDense")(normed, deterministic)
            return hidden + dropout(ff, deterministic=deterministic), None, position_bias, None
        name = "SelfAttention" if self.kind == "self" else "EncDecAttention"
        attention = FlaxT5Attention(c, self.is_decoder, self.kind == "self" and self.first, name=name)
        attended, cache, bias, weights = attention(normed, mask_bias, position_bias, encoder_hidden, past, deterministic)
        return hidden + dropout(attended, deterministic=deterministic), cache, bias, weights


class FlaxT5Layers(nn.Module):
    """A block's sub-layers under `block/<i>/layer/<j>`."""

    config: T5Config
    is_decoder: bool
    first: bool

    @nn.compact
    def __call__(self, hidden, mask_bias, position_bias, encoder_hidden, cross_bias, cross_position, past,
                 deterministic=True):  # fmt: skip
        c = self.config
        hidden, cache, position_bias, weights = FlaxT5SubLayer(c, "self", self.is_decoder, self.first, name="0")(
            hidden, mask_bias, position_bias, None, past[:2] if past else None, deterministic
        )
        cross_weights = None
        if self.is_decoder and encoder_hidden is not None:
            hidden, cross, cross_position, cross_weights = FlaxT5SubLayer(c, "cross", True, name="1")(
                hidden, cross_bias, cross_position, encoder_hidden, past[2:] if past else None, deterministic
            )
            cache = cache + cross
        hidden = FlaxT5SubLayer(c, "ff", name="2" if self.is_decoder else "1")(hidden, deterministic=deterministic)[0]
        return hidden, cache, position_bias, cross_position, weights, cross_weights


class FlaxT5Blocks(nn.Module):
    config: T5Config
    is_decoder: bool

    @nn.compact
    def __call__(self, hidden, mask_bias, encoder_hidden=None, cross_bias=None, past_key_values=None,
                 deterministic=True):  # fmt: skip
        c = self.config
        depth = c.num_decoder_layers if self.is_decoder else c.num_layers
        position_bias = cross_position = None
        states, caches, self_weights, cross_weights = (), (), (), ()
        for i in range(depth):
            states += (hidden,)
            block = FlaxT5Block(c, self.is_decoder, i == 0, name=str(i))
            hidden, cache, position_bias, cross_position, weights, cross = block(
                hidden, mask_bias, position_bias, encoder_hidden, cross_bias, cross_position,
                past_key_values[i] if past_key_values else None, deterministic,
            )  # fmt: skip
            caches, self_weights, cross_weights = caches + (cache,), self_weights + (weights,), cross_weights + (cross,)
        return hidden, states, caches, self_weights, cross_weights


class FlaxT5Block(nn.Module):
    config: T5Config
    is_decoder: bool
    first: bool

    @nn.compact
    def __call__(self, *args):
        return FlaxT5Layers(self.config, self.is_decoder, self.first, name="layer")(*args)


class FlaxT5Stack(nn.Module):
    """Called like the block library's stacks (ids, mask, embeds, encoder states, encoder mask, cache)."""

    config: T5Config
    decoder: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids=None, attention_mask=None, inputs_embeds=None, encoder_hidden=None,
                 encoder_attention_mask=None, past_key_values=None, shared=None, use_cache=False,
                 output_attentions=False, output_hidden_states=False, deterministic=True):  # fmt: skip
        c = self.config
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds (decoder: decoder_input_ids).")
        hidden = shared(input_ids.astype("i4")) if inputs_embeds is None else inputs_embeds
        length = hidden.shape[1]
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0
        mask_bias = padding_bias(attention_mask, hidden.dtype)
        if self.decoder:
            query = np.arange(past_length, past_length + length)[:, None]
            keys = np.arange(key_width(past_key_values, past_length + length))[None, :]
            causal = jnp.where(keys > query, jnp.finfo(hidden.dtype).min, 0.0)
            causal = causal.astype(hidden.dtype)[None, None]
            mask_bias = causal if mask_bias is None else jnp.maximum(mask_bias + causal, jnp.finfo(hidden.dtype).min)
        cross_bias = padding_bias(encoder_attention_mask, hidden.dtype)
        dropout = nn.Dropout(c.dropout_rate)
        hidden = dropout(hidden, deterministic=deterministic)
        hidden, states, caches, self_weights, cross_weights = FlaxT5Blocks(c, self.decoder, name="block")(
            hidden, mask_bias, encoder_hidden, cross_bias, past_key_values, deterministic
        )
        hidden = FlaxRMSNorm(c.d_model, c.layer_norm_epsilon, name="final_layer_norm")(hidden)
        hidden = dropout(hidden, deterministic=deterministic)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
            attentions=self_weights if output_attentions else None,
            cross_attentions=cross_weights if output_attentions and encoder_hidden is not None else None,
        )  # fmt: skip


class FlaxT5Module(FlaxSeq2SeqModule):
    """`shared`, `encoder` and `decoder` at the top of the tree (T5 has no base prefix in its checkpoints)."""

    encoder_class: Any = FlaxT5Stack
    decoder_class: Any = FlaxT5Stack

    def embedding_init(self):
        return nn.initializers.normal(self.config.initializer_factor)


class FlaxT5ForConditionalGenerationModule(FlaxT5Module):
    def setup(self):
        super().setup()
        if not self.config.tie_word_embeddings:
            self.lm_head = nn.Dense(self.config.vocab_size, use_bias=False, dtype=self.dtype)

    def logits(self, hidden):
        if self.config.tie_word_embeddings:  # the shared matrix was trained at this scale
            return (hidden * self.config.d_model**-0.5) @ self.shared.embedding.T
        return self.lm_head(hidden)

    def generation_decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, past_key_values=None):
        decoded = self.decode(decoder_input_ids, encoder_hidden, attention_mask, None, past_key_values)
        return out.Seq2SeqLMOutput(logits=self.logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def __call__(self, input_ids=None, attention_mask=None, decoder_input_ids=None, labels=None, use_cache=False,
                 return_dict=True, **kwargs):  # fmt: skip
        if labels is not None and decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            decoder_input_ids = self.labels_to_decoder_inputs(labels)
        if decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            raise ValueError("T5ForConditionalGeneration needs decoder_input_ids (or labels) to run its decoder; "
                             "generate() supplies them.")  # fmt: skip
        encoded = super().__call__(input_ids, attention_mask, decoder_input_ids, use_cache=use_cache, **kwargs)
        logits = self.logits(encoded.last_hidden_state)
        return out.finish(out.from_encoded(out.Seq2SeqLMOutput, encoded, logits=logits), return_dict)


class FlaxT5EncoderModule(nn.Module):
    config: T5Config
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_attentions=False,
                 output_hidden_states=False, deterministic=True, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        shared = nn.Embed(c.vocab_size, c.d_model, embedding_init=nn.initializers.normal(c.initializer_factor),
                          dtype=self.dtype, name="shared")  # fmt: skip
        encoded = FlaxT5Stack(c, False, self.dtype, name="encoder")(
            input_ids, attention_mask, inputs_embeds, shared=shared, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, deterministic=deterministic,
        )  # fmt: skip
        return out.finish(encoder_output(encoded), return_dict)


class FlaxT5ForQuestionAnsweringModule(FlaxT5Module):
    """Start and end logits from the decoder, fed input_ids shifted right unless decoder inputs are given."""

    def setup(self):
        super().setup()
        self.qa_outputs = nn.Dense(self.config.num_labels, dtype=self.dtype)

    def __call__(self, input_ids=None, attention_mask=None, decoder_input_ids=None, return_dict=True, **kwargs):
        if decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            if input_ids is None:
                raise ValueError("T5ForQuestionAnswering needs input_ids or decoder_input_ids.")
            decoder_input_ids = self.labels_to_decoder_inputs(input_ids)
        kwargs.pop("past_key_values", None)
        encoded = super().__call__(input_ids, attention_mask, decoder_input_ids, use_cache=False, **kwargs)
        start, end = jnp.split(self.qa_outputs(encoded.last_hidden_state), 2, axis=-1)
        result = out.from_encoded(out.Seq2SeqQuestionAnsweringModelOutput, encoded, start_logits=start.squeeze(-1),
                                  end_logits=end.squeeze(-1))  # fmt: skip
        return out.finish(result, return_dict)


class FlaxT5SequenceClassificationModule(Seq2SeqSequenceClassificationModule):
    """The decoder is fed input_ids shifted right."""

    def encode(self, inputs, **kwargs):
        if inputs is None:
            raise ValueError("T5ForSequenceClassification needs input_ids (it finds the end-of-sequence tokens).")
        if kwargs.get("decoder_input_ids") is None and kwargs.get("decoder_inputs_embeds") is None:
            c = self.config
            kwargs["decoder_input_ids"] = shift_tokens_right(inputs, c.pad_token_id, c.decoder_start_token_id)
        return super().encode(inputs, **kwargs)


class FlaxT5PreTrainedModel(FlaxSeq2SeqPreTrainedModel):
    config_class = T5Config
    base_model_prefix = "transformer"
    base_module = FlaxT5Module
    _keys_to_ignore_on_load_unexpected = [
        *FlaxSeq2SeqPreTrainedModel._keys_to_ignore_on_load_unexpected,
        r"decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias",
    ]

    def dummy_inputs(self) -> dict:
        ids = jnp.full((1, 2), self.config.eos_token_id if self.config.eos_token_id is not None else 1, dtype="i4")
        return {"input_ids": ids, "decoder_input_ids": ids}


class FlaxT5Model(FlaxT5PreTrainedModel):
    module_class = FlaxT5Module


class FlaxT5ForConditionalGeneration(FlaxGenerationMixin, FlaxT5PreTrainedModel):
    module_class = FlaxT5ForConditionalGenerationModule

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None):
        module = self.module
        return module.apply({"params": self.params}, jnp.asarray(decoder_input_ids), encoder_outputs.last_hidden_state,
                            attention_mask, past_key_values, method=type(module).generation_decode)  # fmt: skip


class FlaxT5EncoderModel(FlaxT5PreTrainedModel):
    module_class = FlaxT5EncoderModule

    def dummy_inputs(self) -> dict:
        return {"input_ids": super().dummy_inputs()["input_ids"]}


class FlaxT5ForQuestionAnswering(FlaxT5PreTrainedModel):
    module_class = FlaxT5ForQuestionAnsweringModule


class FlaxT5ForSequenceClassification(FlaxSequenceClassificationModel, FlaxT5PreTrainedModel):
    module_class = FlaxT5SequenceClassificationModule


class FlaxT5ForTokenClassification(FlaxTokenClassificationModel, FlaxT5PreTrainedModel):
    base_module = FlaxT5EncoderModule

    def dummy_inputs(self) -> dict:
        return {"input_ids": super().dummy_inputs()["input_ids"]}
