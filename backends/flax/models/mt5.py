"""mT5 in Flax: T5's classes under mT5's names and config (untied LM head by default)."""

from __future__ import annotations

from autoload.models.mt5 import MT5Config

from .t5 import (
    FlaxT5EncoderModel,
    FlaxT5ForConditionalGeneration,
    FlaxT5ForQuestionAnswering,
    FlaxT5ForSequenceClassification,
    FlaxT5ForTokenClassification,
    FlaxT5Model,
)


class FlaxMT5Model(FlaxT5Model):
    config_class = MT5Config


class FlaxMT5ForConditionalGeneration(FlaxT5ForConditionalGeneration):
    config_class = MT5Config


class FlaxMT5EncoderModel(FlaxT5EncoderModel):
    config_class = MT5Config


class FlaxMT5ForQuestionAnswering(FlaxT5ForQuestionAnswering):
    config_class = MT5Config


class FlaxMT5ForSequenceClassification(FlaxT5ForSequenceClassification):
    config_class = MT5Config


class FlaxMT5ForTokenClassification(FlaxT5ForTokenClassification):
    config_class = MT5Config
