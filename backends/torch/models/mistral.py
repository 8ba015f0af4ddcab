"""Mistral: Llama with a sliding window in every layer. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.mistral import MistralConfig

from ..blocks.decoder import DecoderForCausalLM, DecoderForSequenceClassification, DecoderModel, DecoderPreTrainedModel
from ..heads import QuestionAnsweringModel, TokenClassificationModel


class MistralPreTrainedModel(DecoderPreTrainedModel):
    config_class = MistralConfig


class MistralModel(DecoderModel, MistralPreTrainedModel):
    pass


class MistralForCausalLM(DecoderForCausalLM, MistralPreTrainedModel):
    base_class = MistralModel


class MistralForSequenceClassification(DecoderForSequenceClassification, MistralPreTrainedModel):
    base_class = MistralModel


class MistralForTokenClassification(TokenClassificationModel, MistralPreTrainedModel):
    base_class = MistralModel


class MistralForQuestionAnswering(QuestionAnsweringModel, MistralPreTrainedModel):
    base_class = MistralModel
