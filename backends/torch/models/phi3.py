"""Phi-3: fused qkv and gate/up projections, partial rotary, long-rope scaling. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.phi3 import Phi3Config

from ..blocks.decoder import DecoderForCausalLM, DecoderForSequenceClassification, DecoderModel, DecoderPreTrainedModel
from ..heads import TokenClassificationModel


class Phi3PreTrainedModel(DecoderPreTrainedModel):
    config_class = Phi3Config


class Phi3Model(DecoderModel, Phi3PreTrainedModel):
    pass


class Phi3ForCausalLM(DecoderForCausalLM, Phi3PreTrainedModel):
    base_class = Phi3Model


class Phi3ForSequenceClassification(DecoderForSequenceClassification, Phi3PreTrainedModel):
    base_class = Phi3Model


class Phi3ForTokenClassification(TokenClassificationModel, Phi3PreTrainedModel):
    base_class = Phi3Model
