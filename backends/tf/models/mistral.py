"""Mistral in TensorFlow (Keras 3): Llama with a sliding window in every layer. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.mistral import MistralConfig

from ..blocks.decoder import TFDecoderForCausalLM, TFDecoderForSequenceClassification, TFDecoderPreTrainedModel
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFTokenClassificationModel


class TFMistralPreTrainedModel(TFDecoderPreTrainedModel):
    config_class = MistralConfig


class TFMistralModel(TFBaseModel, TFMistralPreTrainedModel):
    pass


class TFMistralForCausalLM(TFDecoderForCausalLM, TFMistralPreTrainedModel):
    pass


class TFMistralForSequenceClassification(TFDecoderForSequenceClassification, TFMistralPreTrainedModel):
    pass


class TFMistralForTokenClassification(TFTokenClassificationModel, TFMistralPreTrainedModel):
    pass


class TFMistralForQuestionAnswering(TFQuestionAnsweringModel, TFMistralPreTrainedModel):
    pass
