"""BART in PyTorch: the post-norm encoder-decoder of the block library (learned positions offset by 2,
layernorm_embedding) and its heads."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.bart import BartConfig

from ..blocks.seq2seq import Seq2SeqForCausalLM, Seq2SeqLM, Seq2SeqModel, Seq2SeqPreTrainedModel, shift_tokens_right
from ..heads import QuestionAnsweringModel, SequenceClassificationModel


class BartPreTrainedModel(Seq2SeqPreTrainedModel):
    config_class = BartConfig


class BartModel(Seq2SeqModel, BartPreTrainedModel):
    def decoder_inputs_from(self, input_ids):
        return shift_tokens_right(input_ids, self.config.pad_token_id, self.config.decoder_start_token_id)


class BartForConditionalGeneration(Seq2SeqLM, BartPreTrainedModel):
    base_class = BartModel


class BartForSequenceClassification(SequenceClassificationModel, BartPreTrainedModel):
    base_class = BartModel
    output_class = out.Seq2SeqSequenceClassifierOutput


class BartForQuestionAnswering(QuestionAnsweringModel, BartPreTrainedModel):
    base_class = BartModel
    output_class = out.Seq2SeqQuestionAnsweringModelOutput


class BartForCausalLM(Seq2SeqForCausalLM, BartPreTrainedModel):
    pass
