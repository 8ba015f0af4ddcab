"""Mixtral in Flax: a sparse mixture of experts in place of the MLP. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.mixtral import MixtralConfig

from ..blocks.decoder import (
    FlaxDecoderForCausalLM,
    FlaxDecoderForSequenceClassification,
    FlaxDecoderModule,
    FlaxDecoderPreTrainedModel,
)
from ..heads import FlaxQuestionAnsweringModel, FlaxTokenClassificationModel


class FlaxMixtralPreTrainedModel(FlaxDecoderPreTrainedModel):
    config_class = MixtralConfig


class FlaxMixtralModel(FlaxMixtralPreTrainedModel):
    module_class = FlaxDecoderModule


class FlaxMixtralForCausalLM(FlaxDecoderForCausalLM, FlaxMixtralPreTrainedModel):
    pass


class FlaxMixtralForSequenceClassification(FlaxDecoderForSequenceClassification, FlaxMixtralPreTrainedModel):
    pass


class FlaxMixtralForTokenClassification(FlaxTokenClassificationModel, FlaxMixtralPreTrainedModel):
    pass


class FlaxMixtralForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxMixtralPreTrainedModel):
    pass
