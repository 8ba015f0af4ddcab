"""Phi-3 in Flax: fused projections, partial rotary, long-rope scaling. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.phi3 import Phi3Config

from ..blocks.decoder import (
    FlaxDecoderForCausalLM,
    FlaxDecoderForSequenceClassification,
    FlaxDecoderModule,
    FlaxDecoderPreTrainedModel,
)
from ..heads import FlaxTokenClassificationModel


class FlaxPhi3PreTrainedModel(FlaxDecoderPreTrainedModel):
    config_class = Phi3Config


class FlaxPhi3Model(FlaxPhi3PreTrainedModel):
    module_class = FlaxDecoderModule


class FlaxPhi3ForCausalLM(FlaxDecoderForCausalLM, FlaxPhi3PreTrainedModel):
    pass


class FlaxPhi3ForSequenceClassification(FlaxDecoderForSequenceClassification, FlaxPhi3PreTrainedModel):
    pass


class FlaxPhi3ForTokenClassification(FlaxTokenClassificationModel, FlaxPhi3PreTrainedModel):
    pass
