"""mT5 in TensorFlow (Keras 3): T5's classes under mT5's names and config (untied LM head by default)."""

from __future__ import annotations

from autoload.models.mt5 import MT5Config

from .t5 import (
    TFT5EncoderModel,
    TFT5ForConditionalGeneration,
    TFT5ForQuestionAnswering,
    TFT5ForSequenceClassification,
    TFT5ForTokenClassification,
    TFT5Model,
)


class TFMT5Model(TFT5Model):
    config_class = MT5Config


class TFMT5ForConditionalGeneration(TFT5ForConditionalGeneration):
    config_class = MT5Config


class TFMT5EncoderModel(TFT5EncoderModel):
    config_class = MT5Config


class TFMT5ForQuestionAnswering(TFT5ForQuestionAnswering):
    config_class = MT5Config


class TFMT5ForSequenceClassification(TFT5ForSequenceClassification):
    config_class = MT5Config
    main_layer_class = TFMT5Model


class TFMT5ForTokenClassification(TFT5ForTokenClassification):
    config_class = MT5Config
    main_layer_class = TFMT5EncoderModel
