"""DistilBERT in TensorFlow (Keras 3), named like transformers' TF DistilBERT."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.distilbert import DistilBertConfig

from ..activations import get_activation
from ..losses import sequence_classification_loss, span_loss, token_loss
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init
from .bert import attention_bias


class TFEmbeddings(Layer):
    def __init__(self, config: DistilBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        init = weights_init(config)
        self.word_embeddings = NamedWeight((config.vocab_size, config.dim), "weight", init, name="word_embeddings")
        self.position_embeddings = NamedWeight((config.max_position_embeddings, config.dim), "embeddings", init,
                                               name="position_embeddings")  # fmt: skip
        self.LayerNorm = keras.layers.LayerNormalization(epsilon=1e-12, name="LayerNorm")
        self.dropout = keras.layers.Dropout(config.dropout)

    def call(self, input_ids, training=False):
        length = input_ids.shape[-1]
        if length is not None and length > self.config.max_position_embeddings:
            raise ValueError(
                f"Sequence length {length} is longer than max_position_embeddings ({self.config.max_position_embeddings})."
            )
        positions = self.position_embeddings(tf.range(tf.shape(input_ids)[-1])[None])
        return self.dropout(self.LayerNorm(self.word_embeddings(input_ids) + positions), training=training)


class TFMultiHeadSelfAttention(Layer):
    def __init__(self, config: DistilBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.head_dim = config.n_heads, config.dim // config.n_heads
        self.q_lin, self.k_lin = dense(config, config.dim, "q_lin"), dense(config, config.dim, "k_lin")
        self.v_lin, self.out_lin = dense(config, config.dim, "v_lin"), dense(config, config.dim, "out_lin")
        self.dropout = keras.layers.Dropout(config.attention_dropout)

    def _split(self, x):
        shape = tf.shape(x)
        return tf.transpose(tf.reshape(x, (shape[0], shape[1], self.heads, self.head_dim)), (0, 2, 1, 3))

    def call(self, hidden, bias=None, training=False):
        q, k, v = self._split(self.q_lin(hidden)), self._split(self.k_lin(hidden)), self._split(self.v_lin(hidden))
        scores = tf.matmul(q, k, transpose_b=True) / np.float32(np.sqrt(self.head_dim))
        if bias is not None:
            scores = scores + bias
        probs = self.dropout(tf.nn.softmax(scores, axis=-1), training=training)
        context = tf.transpose(tf.matmul(probs, v), (0, 2, 1, 3))
        return self.out_lin(tf.reshape(context, tf.shape(hidden)))


class TFFFN(Layer):
    def __init__(self, config: DistilBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.lin1 = dense(config, config.hidden_dim, "lin1")
        self.lin2 = dense(config, config.dim, "lin2")
        self.activation = get_activation(config.activation)
        self.dropout = keras.layers.Dropout(config.dropout)

    def call(self, x, training=False):
        return self.dropout(self.lin2(self.activation(self.lin1(x))), training=training)


class TFTransformerBlock(Layer):
    def __init__(self, config: DistilBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFMultiHeadSelfAttention(config, name="attention")
        self.sa_layer_norm = keras.layers.LayerNormalization(epsilon=1e-12, name="sa_layer_norm")
        self.ffn = TFFFN(config, name="ffn")
        self.output_layer_norm = keras.layers.LayerNormalization(epsilon=1e-12, name="output_layer_norm")

    def call(self, hidden, bias=None, training=False):
        hidden = self.sa_layer_norm(self.attention(hidden, bias=bias, training=training) + hidden)
        return self.output_layer_norm(self.ffn(hidden, training=training) + hidden)


class TFTransformer(Layer):
    def __init__(self, config: DistilBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.layer = [TFTransformerBlock(config, name=f"layer_._{i}") for i in range(config.n_layers)]

    def call(self, hidden, bias=None, training=False):
        states = (hidden,)
        for layer in self.layer:
            hidden = layer(hidden, bias=bias, training=training)
            states += (hidden,)
        return hidden, states


class TFDistilBertMainLayer(Layer):
    def __init__(self, config: DistilBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = TFEmbeddings(config, name="embeddings")
        self.transformer = TFTransformer(config, name="transformer")

    def call(self, input_ids, attention_mask=None, output_hidden_states=False, training=False):
        hidden = self.embeddings(input_ids, training=training)
        hidden, states = self.transformer(hidden, bias=attention_bias(attention_mask, hidden.dtype), training=training)
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None)


class TFDistilBertLMHead(Layer):
    def __init__(self, config: DistilBertConfig, input_embeddings, **kwargs):
        super().__init__(**kwargs)
        self.input_embeddings = input_embeddings
        self.vocab_size = config.vocab_size

    def build(self, input_shape=None):
        self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros")
        self.built = True

    def call(self, hidden):
        return tf.matmul(hidden, self.input_embeddings.weight, transpose_b=True) + self.bias


class TFDistilBertPreTrainedModel(TFPreTrainedModel):
    config_class = DistilBertConfig
    base_model_prefix = "distilbert"

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.distilbert = TFDistilBertMainLayer(config, name="distilbert")

    def _encode(self, input_ids, kwargs, training):
        return self.distilbert(input_ids, attention_mask=kwargs.get("attention_mask"),
                               output_hidden_states=kwargs.get("output_hidden_states"), training=training)  # fmt: skip


class TFDistilBertModel(TFDistilBertPreTrainedModel):
    is_base_model = True

    def call(self, input_ids=None, training=False, return_dict=True, **kwargs):
        return out.finish(self._encode(input_ids, kwargs, training), return_dict)


class TFDistilBertForMaskedLM(TFDistilBertPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.vocab_transform = dense(config, config.dim, "vocab_transform")
        self.act = get_activation(config.activation)
        self.vocab_layer_norm = keras.layers.LayerNormalization(epsilon=1e-12, name="vocab_layer_norm")
        self.vocab_projector = TFDistilBertLMHead(config, self.distilbert.embeddings.word_embeddings,
                                                  name="vocab_projector")  # fmt: skip

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        hidden = self.vocab_layer_norm(self.act(self.vocab_transform(encoded.last_hidden_state)))
        logits = self.vocab_projector(hidden)
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.MaskedLMOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states),
                            return_dict)  # fmt: skip


class TFDistilBertForSequenceClassification(TFDistilBertPreTrainedModel):
    outputs = None

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.pre_classifier = dense(config, config.dim, "pre_classifier")
        self.classifier = dense(config, self.outputs or config.num_labels, "classifier")
        self.dropout = keras.layers.Dropout(config.seq_classif_dropout)

    def _logits(self, encoded, training):
        pooled = tf.nn.relu(self.pre_classifier(encoded.last_hidden_state[:, 0]))
        return self.classifier(self.dropout(pooled, training=training))

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        logits = self._logits(encoded, training)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return out.finish(out.SequenceClassifierOutput(loss=loss, logits=logits,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class TFDistilBertForMultipleChoice(TFDistilBertForSequenceClassification):
    outputs = 1

    def dummy_inputs(self) -> dict:
        return {"input_ids": np.zeros((1, 2, 2), dtype=np.int32)}

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        choices = input_ids.shape[1]
        flat = {k: (tf.reshape(v, (-1, v.shape[-1])) if k == "attention_mask" and v is not None else v)
                for k, v in kwargs.items()}  # fmt: skip
        encoded = self._encode(tf.reshape(input_ids, (-1, input_ids.shape[-1])), flat, training)
        logits = tf.reshape(self._logits(encoded, training), (-1, choices))
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.MultipleChoiceModelOutput(loss=loss, logits=logits,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class TFDistilBertForTokenClassification(TFDistilBertPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.dropout = keras.layers.Dropout(config.dropout)
        self.classifier = dense(config, config.num_labels, "classifier")

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(input_ids, kwargs, training)
        logits = self.classifier(self.dropout(encoded.last_hidden_state, training=training))
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.TokenClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states),
                            return_dict)  # fmt: skip


class TFDistilBertForQuestionAnswering(TFDistilBertPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.qa_outputs = dense(config, 2, "qa_outputs")
        self.dropout = keras.layers.Dropout(config.qa_dropout)

    def call(self, input_ids=None, start_positions=None, end_positions=None, training=False, return_dict=True,
                **kwargs):  # fmt: skip
        encoded = self._encode(input_ids, kwargs, training)
        start, end = tf.split(self.qa_outputs(self.dropout(encoded.last_hidden_state, training=training)), 2, axis=-1)
        start, end = tf.squeeze(start, -1), tf.squeeze(end, -1)
        loss = span_loss(start, end, start_positions, end_positions) if start_positions is not None else None
        return out.finish(out.QuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip
