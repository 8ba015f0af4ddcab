"""mT5 in PyTorch: T5's classes under mT5's names and config (untied LM head by default)."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.mt5 import MT5Config

from .t5 import (
    T5EncoderModel,
    T5ForConditionalGeneration,
    T5ForQuestionAnswering,
    T5ForSequenceClassification,
    T5ForTokenClassification,
    T5Model,
)


class MT5Model(T5Model):
    config_class = MT5Config


class MT5ForConditionalGeneration(T5ForConditionalGeneration):
    config_class = MT5Config


class MT5EncoderModel(T5EncoderModel):
    config_class = MT5Config


class MT5ForQuestionAnswering(T5ForQuestionAnswering):
    config_class = MT5Config


class MT5ForSequenceClassification(T5ForSequenceClassification):
    config_class = MT5Config
    base_class = MT5Model
    output_class = out.Seq2SeqSequenceClassifierOutput


class MT5ForTokenClassification(T5ForTokenClassification):
    config_class = MT5Config
    base_class = MT5EncoderModel
