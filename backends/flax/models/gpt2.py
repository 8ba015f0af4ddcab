"""GPT-2 in Flax. Conv1D kernels are kept [out, in] as transformers' Flax GPT-2 stores them."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.gpt2 import GPT2Config

from ..activations import get_activation
from ..attention import attend, causal_bias, extend_cache, key_width
from ..generation import FlaxGenerationMixin
from ..modeling import FlaxPreTrainedModel


class FlaxConv1D(nn.Module):
    features: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", nn.initializers.normal(0.02), (self.features, x.shape[-1]))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        return x @ kernel.T.astype(self.dtype) + bias.astype(self.dtype)


class FlaxGPT2Attention(nn.Module):
    config: GPT2Config
    layer_idx: int = 0
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.c_attn = FlaxConv1D(3 * c.n_embd, dtype=self.dtype)
        self.c_proj = FlaxConv1D(c.n_embd, dtype=self.dtype)
        self.attn_dropout = nn.Dropout(c.attn_pdrop)
        self.resid_dropout = nn.Dropout(c.resid_pdrop)

    def __call__(self, hidden, bias, past=None, deterministic=True):
        c = self.config
        head_dim = c.n_embd // c.n_head
        q, k, v = jnp.split(self.c_attn(hidden), 3, axis=-1)
        heads = lambda x: x.reshape(x.shape[:2] + (c.n_head, head_dim))  # noqa: E731
        k, v = extend_cache(past, heads(k), heads(v))
        scale = head_dim**-0.5 if c.scale_attn_weights else 1.0
        if c.scale_attn_by_inverse_layer_idx:
            scale = scale / (self.layer_idx + 1)
        context = attend(heads(q), k, v, bias, scale, self.attn_dropout, deterministic).reshape(hidden.shape)
        return self.resid_dropout(self.c_proj(context), deterministic=deterministic), (k, v)


class FlaxGPT2MLP(nn.Module):
    config: GPT2Config
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.c_fc = FlaxConv1D(c.n_inner or 4 * c.n_embd, dtype=self.dtype)
        self.c_proj = FlaxConv1D(c.n_embd, dtype=self.dtype)
        self.act = get_activation(c.activation_function)
        self.dropout = nn.Dropout(c.resid_pdrop)

    def __call__(self, hidden, deterministic=True):
        return self.dropout(self.c_proj(self.act(self.c_fc(hidden))), deterministic=deterministic)


class FlaxGPT2Block(nn.Module):
    config: GPT2Config
    layer_idx: int = 0
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        eps = self.config.layer_norm_epsilon
        self.ln_1 = nn.LayerNorm(epsilon=eps, dtype=self.dtype)
        self.attn = FlaxGPT2Attention(self.config, self.layer_idx, dtype=self.dtype)
        self.ln_2 = nn.LayerNorm(epsilon=eps, dtype=self.dtype)
        self.mlp = FlaxGPT2MLP(self.config, dtype=self.dtype)

    def __call__(self, hidden, bias, past=None, deterministic=True):
        attended, cache = self.attn(self.ln_1(hidden), bias, past, deterministic)
        hidden = hidden + attended
        return hidden + self.mlp(self.ln_2(hidden), deterministic), cache


class FlaxGPT2BlockCollection(nn.Module):
    config: GPT2Config
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.blocks = [FlaxGPT2Block(self.config, i, dtype=self.dtype, name=str(i)) for i in range(self.config.n_layer)]

    def __call__(self, hidden, bias, past_key_values=None, deterministic=True):
        states, caches = (), ()
        for i, block in enumerate(self.blocks):
            states += (hidden,)
            hidden, cache = block(hidden, bias, past_key_values[i] if past_key_values else None, deterministic)
            caches += (cache,)
        return hidden, states, caches


class FlaxGPT2Module(nn.Module):
    config: GPT2Config
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c, init = self.config, nn.initializers.normal(self.config.initializer_range)
        self.wte = nn.Embed(c.vocab_size, c.n_embd, embedding_init=init, dtype=self.dtype)
        self.wpe = nn.Embed(c.n_positions, c.n_embd, embedding_init=init, dtype=self.dtype)
        self.dropout = nn.Dropout(c.embd_pdrop)
        self.h = FlaxGPT2BlockCollection(c, dtype=self.dtype)
        self.ln_f = nn.LayerNorm(epsilon=c.layer_norm_epsilon, dtype=self.dtype)

    def __call__(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                 deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        length = input_ids.shape[-1]
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0
        if past_length + length > self.config.n_positions:
            raise ValueError(
                f"Sequence length {past_length + length} is longer than n_positions ({self.config.n_positions})."
            )
        if position_ids is None:
            position_ids = jnp.arange(past_length, past_length + length)[None]
        hidden = self.wte(input_ids.astype("i4")) + self.wpe(position_ids.astype("i4"))
        hidden = self.dropout(hidden, deterministic=deterministic)
        keys = key_width(past_key_values, past_length + length)
        bias = causal_bias(length, past_length, attention_mask, hidden.dtype, keys=keys)
        hidden, states, caches = self.h(hidden, bias, past_key_values, deterministic)
        hidden = self.ln_f(hidden)
        result = out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxGPT2LMHeadModule(nn.Module):
    config: GPT2Config
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.transformer = FlaxGPT2Module(self.config, dtype=self.dtype)
        if not self.config.tie_word_embeddings:
            self.lm_head = nn.Dense(self.config.vocab_size, use_bias=False, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.transformer(input_ids, **kwargs)
        if self.config.tie_word_embeddings:
            shared = self.transformer.variables["params"]["wte"]["embedding"]
            logits = encoded.last_hidden_state @ shared.T
        else:
            logits = self.lm_head(encoded.last_hidden_state)
        return out.finish(out.CausalLMOutputWithCrossAttentions(logits=logits, past_key_values=encoded.past_key_values,
                       hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


def last_token_index(input_ids, pad_token_id):
    if pad_token_id is None:
        if input_ids.shape[0] != 1:
            raise ValueError("Sequence classification of a batch needs config.pad_token_id to find each row's end.")
        return jnp.full(input_ids.shape[:1], input_ids.shape[-1] - 1)
    positions = jnp.arange(input_ids.shape[-1])[None]
    return jnp.argmax(positions * (input_ids != pad_token_id), axis=-1)


class FlaxGPT2ForSequenceClassificationModule(nn.Module):
    config: GPT2Config
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.transformer = FlaxGPT2Module(self.config, dtype=self.dtype)
        self.score = nn.Dense(self.config.num_labels, use_bias=False, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.transformer(input_ids, **kwargs)
        logits = self.score(encoded.last_hidden_state)
        pooled = logits[jnp.arange(logits.shape[0]), last_token_index(input_ids, self.config.pad_token_id)]
        return out.finish(out.SequenceClassifierOutputWithPast(logits=pooled, hidden_states=encoded.hidden_states),
                       return_dict)  # fmt: skip


class FlaxGPT2ForTokenClassificationModule(nn.Module):
    config: GPT2Config
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.transformer = FlaxGPT2Module(self.config, dtype=self.dtype)
        rate = getattr(self.config, "classifier_dropout", None)
        self.dropout = nn.Dropout(rate if rate is not None else 0.1)
        self.classifier = nn.Dense(self.config.num_labels, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.transformer(input_ids, **kwargs)
        hidden = self.dropout(encoded.last_hidden_state, deterministic=kwargs.get("deterministic", True))
        return out.finish(out.TokenClassifierOutput(logits=self.classifier(hidden), hidden_states=encoded.hidden_states),
                       return_dict)  # fmt: skip


class FlaxGPT2ForQuestionAnsweringModule(nn.Module):
    config: GPT2Config
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.transformer = FlaxGPT2Module(self.config, dtype=self.dtype)
        self.qa_outputs = nn.Dense(2, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.transformer(input_ids, **kwargs)
        start, end = jnp.split(self.qa_outputs(encoded.last_hidden_state), 2, axis=-1)
        return out.finish(out.QuestionAnsweringModelOutput(start_logits=start.squeeze(-1), end_logits=end.squeeze(-1),
                       hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class FlaxSequenceSummary(nn.Module):
    """The multiple-choice head: one vector per choice (at mc_token_ids), projected to a score."""

    config: GPT2Config
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        labels = c.num_labels if c.summary_proj_to_labels and c.num_labels > 0 else c.n_embd
        self.summary = nn.Dense(labels, dtype=self.dtype) if c.summary_use_proj else None
        self.first_dropout = nn.Dropout(c.summary_first_dropout)

    def __call__(self, hidden, token_ids=None, deterministic=True):
        if token_ids is None:
            token_ids = jnp.full(hidden.shape[:-2], hidden.shape[-2] - 1)
        picked = jnp.take_along_axis(hidden, token_ids[..., None, None], axis=-2).squeeze(-2)
        picked = self.first_dropout(picked, deterministic=deterministic)
        return self.summary(picked) if self.summary is not None else picked


class FlaxGPT2DoubleHeadsModule(nn.Module):
    config: GPT2Config
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.transformer = FlaxGPT2Module(self.config, dtype=self.dtype)
        self.multiple_choice_head = FlaxSequenceSummary(self.config, dtype=self.dtype)

    def __call__(self, input_ids, mc_token_ids=None, return_dict=True, **kwargs):
        shape = input_ids.shape
        if len(shape) == 2:  # generation feeds [batch, seq]
            input_ids = input_ids[:, None]
        flat = {k: (v.reshape((-1, v.shape[-1])) if k == "attention_mask" and v is not None else v)
                for k, v in kwargs.items()}  # fmt: skip
        encoded = self.transformer(input_ids.reshape((-1, input_ids.shape[-1])), **flat)
        hidden = encoded.last_hidden_state.reshape(input_ids.shape + (-1,))
        logits = hidden @ self.transformer.variables["params"]["wte"]["embedding"].T
        mc_logits = self.multiple_choice_head(hidden, mc_token_ids, kwargs.get("deterministic", True)).squeeze(-1)
        if len(shape) == 2:
            logits, mc_logits = logits[:, 0], None
        return out.finish(out.GPT2DoubleHeadsModelOutput(logits=logits, mc_logits=mc_logits,
                       past_key_values=encoded.past_key_values, hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class FlaxGPT2PreTrainedModel(FlaxPreTrainedModel):
    config_class = GPT2Config
    base_model_prefix = "transformer"

    def __call__(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=False, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask,
                                past_key_values=past_key_values, use_cache=use_cache, **kwargs)  # fmt: skip


def _model(name, module_class, *mixins):
    return type(name, (*mixins, FlaxGPT2PreTrainedModel), {"module_class": module_class, "__module__": __name__})


FlaxGPT2Model = _model("FlaxGPT2Model", FlaxGPT2Module)
FlaxGPT2LMHeadModel = _model("FlaxGPT2LMHeadModel", FlaxGPT2LMHeadModule, FlaxGenerationMixin)
FlaxGPT2ForSequenceClassification = _model("FlaxGPT2ForSequenceClassification", FlaxGPT2ForSequenceClassificationModule)
FlaxGPT2ForTokenClassification = _model("FlaxGPT2ForTokenClassification", FlaxGPT2ForTokenClassificationModule)
FlaxGPT2ForQuestionAnswering = _model("FlaxGPT2ForQuestionAnswering", FlaxGPT2ForQuestionAnsweringModule)


class FlaxGPT2DoubleHeadsModel(FlaxGenerationMixin, FlaxGPT2PreTrainedModel):
    module_class = FlaxGPT2DoubleHeadsModule

    def __init__(self, config, *args, **kwargs):
        config.num_labels = 1
        super().__init__(config, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        return {"input_ids": jnp.zeros((1, 2, 2), dtype="i4")}
