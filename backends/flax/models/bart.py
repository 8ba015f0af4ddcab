"""BART in Flax: the block library's post-norm encoder-decoder and its heads, with transformers' Flax
parameter tree."""

from __future__ import annotations

from typing import Any

from autoload.models.bart import BartConfig

from ..blocks.seq2seq import (
    FlaxSeq2SeqForCausalLM,
    FlaxSeq2SeqLMModule,
    FlaxSeq2SeqModule,
    FlaxSeq2SeqPreTrainedModel,
    Seq2SeqQuestionAnsweringModule,
    Seq2SeqSequenceClassificationModule,
    shift_tokens_right,
)
from ..generation import FlaxGenerationMixin
from ..heads import FlaxQuestionAnsweringModel, FlaxSequenceClassificationModel


class FlaxBartModule(FlaxSeq2SeqModule):
    def decoder_inputs_from(self, input_ids):
        return shift_tokens_right(input_ids, self.config.pad_token_id, self.config.decoder_start_token_id)


class FlaxBartForConditionalGenerationModule(FlaxSeq2SeqLMModule):
    base_module: Any = FlaxBartModule


class FlaxBartPreTrainedModel(FlaxSeq2SeqPreTrainedModel):
    config_class = BartConfig
    base_module = FlaxBartModule


class FlaxBartModel(FlaxBartPreTrainedModel):
    module_class = FlaxBartModule


class FlaxBartForConditionalGeneration(FlaxGenerationMixin, FlaxBartPreTrainedModel):
    module_class = FlaxBartForConditionalGenerationModule


class FlaxBartForSequenceClassification(FlaxSequenceClassificationModel, FlaxBartPreTrainedModel):
    module_class = Seq2SeqSequenceClassificationModule


class FlaxBartForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxBartPreTrainedModel):
    module_class = Seq2SeqQuestionAnsweringModule


class FlaxBartForCausalLM(FlaxGenerationMixin, FlaxSeq2SeqForCausalLM, FlaxBartPreTrainedModel):
    pass
