"""Llama in Flax. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.llama import LlamaConfig

from ..blocks.decoder import (
    FlaxDecoderForCausalLM,
    FlaxDecoderForSequenceClassification,
    FlaxDecoderModule,
    FlaxDecoderPreTrainedModel,
)
from ..heads import FlaxQuestionAnsweringModel, FlaxTokenClassificationModel


class FlaxLlamaPreTrainedModel(FlaxDecoderPreTrainedModel):
    config_class = LlamaConfig


class FlaxLlamaModel(FlaxLlamaPreTrainedModel):
    module_class = FlaxDecoderModule


class FlaxLlamaForCausalLM(FlaxDecoderForCausalLM, FlaxLlamaPreTrainedModel):
    pass


class FlaxLlamaForSequenceClassification(FlaxDecoderForSequenceClassification, FlaxLlamaPreTrainedModel):
    pass


class FlaxLlamaForTokenClassification(FlaxTokenClassificationModel, FlaxLlamaPreTrainedModel):
    pass


class FlaxLlamaForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxLlamaPreTrainedModel):
    pass
