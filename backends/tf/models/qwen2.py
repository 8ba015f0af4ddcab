"""Qwen2 in TensorFlow (Keras 3): Llama with q/k/v biases and per-layer sliding windows. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.qwen2 import Qwen2Config

from ..blocks.decoder import TFDecoderForCausalLM, TFDecoderForSequenceClassification, TFDecoderPreTrainedModel
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFTokenClassificationModel


class TFQwen2PreTrainedModel(TFDecoderPreTrainedModel):
    config_class = Qwen2Config


class TFQwen2Model(TFBaseModel, TFQwen2PreTrainedModel):
    pass


class TFQwen2ForCausalLM(TFDecoderForCausalLM, TFQwen2PreTrainedModel):
    pass


class TFQwen2ForSequenceClassification(TFDecoderForSequenceClassification, TFQwen2PreTrainedModel):
    pass


class TFQwen2ForTokenClassification(TFTokenClassificationModel, TFQwen2PreTrainedModel):
    pass


class TFQwen2ForQuestionAnswering(TFQuestionAnsweringModel, TFQwen2PreTrainedModel):
    pass
