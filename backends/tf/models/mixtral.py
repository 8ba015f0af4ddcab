"""Mixtral in TensorFlow (Keras 3): a sparse mixture of experts in place of the MLP. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.mixtral import MixtralConfig

from ..blocks.decoder import TFDecoderForCausalLM, TFDecoderForSequenceClassification, TFDecoderPreTrainedModel
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFTokenClassificationModel


class TFMixtralPreTrainedModel(TFDecoderPreTrainedModel):
    config_class = MixtralConfig


class TFMixtralModel(TFBaseModel, TFMixtralPreTrainedModel):
    pass


class TFMixtralForCausalLM(TFDecoderForCausalLM, TFMixtralPreTrainedModel):
    pass


class TFMixtralForSequenceClassification(TFDecoderForSequenceClassification, TFMixtralPreTrainedModel):
    pass


class TFMixtralForTokenClassification(TFTokenClassificationModel, TFMixtralPreTrainedModel):
    pass


class TFMixtralForQuestionAnswering(TFQuestionAnsweringModel, TFMixtralPreTrainedModel):
    pass
