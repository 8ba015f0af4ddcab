"""BART in TensorFlow (Keras 3): the block library's post-norm encoder-decoder and its heads."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.bart import BartConfig

from ..blocks.seq2seq import (
    TFSeq2SeqForCausalLM,
    TFSeq2SeqLM,
    TFSeq2SeqMainLayer,
    TFSeq2SeqPreTrainedModel,
    shift_tokens_right,
)
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFSequenceClassificationModel


class TFBartMainLayer(TFSeq2SeqMainLayer):
    def decoder_inputs_from(self, input_ids):
        return shift_tokens_right(input_ids, self.config.pad_token_id, self.config.decoder_start_token_id)


class TFBartPreTrainedModel(TFSeq2SeqPreTrainedModel):
    config_class = BartConfig
    main_layer_class = TFBartMainLayer


class TFBartModel(TFBaseModel, TFBartPreTrainedModel):
    pass


class TFBartForConditionalGeneration(TFSeq2SeqLM, TFBartPreTrainedModel):
    pass


class TFBartForSequenceClassification(TFSequenceClassificationModel, TFBartPreTrainedModel):
    output_class = out.Seq2SeqSequenceClassifierOutput


class TFBartForQuestionAnswering(TFQuestionAnsweringModel, TFBartPreTrainedModel):
    output_class = out.Seq2SeqQuestionAnsweringModelOutput


class TFBartForCausalLM(TFSeq2SeqForCausalLM, TFBartPreTrainedModel):
    pass
