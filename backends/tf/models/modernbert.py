"""ModernBERT in TensorFlow (Keras 3; transformers never had one): pre-norm layers with a fused Wqkv projection,
rotary positions for global and sliding-window local layers, a gated MLP and the heads, under the PyTorch
names (`model/layers_._0/attn/Wqkv`), so every checkpoint format loads."""

from __future__ import annotations

import tensorflow as tf

from autoload import outputs as out
from autoload.models.modernbert import ModernBertConfig

from .. import keras_layers
from ..activations import get_activation
from ..blocks.encoder import TFTiedDense, padding_bias, per_layer_head_mask
from ..heads import (
    TFBaseModel,
    TFMultipleChoiceModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTaskModel,
    TFTokenClassificationModel,
    masked_mean,
)
from ..losses import token_loss
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, dense, weights_init
from ..rotary import apply_rotary, rotary_cos_sin


def layer_norm(config: ModernBertConfig, name: str) -> keras_layers.LayerNormalization:
    return keras_layers.LayerNormalization(epsilon=config.norm_eps, center=config.norm_bias, name=name)


def window_mask(bias, length, window: int):
    """The additive padding bias, with keys more than `window` positions from the query blocked too."""
    positions = tf.range(length)
    far = tf.abs(positions[None, :] - positions[:, None]) > window
    full = tf.broadcast_to(bias, tf.stack([tf.shape(bias)[0], 1, length, length]))
    return tf.where(far[None, None], tf.cast(bias.dtype.min, bias.dtype), full)


class TFModernBertEmbeddings(Layer):
    def __init__(self, config: ModernBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.tok_embeddings = NamedWeight((config.vocab_size, config.hidden_size), "embeddings", weights_init(config),
                                          name="tok_embeddings")  # fmt: skip
        self.norm = layer_norm(config, "norm")
        self.drop = Dropout(config.embedding_dropout)
        self.hidden_size = config.hidden_size

    def input_sizes(self):
        return {self.tok_embeddings: None, self.norm: self.hidden_size}

    def call(self, input_ids=None, inputs_embeds=None, training=False):
        if inputs_embeds is None:
            inputs_embeds = self.tok_embeddings(input_ids)
        elif not self.tok_embeddings.built:
            self.tok_embeddings.build()
        return self.drop(self.norm(inputs_embeds), training=training)


class TFModernBertAttention(Layer):
    def __init__(self, config: ModernBertConfig, index: int, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.head_dim = config.num_attention_heads, config.hidden_size // config.num_attention_heads
        self.local, self.rope = not config.is_global_layer(index), config.rope_settings(index)
        self.Wqkv = dense(config, 3 * config.hidden_size, "Wqkv", use_bias=config.attention_bias)
        self.Wo = dense(config, config.hidden_size, "Wo", use_bias=config.attention_bias)
        self.dropout = Dropout(config.attention_dropout)
        self.out_drop = Dropout(config.attention_dropout)
        self.sizes = dict.fromkeys([self.Wqkv, self.Wo], config.hidden_size)  # Wo: the merged heads

    def input_sizes(self):
        return self.sizes

    def call(self, hidden, global_bias=None, local_bias=None, positions=None, head_mask=None, training=False):
        shape = tf.shape(hidden)
        qkv = tf.reshape(self.Wqkv(hidden), (shape[0], shape[1], 3, self.num_heads, self.head_dim))
        q, k, v = tf.unstack(tf.transpose(qkv, (2, 0, 3, 1, 4)), axis=0)
        cos, sin = rotary_cos_sin(self.rope, positions, hidden.shape[1], q.dtype)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        scores = tf.matmul(q, k, transpose_b=True) * self.head_dim**-0.5
        scores = scores + (local_bias if self.local else global_bias)
        probs = self.dropout(tf.nn.softmax(scores, axis=-1), training=training)
        if head_mask is not None:
            probs = probs * head_mask
        context = tf.reshape(tf.transpose(tf.matmul(probs, v), (0, 2, 1, 3)), (shape[0], shape[1], -1))
        return self.out_drop(self.Wo(context), training=training), probs


class TFModernBertMLP(Layer):
    """Wi (to twice the intermediate size) -> act(input) * gate -> dropout -> Wo."""

    def __init__(self, config: ModernBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.Wi = dense(config, 2 * config.intermediate_size, "Wi", use_bias=config.mlp_bias)
        self.act = get_activation(config.hidden_activation)
        self.drop = Dropout(config.mlp_dropout)
        self.Wo = dense(config, config.hidden_size, "Wo", use_bias=config.mlp_bias)
        self.sizes = {self.Wi: config.hidden_size, self.Wo: config.intermediate_size}  # act(value) * gate

    def input_sizes(self):
        return self.sizes

    def call(self, hidden, training=False):
        value, gate = tf.split(self.Wi(hidden), 2, axis=-1)
        return self.Wo(self.drop(self.act(value) * gate, training=training))


class TFModernBertEncoderLayer(Layer):
    """attn_norm (none in the first layer) -> attn (+ residual) -> mlp_norm -> mlp (+ residual)."""

    def __init__(self, config: ModernBertConfig, index: int, **kwargs):
        super().__init__(**kwargs)
        self.attn_norm = layer_norm(config, "attn_norm") if index else None
        self.attn = TFModernBertAttention(config, index, name="attn")
        self.mlp_norm = layer_norm(config, "mlp_norm")
        self.mlp = TFModernBertMLP(config, name="mlp")
        self.hidden_size = config.hidden_size

    def input_sizes(self):
        return {self.attn_norm: self.hidden_size, self.attn: None, self.mlp_norm: self.hidden_size, self.mlp: None}

    def call(self, hidden, global_bias=None, local_bias=None, positions=None, head_mask=None, training=False):
        normed = self.attn_norm(hidden) if self.attn_norm is not None else hidden
        attended, probs = self.attn(normed, global_bias=global_bias, local_bias=local_bias, positions=positions,
                                    head_mask=head_mask, training=training)  # fmt: skip
        hidden = hidden + attended
        return hidden + self.mlp(self.mlp_norm(hidden), training=training), probs


class TFModernBertMainLayer(Layer):
    def __init__(self, config: ModernBertConfig, **kwargs):
        super().__init__(**kwargs)
        config.check_supported()
        self.config = config
        self.embeddings = TFModernBertEmbeddings(config, name="embeddings")
        self.layers = [TFModernBertEncoderLayer(config, i, name=f"layers_._{i}") for i in range(config.num_hidden_layers)]
        self.final_norm = layer_norm(config, "final_norm")

    @property
    def output_width(self) -> int:
        return self.config.hidden_size

    def input_sizes(self):
        return {self.embeddings: None, **dict.fromkeys(self.layers), self.final_norm: self.config.hidden_size}

    def call(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None, head_mask=None,
             output_attentions=False, output_hidden_states=False, training=False):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        hidden = self.embeddings(input_ids, inputs_embeds=inputs_embeds, training=training)
        shape = tf.shape(hidden)
        if attention_mask is None:
            attention_mask = tf.ones(shape[:2], tf.int32)
        if position_ids is None:
            position_ids = tf.range(shape[1])[None]
        global_bias = padding_bias(attention_mask, hidden.dtype)
        local_bias = window_mask(global_bias, shape[1], self.config.local_attention // 2)
        states, attentions = (hidden,), ()
        for layer, layer_head_mask in zip(self.layers, per_layer_head_mask(head_mask, len(self.layers))):
            hidden, probs = layer(hidden, global_bias=global_bias, local_bias=local_bias, positions=position_ids,
                                  head_mask=layer_head_mask, training=training)  # fmt: skip
            states, attentions = states + (hidden,), attentions + (probs,)
        return out.BaseModelOutput(last_hidden_state=self.final_norm(hidden),
                                   hidden_states=states if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class TFModernBertPredictionHead(Layer):
    """dense (classifier_bias) -> classifier_activation -> norm."""

    def __init__(self, config: ModernBertConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense", use_bias=config.classifier_bias)
        self.act = get_activation(config.classifier_activation)
        self.norm = layer_norm(config, "norm")
        self.sizes = dict.fromkeys([self.dense, self.norm], config.hidden_size)

    def input_sizes(self):
        return self.sizes

    def call(self, hidden):
        return self.norm(self.act(self.dense(hidden)))


class TFModernBertPreTrainedModel(TFPreTrainedModel):
    config_class = ModernBertConfig
    base_model_prefix = "model"
    main_layer_class = TFModernBertMainLayer
    _keys_to_ignore_on_load_unexpected = [r"^decoder\.weight$"]


class TFModernBertModel(TFBaseModel, TFModernBertPreTrainedModel):
    pass


class TFModernBertForMaskedLM(TFTaskModel, TFModernBertPreTrainedModel):
    """head, then decoder (tied to the token embeddings; its bias as decoder_bias says); sparse_prediction with
    labels scores only the labelled positions."""

    def __init__(self, config: ModernBertConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.head = TFModernBertPredictionHead(config, name="head")
        self.decoder = TFTiedDense(config, self.main_layer.embeddings.tok_embeddings, use_bias=config.decoder_bias,
                                   name="decoder")  # fmt: skip

    def input_sizes(self):
        return {**super().input_sizes(), self.head: None, self.decoder: self.config.hidden_size}

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        hidden = encoded.last_hidden_state
        if self.config.sparse_prediction and labels is not None:
            labels = tf.reshape(labels, (-1,))
            keep = labels != self.config.sparse_pred_ignore_index
            hidden = tf.boolean_mask(tf.reshape(hidden, (tf.shape(labels)[0], -1)), keep)
            labels = tf.boolean_mask(labels, keep)
        logits = self.decoder(self.head(hidden))
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, loss=loss, logits=logits), return_dict)


class WithPredictionHead:
    """The pooled (or per-token) states pass through `head` before the dropout and classifier."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.head = TFModernBertPredictionHead(config, name="head")

    def input_sizes(self):  # the head keeps the width, so the classifier's input is as TFTaskModel says
        return {**super().input_sizes(), self.head: None}

    def output_layer(self, features, training=False):
        return super().output_layer(self.head(features), training)


class TFModernBertForSequenceClassification(WithPredictionHead, TFSequenceClassificationModel,
                                            TFModernBertPreTrainedModel):  # fmt: skip
    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        return masked_mean(hidden, mask) if self.config.classifier_pooling == "mean" else hidden[:, 0]


class TFModernBertForMultipleChoice(WithPredictionHead, TFMultipleChoiceModel, TFModernBertPreTrainedModel):
    """"cls" pooling reads each choice's first attended position, as transformers does for this head."""

    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        if self.config.classifier_pooling == "mean":
            return masked_mean(hidden, mask)
        if mask is None:
            return hidden[:, 0]
        return tf.gather(hidden, tf.argmax(mask, axis=-1, output_type=tf.int32), batch_dims=1)


class TFModernBertForTokenClassification(WithPredictionHead, TFTokenClassificationModel, TFModernBertPreTrainedModel):
    pass


class TFModernBertForQuestionAnswering(WithPredictionHead, TFQuestionAnsweringModel, TFModernBertPreTrainedModel):
    pass
