"""RoBERTa in Flax: BERT's modules with positions counted from padding_idx + 1 and RoBERTa's heads."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.roberta import RobertaConfig

from . import bert


def position_ids_from(input_ids, padding_idx: int):
    real = (input_ids != padding_idx).astype("i4")
    return jnp.cumsum(real, axis=-1) * real + padding_idx


class FlaxRobertaModule(bert.FlaxBertModule):
    def __call__(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, **kwargs):
        if position_ids is None:
            position_ids = position_ids_from(input_ids, self.config.pad_token_id)
        return super().__call__(input_ids, attention_mask, token_type_ids, position_ids, **kwargs)


class FlaxRobertaLMHead(nn.Module):
    config: RobertaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.dense = bert._dense(c, c.hidden_size, self.dtype)
        self.layer_norm = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype)
        self.bias = self.param("bias", nn.initializers.zeros, (c.vocab_size,))

    def __call__(self, hidden, shared_embedding):
        hidden = self.layer_norm(jax.nn.gelu(self.dense(hidden), approximate=False))
        return hidden @ shared_embedding.T.astype(self.dtype) + self.bias.astype(self.dtype)


class FlaxRobertaClassificationHead(nn.Module):
    config: RobertaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.dense = bert._dense(self.config, self.config.hidden_size, self.dtype)
        self.dropout = nn.Dropout(bert._dropout_rate(self.config))
        self.out_proj = nn.Dense(self.config.num_labels, dtype=self.dtype)

    def __call__(self, hidden, deterministic=True):
        hidden = self.dropout(hidden[:, 0], deterministic=deterministic)
        return self.out_proj(self.dropout(jnp.tanh(self.dense(hidden)), deterministic=deterministic))


def _shared(module):
    return module.roberta.variables["params"]["embeddings"]["word_embeddings"]["embedding"]


class FlaxRobertaForMaskedLMModule(nn.Module):
    config: RobertaConfig
    dtype: jnp.dtype = jnp.float32
    causal: bool = False

    def setup(self):
        self.roberta = FlaxRobertaModule(self.config, dtype=self.dtype, add_pooling_layer=False, causal=self.causal)
        self.lm_head = FlaxRobertaLMHead(self.config, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.roberta(input_ids, **bert._encoder_kwargs(kwargs))
        logits = self.lm_head(encoded.last_hidden_state, _shared(self))
        output_class = out.CausalLMOutputWithCrossAttentions if self.causal else out.MaskedLMOutput
        return out.finish(output_class(logits=logits, hidden_states=encoded.hidden_states), return_dict)


class FlaxRobertaForSequenceClassificationModule(nn.Module):
    config: RobertaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.roberta = FlaxRobertaModule(self.config, dtype=self.dtype, add_pooling_layer=False)
        self.classifier = FlaxRobertaClassificationHead(self.config, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.roberta(input_ids, **bert._encoder_kwargs(kwargs))
        logits = self.classifier(encoded.last_hidden_state, kwargs.get("deterministic", True))
        return out.finish(out.SequenceClassifierOutput(logits=logits, hidden_states=encoded.hidden_states), return_dict)


class FlaxRobertaPreTrainedModel(bert.FlaxBertPreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"


class FlaxRobertaForMultipleChoiceModule(nn.Module):
    config: RobertaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.roberta = FlaxRobertaModule(self.config, dtype=self.dtype)
        self.dropout = nn.Dropout(bert._dropout_rate(self.config))
        self.classifier = nn.Dense(1, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        choices = input_ids.shape[1]
        flat = {k: (v.reshape((-1, v.shape[-1])) if k in ("attention_mask", "token_type_ids", "position_ids")
                    and v is not None else v) for k, v in kwargs.items()}  # fmt: skip
        encoded = self.roberta(input_ids.reshape((-1, input_ids.shape[-1])), **bert._encoder_kwargs(flat))
        pooled = self.dropout(encoded.pooler_output, deterministic=kwargs.get("deterministic", True))
        logits = self.classifier(pooled).reshape((-1, choices))
        return out.finish(out.MultipleChoiceModelOutput(logits=logits, hidden_states=encoded.hidden_states), return_dict)


class FlaxRobertaForTokenClassificationModule(nn.Module):
    config: RobertaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.roberta = FlaxRobertaModule(self.config, dtype=self.dtype, add_pooling_layer=False)
        self.dropout = nn.Dropout(bert._dropout_rate(self.config))
        self.classifier = nn.Dense(self.config.num_labels, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.roberta(input_ids, **bert._encoder_kwargs(kwargs))
        hidden = self.dropout(encoded.last_hidden_state, deterministic=kwargs.get("deterministic", True))
        return out.finish(out.TokenClassifierOutput(logits=self.classifier(hidden), hidden_states=encoded.hidden_states),
                            return_dict)  # fmt: skip


class FlaxRobertaForQuestionAnsweringModule(nn.Module):
    config: RobertaConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.roberta = FlaxRobertaModule(self.config, dtype=self.dtype, add_pooling_layer=False)
        self.qa_outputs = nn.Dense(self.config.num_labels, dtype=self.dtype)

    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = self.roberta(input_ids, **bert._encoder_kwargs(kwargs))
        start, end = jnp.split(self.qa_outputs(encoded.last_hidden_state), 2, axis=-1)
        return out.finish(out.QuestionAnsweringModelOutput(start_logits=start.squeeze(-1), end_logits=end.squeeze(-1),
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


def _model(name: str, module_class, multiple_choice: bool = False) -> type:
    attrs = {"module_class": module_class, "__module__": __name__}
    if multiple_choice:
        attrs["dummy_inputs"] = lambda self: {"input_ids": jnp.ones((1, 1, 2), dtype="i4")}
    return type(name, (FlaxRobertaPreTrainedModel,), attrs)


FlaxRobertaModel = _model("FlaxRobertaModel", FlaxRobertaModule)
FlaxRobertaForMaskedLM = _model("FlaxRobertaForMaskedLM", FlaxRobertaForMaskedLMModule)
FlaxRobertaForSequenceClassification = _model("FlaxRobertaForSequenceClassification",
                                              FlaxRobertaForSequenceClassificationModule)  # fmt: skip
FlaxRobertaForMultipleChoice = _model("FlaxRobertaForMultipleChoice", FlaxRobertaForMultipleChoiceModule, True)
FlaxRobertaForTokenClassification = _model("FlaxRobertaForTokenClassification", FlaxRobertaForTokenClassificationModule)
FlaxRobertaForQuestionAnswering = _model("FlaxRobertaForQuestionAnswering", FlaxRobertaForQuestionAnsweringModule)


class FlaxRobertaForCausalLM(FlaxRobertaPreTrainedModel):
    module_class = FlaxRobertaForMaskedLMModule

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, causal=True, **kwargs)
