"""XLM-RoBERTa in Flax: RoBERTa's model and heads under XLM-RoBERTa's config and class names."""

from __future__ import annotations

from autoload.models.xlm_roberta import XLMRobertaConfig

from ..heads import (
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTokenClassificationModel,
)
from . import roberta


class FlaxXLMRobertaPreTrainedModel(roberta.FlaxRobertaPreTrainedModel):
    config_class = XLMRobertaConfig


class FlaxXLMRobertaModel(FlaxXLMRobertaPreTrainedModel):
    module_class = roberta.FlaxRobertaModule


class FlaxXLMRobertaForMaskedLM(roberta.FlaxRobertaForMaskedLM, FlaxXLMRobertaPreTrainedModel):
    pass


class FlaxXLMRobertaForCausalLM(roberta.FlaxRobertaForCausalLM, FlaxXLMRobertaPreTrainedModel):
    pass


class FlaxXLMRobertaForSequenceClassification(FlaxSequenceClassificationModel, FlaxXLMRobertaPreTrainedModel):
    pass


class FlaxXLMRobertaForMultipleChoice(FlaxMultipleChoiceModel, FlaxXLMRobertaPreTrainedModel):
    pass


class FlaxXLMRobertaForTokenClassification(FlaxTokenClassificationModel, FlaxXLMRobertaPreTrainedModel):
    pass


class FlaxXLMRobertaForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxXLMRobertaPreTrainedModel):
    pass
