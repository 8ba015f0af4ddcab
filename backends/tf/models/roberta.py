"""RoBERTa in TensorFlow (Keras 3): BERT's layers with positions counted from padding_idx + 1, RoBERTa's
heads, and transformers' TF names."""

from __future__ import annotations

import keras
import tensorflow as tf

from autoload import outputs as out
from autoload.models.roberta import RobertaConfig

from ..heads import (
    TFLanguageModelingModel,
    TFMultipleChoiceModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTokenClassificationModel,
)
from ..modeling import Layer, dense
from . import bert


def position_ids_from(input_ids, padding_idx: int):
    real = tf.cast(input_ids != padding_idx, tf.int32)
    return tf.cumsum(real, axis=-1) * real + padding_idx


class TFRobertaMainLayer(bert.TFBertMainLayer):
    def __init__(self, config: RobertaConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.padding_idx = config.pad_token_id

    def call(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        if position_ids is None:
            position_ids = position_ids_from(input_ids, self.padding_idx)
        return super().call(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                            position_ids=position_ids, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, training=training)  # fmt: skip


class TFRobertaLMHead(Layer):
    def __init__(self, config: RobertaConfig, input_embeddings, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.layer_norm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layer_norm")
        self.input_embeddings = input_embeddings
        self.vocab_size = config.vocab_size

    def build(self, input_shape=None):
        self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros")
        self.built = True

    def call(self, hidden):
        hidden = self.layer_norm(tf.nn.gelu(self.dense(hidden), approximate=False))
        return tf.matmul(hidden, self.input_embeddings.weight, transpose_b=True) + self.bias


class TFRobertaPreTrainedModel(bert.TFBertPreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    main_layer_class = TFRobertaMainLayer


class TFRobertaModel(bert.TFBertModel, TFRobertaPreTrainedModel):
    pass


class TFRobertaForMaskedLM(TFLanguageModelingModel, TFRobertaPreTrainedModel):
    def build_lm_head(self, config):
        return TFRobertaLMHead(config, self.main_layer.embeddings.word_embeddings, name="lm_head")


class TFRobertaForCausalLM(TFRobertaForMaskedLM):
    causal = True
    output_class = out.CausalLMOutputWithCrossAttentions


class TFRobertaForSequenceClassification(TFSequenceClassificationModel, TFRobertaPreTrainedModel):
    pass


class TFRobertaForMultipleChoice(TFMultipleChoiceModel, TFRobertaPreTrainedModel):
    pass


class TFRobertaForTokenClassification(TFTokenClassificationModel, TFRobertaPreTrainedModel):
    pass


class TFRobertaForQuestionAnswering(TFQuestionAnsweringModel, TFRobertaPreTrainedModel):
    pass
