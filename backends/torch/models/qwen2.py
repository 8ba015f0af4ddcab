"""Qwen2: Llama with q/k/v biases and per-layer sliding windows. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.qwen2 import Qwen2Config

from ..blocks.decoder import DecoderForCausalLM, DecoderForSequenceClassification, DecoderModel, DecoderPreTrainedModel
from ..heads import QuestionAnsweringModel, TokenClassificationModel


class Qwen2PreTrainedModel(DecoderPreTrainedModel):
    config_class = Qwen2Config


class Qwen2Model(DecoderModel, Qwen2PreTrainedModel):
    pass


class Qwen2ForCausalLM(DecoderForCausalLM, Qwen2PreTrainedModel):
    base_class = Qwen2Model


class Qwen2ForSequenceClassification(DecoderForSequenceClassification, Qwen2PreTrainedModel):
    base_class = Qwen2Model


class Qwen2ForTokenClassification(TokenClassificationModel, Qwen2PreTrainedModel):
    base_class = Qwen2Model


class Qwen2ForQuestionAnswering(QuestionAnsweringModel, Qwen2PreTrainedModel):
    base_class = Qwen2Model
