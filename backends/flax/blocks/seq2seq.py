"""Encoder-decoder blocks in Flax (linen): the BART family (BART, mBART, Marian, Pegasus) and Whisper's
transformer. Mirrors autoload/backends/torch/blocks/seq2seq.py.

Parameter paths are transformers' Flax trees (`model/encoder/layers/0/self_attn/q_proj/kernel`,
`model/shared/embedding`); the sinusoidal position tables of Marian and Pegasus are constants, as in
transformers' Flax classes. Caches are tuples (self keys, self values, cross keys, cross values), each
[batch, length, heads, head_dim]; generation moves the self-attention pair into a StaticCache
(backends/flax/attention.py), so the decoder reads the past length from the cache's filled shape and
attends over its whole buffer (key_width), the causal bias hiding what is not written yet.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.seq2seq import sinusoidal_positions

from ..abstract_params import as_if_every_layer_ran, repeat_first_layer, tracing_shapes
from ..activations import get_activation
from ..attention import as_array, causal_bias, extend_cache, key_width
from ..generation import FlaxCompiledStep
from ..heads import QuestionAnsweringModule, SequenceClassificationModule
from ..modeling import FlaxPreTrainedModel
from ..remat import checkpointed
from .norms import LayerNorm

# Checkpoint keys that are aliases of a weight the Flax model holds once (tied embeddings, an LM head equal to
# the shared embedding) or that it computes: ignored when the model has no parameter of that name.
TIED_ALIASES = [r"(^|\.)(encoder|decoder)\.embed_tokens\.weight$", r"^lm_head\.weight$", r"(encoder|decoder)\.version$"]
SINUSOIDAL_TABLES = [r"embed_positions\.weight$"]


def padding_bias(attention_mask, dtype):
    if attention_mask is None:
        return None
    return jnp.where(attention_mask[:, None, None, :] > 0, 0.0, jnp.finfo(dtype).min).astype(dtype)


def _dense(config, features: int, name: str, use_bias: bool = True, dtype=jnp.float32) -> nn.Dense:
    init = nn.initializers.normal(getattr(config, "init_std", 0.02))
    return nn.Dense(features, use_bias=use_bias, dtype=dtype, kernel_init=init, name=name)


def _layer_norm(name: str, dtype=jnp.float32) -> nn.LayerNorm:
    return LayerNorm(epsilon=1e-5, dtype=dtype, name=name)


class FlaxSeq2SeqAttention(nn.Module):
    """Self- or cross-attention; a cached cross-attention (key, value) is reused as is."""

    embed_dim: int
    num_heads: int
    key_bias: bool = True
    dropout: float = 0.0
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias=None, key_value_states=None, past=None, output_attentions=False,
                 deterministic=True):  # fmt: skip
        head_dim = self.embed_dim // self.num_heads
        split = lambda x: x.reshape(x.shape[:2] + (self.num_heads, head_dim))  # noqa: E731
        q = split(nn.Dense(self.embed_dim, dtype=self.dtype, name="q_proj")(hidden))
        k_proj = nn.Dense(self.embed_dim, use_bias=self.key_bias, dtype=self.dtype, name="k_proj")
        v_proj = nn.Dense(self.embed_dim, dtype=self.dtype, name="v_proj")
        if key_value_states is not None and past is not None:
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = extend_cache(past, split(k_proj(source)), split(v_proj(source)))
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, as_array(k)) * head_dim**-0.5
        if bias is not None:
            scores = scores + bias
        weights = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(q.dtype)
        dropped = nn.Dropout(self.dropout)(weights, deterministic=deterministic)
        context = jnp.einsum("bhqk,bkhd->bqhd", dropped, as_array(v)).reshape(hidden.shape[:2] + (self.embed_dim,))
        output = nn.Dense(self.embed_dim, dtype=self.dtype, name="out_proj")(context)
        return output, (k, v), weights if output_attentions else None


class FlaxSeq2SeqLayer(nn.Module):
    """One encoder or decoder layer, pre- or post-norm as the config's layout says."""

    config: Any
    decoder: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias=None, encoder_hidden=None, encoder_bias=None, past=None, output_attentions=False,
                 deterministic=True):  # fmt: skip
        c, layout = self.config, self.config.layout
        _, heads, ffn = c.stack_sizes(self.decoder)
        dropout = nn.Dropout(c.dropout)

        def residual(x, norm, branch):
            if layout.pre_norm:
                output, *rest = branch(norm(x))
                return (x + dropout(output, deterministic=deterministic), *rest)
            output, *rest = branch(x)
            return (norm(x + dropout(output, deterministic=deterministic)), *rest)

        def attention(name):
            return FlaxSeq2SeqAttention(c.d_model, heads, layout.key_bias, c.attention_dropout, self.dtype, name=name)

        hidden, cache, weights = residual(hidden, _layer_norm("self_attn_layer_norm", self.dtype), lambda x: attention(
            "self_attn")(x, bias, past=past[:2] if past else None, output_attentions=output_attentions,
                         deterministic=deterministic))  # fmt: skip
        cross_weights = None
        if self.decoder and encoder_hidden is None and self.is_initializing():
            # a decoder run alone (a causal LM) still holds its cross-attention weights, as in PyTorch
            attention("encoder_attn")(_layer_norm("encoder_attn_layer_norm", self.dtype)(hidden), None, hidden)
        if encoder_hidden is not None:
            hidden, cross, cross_weights = residual(hidden, _layer_norm("encoder_attn_layer_norm", self.dtype),
                                                    lambda x: attention("encoder_attn")(
                x, encoder_bias, encoder_hidden, past[2:] if past else None, output_attentions, deterministic))  # fmt: skip
            cache = cache + cross

        def feed_forward(x):
            x = get_activation(c.activation_function)(_dense(c, ffn, "fc1", dtype=self.dtype)(x))
            x = nn.Dropout(c.activation_dropout)(x, deterministic=deterministic)
            return (_dense(c, c.d_model, "fc2", dtype=self.dtype)(x),)

        (hidden,) = residual(hidden, _layer_norm("final_layer_norm", self.dtype), feed_forward)
        return hidden, cache, weights, cross_weights


class FlaxLayerList(nn.Module):
    """The layers under `layers/0`, `layers/1`, …"""

    config: Any
    decoder: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias=None, encoder_hidden=None, encoder_bias=None, past_key_values=None,
                 output_attentions=False, output_hidden_states=False, deterministic=True):  # fmt: skip
        count, _, _ = self.config.stack_sizes(self.decoder)
        states, caches, self_weights, cross_weights = (), (), (), ()
        layer_class = checkpointed(FlaxSeq2SeqLayer, static_argnums=(6, 7))  # output_attentions, deterministic
        for i in range(count):
            states += (hidden,)
            layer = layer_class(self.config, self.decoder, self.dtype, name=str(i))
            hidden, cache, weights, cross = layer(hidden, bias, encoder_hidden, encoder_bias,
                                                  past_key_values[i] if past_key_values else None, output_attentions,
                                                  deterministic)  # fmt: skip
            caches, self_weights, cross_weights = caches + (cache,), self_weights + (weights,), cross_weights + (cross,)
            if i == 0 and tracing_shapes() and repeat_first_layer(self, [str(n) for n in range(count)], states[0], hidden):
                return hidden, *as_if_every_layer_ran(count, states, hidden, caches, self_weights, cross_weights)
        return hidden, states, caches, self_weights, cross_weights


def check_length(length: int, limit: int, limit_name: str) -> None:
    if length > limit:
        raise ValueError(f"Sequence length {length} is longer than the {limit} positions of the model "
                         f"(config.{limit_name}); truncate the inputs.")  # fmt: skip


def finish_stack(hidden, states, caches, self_weights, cross_weights, final_norm, use_cache, output_attentions,
                 output_hidden_states, cross: bool):  # fmt: skip
    """The stack's output after its last layer (and final `layer_norm`, when given)."""
    if final_norm is not None:
        hidden = final_norm(hidden)
    return out.BaseModelOutputWithPastAndCrossAttentions(
        last_hidden_state=hidden, past_key_values=caches if use_cache else None,
        hidden_states=states + (hidden,) if output_hidden_states else None,
        attentions=self_weights if output_attentions else None,
        cross_attentions=cross_weights if output_attentions and cross else None,
    )  # fmt: skip


class FlaxSeq2SeqStack(nn.Module):
    """Token embedding (the shared one passed in, or the stack's own `embed_tokens`: config.vocab_size rows
    inside an encoder-decoder, config.decoder_vocab for a `standalone` decoder), positions, optional
    `layernorm_embedding`, the layers and an optional final `layer_norm`."""

    config: Any
    decoder: bool = False
    standalone: bool = False
    dtype: Any = jnp.float32

    def embedding(self, shared):
        if shared is not None:
            return shared
        c = self.config
        vocab = c.decoder_vocab if self.standalone else c.vocab_size
        return nn.Embed(vocab, c.d_model, embedding_init=nn.initializers.normal(c.init_std), dtype=self.dtype,
                        name="embed_tokens")  # fmt: skip

    @nn.compact
    def __call__(self, input_ids=None, attention_mask=None, inputs_embeds=None, encoder_hidden=None,
                 encoder_attention_mask=None, past_key_values=None, shared=None, use_cache=False,
                 output_attentions=False, output_hidden_states=False, deterministic=True, position_ids=None):  # fmt: skip
        c, layout = self.config, self.config.layout
        if (input_ids is None) == (inputs_embeds is None):
            what = "decoder_input_ids and decoder_inputs_embeds" if self.decoder else "input_ids and inputs_embeds"
            raise ValueError(f"Pass exactly one of {what}.")
        embed = self.embedding(shared)
        if inputs_embeds is None:
            inputs_embeds = embed(input_ids.astype("i4")) * c.embed_scale
        elif self.decoder and layout.scales_given_embeddings:
            inputs_embeds = inputs_embeds * c.embed_scale
        length = inputs_embeds.shape[1]
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0
        count, limit_name = c.position_limit(self.decoder)
        if position_ids is None:
            check_length(past_length + length, count, limit_name)
            position_ids = jnp.arange(past_length, past_length + length)[None]
        elif not isinstance(position_ids, jax.core.Tracer):
            check_length(int(jnp.max(position_ids)) + 1, count, limit_name)
        if layout.positions == "sinusoidal":
            positions = jnp.asarray(sinusoidal_positions(count, c.d_model))[position_ids]
        else:
            table = nn.Embed(count + layout.position_offset, c.d_model, dtype=self.dtype,
                             embedding_init=nn.initializers.normal(c.init_std), name="embed_positions")  # fmt: skip
            positions = table(position_ids + layout.position_offset)
        hidden = inputs_embeds + positions.astype(inputs_embeds.dtype)
        if layout.embedding_norm:
            hidden = _layer_norm("layernorm_embedding", self.dtype)(hidden)
        hidden = nn.Dropout(c.dropout)(hidden, deterministic=deterministic)
        if self.decoder:
            keys = key_width(past_key_values, past_length + length)
            bias = causal_bias(length, past_length, attention_mask, hidden.dtype, keys=keys)
            encoder_bias = padding_bias(encoder_attention_mask, hidden.dtype)
        else:
            bias, encoder_bias = padding_bias(attention_mask, hidden.dtype), None
        results = FlaxLayerList(c, self.decoder, self.dtype, name="layers")(
            hidden, bias, encoder_hidden, encoder_bias, past_key_values, output_attentions, output_hidden_states,
            deterministic,
        )  # fmt: skip
        final_norm = _layer_norm("layer_norm", self.dtype) if layout.final_norm else None
        return finish_stack(*results, final_norm, use_cache, output_attentions, output_hidden_states,
                            encoder_hidden is not None)  # fmt: skip


def shift_tokens_right(input_ids, pad_token_id: int, start_token_id: int):
    if start_token_id is None:
        raise ValueError("config.decoder_start_token_id is not set; it is needed to build decoder inputs.")
    start = jnp.full(input_ids.shape[:1] + (1,), start_token_id, input_ids.dtype)
    shifted = jnp.concatenate([start, input_ids[:, :-1]], axis=1)
    return jnp.where(shifted == -100, pad_token_id, shifted)


def encoder_output(encoded):
    return out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states,
                               attentions=encoded.attentions)  # fmt: skip


def seq2seq_output(output_class, encoded, decoded, **values):
    return output_class(
        **values, past_key_values=decoded.past_key_values, decoder_hidden_states=decoded.hidden_states,
        decoder_attentions=decoded.attentions, cross_attentions=decoded.cross_attentions,
        encoder_last_hidden_state=encoded.last_hidden_state, encoder_hidden_states=encoded.hidden_states,
        encoder_attentions=encoded.attentions,
    )  # fmt: skip


class FlaxSeq2SeqModule(nn.Module):
    """`shared`, `encoder` and `decoder`: transformers' Flax<X>Module. Architectures subclass it to say how
    decoder inputs are built from input_ids (BART shifts them; others need them given)."""

    config: Any
    dtype: Any = jnp.float32
    encoder_class: Any = FlaxSeq2SeqStack
    decoder_class: Any = FlaxSeq2SeqStack

    def shares_embeddings(self) -> bool:
        return True

    def embedding_init(self):
        return nn.initializers.normal(self.config.init_std)

    def setup(self):
        c = self.config
        self.shared = None
        if self.shares_embeddings():
            self.shared = nn.Embed(c.vocab_size, c.d_model, embedding_init=self.embedding_init(), dtype=self.dtype)
        self.encoder = self.encoder_class(c, decoder=False, dtype=self.dtype)
        self.decoder = self.decoder_class(c, decoder=True, dtype=self.dtype)

    def decoder_embedding(self):
        """The decoder's token embedding matrix (the LM head when tied); the decoder must have run."""
        if self.shared is not None:
            return self.shared.embedding
        return self.decoder.variables["params"]["embed_tokens"]["embedding"]

    def decoder_inputs_from(self, input_ids):
        raise ValueError(
            f"{type(self).__name__.removeprefix('Flax').removesuffix('Module')}Model needs decoder_input_ids (or "
            "decoder_inputs_embeds); an encoder-decoder model cannot run its decoder without inputs."
        )

    def labels_to_decoder_inputs(self, labels):
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    def encode(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_attentions=False,
               output_hidden_states=False, deterministic=True):  # fmt: skip
        encoded = self.encoder(input_ids, attention_mask, inputs_embeds, shared=self.shared,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               deterministic=deterministic)  # fmt: skip
        return encoder_output(encoded)

    def decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, decoder_attention_mask=None,
               past_key_values=None, decoder_inputs_embeds=None, use_cache=True, output_attentions=False,
               output_hidden_states=False, deterministic=True, decoder_position_ids=None):  # fmt: skip
        positions = {} if decoder_position_ids is None else {"position_ids": decoder_position_ids}
        return self.decoder(decoder_input_ids, decoder_attention_mask, decoder_inputs_embeds, encoder_hidden,
                            attention_mask, past_key_values, shared=self.shared, use_cache=use_cache,
                            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                            deterministic=deterministic, **positions)  # fmt: skip

    def __call__(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                 encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
                 use_cache=False, output_attentions=False, output_hidden_states=False, deterministic=True,
                 return_dict=True, decoder_position_ids=None, **kwargs):  # fmt: skip
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            if input_ids is None:
                raise ValueError(f"{type(self).__name__} needs decoder_input_ids when input_ids are not given.")
            decoder_input_ids = self.decoder_inputs_from(input_ids)
        if encoder_outputs is None:
            encoder_outputs = self.encode(input_ids, attention_mask, inputs_embeds, output_attentions,
                                          output_hidden_states, deterministic)  # fmt: skip
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        decoded = self.decode(decoder_input_ids, encoder_outputs.last_hidden_state, attention_mask,
                              decoder_attention_mask, past_key_values, decoder_inputs_embeds, use_cache,
                              output_attentions, output_hidden_states, deterministic, decoder_position_ids)  # fmt: skip
        result = seq2seq_output(out.Seq2SeqModelOutput, encoder_outputs, decoded,
                                last_hidden_state=decoded.last_hidden_state)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSeq2SeqLMModule(nn.Module):
    """The base module under `model`, logits from the decoder embedding (or an untied `lm_head`) plus
    `final_logits_bias`: transformers' Flax<X>ForConditionalGenerationModule."""

    config: Any
    dtype: Any = jnp.float32
    base_module: Any = FlaxSeq2SeqModule

    def setup(self):
        c = self.config
        self.model = self.base_module(c, dtype=self.dtype)
        self.final_logits_bias = self.param("final_logits_bias", nn.initializers.zeros, (1, c.target_vocab))
        if not c.tie_word_embeddings:
            self.lm_head = _dense(c, c.target_vocab, None, use_bias=False, dtype=self.dtype)

    def logits(self, hidden):
        if self.config.tie_word_embeddings:
            return hidden @ self.model.decoder_embedding().T + self.final_logits_bias
        return self.lm_head(hidden) + self.final_logits_bias

    def encode(self, input_ids, attention_mask=None):
        return self.model.encode(input_ids, attention_mask)

    def decode(self, decoder_input_ids, encoder_hidden, attention_mask=None, past_key_values=None,
               decoder_attention_mask=None, decoder_position_ids=None):  # fmt: skip
        decoded = self.model.decode(decoder_input_ids, encoder_hidden, attention_mask, decoder_attention_mask,
                                    past_key_values, decoder_position_ids=decoder_position_ids)  # fmt: skip
        return out.Seq2SeqLMOutput(logits=self.logits(decoded.last_hidden_state), past_key_values=decoded.past_key_values)

    def __call__(self, input_ids=None, attention_mask=None, decoder_input_ids=None, labels=None, return_dict=True,
                 **kwargs):  # fmt: skip
        if labels is not None and decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            decoder_input_ids = self.model.labels_to_decoder_inputs(labels)
        encoded = self.model(input_ids, attention_mask, decoder_input_ids, **kwargs)
        logits = self.logits(encoded.last_hidden_state)
        return out.finish(out.from_encoded(out.Seq2SeqLMOutput, encoded, logits=logits), return_dict)


class FlaxDecoderWrapper(nn.Module):
    """`model/decoder/…`: the decoder with its own token embedding, as the PyTorch causal LM names it."""

    config: Any
    decoder_class: Any = FlaxSeq2SeqStack
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, *args, **kwargs):
        decoder = self.decoder_class(self.config, decoder=True, standalone=True, dtype=self.dtype, name="decoder")
        decoded = decoder(*args, **kwargs)
        return decoded, decoder.variables["params"]["embed_tokens"]["embedding"]


class FlaxSeq2SeqForCausalLMModule(nn.Module):
    """The decoder alone as a language model; the LM head is the decoder's embedding (or an untied one)."""

    config: Any
    dtype: Any = jnp.float32
    decoder_class: Any = FlaxSeq2SeqStack
    lm_head_name: str = "lm_head"

    @nn.compact
    def __call__(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                 inputs_embeds=None, past_key_values=None, use_cache=False, output_attentions=False,
                 output_hidden_states=False, deterministic=True, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        decoded, embedding = FlaxDecoderWrapper(c, self.decoder_class, self.dtype, name="model")(
            input_ids, attention_mask, inputs_embeds, encoder_hidden_states, encoder_attention_mask, past_key_values,
            use_cache=use_cache, output_attentions=output_attentions, output_hidden_states=output_hidden_states,
            deterministic=deterministic,
        )  # fmt: skip
        if c.tie_word_embeddings:
            logits = decoded.last_hidden_state @ embedding.T
        else:
            logits = _dense(c, c.vocab_size, self.lm_head_name, use_bias=False, dtype=self.dtype)(decoded.last_hidden_state)
        return out.finish(out.from_encoded(out.CausalLMOutputWithCrossAttentions, decoded, logits=logits), return_dict)


class Seq2SeqSequenceClassificationModule(SequenceClassificationModule):
    output_class = out.Seq2SeqSequenceClassifierOutput


class Seq2SeqQuestionAnsweringModule(QuestionAnsweringModule):
    output_class = out.Seq2SeqQuestionAnsweringModelOutput


class FlaxSeq2SeqPreTrainedModel(FlaxPreTrainedModel):
    """encode / decode for generate(), the dummy inputs that reach every parameter, the ignored aliases."""

    base_model_prefix = "model"
    _keys_to_ignore_on_load_unexpected = TIED_ALIASES

    def dummy_inputs(self) -> dict:
        ids = jnp.full((1, 2), self.config.eos_token_id, dtype="i4")
        return {"input_ids": ids, "decoder_input_ids": ids}

    def encode(self, input_ids=None, attention_mask=None, **kwargs):
        """The encoder's states for generate(), one compiled program per input shape (eager, a new shape
        compiles each of its hundreds of operations)."""
        module = self.module

        def encoded(params, ids, mask):
            return module.apply({"params": params}, ids, mask, method=type(module).encode).last_hidden_state

        hidden = self._compiled("encode", encoded)(self.params, jnp.asarray(input_ids), attention_mask)
        return out.BaseModelOutput(last_hidden_state=hidden)

    def decode(self, decoder_input_ids, encoder_outputs, attention_mask=None, past_key_values=None,
               decoder_attention_mask=None, decoder_position_ids=None):  # fmt: skip
        """One decoding step for generate(): the prompt (no cache yet) and each step into a static cache compiled
        (FlaxSeq2SeqStep), a growing cache eager."""
        step = self.__dict__.setdefault("_decoder_step", FlaxSeq2SeqStep(self))
        if step._compiles(decoder_input_ids, past_key_values, True, False, {}):
            return step._compiled_step(decoder_input_ids, decoder_attention_mask, decoder_position_ids, past_key_values,
                                       None, extra={"encoder_hidden": encoder_outputs.last_hidden_state,
                                                    "encoder_mask": attention_mask})  # fmt: skip
        module = self.module
        given = {name: jnp.asarray(value) for name, value in (("decoder_attention_mask", decoder_attention_mask),
                                                              ("decoder_position_ids", decoder_position_ids))
                 if value is not None}  # fmt: skip
        if past_key_values is None:

            def prompt(params, ids, hidden, mask, given):
                result = module.apply({"params": params}, ids, hidden, mask, None, method=type(module).decode, **given)
                return result.logits, result.past_key_values

            logits, past = self._compiled("prompt", prompt)(self.params, jnp.asarray(decoder_input_ids),
                                                            encoder_outputs.last_hidden_state, attention_mask, given)  # fmt: skip
            return out.Seq2SeqLMOutput(logits=logits, past_key_values=past)
        return module.apply({"params": self.params}, jnp.asarray(decoder_input_ids), encoder_outputs.last_hidden_state,
                            attention_mask, past_key_values, method=type(module).decode, **given)  # fmt: skip

    def _compiled(self, name: str, function):
        """jax.jit(function), made once per model."""
        compiled = self.__dict__.setdefault("_compiled_functions", {})
        if name not in compiled:
            compiled[name] = jax.jit(function)
        return compiled[name]


class FlaxSeq2SeqForCausalLM(FlaxSeq2SeqPreTrainedModel):
    """The model wrapper of a causal LM over the decoder (the config becomes a decoder's, as in PyTorch)."""

    module_class = FlaxSeq2SeqForCausalLMModule
    marks_decoder = True  # sets config.is_decoder (Whisper's causal LM leaves it)

    def dummy_inputs(self) -> dict:
        return {"input_ids": jnp.full((1, 2), self.config.eos_token_id, dtype="i4")}

    def __init__(self, config, *args, **kwargs):
        config.is_decoder, config.is_encoder_decoder = config.is_decoder or self.marks_decoder, False
        super().__init__(config, *args, **kwargs)


class FlaxSeq2SeqStep(FlaxCompiledStep):
    """generate()'s decoding steps into a static cache as one compiled function (FlaxCompiledStep): the
    encoder's states and padding mask are traced inputs, the cross-attention keys and values ride along in the
    cache, so a step costs one dispatch instead of one per operation."""

    cross_attention_caches = True

    def __init__(self, model: FlaxSeq2SeqPreTrainedModel):
        self.wrapper, self.config = model, model.config

    @property
    def params(self):
        return self.wrapper.params

    def compiled_step_allowed(self, total: int) -> bool:  # (past the position table: the eager call's error)
        return total <= self.config.position_limit(True)[0]

    def step_output(self, logits, past_key_values):
        return out.Seq2SeqLMOutput(logits=logits, past_key_values=past_key_values)

    def step_apply(self, params, input_ids, attention_mask, position_ids, past_key_values, encoder_hidden,
                   encoder_mask):  # fmt: skip
        module = self.wrapper.module
        result = module.apply({"params": params}, input_ids, encoder_hidden, encoder_mask, past_key_values,
                              decoder_attention_mask=attention_mask, decoder_position_ids=position_ids,
                              method=type(module).decode)  # fmt: skip
        return result.logits, result.past_key_values
