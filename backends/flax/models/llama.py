"""Llama in Flax (Mistral and Qwen2 reuse it): RMSNorm, rotary positions, grouped-query attention."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.llama import LlamaConfig
from autoload.rope import rope_kind

from ..activations import get_activation
from ..attention import as_array, attend, causal_bias, extend_cache, key_width
from ..generation import FlaxGenerationMixin
from ..modeling import FlaxPreTrainedModel
from ..rotary import apply_rotary, rotary_cos_sin
from .gpt2 import last_token_index


def _dense(config, features, bias, dtype):
    return nn.Dense(features, use_bias=bias, dtype=dtype, kernel_init=nn.initializers.normal(config.initializer_range))


class FlaxLlamaRMSNorm(nn.Module):
    size: int
    eps: float = 1e-6
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        weight = self.param("weight", nn.initializers.ones, (self.size,))
        variance = jnp.mean(jnp.square(hidden.astype(jnp.float32)), axis=-1, keepdims=True)
        return weight * (hidden.astype(jnp.float32) / jnp.sqrt(variance + self.eps)).astype(self.dtype)


class FlaxLlamaAttention(nn.Module):
    config: LlamaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        qkv_bias, out_bias = c.qkv_bias, c.output_bias
        self.q_proj = _dense(c, c.num_attention_heads * c.head_dim, qkv_bias, self.dtype)
        self.k_proj = _dense(c, c.num_key_value_heads * c.head_dim, qkv_bias, self.dtype)
        self.v_proj = _dense(c, c.num_key_value_heads * c.head_dim, qkv_bias, self.dtype)
        self.o_proj = _dense(c, c.hidden_size, out_bias, self.dtype)

    def __call__(self, hidden, cos, sin, bias, past=None):
        c = self.config
        split = lambda x, n: x.reshape(x.shape[:2] + (n, c.head_dim))  # noqa: E731
        q = apply_rotary(split(self.q_proj(hidden), c.num_attention_heads), cos, sin)
        k = apply_rotary(split(self.k_proj(hidden), c.num_key_value_heads), cos, sin)
        k, v = extend_cache(past, k, split(self.v_proj(hidden), c.num_key_value_heads))
        groups = c.num_attention_heads // c.num_key_value_heads
        keys, values = jnp.repeat(as_array(k), groups, axis=2), jnp.repeat(as_array(v), groups, axis=2)
        context = attend(q, keys, values, bias, c.head_dim**-0.5)
        return self.o_proj(context.reshape(hidden.shape[:2] + (-1,))), (k, v)


class FlaxLlamaMLP(nn.Module):
    config: LlamaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c, bias = self.config, getattr(self.config, "mlp_bias", False)
        self.gate_proj = _dense(c, c.intermediate_size, bias, self.dtype)
        self.up_proj = _dense(c, c.intermediate_size, bias, self.dtype)
        self.down_proj = _dense(c, c.hidden_size, bias, self.dtype)
        self.act = get_activation(c.hidden_act)

    def __call__(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class FlaxLlamaDecoderLayer(nn.Module):
    config: LlamaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.input_layernorm = FlaxLlamaRMSNorm(c.hidden_size, c.rms_norm_eps, self.dtype)
        self.self_attn = FlaxLlamaAttention(c, dtype=self.dtype)
        self.post_attention_layernorm = FlaxLlamaRMSNorm(c.hidden_size, c.rms_norm_eps, self.dtype)
        self.mlp = FlaxLlamaMLP(c, dtype=self.dtype)

    def __call__(self, hidden, cos, sin, bias, past=None):
        attended, cache = self.self_attn(self.input_layernorm(hidden), cos, sin, bias, past)
        hidden = hidden + attended
        return hidden + self.mlp(self.post_attention_layernorm(hidden)), cache


def _window(config, index: int):
    if getattr(config, "layer_types", None):
        return config.sliding_window if config.layer_types[index] == "sliding_attention" else None
    return getattr(config, "sliding_window", None)


class FlaxLlamaLayerCollection(nn.Module):
    config: LlamaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.blocks = [FlaxLlamaDecoderLayer(c, dtype=self.dtype, name=str(i)) for i in range(c.num_hidden_layers)]

    def __call__(self, hidden, cos, sin, attention_mask, past_key_values, past_length):
        states, caches = (), ()
        for i, block in enumerate(self.blocks):
            states += (hidden,)
            keys = key_width(past_key_values, past_length + hidden.shape[1])
            bias = causal_bias(hidden.shape[1], past_length, attention_mask, hidden.dtype, _window(self.config, i), keys)
            hidden, cache = block(hidden, cos, sin, bias, past_key_values[i] if past_key_values else None)
            caches += (cache,)
        return hidden, states, caches


class FlaxLlamaModule(nn.Module):
    config: LlamaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.embed_tokens = nn.Embed(c.vocab_size, c.hidden_size, dtype=self.dtype,
                                     embedding_init=nn.initializers.normal(c.initializer_range))  # fmt: skip
        self.layers = FlaxLlamaLayerCollection(c, dtype=self.dtype)
        self.norm = FlaxLlamaRMSNorm(c.hidden_size, c.rms_norm_eps, self.dtype)

    def __call__(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                 deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        length = input_ids.shape[-1]
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0
        if past_length + length > c.max_position_embeddings and rope_kind(c) != "dynamic":
            raise ValueError(
                f"Sequence length {past_length + length} is longer than max_position_embeddings "
                f"({c.max_position_embeddings})."
            )
        if position_ids is None:
            position_ids = jnp.arange(past_length, past_length + length)[None]
        hidden = self.embed_tokens(input_ids.astype("i4"))
        cos, sin = rotary_cos_sin(c, position_ids, past_length + length, hidden.dtype)
        hidden, states, caches = self.layers(hidden, cos, sin, attention_mask, past_key_values, past_length)
        hidden = self.norm(hidden)
        result = out.BaseModelOutputWithPast(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxLlamaForCausalLMModule(nn.Module):
    config: LlamaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.model = FlaxLlamaModule(self.config, dtype=self.dtype)
        if not self.config.tie_word_embeddings:
            self.lm_head = nn.Dense(self.config.vocab_size, use_bias=False, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.model(input_ids, **kwargs)
        if self.config.tie_word_embeddings:
            logits = encoded.last_hidden_state @ self.model.variables["params"]["embed_tokens"]["embedding"].T
        else:
            logits = self.lm_head(encoded.last_hidden_state)
        return out.finish(out.CausalLMOutputWithPast(logits=logits, past_key_values=encoded.past_key_values,
                       hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class FlaxLlamaForSequenceClassificationModule(nn.Module):
    config: LlamaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.model = FlaxLlamaModule(self.config, dtype=self.dtype)
        self.score = nn.Dense(self.config.num_labels, use_bias=False, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.model(input_ids, **kwargs)
        logits = self.score(encoded.last_hidden_state)
        pooled = logits[jnp.arange(logits.shape[0]), last_token_index(input_ids, self.config.pad_token_id)]
        return out.finish(out.SequenceClassifierOutputWithPast(logits=pooled, hidden_states=encoded.hidden_states),
                       return_dict)  # fmt: skip


class FlaxLlamaForTokenClassificationModule(nn.Module):
    config: LlamaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.model = FlaxLlamaModule(self.config, dtype=self.dtype)
        self.dropout = nn.Dropout(getattr(self.config, "classifier_dropout", None) or 0.1)
        self.score = nn.Dense(self.config.num_labels, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.model(input_ids, **kwargs)
        hidden = self.dropout(encoded.last_hidden_state, deterministic=kwargs.get("deterministic", True))
        return out.finish(out.TokenClassifierOutput(logits=self.score(hidden), hidden_states=encoded.hidden_states),
                       return_dict)  # fmt: skip


class FlaxLlamaForQuestionAnsweringModule(nn.Module):
    config: LlamaConfig
    dtype: jnp.dtype = jnp.float32
    prefix: str = "transformer"

    @nn.compact
    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = FlaxLlamaModule(self.config, dtype=self.dtype, name=self.prefix)(input_ids, **kwargs)
        start, end = jnp.split(nn.Dense(2, dtype=self.dtype, name="qa_outputs")(encoded.last_hidden_state), 2, axis=-1)
        return out.finish(out.QuestionAnsweringModelOutput(start_logits=start.squeeze(-1), end_logits=end.squeeze(-1),
                       hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class FlaxLlamaPreTrainedModel(FlaxPreTrainedModel):
    config_class = LlamaConfig
    base_model_prefix = "model"

    def __call__(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=False, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask,
                                past_key_values=past_key_values, use_cache=use_cache, **kwargs)  # fmt: skip


def family(prefix: str, config_class, module_name: str, qa_prefix: str = "transformer") -> dict[str, type]:
    """The Flax classes of one Llama-like architecture (Llama, Mistral, Qwen2) for its config class."""

    def make(suffix, module_class, *mixins, **attrs):
        name = f"Flax{prefix}{suffix}"
        return name, type(name, (*mixins, FlaxLlamaPreTrainedModel),
                          {"module_class": module_class, "config_class": config_class, "__module__": module_name,
                           **attrs})  # fmt: skip

    def qa_init(self, config, *args, **kwargs):
        FlaxLlamaPreTrainedModel.__init__(self, config, *args, prefix=qa_prefix, **kwargs)

    return dict([
        make("Model", FlaxLlamaModule),
        make("ForCausalLM", FlaxLlamaForCausalLMModule, FlaxGenerationMixin),
        make("ForSequenceClassification", FlaxLlamaForSequenceClassificationModule),
        make("ForTokenClassification", FlaxLlamaForTokenClassificationModule),
        make("ForQuestionAnswering", FlaxLlamaForQuestionAnsweringModule, base_model_prefix=qa_prefix,
             __init__=qa_init),
    ])  # fmt: skip


globals().update(family("Llama", LlamaConfig, __name__))
