"""Qwen3: Qwen2 with RMSNorm on queries and keys. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.qwen3 import Qwen3Config

from ..blocks.decoder import DecoderForCausalLM, DecoderForSequenceClassification, DecoderModel, DecoderPreTrainedModel
from ..heads import QuestionAnsweringModel, TokenClassificationModel


class Qwen3PreTrainedModel(DecoderPreTrainedModel):
    config_class = Qwen3Config


class Qwen3Model(DecoderModel, Qwen3PreTrainedModel):
    pass


class Qwen3ForCausalLM(DecoderForCausalLM, Qwen3PreTrainedModel):
    base_class = Qwen3Model


class Qwen3ForSequenceClassification(DecoderForSequenceClassification, Qwen3PreTrainedModel):
    base_class = Qwen3Model


class Qwen3ForTokenClassification(TokenClassificationModel, Qwen3PreTrainedModel):
    base_class = Qwen3Model


class Qwen3ForQuestionAnswering(QuestionAnsweringModel, Qwen3PreTrainedModel):
    base_class = Qwen3Model
