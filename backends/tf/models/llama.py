"""Llama in TensorFlow (Keras 3). See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.llama import LlamaConfig

from ..blocks.decoder import TFDecoderForCausalLM, TFDecoderForSequenceClassification, TFDecoderPreTrainedModel
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFTokenClassificationModel


class TFLlamaPreTrainedModel(TFDecoderPreTrainedModel):
    config_class = LlamaConfig


class TFLlamaModel(TFBaseModel, TFLlamaPreTrainedModel):
    pass


class TFLlamaForCausalLM(TFDecoderForCausalLM, TFLlamaPreTrainedModel):
    pass


class TFLlamaForSequenceClassification(TFDecoderForSequenceClassification, TFLlamaPreTrainedModel):
    pass


class TFLlamaForTokenClassification(TFTokenClassificationModel, TFLlamaPreTrainedModel):
    pass


class TFLlamaForQuestionAnswering(TFQuestionAnsweringModel, TFLlamaPreTrainedModel):
    pass
