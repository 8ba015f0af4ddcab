"""Llama in PyTorch: RMSNorm, rotary positions (every rope_scaling type), grouped-query attention, gated MLP.
See blocks/decoder.py."""

from __future__ import annotations

from autoload.models.llama import LlamaConfig

from ..blocks.decoder import DecoderForCausalLM, DecoderForSequenceClassification, DecoderModel, DecoderPreTrainedModel
from ..heads import QuestionAnsweringModel, TokenClassificationModel


class LlamaPreTrainedModel(DecoderPreTrainedModel):
    config_class = LlamaConfig


class LlamaModel(DecoderModel, LlamaPreTrainedModel):
    pass


class LlamaForCausalLM(DecoderForCausalLM, LlamaPreTrainedModel):
    base_class = LlamaModel


class LlamaForSequenceClassification(DecoderForSequenceClassification, LlamaPreTrainedModel):
    base_class = LlamaModel


class LlamaForTokenClassification(TokenClassificationModel, LlamaPreTrainedModel):
    base_class = LlamaModel


class LlamaForQuestionAnswering(QuestionAnsweringModel, LlamaPreTrainedModel):
    base_class = LlamaModel
