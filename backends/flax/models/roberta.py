"""RoBERTa in Flax: BERT's modules with positions counted from padding_idx + 1 and RoBERTa's heads."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.roberta import RobertaConfig

from ..heads import (
    FlaxLanguageModelingModel,
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTokenClassificationModel,
)
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


class FlaxRobertaPreTrainedModel(bert.FlaxBertPreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    base_module = FlaxRobertaModule


class FlaxRobertaModel(FlaxRobertaPreTrainedModel):
    module_class = FlaxRobertaModule


class FlaxRobertaForMaskedLM(FlaxLanguageModelingModel, FlaxRobertaPreTrainedModel):
    lm_head = FlaxRobertaLMHead
    embedding_path = ("embeddings", "word_embeddings", "embedding")


class FlaxRobertaForCausalLM(FlaxRobertaForMaskedLM):
    output_class = out.CausalLMOutputWithCrossAttentions


class FlaxRobertaForSequenceClassification(FlaxSequenceClassificationModel, FlaxRobertaPreTrainedModel):
    pass


class FlaxRobertaForMultipleChoice(FlaxMultipleChoiceModel, FlaxRobertaPreTrainedModel):
    pass


class FlaxRobertaForTokenClassification(FlaxTokenClassificationModel, FlaxRobertaPreTrainedModel):
    pass


class FlaxRobertaForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxRobertaPreTrainedModel):
    pass
