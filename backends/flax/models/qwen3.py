"""Qwen3 in Flax: Qwen2 with RMSNorm on queries and keys. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.qwen3 import Qwen3Config

from ..blocks.decoder import (
    FlaxDecoderForCausalLM,
    FlaxDecoderForSequenceClassification,
    FlaxDecoderModule,
    FlaxDecoderPreTrainedModel,
)
from ..heads import FlaxQuestionAnsweringModel, FlaxTokenClassificationModel


class FlaxQwen3PreTrainedModel(FlaxDecoderPreTrainedModel):
    config_class = Qwen3Config


class FlaxQwen3Model(FlaxQwen3PreTrainedModel):
    module_class = FlaxDecoderModule


class FlaxQwen3ForCausalLM(FlaxDecoderForCausalLM, FlaxQwen3PreTrainedModel):
    pass


class FlaxQwen3ForSequenceClassification(FlaxDecoderForSequenceClassification, FlaxQwen3PreTrainedModel):
    pass


class FlaxQwen3ForTokenClassification(FlaxTokenClassificationModel, FlaxQwen3PreTrainedModel):
    pass


class FlaxQwen3ForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxQwen3PreTrainedModel):
    pass
