"""Mixtral: Mistral with a sparse mixture of experts in place of the MLP. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.mixtral import MixtralConfig

from ..blocks.decoder import DecoderForCausalLM, DecoderForSequenceClassification, DecoderModel, DecoderPreTrainedModel
from ..heads import QuestionAnsweringModel, TokenClassificationModel


class MixtralPreTrainedModel(DecoderPreTrainedModel):
    config_class = MixtralConfig


class MixtralModel(DecoderModel, MixtralPreTrainedModel):
    pass


class MixtralForCausalLM(DecoderForCausalLM, MixtralPreTrainedModel):
    base_class = MixtralModel


class MixtralForSequenceClassification(DecoderForSequenceClassification, MixtralPreTrainedModel):
    base_class = MixtralModel


class MixtralForTokenClassification(TokenClassificationModel, MixtralPreTrainedModel):
    base_class = MixtralModel


class MixtralForQuestionAnswering(QuestionAnsweringModel, MixtralPreTrainedModel):
    base_class = MixtralModel
