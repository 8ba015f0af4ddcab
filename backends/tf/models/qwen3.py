"""Qwen3 in TensorFlow (Keras 3): Qwen2 with RMSNorm on queries and keys. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.qwen3 import Qwen3Config

from ..blocks.decoder import TFDecoderForCausalLM, TFDecoderForSequenceClassification, TFDecoderPreTrainedModel
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFTokenClassificationModel


class TFQwen3PreTrainedModel(TFDecoderPreTrainedModel):
    config_class = Qwen3Config


class TFQwen3Model(TFBaseModel, TFQwen3PreTrainedModel):
    pass


class TFQwen3ForCausalLM(TFDecoderForCausalLM, TFQwen3PreTrainedModel):
    pass


class TFQwen3ForSequenceClassification(TFDecoderForSequenceClassification, TFQwen3PreTrainedModel):
    pass


class TFQwen3ForTokenClassification(TFTokenClassificationModel, TFQwen3PreTrainedModel):
    pass


class TFQwen3ForQuestionAnswering(TFQuestionAnsweringModel, TFQwen3PreTrainedModel):
    pass
