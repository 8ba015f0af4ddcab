"""The post-norm (BERT-family) encoder in TensorFlow (Keras 3), written once; mirrors the PyTorch blocks in
autoload/backends/torch/blocks/encoder.py.

Layers carry transformers' TF names (`name=`), so variable paths are the ones tf_model.h5 files use
(`…/encoder/layer_._0/attention/self/query/kernel`); where transformers' TF classes never had a weight
(relative distance tables, an untied decoder) the PyTorch name is used.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
import tensorflow as tf

from autoload import outputs as out
from autoload.encoder import EncoderOptions, sinusoidal_table
from autoload.sequence_summary import SummaryOptions

from .. import keras_layers
from ..activations import get_activation
from ..attention import causal_bias
from ..heads import TFLanguageModelingModel
from ..modeling import Dropout, Layer, NamedWeight, dense, weights_init


def padding_bias(attention_mask, dtype):
    """[batch, key] 1/0 -> additive [batch, 1, 1, key], or None."""
    if attention_mask is None:
        return None
    return (1.0 - tf.cast(attention_mask[:, None, None, :], dtype)) * dtype.min


def additive_mask(attention_mask, dtype, length=None):
    """Padding bias, causal over `length` positions when given."""
    if length is None:
        return padding_bias(attention_mask, dtype)
    return causal_bias(length, 0, attention_mask, dtype)


def positions_after_padding(input_ids, padding_idx: int):
    real = tf.cast(input_ids != padding_idx, tf.int32)
    return tf.cumsum(real, axis=-1) * real + padding_idx


def per_layer_head_mask(head_mask, layers: int):
    """transformers' head_mask ([heads] or [layers, heads]) as one [1, heads, 1, 1] factor per layer."""
    if head_mask is None:
        return [None] * layers
    head_mask = tf.convert_to_tensor(head_mask, tf.float32)
    if head_mask.shape.rank == 1:
        head_mask = tf.tile(head_mask[None], (layers, 1))
    return [head_mask[i][None, :, None, None] for i in range(layers)]


def relative_distance(query_length, key_length, queries_at_end: bool = False):
    """[q, k] query position minus key position (every query at the last key's position when queries_at_end,
    as transformers' PyTorch decoders compute it whenever a cache is in use)."""
    keys = tf.range(key_length)[None]
    if queries_at_end:
        return tf.broadcast_to(key_length - 1 - keys, (query_length, key_length))
    return tf.range(query_length)[:, None] - keys


def refuse_cache(past_key_values=None) -> None:
    if past_key_values is not None:
        raise NotImplementedError("This encoder keeps no key/value cache in autoload; call it on the whole sequence.")


class TFEmbeddings(Layer):
    """word (+ token type) (+ absolute position) embeddings -> LayerNorm -> dropout, as TF BERT names them."""

    def __init__(self, options: EncoderOptions, **kwargs):
        super().__init__(**kwargs)
        self.options = options
        width, init = options.embedding_width, weights_init(options)
        self.word_embeddings = NamedWeight((options.vocab_size, width), "weight", init, name="word_embeddings")
        positions = options.max_position_embeddings
        table_init = keras.initializers.Constant(sinusoidal_table(positions, width)) if options.sinusoidal_positions \
            else init  # fmt: skip
        self.position_embeddings = NamedWeight((positions, width), "embeddings", table_init, name="position_embeddings")
        if options.type_vocab_size:
            self.token_type_embeddings = NamedWeight((options.type_vocab_size, width), "embeddings", init,
                                                     name="token_type_embeddings")  # fmt: skip
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps, name="LayerNorm")
        self.dropout = Dropout(options.hidden_dropout)

    def input_sizes(self):
        return {self.word_embeddings: None, self.position_embeddings: None,
                getattr(self, "token_type_embeddings", None): None, self.LayerNorm: self.options.embedding_width}

    def default_positions(self, input_ids, length):
        padding_idx = self.options.position_padding_idx
        if padding_idx is None:
            return tf.range(length)[None]
        if input_ids is not None:
            return positions_after_padding(input_ids, padding_idx)
        return tf.range(padding_idx + 1, length + padding_idx + 1)[None]

    def call(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None, training=False):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        if inputs_embeds is not None and not self.word_embeddings.built:
            self.word_embeddings.build()
        self.options.check_length(embeds.shape[1])
        if self.options.type_vocab_size:
            if token_type_ids is None:
                token_type_ids = tf.zeros(tf.shape(embeds)[:2], tf.int32)
            embeds = embeds + self.token_type_embeddings(token_type_ids)
        if not self.options.relative:
            if position_ids is None:
                position_ids = self.default_positions(input_ids, tf.shape(embeds)[1])
            embeds = embeds + self.position_embeddings(position_ids)
        elif not self.position_embeddings.built:
            self.position_embeddings.build()  # unused with relative positions, but a weight of the checkpoint
        return self.dropout(self.LayerNorm(embeds), training=training)


class _Init:
    """What weights_init and dense read from a config: its initializer_range."""

    def __init__(self, initializer_range: float):
        self.initializer_range = initializer_range


class TFSelfAttention(Layer):
    """Multi-head scaled dot-product attention; see the PyTorch SelfAttention for the arguments."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float = 0.0, names=("query", "key", "value"),
                 output: str | None = None, bias: bool = True, relative: str = "absolute", max_positions: int = 0,
                 relative_after_scale: bool = False, initializer_range: float = 0.02, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.num_heads, self.head_size, self.hidden_size = num_heads, hidden_size // num_heads, hidden_size
        init = _Init(initializer_range)
        self.projections = [dense(init, hidden_size, name, use_bias=bias) for name in names]
        self.output_projection = dense(init, hidden_size, output) if output else None
        self.relative, self.max_positions, self.relative_after_scale = relative, max_positions, relative_after_scale
        if relative != "absolute":
            self.distance_embedding = NamedWeight((2 * max_positions - 1, self.head_size), "embeddings",
                                                  weights_init(init), name="distance_embedding")  # fmt: skip
        self.dropout = Dropout(dropout)

    def input_sizes(self):
        sizes = dict.fromkeys(self.projections, self.hidden_size)
        if self.output_projection is not None:
            sizes[self.output_projection] = self.num_heads * self.head_size
        if self.relative != "absolute":
            sizes[self.distance_embedding] = None
        return sizes

    def _heads(self, x):
        shape = tf.shape(x)
        return tf.transpose(tf.reshape(x, (shape[0], shape[1], self.num_heads, self.head_size)), (0, 2, 1, 3))

    def relative_scores(self, q, k, distance=None):
        if distance is None:
            distance = relative_distance(tf.shape(q)[2], tf.shape(k)[2])
        table = tf.cast(self.distance_embedding(distance + self.max_positions - 1), q.dtype)
        scores = tf.einsum("bhld,lrd->bhlr", q, table)
        if self.relative == "relative_key_query":
            scores = scores + tf.einsum("bhrd,lrd->bhlr", k, table)
        return scores

    def call(self, hidden, bias=None, source=None, position_bias=None, head_mask=None, distance=None, training=False):
        query, key, value = self.projections
        source = hidden if source is None else source
        q, k, v = self._heads(query(hidden)), self._heads(key(source)), self._heads(value(source))
        scores = tf.matmul(q, k, transpose_b=True)
        if self.relative != "absolute" and not self.relative_after_scale:
            scores = scores + self.relative_scores(q, k, distance)
        scores = scores / tf.cast(math.sqrt(self.head_size), scores.dtype)
        if position_bias is not None:
            scores = scores + position_bias
        if bias is not None:
            scores = scores + bias
        if self.relative != "absolute" and self.relative_after_scale:
            scores = scores + self.relative_scores(q, k, distance)
        probs = self.dropout(tf.nn.softmax(scores, axis=-1), training=training)
        if head_mask is not None:
            probs = probs * head_mask
        context = tf.transpose(tf.matmul(probs, v), (0, 2, 1, 3))
        shape = tf.shape(hidden)
        context = tf.reshape(context, (shape[0], shape[1], self.num_heads * self.head_size))
        if self.output_projection is not None:
            context = self.output_projection(context)
        return context, probs

    @classmethod
    def from_options(cls, options: EncoderOptions, relative: str | None = None, **kwargs) -> TFSelfAttention:
        relative = options.position_embedding_type if relative is None else relative
        return cls(options.hidden_size, options.num_attention_heads, options.attention_dropout, relative=relative,
                   max_positions=options.max_position_embeddings, initializer_range=options.initializer_range,
                   **kwargs)  # fmt: skip


class TFResidualOutput(Layer):
    """dense -> dropout -> LayerNorm(+ residual): BERT's SelfOutput and Output."""

    def __init__(self, options: EncoderOptions, dense_name: str = "dense", norm: str = "LayerNorm",
                 input_width: int | None = None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.dense = dense(options, options.hidden_size, dense_name)
        self.norm = keras_layers.LayerNormalization(epsilon=options.layer_norm_eps, name=norm)
        self.dropout = Dropout(options.hidden_dropout)
        self.sizes = {self.dense: input_width, self.norm: options.hidden_size}  # input_width None: unknown

    def input_sizes(self):
        return self.sizes

    def call(self, hidden, residual, training=False):
        return self.norm(self.dropout(self.dense(hidden), training=training) + residual)


class TFAttention(Layer):
    """BERT's attention block: `self` (the attention) and `output` (projection, residual, LayerNorm)."""

    def __init__(self, options: EncoderOptions, relative: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = TFSelfAttention.from_options(options, relative, name="self")
        self.dense_output = TFResidualOutput(options, name="output", input_width=options.hidden_size)

    def input_sizes(self):
        return {self.self_attention: None, self.dense_output: None}

    def call(self, hidden, bias=None, source=None, position_bias=None, head_mask=None, distance=None, training=False):
        context, probs = self.self_attention(hidden, bias=bias, source=source, position_bias=position_bias,
                                             head_mask=head_mask, distance=distance, training=training)  # fmt: skip
        return self.dense_output(context, residual=hidden, training=training), probs


class TFIntermediate(Layer):
    def __init__(self, config, intermediate_size: int, activation: str, name_dense: str = "dense", **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, intermediate_size, name_dense)
        self.act = get_activation(activation)
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden):
        return self.act(self.dense(hidden))


class TFLayer(Layer):
    """attention (-> crossattention) -> intermediate -> output, each with a post-norm residual. A variant names
    its attention block's weights otherwise through `attention_class` (MPNet's attention/attn/q)."""

    attention_class: type = TFAttention

    def __init__(self, options: EncoderOptions, **kwargs):
        super().__init__(**kwargs)
        self.attention = self.attention_class(options, name="attention")
        self.crossattention = TFAttention(options, "absolute", name="crossattention") if options.cross_attention \
            else None  # fmt: skip
        self.intermediate = TFIntermediate(options, options.intermediate_size, options.hidden_act, name="intermediate")
        self.bert_output = TFResidualOutput(options, name="output", input_width=options.intermediate_size)

    def input_sizes(self):
        return {self.attention: None, self.crossattention: None, self.intermediate: None, self.bert_output: None}

    def call(self, hidden, bias=None, head_mask=None, encoder_hidden_states=None, encoder_mask=None,
             position_bias=None, distance=None, training=False):  # fmt: skip
        hidden, probs = self.attention(hidden, bias=bias, position_bias=position_bias, head_mask=head_mask,
                                       distance=distance, training=training)  # fmt: skip
        cross = None
        if encoder_hidden_states is None and self.crossattention is not None and not self.crossattention.built:
            self.crossattention(hidden, source=hidden)  # creates the cross-attention weights the checkpoint holds
        if encoder_hidden_states is not None:
            if self.crossattention is None:
                raise ValueError("encoder_hidden_states were given but the config has add_cross_attention=False.")
            hidden, cross = self.crossattention(hidden, bias=encoder_mask, source=encoder_hidden_states,
                                                head_mask=head_mask, training=training)  # fmt: skip
        return self.bert_output(self.intermediate(hidden), residual=hidden, training=training), probs, cross


class EncoderOutput(NamedTuple):
    last_hidden_state: tf.Tensor
    hidden_states: tuple | None
    attentions: tuple | None
    cross_attentions: tuple | None


def run_layers(layers, hidden, bias, output_attentions=False, output_hidden_states=False, head_mask=None,
               training=False, **layer_kwargs):  # fmt: skip
    """Each layer in turn (layer(hidden, bias=, head_mask=, **layer_kwargs) -> (hidden, probs, cross_probs)); `bias`
    is the additive attention mask (not called mask: Keras reserves that keyword for its own masking)."""
    states, attentions, cross = (hidden,), (), ()
    for layer, layer_head_mask in zip(layers, per_layer_head_mask(head_mask, len(layers))):
        hidden, probs, cross_probs = layer(hidden, bias=bias, head_mask=layer_head_mask, training=training,
                                           **layer_kwargs)  # fmt: skip
        states, attentions = states + (hidden,), attentions + (probs,)
        if cross_probs is not None:
            cross += (cross_probs,)
    return EncoderOutput(hidden, states if output_hidden_states else None, attentions if output_attentions else None,
                         cross if output_attentions and cross else None)  # fmt: skip


class TFEncoder(Layer):
    """The layers (`layer_._0`, `layer_._1`, …), each a `layer_class(options)`."""

    def __init__(self, options: EncoderOptions, layer_class: type = TFLayer, **kwargs):
        super().__init__(**kwargs)
        self.layer = [layer_class(options, name=f"layer_._{i}") for i in range(options.num_hidden_layers)]

    def input_sizes(self):
        return dict.fromkeys(self.layer)

    def call(self, hidden, bias=None, output_attentions=False, output_hidden_states=False, head_mask=None,
             training=False, **layer_kwargs):  # fmt: skip
        return run_layers(self.layer, hidden, bias, output_attentions, output_hidden_states, head_mask, training,
                          **layer_kwargs)  # fmt: skip


class TFPooler(Layer):
    def __init__(self, options: EncoderOptions, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(options, options.hidden_size, "dense")
        self.input_width = options.hidden_size

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden):
        return tf.tanh(self.dense(hidden[:, 0]))


class TFLMHead(Layer):
    """dense -> activation -> LayerNorm -> vocabulary scores + bias (RoBERTa's lm_head, ALBERT's predictions).
    The scores use the word embedding matrix when tied, else an own `decoder` (canonical lm_head.decoder)."""

    def __init__(self, config, width: int, activation: str, eps: float, input_embeddings=None,
                 norm: str = "layer_norm", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.dense = dense(config, width, "dense")
        self.act = get_activation(activation)
        self.norm = keras_layers.LayerNormalization(epsilon=eps, name=norm)
        self.decoder = TFTiedDense(config, input_embeddings, name="decoder")
        self.vocab_size = config.vocab_size
        self.sizes = {self.dense: config.hidden_size, self.norm: width, self.decoder: width}

    def input_sizes(self):
        return self.sizes

    def build(self, input_shape=None):
        self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros")
        super().build(input_shape)

    def call(self, hidden):
        return self.decoder(self.norm(self.act(self.dense(hidden)))) + self.bias


class TFTiedDense(Layer):
    """A projection onto the vocabulary: hidden @ embeddingsᵀ with the word embedding matrix when the config ties
    them (the layer then holds no kernel), else its own `kernel`; plus its own `bias` when use_bias."""

    def __init__(self, config, input_embeddings=None, use_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        tied = getattr(config, "tie_word_embeddings", True) and input_embeddings is not None
        self.input_embeddings = input_embeddings if tied else None
        self.vocab_size, self.use_bias, self.config = config.vocab_size, use_bias, config

    def build(self, input_shape=None):
        if self.input_embeddings is None:
            self.kernel = self.add_weight(name="kernel", shape=(int(input_shape[-1]), self.vocab_size),
                                          initializer=weights_init(self.config))  # fmt: skip
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros")
        self.built = True

    def call(self, hidden):
        if self.input_embeddings is not None:
            scores = tf.matmul(hidden, self.input_embeddings.weight, transpose_b=True)
        else:
            scores = tf.matmul(hidden, self.kernel)
        return scores + self.bias if self.use_bias else scores


class TFSequenceSummary(Layer):
    """One vector per sequence from the config's summary_* fields (autoload.sequence_summary): the chosen
    position(s) -> dropout -> `summary` dense layer (if any) -> activation -> dropout."""

    def __init__(self, config, options: SummaryOptions, input_width: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.kind = options.kind
        self.summary = dense(config, options.projection, "summary") if options.projection else None
        self.activation = get_activation(options.activation) if options.activation else None
        self.first_dropout = Dropout(options.first_dropout)
        self.last_dropout = Dropout(options.last_dropout)
        self.input_width = input_width  # the hidden states' width; None: unknown, `summary` builds on the call

    def input_sizes(self):
        return {self.summary: self.input_width}

    def call(self, hidden, cls_index=None, training=False):
        if self.kind == "first":
            pooled = hidden[:, 0]
        elif self.kind == "mean":
            pooled = tf.reduce_mean(hidden, axis=1)
        elif self.kind == "last":
            pooled = hidden[:, -1]
        else:  # "cls_index": the position cls_index gives (default: the last) along the sequence axis (-2)
            if cls_index is None:
                cls_index = tf.fill(tf.shape(hidden)[:-2], tf.shape(hidden)[-2] - 1)
            pooled = tf.gather(hidden, cls_index, batch_dims=len(hidden.shape) - 2)
        pooled = self.first_dropout(pooled, training=training)
        if self.summary is not None:
            pooled = self.summary(pooled)
        if self.activation is not None:
            pooled = self.activation(pooled)
        return self.last_dropout(pooled, training=training)


class TFEncoderCausalLM(TFLanguageModelingModel):
    """An encoder used as a left-to-right language model (causal when config.is_decoder): next-token loss, and,
    as transformers does, no cache (so plain relative distances) when labels are given."""

    causal = True
    output_class = out.CausalLMOutputWithCrossAttentions

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        if labels is not None:
            kwargs["use_cache"] = False
        return super().call(input_ids, labels=labels, training=training, return_dict=return_dict, **kwargs)


class TFEncoderMainLayer(Layer):
    """The base model of the BERT family: embeddings -> encoder (-> pooler), under the base prefix
    (`bert/…`). A subclass builds `embeddings`, `encoder` and `pooler` (or None) and sets `options`; `embed`
    and `pool` are the hooks a variant overrides."""

    output_class = out.BaseModelOutputWithPoolingAndCrossAttentions
    encoder_name = "encoder"  # the attribute holding the layer stack
    options: EncoderOptions

    @property
    def output_width(self) -> int:
        """The size of the last axis of last_hidden_state (and of the pooled output)."""
        return self.options.hidden_size

    def input_sizes(self):
        return {getattr(self, "embeddings", None): None, getattr(self, self.encoder_name, None): None,
                getattr(self, "pooler", None): self.output_width}  # a Dense in some variants (ALBERT)

    def embed(self, input_ids, token_type_ids, position_ids, inputs_embeds, training):
        return self.embeddings(input_ids, token_type_ids=token_type_ids, position_ids=position_ids,
                               inputs_embeds=inputs_embeds, training=training)  # fmt: skip

    def pool(self, hidden):
        return self.pooler(hidden) if self.pooler is not None else None

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
             encoder_hidden_states=None, encoder_attention_mask=None, head_mask=None, past_key_values=None,
             use_cache=None, output_attentions=False, output_hidden_states=False, training=False):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        refuse_cache(past_key_values)
        hidden = self.embed(input_ids, token_type_ids, position_ids, inputs_embeds, training)
        bias = additive_mask(attention_mask, hidden.dtype, tf.shape(hidden)[1] if self.options.causal else None)
        layer_kwargs = {}
        if encoder_hidden_states is not None:
            encoder_hidden_states = tf.convert_to_tensor(encoder_hidden_states)
            layer_kwargs = {"encoder_hidden_states": encoder_hidden_states,
                            "encoder_mask": padding_bias(encoder_attention_mask, hidden.dtype)}  # fmt: skip
        cached = self.options.use_cache if use_cache is None else use_cache
        if self.options.relative and self.options.causal and cached:
            length = tf.shape(hidden)[1]
            layer_kwargs["distance"] = relative_distance(length, length, queries_at_end=True)
        encoded = getattr(self, self.encoder_name)(hidden, bias=bias, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, head_mask=head_mask, training=training,
                               **layer_kwargs)  # fmt: skip
        return self.build_output(encoded)

    def build_output(self, encoded: EncoderOutput):
        values = encoded._asdict()
        fields = self.output_class._fields
        if "pooler_output" in fields:
            values["pooler_output"] = self.pool(encoded.last_hidden_state)
        if "cross_attentions" not in fields:
            values.pop("cross_attentions")
        return self.output_class(**values)
