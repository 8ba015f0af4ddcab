"""Gemma in TensorFlow (Keras 3): scaled embeddings, (1 + weight) RMSNorm, tied LM head. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.gemma import GemmaConfig

from ..blocks.decoder import TFDecoderForCausalLM, TFDecoderForSequenceClassification, TFDecoderPreTrainedModel
from ..heads import TFBaseModel, TFTokenClassificationModel


class TFGemmaPreTrainedModel(TFDecoderPreTrainedModel):
    config_class = GemmaConfig


class TFGemmaModel(TFBaseModel, TFGemmaPreTrainedModel):
    pass


class TFGemmaForCausalLM(TFDecoderForCausalLM, TFGemmaPreTrainedModel):
    pass


class TFGemmaForSequenceClassification(TFDecoderForSequenceClassification, TFGemmaPreTrainedModel):
    pass


class TFGemmaForTokenClassification(TFTokenClassificationModel, TFGemmaPreTrainedModel):
    pass
