"""Gemma 3 (text): Gemma 2 with q/k norm and local layers rotating with their own base. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.gemma3_text import Gemma3TextConfig

from ..blocks.decoder import DecoderForCausalLM, DecoderForSequenceClassification, DecoderModel, DecoderPreTrainedModel


class Gemma3PreTrainedModel(DecoderPreTrainedModel):
    config_class = Gemma3TextConfig


class Gemma3TextModel(DecoderModel, Gemma3PreTrainedModel):
    pass


class Gemma3ForCausalLM(DecoderForCausalLM, Gemma3PreTrainedModel):
    base_class = Gemma3TextModel


class Gemma3TextForSequenceClassification(DecoderForSequenceClassification, Gemma3PreTrainedModel):
    base_class = Gemma3TextModel
