"""Gemma 2 in Flax: soft-capping, alternating sliding-window layers, sandwich norms. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.gemma2 import Gemma2Config

from ..blocks.decoder import (
    FlaxDecoderForCausalLM,
    FlaxDecoderForSequenceClassification,
    FlaxDecoderModule,
    FlaxDecoderPreTrainedModel,
)
from ..heads import FlaxTokenClassificationModel


class FlaxGemma2PreTrainedModel(FlaxDecoderPreTrainedModel):
    config_class = Gemma2Config


class FlaxGemma2Model(FlaxGemma2PreTrainedModel):
    module_class = FlaxDecoderModule


class FlaxGemma2ForCausalLM(FlaxDecoderForCausalLM, FlaxGemma2PreTrainedModel):
    pass


class FlaxGemma2ForSequenceClassification(FlaxDecoderForSequenceClassification, FlaxGemma2PreTrainedModel):
    pass


class FlaxGemma2ForTokenClassification(FlaxTokenClassificationModel, FlaxGemma2PreTrainedModel):
    pass
