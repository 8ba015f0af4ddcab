"""Mistral in Flax: Llama with a sliding window in every layer. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.mistral import MistralConfig

from ..blocks.decoder import (
    FlaxDecoderForCausalLM,
    FlaxDecoderForSequenceClassification,
    FlaxDecoderModule,
    FlaxDecoderPreTrainedModel,
)
from ..heads import FlaxQuestionAnsweringModel, FlaxTokenClassificationModel


class FlaxMistralPreTrainedModel(FlaxDecoderPreTrainedModel):
    config_class = MistralConfig


class FlaxMistralModel(FlaxMistralPreTrainedModel):
    module_class = FlaxDecoderModule


class FlaxMistralForCausalLM(FlaxDecoderForCausalLM, FlaxMistralPreTrainedModel):
    pass


class FlaxMistralForSequenceClassification(FlaxDecoderForSequenceClassification, FlaxMistralPreTrainedModel):
    pass


class FlaxMistralForTokenClassification(FlaxTokenClassificationModel, FlaxMistralPreTrainedModel):
    pass


class FlaxMistralForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxMistralPreTrainedModel):
    pass
