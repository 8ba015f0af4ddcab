"""Gemma in Flax: scaled embeddings, (1 + weight) RMSNorm, tied LM head. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.gemma import GemmaConfig

from ..blocks.decoder import (
    FlaxDecoderForCausalLM,
    FlaxDecoderForSequenceClassification,
    FlaxDecoderModule,
    FlaxDecoderPreTrainedModel,
)
from ..heads import FlaxTokenClassificationModel


class FlaxGemmaPreTrainedModel(FlaxDecoderPreTrainedModel):
    config_class = GemmaConfig


class FlaxGemmaModel(FlaxGemmaPreTrainedModel):
    module_class = FlaxDecoderModule


class FlaxGemmaForCausalLM(FlaxDecoderForCausalLM, FlaxGemmaPreTrainedModel):
    pass


class FlaxGemmaForSequenceClassification(FlaxDecoderForSequenceClassification, FlaxGemmaPreTrainedModel):
    pass


class FlaxGemmaForTokenClassification(FlaxTokenClassificationModel, FlaxGemmaPreTrainedModel):
    pass
