"""Phi-3 in TensorFlow (Keras 3): fused projections, partial rotary, long-rope scaling. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.phi3 import Phi3Config

from ..blocks.decoder import TFDecoderForCausalLM, TFDecoderForSequenceClassification, TFDecoderPreTrainedModel
from ..heads import TFBaseModel, TFTokenClassificationModel


class TFPhi3PreTrainedModel(TFDecoderPreTrainedModel):
    config_class = Phi3Config


class TFPhi3Model(TFBaseModel, TFPhi3PreTrainedModel):
    pass


class TFPhi3ForCausalLM(TFDecoderForCausalLM, TFPhi3PreTrainedModel):
    pass


class TFPhi3ForSequenceClassification(TFDecoderForSequenceClassification, TFPhi3PreTrainedModel):
    pass


class TFPhi3ForTokenClassification(TFTokenClassificationModel, TFPhi3PreTrainedModel):
    pass
