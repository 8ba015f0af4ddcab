"""Gemma 2 in PyTorch: Gemma with soft-capped attention and logits, alternating sliding-window layers and
sandwich norms. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.gemma2 import Gemma2Config

from ..blocks.decoder import DecoderForCausalLM, DecoderForSequenceClassification, DecoderModel, DecoderPreTrainedModel
from ..heads import TokenClassificationModel


class Gemma2PreTrainedModel(DecoderPreTrainedModel):
    config_class = Gemma2Config


class Gemma2Model(DecoderModel, Gemma2PreTrainedModel):
    pass


class Gemma2ForCausalLM(DecoderForCausalLM, Gemma2PreTrainedModel):
    base_class = Gemma2Model


class Gemma2ForSequenceClassification(DecoderForSequenceClassification, Gemma2PreTrainedModel):
    base_class = Gemma2Model


class Gemma2ForTokenClassification(TokenClassificationModel, Gemma2PreTrainedModel):
    base_class = Gemma2Model
