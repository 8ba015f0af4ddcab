"""Gemma: scaled embeddings, (1 + weight) RMSNorm, tanh-GELU MLP, tied LM head. See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.gemma import GemmaConfig

from ..blocks.decoder import DecoderForCausalLM, DecoderForSequenceClassification, DecoderModel, DecoderPreTrainedModel
from ..heads import TokenClassificationModel


class GemmaPreTrainedModel(DecoderPreTrainedModel):
    config_class = GemmaConfig


class GemmaModel(DecoderModel, GemmaPreTrainedModel):
    pass


class GemmaForCausalLM(DecoderForCausalLM, GemmaPreTrainedModel):
    base_class = GemmaModel


class GemmaForSequenceClassification(DecoderForSequenceClassification, GemmaPreTrainedModel):
    base_class = GemmaModel


class GemmaForTokenClassification(TokenClassificationModel, GemmaPreTrainedModel):
    base_class = GemmaModel
