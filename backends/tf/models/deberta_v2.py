"""DeBERTa-v2 in TensorFlow (Keras 3): disentangled self-attention on the shared post-norm blocks, under
transformers' TF DeBERTa-v2 names (PyTorch's where the two differ: pos_key_proj / pos_query_proj and the
convolution's weights), and every head."""

from __future__ import annotations

import math

import tensorflow as tf

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.deberta_v2 import DebertaV2Config, DisentangledOptions

from .. import keras_layers
from ..activations import get_activation
from ..blocks.encoder import (
    EncoderOutput,
    TFEncoderMainLayer,
    TFIntermediate,
    TFResidualOutput,
    TFTiedDense,
    per_layer_head_mask,
)
from ..heads import (
    TFBaseModel,
    TFClassificationHead,
    TFMultipleChoiceModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTaskModel,
    TFTokenClassificationModel,
)
from ..losses import token_loss
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, channels_last, dense, weights_init


def log_bucket_positions(relative, bucket_size: int, max_position: int):
    """Distances within bucket_size // 2 stay exact; longer ones share logarithmically wider buckets."""
    sign = tf.sign(relative)
    mid = bucket_size // 2
    inside = (relative < mid) & (relative > -mid)
    absolute = tf.where(inside, tf.cast(mid - 1, relative.dtype), tf.abs(relative))
    ratio = tf.math.log(tf.cast(absolute, tf.float32) / mid) / tf.math.log(tf.constant((max_position - 1) / mid, tf.float32))
    log_pos = tf.math.ceil(ratio * (mid - 1)) + mid
    bucket = tf.where(absolute <= mid, tf.cast(relative, tf.float32), log_pos * tf.cast(sign, tf.float32))
    return tf.cast(bucket, tf.int32)


def relative_positions(query_length, key_length, layout: DisentangledOptions):
    relative = tf.range(query_length)[:, None] - tf.range(key_length)[None]
    if layout.position_buckets > 0 and layout.max_relative_positions > 0:
        relative = log_bucket_positions(relative, layout.position_buckets, layout.max_relative_positions)
    return relative


def gather_last(scores, index):
    """scores [b, h, r, n], index [r, c] -> [b, h, r, c] with scores[..., i, index[i, j]]."""
    shape = tf.shape(scores)
    index = tf.broadcast_to(index, tf.concat([shape[:2], tf.shape(index)], 0))
    return tf.gather(scores, index, batch_dims=3)


class TFDisentangledSelfAttention(Layer):
    def __init__(self, options: EncoderOptions, layout: DisentangledOptions, **kwargs):
        super().__init__(**kwargs)
        h = options.hidden_size
        self.num_heads, self.head_size, self.layout = options.num_attention_heads, options.head_size, layout
        self.query_proj, self.key_proj = dense(options, h, "query_proj"), dense(options, h, "key_proj")
        self.value_proj = dense(options, h, "value_proj")
        shared = not layout.relative or layout.share_att_key
        self.pos_key_proj = dense(options, h, "pos_key_proj") if not shared and "c2p" in layout.pos_att_type else None
        self.pos_query_proj = dense(options, h, "pos_query_proj") if not shared and "p2c" in layout.pos_att_type \
            else None  # fmt: skip
        self.pos_dropout = Dropout(options.hidden_dropout)
        self.dropout = Dropout(options.attention_dropout)
        # every projection reads hidden_size features: the hidden states, or rows of the relative table
        self.sizes = dict.fromkeys([self.query_proj, self.key_proj, self.value_proj, self.pos_key_proj,
                                    self.pos_query_proj], h)  # fmt: skip

    def input_sizes(self):
        return self.sizes

    def _heads(self, x):
        shape = tf.shape(x)
        return tf.transpose(tf.reshape(x, (shape[0], shape[1], self.num_heads, self.head_size)), (0, 2, 1, 3))

    def call(self, hidden, bias=None, head_mask=None, relative_pos=None, rel_embeddings=None, training=False):
        """bias: [batch, 1, q, k] booleans (True: attend) — not called mask (Keras reserves that keyword)."""
        q = self._heads(self.query_proj(hidden))
        k, v = self._heads(self.key_proj(hidden)), self._heads(self.value_proj(hidden))
        scale = math.sqrt(self.head_size * self.layout.scale_factor)
        scores = tf.matmul(q, tf.transpose(k, (0, 1, 3, 2)) / scale)
        if self.layout.relative:
            table = self.pos_dropout(rel_embeddings, training=training)
            scores = scores + self.position_scores(q, k, relative_pos, table, scale)
        scores = tf.where(bias, scores, scores.dtype.min)
        probs = self.dropout(tf.nn.softmax(scores, axis=-1), training=training)
        if head_mask is not None:
            probs = probs * head_mask
        context = tf.transpose(tf.matmul(probs, v), (0, 2, 1, 3))
        shape = tf.shape(hidden)
        return tf.reshape(context, (shape[0], shape[1], self.num_heads * self.head_size)), probs

    def position_scores(self, q, k, relative_pos, rel_embeddings, scale: float):
        layout, span = self.layout, self.layout.span
        table = rel_embeddings[: span * 2][None]
        batch = tf.shape(q)[0]
        score = 0.0
        if "c2p" in layout.pos_att_type:
            pos_key = self._heads(self.key_proj(table) if layout.share_att_key else self.pos_key_proj(table))
            c2p = tf.matmul(q, tf.repeat(pos_key, batch, axis=0), transpose_b=True)
            score = score + gather_last(c2p, tf.clip_by_value(relative_pos + span, 0, span * 2 - 1)) / scale
        if "p2c" in layout.pos_att_type:
            pos_query = self._heads(self.query_proj(table) if layout.share_att_key else self.pos_query_proj(table))
            p2c = tf.matmul(k, tf.repeat(pos_query, batch, axis=0), transpose_b=True)
            gathered = gather_last(p2c, tf.clip_by_value(-relative_pos + span, 0, span * 2 - 1))
            score = score + tf.transpose(gathered, (0, 1, 3, 2)) / scale
        return score


class TFDebertaV2Attention(Layer):
    def __init__(self, options: EncoderOptions, layout: DisentangledOptions, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = TFDisentangledSelfAttention(options, layout, name="self")
        self.dense_output = TFResidualOutput(options, name="output", input_width=options.hidden_size)

    def input_sizes(self):
        return {self.self_attention: None, self.dense_output: None}

    def call(self, hidden, bias=None, head_mask=None, relative_pos=None, rel_embeddings=None, training=False):
        context, probs = self.self_attention(hidden, bias=bias, head_mask=head_mask, relative_pos=relative_pos,
                                             rel_embeddings=rel_embeddings, training=training)  # fmt: skip
        return self.dense_output(context, residual=hidden, training=training), probs


class TFDebertaV2Layer(Layer):
    def __init__(self, options: EncoderOptions, layout: DisentangledOptions, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFDebertaV2Attention(options, layout, name="attention")
        self.intermediate = TFIntermediate(options, options.intermediate_size, options.hidden_act, name="intermediate")
        self.bert_output = TFResidualOutput(options, name="output", input_width=options.intermediate_size)

    def input_sizes(self):
        return {self.attention: None, self.intermediate: None, self.bert_output: None}

    def call(self, hidden, bias=None, head_mask=None, relative_pos=None, rel_embeddings=None, training=False):
        attended, probs = self.attention(hidden, bias=bias, head_mask=head_mask, relative_pos=relative_pos,
                                         rel_embeddings=rel_embeddings, training=training)  # fmt: skip
        return self.bert_output(self.intermediate(attended), residual=attended, training=training), probs


class TFConvLayer(Layer):
    """After the first layer: conv over the embeddings -> masked -> activation -> LayerNorm(+ layer output)."""

    def __init__(self, options: EncoderOptions, layout: DisentangledOptions, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras_layers.Conv1D(options.hidden_size, layout.conv_kernel_size, padding="same",
                                        groups=layout.conv_groups, kernel_initializer=weights_init(options),
                                        name="conv")  # fmt: skip
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps, name="LayerNorm")
        self.dropout = Dropout(options.hidden_dropout)
        self.act = get_activation(layout.conv_act)
        self.hidden_size = options.hidden_size

    def input_sizes(self):  # the conv convolves the embeddings (hidden_size wide)
        return {self.conv: channels_last(self.hidden_size, (None,)), self.LayerNorm: self.hidden_size}

    def call(self, hidden, residual, input_mask, training=False):
        keep = tf.cast(input_mask, hidden.dtype)[..., None]
        conv = self.conv(hidden) * keep
        return self.LayerNorm(residual + self.act(self.dropout(conv, training=training))) * keep


class TFDebertaV2Encoder(Layer):
    def __init__(self, options: EncoderOptions, layout: DisentangledOptions, **kwargs):
        super().__init__(**kwargs)
        self.options, self.layout = options, layout
        self.layer = [TFDebertaV2Layer(options, layout, name=f"layer_._{i}") for i in range(options.num_hidden_layers)]
        # it normalises the relative table, so none without relative attention (a call would never build it)
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps, name="LayerNorm") \
            if layout.norm_rel_ebd and layout.relative else None  # fmt: skip
        self.conv = TFConvLayer(options, layout, name="conv") if layout.conv_kernel_size > 0 else None

    def build(self, input_shape=None):
        if self.layout.relative:
            self.rel_embeddings = self.add_weight(name="rel_embeddings.weight",
                                                  shape=(self.layout.span * 2, self.options.hidden_size),
                                                  initializer=weights_init(self.options))  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        return {**dict.fromkeys(self.layer), self.conv: None, self.LayerNorm: self.options.hidden_size}

    def relative_table(self):
        table = self.rel_embeddings if self.layout.relative else None
        return self.LayerNorm(table) if table is not None and self.LayerNorm is not None else table

    def call(self, hidden, input_mask=None, output_attentions=False, output_hidden_states=False, head_mask=None,
             training=False):  # fmt: skip
        keep = tf.cast(input_mask, tf.bool)
        bias = keep[:, None, None, :] & keep[:, None, :, None]
        relative = {}
        if self.layout.relative:
            length = tf.shape(hidden)[1]
            relative = {"relative_pos": relative_positions(length, length, self.layout),
                        "rel_embeddings": self.relative_table()}  # fmt: skip
        embedded, states, attentions = hidden, (hidden,), ()
        for i, (layer, layer_head_mask) in enumerate(zip(self.layer, per_layer_head_mask(head_mask, len(self.layer)))):
            hidden, probs = layer(hidden, bias=bias, head_mask=layer_head_mask, training=training, **relative)
            if i == 0 and self.conv is not None:
                hidden = self.conv(embedded, residual=hidden, input_mask=input_mask, training=training)
            states, attentions = states + (hidden,), attentions + (probs,)
        return EncoderOutput(hidden, states if output_hidden_states else None,
                             attentions if output_attentions else None, None)  # fmt: skip


class TFDebertaV2Embeddings(Layer):
    """word (+ absolute position when position_biased_input) (+ token type) -> embed_proj (when the width differs)
    -> LayerNorm -> zeroed at padding -> dropout."""

    def __init__(self, config: DebertaV2Config, options: EncoderOptions, **kwargs):
        super().__init__(**kwargs)
        width, init = options.embedding_width, weights_init(options)
        self.options = options
        self.word_embeddings = NamedWeight((options.vocab_size, width), "weight", init, name="word_embeddings")
        self.position_embeddings = NamedWeight((options.max_position_embeddings, width), "embeddings", init,
                                               name="position_embeddings") if config.position_biased_input else None
        self.token_type_embeddings = NamedWeight((options.type_vocab_size, width), "embeddings", init,
                                                 name="token_type_embeddings") if options.type_vocab_size else None
        self.embed_proj = dense(options, options.hidden_size, "embed_proj", use_bias=False) \
            if width != options.hidden_size else None  # fmt: skip
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps, name="LayerNorm")
        self.dropout = Dropout(options.hidden_dropout)

    def input_sizes(self):
        return {self.word_embeddings: None, self.position_embeddings: None, self.token_type_embeddings: None,
                self.embed_proj: self.options.embedding_width, self.LayerNorm: self.options.hidden_size}

    def call(self, input_ids=None, token_type_ids=None, position_ids=None, input_mask=None, inputs_embeds=None,
             training=False):  # fmt: skip
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        if inputs_embeds is not None and not self.word_embeddings.built:
            self.word_embeddings.build()
        if self.position_embeddings is not None:
            self.options.check_length(embeds.shape[1])
            if position_ids is None:
                position_ids = tf.range(tf.shape(embeds)[1])[None]
            embeds = embeds + self.position_embeddings(position_ids)
        if self.token_type_embeddings is not None:
            if token_type_ids is None:
                token_type_ids = tf.zeros(tf.shape(embeds)[:2], tf.int32)
            embeds = embeds + self.token_type_embeddings(token_type_ids)
        if self.embed_proj is not None:
            embeds = self.embed_proj(embeds)
        embeds = self.LayerNorm(embeds) * tf.cast(input_mask, embeds.dtype)[..., None]
        return self.dropout(embeds, training=training)


class TFDebertaV2MainLayer(TFEncoderMainLayer):
    output_class = out.BaseModelOutput

    def __init__(self, config: DebertaV2Config, **kwargs):
        super().__init__(**kwargs)
        self.options = config.encoder_options()
        self.embeddings = TFDebertaV2Embeddings(config, self.options, name="embeddings")
        self.encoder = TFDebertaV2Encoder(self.options, config.disentangled(), name="encoder")
        self.pooler = None

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
             head_mask=None, output_attentions=False, output_hidden_states=False, training=False):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        reference = input_ids if input_ids is not None else inputs_embeds[..., 0]
        if attention_mask is None:
            attention_mask = tf.ones(tf.shape(reference), tf.int32)
        hidden = self.embeddings(input_ids, token_type_ids=token_type_ids, position_ids=position_ids,
                                 input_mask=attention_mask, inputs_embeds=inputs_embeds, training=training)  # fmt: skip
        encoded = self.encoder(hidden, input_mask=attention_mask, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, head_mask=head_mask, training=training)  # fmt: skip
        return self.build_output(encoded)


class TFDebertaV2PreTrainedModel(TFPreTrainedModel):
    config_class = DebertaV2Config
    base_model_prefix = "deberta"
    main_layer_class = TFDebertaV2MainLayer
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"position_embeddings", r"mask_predictions\.",
                                          r"cls\.predictions\.decoder\.(weight|bias)$"]  # fmt: skip


class TFDebertaV2Model(TFBaseModel, TFDebertaV2PreTrainedModel):
    pass


class TFLegacyPredictionHead(Layer):
    """cls/predictions: transform (dense to the embedding width, hidden_act, LayerNorm), decoder (tied) + bias."""

    def __init__(self, config: DebertaV2Config, input_embeddings, **kwargs):
        super().__init__(**kwargs)
        self.transform = _Transform(config, config.embedding_width, name="transform")
        self.decoder = TFTiedDense(config, input_embeddings, name="decoder")
        self.vocab_size = config.vocab_size

    def input_sizes(self):
        return {self.transform: None, self.decoder: self.transform.dense.units}

    def build(self, input_shape=None):
        self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros")
        super().build(input_shape)

    def call(self, hidden):
        return self.decoder(self.transform(hidden)) + self.bias


class _Transform(Layer):
    """dense -> hidden_act -> LayerNorm."""

    def __init__(self, config: DebertaV2Config, width: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, width, "dense")
        self.act = get_activation(config.hidden_act)
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.sizes = {self.dense: config.hidden_size, self.LayerNorm: width}

    def input_sizes(self):
        return self.sizes

    def call(self, hidden):
        return self.LayerNorm(self.act(self.dense(hidden)))


class TFLMPredictionHead(_Transform):
    """lm_predictions/lm_head (legacy=False): dense, hidden_act, LayerNorm, then the word embeddings + bias."""

    def __init__(self, config: DebertaV2Config, input_embeddings, **kwargs):
        super().__init__(config, config.hidden_size, **kwargs)
        self.input_embeddings, self.vocab_size = input_embeddings, config.vocab_size

    def build(self, input_shape=None):
        self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros")
        super().build(input_shape)

    def call(self, hidden):
        return tf.matmul(super().call(hidden), self.input_embeddings.weight, transpose_b=True) + self.bias


class _Scope(Layer):
    """A named layer around one inner layer (transformers' cls/predictions and lm_predictions/lm_head nesting)."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def input_sizes(self):
        return {self.inner: None}

    def call(self, hidden):
        return self.inner(hidden)


class TFDebertaV2ForMaskedLM(TFTaskModel, TFDebertaV2PreTrainedModel):
    def __init__(self, config: DebertaV2Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        embeddings = self.main_layer.embeddings.word_embeddings
        if config.legacy:
            self.head = _Scope(TFLegacyPredictionHead(config, embeddings, name="predictions"), name="cls")
        else:
            self.head = _Scope(TFLMPredictionHead(config, embeddings, name="lm_head"), name="lm_predictions")

    def input_sizes(self):
        return {**super().input_sizes(), self.head: None}

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        logits = self.head(encoded.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, loss=loss, logits=logits), return_dict)


class ContextPooler:
    """The first token -> dropout (pooler_dropout) -> pooler/dense -> pooler_hidden_act, before the head's
    dropout and classifier."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.pooler = _Pooler(config, name="pooler")

    def input_sizes(self):  # the classifier reads the pooler's pooler_hidden_size features
        sizes = {**super().input_sizes(), self.pooler: None}
        classifier = getattr(self, self.spec.attr)
        sizes[classifier] = self.pooler.dense.units
        if isinstance(classifier, TFClassificationHead):
            classifier.input_width, sizes[classifier] = self.pooler.dense.units, None
        return sizes

    def pool(self, encoded, *args, **kwargs):
        return self.pooler(super().pool(encoded, *args, **kwargs))


class _Pooler(Layer):
    def __init__(self, config: DebertaV2Config, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.pooler_hidden_size, "dense")
        self.dropout = Dropout(config.pooler_dropout)
        self.act = get_activation(config.pooler_hidden_act)
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, first, training=False):
        return self.act(self.dense(self.dropout(first, training=training)))


class TFDebertaV2ForSequenceClassification(ContextPooler, TFSequenceClassificationModel, TFDebertaV2PreTrainedModel):
    pass


class TFDebertaV2ForMultipleChoice(ContextPooler, TFMultipleChoiceModel, TFDebertaV2PreTrainedModel):
    pass


class TFDebertaV2ForTokenClassification(TFTokenClassificationModel, TFDebertaV2PreTrainedModel):
    pass


class TFDebertaV2ForQuestionAnswering(TFQuestionAnsweringModel, TFDebertaV2PreTrainedModel):
    pass
