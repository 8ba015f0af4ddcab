"""Gemma 2 in TensorFlow (Keras 3): soft-capping, alternating sliding-window layers, sandwich norms.
See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.gemma2 import Gemma2Config

from ..blocks.decoder import TFDecoderForCausalLM, TFDecoderForSequenceClassification, TFDecoderPreTrainedModel
from ..heads import TFBaseModel, TFTokenClassificationModel


class TFGemma2PreTrainedModel(TFDecoderPreTrainedModel):
    config_class = Gemma2Config


class TFGemma2Model(TFBaseModel, TFGemma2PreTrainedModel):
    pass


class TFGemma2ForCausalLM(TFDecoderForCausalLM, TFGemma2PreTrainedModel):
    pass


class TFGemma2ForSequenceClassification(TFDecoderForSequenceClassification, TFGemma2PreTrainedModel):
    pass


class TFGemma2ForTokenClassification(TFTokenClassificationModel, TFGemma2PreTrainedModel):
    pass
