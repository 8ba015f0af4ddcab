"""mBART in TensorFlow (Keras 3): BART's blocks, pre-norm with final layer norms; decoder inputs built from
input_ids or labels start with each row's last non-padding token (the language code)."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.models.mbart import MBartConfig

from ..blocks.seq2seq import TFSeq2SeqForCausalLM, TFSeq2SeqLM, TFSeq2SeqMainLayer, TFSeq2SeqPreTrainedModel
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFSequenceClassificationModel


def shift_tokens_right(input_ids, pad_token_id: int):
    """The targets moved one place right, each row starting with its last non-padding token (-100 -> pad)."""
    if pad_token_id is None:
        raise ValueError("config.pad_token_id is not set; mBART needs it to build decoder inputs.")
    input_ids = tf.convert_to_tensor(input_ids)
    tokens = tf.where(input_ids == -100, tf.cast(pad_token_id, input_ids.dtype), input_ids)
    last = tf.reduce_sum(tf.cast(tokens != pad_token_id, tf.int32), axis=1) - 1
    start = tf.gather(tokens, last, batch_dims=1)[:, None]
    return tf.concat([start, tokens[:, :-1]], axis=1)


class TFMBartMainLayer(TFSeq2SeqMainLayer):
    def decoder_inputs_from(self, input_ids):
        return shift_tokens_right(input_ids, self.config.pad_token_id)

    def labels_to_decoder_inputs(self, labels):
        return shift_tokens_right(labels, self.config.pad_token_id)


class TFMBartPreTrainedModel(TFSeq2SeqPreTrainedModel):
    config_class = MBartConfig
    main_layer_class = TFMBartMainLayer


class TFMBartModel(TFBaseModel, TFMBartPreTrainedModel):
    pass


class TFMBartForConditionalGeneration(TFSeq2SeqLM, TFMBartPreTrainedModel):
    pass


class TFMBartForSequenceClassification(TFSequenceClassificationModel, TFMBartPreTrainedModel):
    output_class = out.Seq2SeqSequenceClassifierOutput


class TFMBartForQuestionAnswering(TFQuestionAnsweringModel, TFMBartPreTrainedModel):
    output_class = out.Seq2SeqQuestionAnsweringModelOutput


class TFMBartForCausalLM(TFSeq2SeqForCausalLM, TFMBartPreTrainedModel):
    pass
