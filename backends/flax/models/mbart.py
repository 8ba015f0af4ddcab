"""mBART in Flax: BART's blocks, pre-norm with final layer norms; decoder inputs built from input_ids or labels
start with each row's last non-padding token (the language code)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from autoload.models.mbart import MBartConfig

from ..blocks.seq2seq import (
    FlaxSeq2SeqForCausalLM,
    FlaxSeq2SeqLMModule,
    FlaxSeq2SeqModule,
    FlaxSeq2SeqPreTrainedModel,
    Seq2SeqQuestionAnsweringModule,
    Seq2SeqSequenceClassificationModule,
)
from ..generation import FlaxGenerationMixin
from ..heads import FlaxQuestionAnsweringModel, FlaxSequenceClassificationModel


def shift_tokens_right(input_ids, pad_token_id: int):
    """The targets moved one place right, each row starting with its last non-padding token (-100 -> pad)."""
    if pad_token_id is None:
        raise ValueError("config.pad_token_id is not set; mBART needs it to build decoder inputs.")
    tokens = jnp.where(input_ids == -100, pad_token_id, input_ids)
    last = (tokens != pad_token_id).sum(axis=1) - 1
    start = tokens[jnp.arange(tokens.shape[0]), last][:, None]
    return jnp.concatenate([start, tokens[:, :-1]], axis=1)


class FlaxMBartModule(FlaxSeq2SeqModule):
    def decoder_inputs_from(self, input_ids):
        return shift_tokens_right(input_ids, self.config.pad_token_id)

    def labels_to_decoder_inputs(self, labels):
        return shift_tokens_right(labels, self.config.pad_token_id)


class FlaxMBartForConditionalGenerationModule(FlaxSeq2SeqLMModule):
    base_module: Any = FlaxMBartModule


class FlaxMBartPreTrainedModel(FlaxSeq2SeqPreTrainedModel):
    config_class = MBartConfig
    base_module = FlaxMBartModule


class FlaxMBartModel(FlaxMBartPreTrainedModel):
    module_class = FlaxMBartModule


class FlaxMBartForConditionalGeneration(FlaxGenerationMixin, FlaxMBartPreTrainedModel):
    module_class = FlaxMBartForConditionalGenerationModule


class FlaxMBartForSequenceClassification(FlaxSequenceClassificationModel, FlaxMBartPreTrainedModel):
    module_class = Seq2SeqSequenceClassificationModule


class FlaxMBartForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxMBartPreTrainedModel):
    module_class = Seq2SeqQuestionAnsweringModule


class FlaxMBartForCausalLM(FlaxGenerationMixin, FlaxSeq2SeqForCausalLM, FlaxMBartPreTrainedModel):
    pass
