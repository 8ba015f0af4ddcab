"""RoBERTa in Flax: BERT's encoder blocks with positions counted from padding_idx + 1, and RoBERTa's heads."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.roberta import RobertaConfig

from ..blocks.encoder import LMHead
from ..heads import (
    FlaxLanguageModelingModel,
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTokenClassificationModel,
)
from . import bert


class FlaxRobertaModule(bert.FlaxBertModule):
    pass


class FlaxRobertaPreTrainedModel(bert.FlaxBertPreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    base_module = FlaxRobertaModule
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"lm_head\.decoder\.(weight|bias)$"]


class FlaxRobertaModel(FlaxRobertaPreTrainedModel):
    module_class = FlaxRobertaModule


class FlaxRobertaForMaskedLM(FlaxLanguageModelingModel, FlaxRobertaPreTrainedModel):
    lm_head = LMHead  # dense -> gelu (whatever hidden_act says) -> layer_norm -> decoder + bias
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
