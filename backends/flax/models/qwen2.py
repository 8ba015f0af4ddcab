"""Qwen2 in Flax: Llama with q/k/v biases and per-layer sliding windows. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.qwen2 import Qwen2Config

from ..blocks.decoder import (
    FlaxDecoderForCausalLM,
    FlaxDecoderForSequenceClassification,
    FlaxDecoderModule,
    FlaxDecoderPreTrainedModel,
)
from ..heads import FlaxQuestionAnsweringModel, FlaxTokenClassificationModel


class FlaxQwen2PreTrainedModel(FlaxDecoderPreTrainedModel):
    config_class = Qwen2Config


class FlaxQwen2Model(FlaxQwen2PreTrainedModel):
    module_class = FlaxDecoderModule


class FlaxQwen2ForCausalLM(FlaxDecoderForCausalLM, FlaxQwen2PreTrainedModel):
    pass


class FlaxQwen2ForSequenceClassification(FlaxDecoderForSequenceClassification, FlaxQwen2PreTrainedModel):
    pass


class FlaxQwen2ForTokenClassification(FlaxTokenClassificationModel, FlaxQwen2PreTrainedModel):
    pass


class FlaxQwen2ForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxQwen2PreTrainedModel):
    pass
