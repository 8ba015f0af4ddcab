"""BERT in TensorFlow (Keras 3), named like transformers' TF BERT so tf_model.h5 files interchange."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.bert import BertConfig

from ..activations import get_activation
from ..heads import (
    TFBaseModel,
    TFLanguageModelingModel,
    TFMultipleChoiceModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTaskModel,
    TFTokenClassificationModel,
)
from ..losses import token_loss
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


def attention_bias(attention_mask, dtype, causal_len: int | None = None):
    """[batch, seq] 1/0 -> additive [batch, 1, q, seq] bias, or None."""
    neg = dtype.min
    bias = None
    if attention_mask is not None:
        bias = (1.0 - tf.cast(attention_mask[:, None, None, :], dtype)) * neg
    if causal_len is not None:
        causal = (1.0 - tf.linalg.band_part(tf.ones((causal_len, causal_len), dtype), -1, 0)) * neg
        bias = causal[None, None] if bias is None else tf.maximum(bias + causal[None, None], neg)
    return bias


class TFBertEmbeddings(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        h, init = config.hidden_size, weights_init(config)
        self.word_embeddings = NamedWeight((config.vocab_size, h), "weight", init, name="word_embeddings")
        self.token_type_embeddings = NamedWeight((config.type_vocab_size, h), "embeddings", init,
                                                 name="token_type_embeddings")  # fmt: skip
        self.position_embeddings = NamedWeight((config.max_position_embeddings, h), "embeddings", init,
                                               name="position_embeddings")  # fmt: skip
        self.LayerNorm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, input_ids, token_type_ids=None, position_ids=None, training=False):
        length = input_ids.shape[-1]
        if length is not None and length > self.config.max_position_embeddings:
            raise ValueError(
                f"Sequence length {length} is longer than max_position_embeddings "
                f"({self.config.max_position_embeddings}); truncate the inputs."
            )
        if position_ids is None:
            position_ids = tf.range(tf.shape(input_ids)[-1])[None]
        if token_type_ids is None:
            token_type_ids = tf.zeros_like(input_ids)
        embeds = (self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
                  + self.token_type_embeddings(token_type_ids))  # fmt: skip
        return self.dropout(self.LayerNorm(embeds), training=training)


class TFBertSelfAttention(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.query = dense(config, config.hidden_size, "query")
        self.key = dense(config, config.hidden_size, "key")
        self.value = dense(config, config.hidden_size, "value")
        self.dropout = keras.layers.Dropout(config.attention_probs_dropout_prob)

    def _heads(self, x):
        shape = tf.shape(x)
        return tf.transpose(tf.reshape(x, (shape[0], shape[1], self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def call(self, hidden, bias=None, training=False):
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(hidden)), self._heads(self.value(hidden))
        scores = tf.matmul(q, k, transpose_b=True) / tf.cast(tf.sqrt(float(self.head_dim)), hidden.dtype)
        if bias is not None:
            scores = scores + bias
        probs = self.dropout(tf.nn.softmax(scores, axis=-1), training=training)
        context = tf.transpose(tf.matmul(probs, v), (0, 2, 1, 3))
        return tf.reshape(context, tf.shape(hidden)), probs


class TFBertSelfOutput(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.LayerNorm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, hidden, residual, training=False):
        return self.LayerNorm(self.dropout(self.dense(hidden), training=training) + residual)


class TFBertAttention(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = TFBertSelfAttention(config, name="self")
        self.dense_output = TFBertSelfOutput(config, name="output")

    def call(self, hidden, bias=None, training=False):
        context, probs = self.self_attention(hidden, bias=bias, training=training)
        return self.dense_output(context, residual=hidden, training=training), probs


class TFBertIntermediate(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.intermediate_size, "dense")
        self.act = get_activation(config.hidden_act)

    def call(self, hidden):
        return self.act(self.dense(hidden))


class TFBertLayer(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFBertAttention(config, name="attention")
        self.intermediate = TFBertIntermediate(config, name="intermediate")
        self.bert_output = TFBertSelfOutput(config, name="output")

    def call(self, hidden, bias=None, training=False):
        attended, probs = self.attention(hidden, bias=bias, training=training)
        return self.bert_output(self.intermediate(attended), residual=attended, training=training), probs


class TFBertEncoder(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.layer = [TFBertLayer(config, name=f"layer_._{i}") for i in range(config.num_hidden_layers)]

    def call(self, hidden, bias=None, output_attentions=False, output_hidden_states=False, training=False):
        states, attentions = (hidden,), ()
        for layer in self.layer:
            hidden, probs = layer(hidden, bias=bias, training=training)
            states, attentions = states + (hidden,), attentions + (probs,)
        return hidden, (states if output_hidden_states else None), (attentions if output_attentions else None)


class TFBertPooler(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")

    def call(self, hidden):
        return tf.tanh(self.dense(hidden[:, 0]))


class TFBertMainLayer(Layer):
    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = TFBertEmbeddings(config, name="embeddings")
        self.encoder = TFBertEncoder(config, name="encoder")
        self.pooler = TFBertPooler(config, name="pooler") if add_pooling_layer else None
        self.causal = config.is_decoder

    def call(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        hidden = self.embeddings(input_ids, token_type_ids=token_type_ids, position_ids=position_ids, training=training)
        bias = attention_bias(attention_mask, hidden.dtype, input_ids.shape[-1] if self.causal else None)
        hidden, states, attentions = self.encoder(hidden, bias=bias, output_attentions=output_attentions,
                                                  output_hidden_states=output_hidden_states, training=training)
        return out.BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden, pooler_output=self.pooler(hidden) if self.pooler is not None else None,
            hidden_states=states, attentions=attentions,
        )  # fmt: skip


class TFBertPredictionHeadTransform(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.act = get_activation(config.hidden_act)
        self.LayerNorm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")

    def call(self, hidden):
        return self.LayerNorm(self.act(self.dense(hidden)))


class TFBertLMPredictionHead(Layer):
    """Scores over the vocabulary with the (tied) input embedding matrix plus a bias."""

    def __init__(self, config: BertConfig, input_embeddings: NamedWeight, **kwargs):
        super().__init__(**kwargs)
        self.transform = TFBertPredictionHeadTransform(config, name="transform")
        self.input_embeddings = input_embeddings
        self.vocab_size = config.vocab_size

    def build(self, input_shape=None):
        self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros")
        self.built = True

    def call(self, hidden):
        return tf.matmul(self.transform(hidden), self.input_embeddings.weight, transpose_b=True) + self.bias


class TFBertMLMHead(Layer):
    def __init__(self, config: BertConfig, input_embeddings, **kwargs):
        super().__init__(**kwargs)
        self.predictions = TFBertLMPredictionHead(config, input_embeddings, name="predictions")

    def call(self, hidden):
        return self.predictions(hidden)


class TFBertNSPHead(Layer):
    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        self.seq_relationship = dense(config, 2, "seq_relationship")

    def call(self, pooled):
        return self.seq_relationship(pooled)


class TFBertPreTrainedModel(TFPreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    main_layer_class = TFBertMainLayer


class TFBertModel(TFBaseModel, TFBertPreTrainedModel):
    pass


class TFBertForPreTraining(TFTaskModel, TFBertPreTrainedModel):
    def __init__(self, config: BertConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.nsp = TFBertNSPHead(config, name="nsp___cls")
        self.mlm = TFBertMLMHead(config, self.main_layer.embeddings.word_embeddings, name="mlm___cls")

    def call(self, input_ids=None, labels=None, next_sentence_label=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        encoded = self.encode(input_ids, training, **kwargs)
        scores = self.mlm(encoded.last_hidden_state)
        relationship = self.nsp(encoded.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = token_loss(scores, labels) + token_loss(relationship, next_sentence_label)
        result = out.from_encoded(out.BertForPreTrainingOutput, encoded, loss=loss, prediction_logits=scores,
                                  seq_relationship_logits=relationship)  # fmt: skip
        return out.finish(result, return_dict)


class TFBertForMaskedLM(TFLanguageModelingModel, TFBertPreTrainedModel):
    def build_lm_head(self, config):
        return TFBertMLMHead(config, self.main_layer.embeddings.word_embeddings, name="mlm___cls")


class TFBertLMHeadModel(TFBertForMaskedLM):
    causal = True
    output_class = out.CausalLMOutputWithCrossAttentions


class TFBertForNextSentencePrediction(TFTaskModel, TFBertPreTrainedModel):
    def __init__(self, config: BertConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.nsp = TFBertNSPHead(config, name="nsp___cls")

    def call(self, input_ids=None, labels=None, next_sentence_label=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        encoded = self.encode(input_ids, training, **kwargs)
        logits = self.nsp(encoded.pooler_output)
        labels = labels if labels is not None else next_sentence_label
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.NextSentencePredictorOutput, encoded, loss=loss, logits=logits),
                          return_dict)  # fmt: skip


class TFBertForSequenceClassification(TFSequenceClassificationModel, TFBertPreTrainedModel):
    pass


class TFBertForMultipleChoice(TFMultipleChoiceModel, TFBertPreTrainedModel):
    pass


class TFBertForTokenClassification(TFTokenClassificationModel, TFBertPreTrainedModel):
    pass


class TFBertForQuestionAnswering(TFQuestionAnsweringModel, TFBertPreTrainedModel):
    pass
