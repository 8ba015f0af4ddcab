"""RoBERTa in TensorFlow (Keras 3): BERT's layers with positions counted from padding_idx + 1, RoBERTa's
heads, and transformers' TF names."""

from __future__ import annotations

import keras
import tensorflow as tf

from autoload import outputs as out
from autoload.models.roberta import RobertaConfig

from ..losses import sequence_classification_loss, token_loss
from ..modeling import Layer, dense
from . import bert


def position_ids_from(input_ids, padding_idx: int):
    real = tf.cast(input_ids != padding_idx, tf.int32)
    return tf.cumsum(real, axis=-1) * real + padding_idx


class TFRobertaMainLayer(bert.TFBertMainLayer):
    def __init__(self, config: RobertaConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.padding_idx = config.pad_token_id

    def call(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, **kwargs):
        if position_ids is None:
            position_ids = position_ids_from(input_ids, self.padding_idx)
        return super().call(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                            position_ids=position_ids, **kwargs)  # fmt: skip


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


class TFRobertaClassificationHead(Layer):
    def __init__(self, config: RobertaConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.dropout = bert._dropout(config)
        self.out_proj = dense(config, config.num_labels, "out_proj")

    def call(self, hidden, training=False):
        hidden = self.dropout(hidden[:, 0], training=training)
        return self.out_proj(self.dropout(tf.tanh(self.dense(hidden)), training=training))


class _Roberta:
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    main_layer_class = TFRobertaMainLayer


class TFRobertaModel(_Roberta, bert.TFBertModel):
    pass


class TFRobertaForMaskedLM(_Roberta, bert.TFBertPreTrainedModel):
    causal = False

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        main = self._add_main_layer(config, add_pooling_layer=False, causal=self.causal)
        self.lm_head = TFRobertaLMHead(config, main.embeddings.word_embeddings, name="lm_head")

    def forward(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        logits = self.lm_head(encoded.last_hidden_state)
        if self.causal:
            loss = token_loss(logits[:, :-1], labels[:, 1:]) if labels is not None else None
            result = out.CausalLMOutputWithCrossAttentions(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        else:
            loss = token_loss(logits, labels) if labels is not None else None
            result = out.MaskedLMOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        return out.finish(result, return_dict)


class TFRobertaForCausalLM(TFRobertaForMaskedLM):
    causal = True


class TFRobertaForSequenceClassification(_Roberta, bert.TFBertPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self._add_main_layer(config, add_pooling_layer=False)
        self.classifier = TFRobertaClassificationHead(config, name="classifier")

    def forward(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        logits = self.classifier(encoded.last_hidden_state, training=training)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return out.finish(out.SequenceClassifierOutput(loss=loss, logits=logits,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class TFRobertaForMultipleChoice(_Roberta, bert.TFBertForMultipleChoice):
    pass


class TFRobertaForTokenClassification(_Roberta, bert.TFBertForTokenClassification):
    pass


class TFRobertaForQuestionAnswering(_Roberta, bert.TFBertForQuestionAnswering):
    pass
