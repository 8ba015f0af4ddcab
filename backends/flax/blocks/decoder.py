"""The pre-norm decoder (Llama, Mistral, Qwen2/3, Gemma 1/2/3, Phi-3, Mixtral) in Flax, built from the
config's DecoderOptions (autoload/decoder_options.py). Parameter paths are the checkpoints' names
(`layers/0/self_attn/q_proj/kernel`, as transformers' FlaxLlama/FlaxGemma write them). An architecture's
classes are explicit subclasses:

    class FlaxMistralPreTrainedModel(FlaxDecoderPreTrainedModel):
        config_class = MistralConfig
    class FlaxMistralModel(FlaxMistralPreTrainedModel):
        module_class = FlaxDecoderModule
    class FlaxMistralForCausalLM(FlaxDecoderForCausalLM, FlaxMistralPreTrainedModel): pass

and its other heads are the generic ones of ../heads.py (HEADS in autoload/models/<model_type>.py).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.rope import rope_kind, switches_to_long_factors

from ..abstract_params import as_if_every_layer_ran, repeat_first_layer, tracing_shapes
from ..attention import key_width
from ..generation import FlaxCompiledStep, FlaxGenerationMixin
from ..heads import (
    FlaxSequenceClassificationModel,
    FlaxTaskModel,
    HeadModule,
    SequenceClassificationWithPastModule,
    kept_positions,
)
from ..losses import causal_lm_loss
from ..modeling import FlaxPreTrainedModel
from ..remat import checkpointed
from ..rotary import rope_length, rotary_cos_sin
from .attention import FlaxDecoderAttention, decoder_bias
from .feedforward import FlaxGatedMLP, FlaxSparseMoe, load_balancing_loss
from .norms import FlaxRMSNorm


class FlaxDecoderLayer(nn.Module):
    """x + attn(norm(x)), then + mlp(norm(x)); with sandwich norms (Gemma 2/3) each branch's output is
    normed too."""

    options: Any
    config: Any
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        o = self.options

        def norm():
            return FlaxRMSNorm(o.hidden_size, o.norm_eps, o.norm_offset, self.dtype)

        self.self_attn = FlaxDecoderAttention(o, self.config, self.dtype)
        feed_forward = FlaxSparseMoe if o.moe else FlaxGatedMLP
        self.feed_forward = feed_forward(o, self.config, self.dtype, name=o.mlp_attr)
        self.input_layernorm = norm()
        self.post_attention_layernorm = norm()
        if o.sandwich_norms:
            self.pre_feedforward_layernorm = norm()
            self.post_feedforward_layernorm = norm()
        self.dropout = nn.Dropout(o.residual_dropout)

    def __call__(self, hidden, cos, sin, bias, past=None, output_attentions=False, deterministic=True):
        attended, probs, cache = self.self_attn(self.input_layernorm(hidden), cos, sin, bias, past, output_attentions,
                                                deterministic)  # fmt: skip
        if self.options.sandwich_norms:
            hidden = hidden + self.dropout(self.post_attention_layernorm(attended), deterministic=deterministic)
            fed, router_logits = self.feed_forward(self.pre_feedforward_layernorm(hidden), deterministic)
            fed = self.post_feedforward_layernorm(fed)
        else:
            hidden = hidden + self.dropout(attended, deterministic=deterministic)
            fed, router_logits = self.feed_forward(self.post_attention_layernorm(hidden), deterministic)
        return hidden + self.dropout(fed, deterministic=deterministic), probs, cache, router_logits


class FlaxDecoderLayerCollection(nn.Module):
    """The layers under `layers/0`, `layers/1`, …"""

    options: Any
    config: Any
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        layer_class = checkpointed(FlaxDecoderLayer, static_argnums=(6, 7))  # output_attentions, deterministic
        self.blocks = [layer_class(self.options, self.config, self.dtype, name=str(i))
                       for i in range(self.options.num_layers)]  # fmt: skip

    def __call__(self, hidden, rotary, attention_mask, past_key_values, past_length, output_attentions,
                 deterministic):  # fmt: skip
        o = self.options
        keys = key_width(past_key_values, past_length + hidden.shape[1])
        biases = {window: decoder_bias(hidden.shape[1], past_length, attention_mask, hidden.dtype, window, o.causal,
                                       keys) for window in {layer.window for layer in o.layers}}  # fmt: skip
        states, caches, attentions, routers = (), (), (), ()
        for i, block in enumerate(self.blocks):
            states += (hidden,)
            cos, sin = rotary[o.layers[i].local_rope]
            hidden, probs, cache, router_logits = block(hidden, cos, sin, biases[o.layers[i].window],
                                                        past_key_values[i] if past_key_values else None,
                                                        output_attentions, deterministic)  # fmt: skip
            caches, attentions, routers = caches + (cache,), attentions + (probs,), routers + (router_logits,)
            if i == 0 and tracing_shapes() and repeat_first_layer(self, [b.name for b in self.blocks], states[0], hidden):
                return hidden, *as_if_every_layer_ran(len(self.blocks), states, hidden, caches, attentions, routers)
        return hidden, states, caches, attentions, routers


class FlaxDecoderModule(nn.Module):
    config: Any
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        o = self.options = c.decoder_options()
        self.embed_tokens = nn.Embed(o.vocab_size, o.hidden_size, dtype=self.dtype,
                                     embedding_init=nn.initializers.normal(c.initializer_range))  # fmt: skip
        self.layers = FlaxDecoderLayerCollection(o, c, self.dtype)
        self.norm = FlaxRMSNorm(o.hidden_size, o.norm_eps, o.norm_offset, self.dtype)

    def __call__(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                 inputs_embeds=None, use_cache=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, output_router_logits=None, return_dict=True, **kwargs):  # fmt: skip
        c, o = self.config, self.options
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        if inputs_embeds is None:
            hidden = self.embed_tokens(input_ids.astype("i4"))
        else:
            hidden = inputs_embeds.astype(self.dtype)
        if o.embed_scale is not None:
            hidden = hidden * jnp.asarray(o.embed_scale, hidden.dtype)
        length = hidden.shape[1]
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0  # traced in the jitted step
        concrete = isinstance(past_length, int)
        if concrete and past_length + length > c.max_position_embeddings and rope_kind(c) != "dynamic":
            raise ValueError(
                f"Sequence length {past_length + length} is longer than max_position_embeddings "
                f"({c.max_position_embeddings})."
            )
        if position_ids is None:
            position_ids = past_length + jnp.arange(length)[None]
        seq_len = rope_length(c, position_ids, None)  # (traced in the jitted step)
        rotary = {local: rotary_cos_sin(c, position_ids, seq_len, hidden.dtype, local=local)
                  for local in {layer.local_rope for layer in o.layers}}  # fmt: skip
        hidden, states, caches, attentions, routers = self.layers(
            hidden, rotary, attention_mask, past_key_values, past_length, output_attentions, deterministic
        )
        hidden = self.norm(hidden)
        values = {
            "last_hidden_state": hidden,
            "past_key_values": caches if (c.use_cache if use_cache is None else use_cache) else None,
            "hidden_states": states + (hidden,) if output_hidden_states else None,
            "attentions": attentions if output_attentions else None,
        }
        if o.moe is None:
            return out.finish(out.BaseModelOutputWithPast(**values), return_dict)
        wanted = o.moe.output_router_logits if output_router_logits is None else output_router_logits
        return out.finish(out.MoeModelOutputWithPast(**values, router_logits=routers if wanted else None), return_dict)


class FlaxDecoderPreTrainedModel(FlaxPreTrainedModel):
    base_model_prefix = "model"
    base_module = FlaxDecoderModule
    _keys_to_ignore_on_load_unexpected = [r"rotary_emb\.inv_freq", r"embed_tokens\.embed_scale"]

    def __call__(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=None, **kwargs):
        if input_ids is None and kwargs.get("inputs_embeds") is None:
            raise ValueError(f"{type(self).__name__} needs input_ids or inputs_embeds.")
        ids = None if input_ids is None else jnp.asarray(input_ids)
        return super().__call__(ids, attention_mask=attention_mask, past_key_values=past_key_values,
                                use_cache=use_cache, **kwargs)  # fmt: skip


class FlaxDecoderForCausalLMModule(HeadModule):
    """Next-token logits from lm_head (or the embedding matrix when tied), soft-capped for Gemma 2/3, and the
    next-token loss with labels; for a mixture of experts also the router logits and the auxiliary load-balancing
    loss (added to the loss times router_aux_loss_coef)."""

    @nn.compact
    def __call__(self, input_ids=None, attention_mask=None, labels=None, output_router_logits=None, deterministic=True,
                 return_dict=True, logits_to_keep=0, **kwargs):  # fmt: skip
        c = self.config
        o = c.decoder_options()
        if o.moe is not None:
            output_router_logits = o.moe.output_router_logits if output_router_logits is None else output_router_logits
            kwargs["output_router_logits"] = output_router_logits
        base = self.base()
        encoded = base(input_ids, attention_mask=attention_mask, deterministic=deterministic, **kwargs)
        hidden = kept_positions(encoded.last_hidden_state, logits_to_keep, labels)
        if c.tie_word_embeddings:
            logits = hidden @ base.variables["params"]["embed_tokens"]["embedding"].T.astype(hidden.dtype)
        else:
            logits = nn.Dense(c.vocab_size, use_bias=False, dtype=self.dtype, name=self.spec.attr,
                              kernel_init=nn.initializers.normal(c.initializer_range))(hidden)  # fmt: skip
        if o.final_softcap is not None:
            logits = jnp.tanh(logits / o.final_softcap) * o.final_softcap
        loss = None if labels is None else causal_lm_loss(logits, labels)
        if o.moe is None:
            return out.finish(out.from_encoded(out.CausalLMOutputWithPast, encoded, loss=loss, logits=logits),
                              return_dict)  # fmt: skip
        aux_loss = None
        if output_router_logits:
            steps = encoded.last_hidden_state.shape[1]
            mask = None if attention_mask is None else attention_mask[:, -steps:]  # this call's tokens
            aux_loss = load_balancing_loss(encoded.router_logits, o.moe.num_experts, o.moe.top_k, mask)
            if loss is not None:
                loss = loss + o.moe.aux_loss_coef * aux_loss
        result = out.from_encoded(out.MoeCausalLMOutputWithPast, encoded, loss=loss, aux_loss=aux_loss, logits=logits,
                                  router_logits=encoded.router_logits)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxDecoderForCausalLM(FlaxCompiledStep, FlaxGenerationMixin, FlaxTaskModel):
    """Decoding steps into generate()'s static cache run compiled (FlaxCompiledStep), sliding-window and
    soft-capped layers and experts included."""

    module_class = FlaxDecoderForCausalLMModule
    generation_position_ids = True  # generate() passes positions counted from the attention mask
    accepts_logits_to_keep = True  # generate() scores only the prompt's last position
    generation_step_kwargs = {"output_router_logits": False}  # generate() reads only the logits

    def restarts_cache(self, before: int, after: int) -> bool:
        return switches_to_long_factors(self.config, before, after)

    def compiled_step_allowed(self, total: int) -> bool:
        """Longer than the config allows is the eager call's error to raise (dynamic NTK rope allows any length;
        its frequencies and longrope's are picked from the positions inside the jitted step)."""
        return rope_kind(self.config) == "dynamic" or total <= self.config.max_position_embeddings

    def optional_outputs(self) -> dict:
        moe = self.config.decoder_options().moe
        return {**super().optional_outputs(), "output_router_logits": moe is not None and moe.output_router_logits}

    def step_output(self, logits, past_key_values):
        if self.config.decoder_options().moe is None:
            return out.CausalLMOutputWithPast(logits=logits, past_key_values=past_key_values)
        return out.MoeCausalLMOutputWithPast(logits=logits, past_key_values=past_key_values)


class FlaxDecoderForSequenceClassification(FlaxSequenceClassificationModel):
    module_class = SequenceClassificationWithPastModule
