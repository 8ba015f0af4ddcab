"""Gemma 3 (text) in Flax: q/k norm, local layers with their own rope base. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.gemma3_text import Gemma3TextConfig

from ..blocks.decoder import (
    FlaxDecoderForCausalLM,
    FlaxDecoderForSequenceClassification,
    FlaxDecoderModule,
    FlaxDecoderPreTrainedModel,
)


class FlaxGemma3PreTrainedModel(FlaxDecoderPreTrainedModel):
    config_class = Gemma3TextConfig


class FlaxGemma3TextModel(FlaxGemma3PreTrainedModel):
    module_class = FlaxDecoderModule


class FlaxGemma3ForCausalLM(FlaxDecoderForCausalLM, FlaxGemma3PreTrainedModel):
    pass


class FlaxGemma3TextForSequenceClassification(FlaxDecoderForSequenceClassification, FlaxGemma3PreTrainedModel):
    pass
