"""XLM-RoBERTa in PyTorch: RoBERTa's model and heads under XLM-RoBERTa's config and class names."""

from __future__ import annotations

from autoload.models.xlm_roberta import XLMRobertaConfig

from ..heads import MultipleChoiceModel, QuestionAnsweringModel, SequenceClassificationModel, TokenClassificationModel
from . import roberta


class XLMRobertaPreTrainedModel(roberta.RobertaPreTrainedModel):
    config_class = XLMRobertaConfig


class XLMRobertaModel(XLMRobertaPreTrainedModel, roberta.RobertaModel):
    pass


class XLMRobertaForMaskedLM(XLMRobertaPreTrainedModel, roberta.RobertaForMaskedLM):
    base_class = XLMRobertaModel


class XLMRobertaForCausalLM(XLMRobertaPreTrainedModel, roberta.RobertaForCausalLM):
    base_class = XLMRobertaModel


class XLMRobertaForSequenceClassification(SequenceClassificationModel, XLMRobertaPreTrainedModel):
    base_class = XLMRobertaModel


class XLMRobertaForMultipleChoice(MultipleChoiceModel, XLMRobertaPreTrainedModel):
    base_class = XLMRobertaModel


class XLMRobertaForTokenClassification(TokenClassificationModel, XLMRobertaPreTrainedModel):
    base_class = XLMRobertaModel


class XLMRobertaForQuestionAnswering(QuestionAnsweringModel, XLMRobertaPreTrainedModel):
    base_class = XLMRobertaModel
