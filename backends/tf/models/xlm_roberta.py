"""XLM-RoBERTa in TensorFlow (Keras 3): RoBERTa's model and heads under XLM-RoBERTa's config and class names."""

from __future__ import annotations

from autoload.models.xlm_roberta import XLMRobertaConfig

from ..heads import (
    TFMultipleChoiceModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTokenClassificationModel,
)
from . import roberta


class TFXLMRobertaPreTrainedModel(roberta.TFRobertaPreTrainedModel):
    config_class = XLMRobertaConfig


class TFXLMRobertaModel(roberta.TFRobertaModel, TFXLMRobertaPreTrainedModel):
    pass


class TFXLMRobertaForMaskedLM(roberta.TFRobertaForMaskedLM, TFXLMRobertaPreTrainedModel):
    pass


class TFXLMRobertaForCausalLM(roberta.TFRobertaForCausalLM, TFXLMRobertaPreTrainedModel):
    pass


class TFXLMRobertaForSequenceClassification(TFSequenceClassificationModel, TFXLMRobertaPreTrainedModel):
    pass


class TFXLMRobertaForMultipleChoice(TFMultipleChoiceModel, TFXLMRobertaPreTrainedModel):
    pass


class TFXLMRobertaForTokenClassification(TFTokenClassificationModel, TFXLMRobertaPreTrainedModel):
    pass


class TFXLMRobertaForQuestionAnswering(TFQuestionAnsweringModel, TFXLMRobertaPreTrainedModel):
    pass
