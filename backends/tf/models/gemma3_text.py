"""Gemma 3 (text) in TensorFlow (Keras 3): q/k norm, local layers with their own rope base. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.gemma3_text import Gemma3TextConfig

from ..blocks.decoder import TFDecoderForCausalLM, TFDecoderForSequenceClassification, TFDecoderPreTrainedModel
from ..heads import TFBaseModel


class TFGemma3PreTrainedModel(TFDecoderPreTrainedModel):
    config_class = Gemma3TextConfig


class TFGemma3TextModel(TFBaseModel, TFGemma3PreTrainedModel):
    pass


class TFGemma3ForCausalLM(TFDecoderForCausalLM, TFGemma3PreTrainedModel):
    pass


class TFGemma3TextForSequenceClassification(TFDecoderForSequenceClassification, TFGemma3PreTrainedModel):
    pass
