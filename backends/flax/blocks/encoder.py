"""The post-norm (BERT-family) encoder in Flax (linen), written once; mirrors the PyTorch blocks in
autoload/backends/torch/blocks/encoder.py.

Submodule names are transformers' Flax names (which are the PyTorch names, with list indices as "0", "1", …),
so flax_model.msgpack files interchange; where transformers never had a Flax class the PyTorch names are used.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions, sinusoidal_table
from autoload.sequence_summary import SummaryOptions

from ..abstract_params import as_if_every_layer_ran, repeat_first_layer, tracing_shapes
from ..activations import get_activation
from ..remat import checkpointed
from .norms import LayerNorm


def dense(features: int, initializer_range: float, dtype, name: str | None = None, use_bias: bool = True):
    return nn.Dense(features, use_bias=use_bias, dtype=dtype, kernel_init=nn.initializers.normal(initializer_range),
                    name=name)  # fmt: skip


def padding_bias(attention_mask, dtype):
    """[batch, key] 1/0 -> additive [batch, 1, 1, key] (0 keep, dtype min drop), or None."""
    if attention_mask is None:
        return None
    return jnp.where(attention_mask[:, None, None, :] > 0, 0.0, jnp.finfo(dtype).min).astype(dtype)


def additive_mask(attention_mask, dtype, causal_len: int | None = None):
    """Padding bias, causal over `causal_len` positions when given."""
    bias = padding_bias(attention_mask, dtype)
    if causal_len is None:
        return bias
    neg = jnp.finfo(dtype).min
    causal = jnp.where(jnp.tril(jnp.ones((causal_len, causal_len), bool)), 0.0, neg).astype(dtype)[None, None]
    return causal if bias is None else jnp.maximum(bias + causal, neg)


def positions_after_padding(input_ids, padding_idx: int):
    real = (input_ids != padding_idx).astype("i4")
    return jnp.cumsum(real, axis=-1) * real + padding_idx


def per_layer_head_mask(head_mask, layers: int):
    """transformers' head_mask ([heads] or [layers, heads]) as one [1, heads, 1, 1] factor per layer."""
    if head_mask is None:
        return [None] * layers
    head_mask = jnp.asarray(head_mask)
    if head_mask.ndim == 1:
        head_mask = jnp.broadcast_to(head_mask[None], (layers, head_mask.shape[0]))
    return [head_mask[i][None, :, None, None] for i in range(layers)]


def relative_distance(query_length: int, key_length: int, queries_at_end: bool = False):
    """[q, k] query position minus key position (every query at the last key's position when queries_at_end,
    as transformers' PyTorch decoders compute it whenever a cache is in use)."""
    keys = jnp.arange(key_length)[None]
    if queries_at_end:
        return jnp.broadcast_to(key_length - 1 - keys, (query_length, key_length))
    return jnp.arange(query_length)[:, None] - keys


def refuse_cache(past_key_values=None) -> None:
    if past_key_values is not None:
        raise NotImplementedError("This encoder keeps no key/value cache in autoload; call it on the whole sequence.")


class Embeddings(nn.Module):
    """word (+ token type) (+ absolute position) embeddings -> LayerNorm -> dropout, as BERT names them."""

    options: EncoderOptions
    dtype: Any = jnp.float32

    def setup(self):
        o = self.options
        init = nn.initializers.normal(o.initializer_range)
        width = o.embedding_width
        self.word_embeddings = nn.Embed(o.vocab_size, width, embedding_init=init, dtype=self.dtype)
        table_init = init
        if o.sinusoidal_positions:
            table = sinusoidal_table(o.max_position_embeddings, width)
            table_init = lambda key, shape, dtype=jnp.float32: jnp.asarray(table, dtype)  # noqa: E731
        self.position_embeddings = nn.Embed(o.max_position_embeddings, width, embedding_init=table_init, dtype=self.dtype)
        if o.type_vocab_size:
            self.token_type_embeddings = nn.Embed(o.type_vocab_size, width, embedding_init=init, dtype=self.dtype)
        self.LayerNorm = LayerNorm(epsilon=o.layer_norm_eps, dtype=self.dtype)
        self.dropout = nn.Dropout(o.hidden_dropout)

    def default_positions(self, input_ids, length: int):
        padding_idx = self.options.position_padding_idx
        if padding_idx is None:
            return jnp.arange(length)[None]
        if input_ids is not None:
            return positions_after_padding(input_ids, padding_idx)
        return jnp.arange(padding_idx + 1, length + padding_idx + 1)[None]

    def __call__(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None, deterministic=True):
        if inputs_embeds is None:
            embeds = self.word_embeddings(input_ids.astype("i4"))
        else:
            embeds = jnp.asarray(inputs_embeds, self.dtype)
            if self.is_initializing():  # the table is a weight even when not looked up
                self.word_embeddings(jnp.zeros((1, 1), "i4"))
        self.options.check_length(embeds.shape[1])
        if self.options.type_vocab_size:
            if token_type_ids is None:
                token_type_ids = jnp.zeros(embeds.shape[:2], "i4")
            embeds = embeds + self.token_type_embeddings(token_type_ids.astype("i4"))
        if not self.options.relative:
            if position_ids is None:
                position_ids = self.default_positions(input_ids, embeds.shape[1])
            embeds = embeds + self.position_embeddings(position_ids.astype("i4"))
        elif self.is_initializing():
            self.position_embeddings(jnp.zeros((1, 1), "i4"))
        return self.dropout(self.LayerNorm(embeds), deterministic=deterministic)


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product attention; see the PyTorch SelfAttention for the arguments."""

    hidden_size: int
    num_heads: int
    dropout: float = 0.0
    names: tuple = ("query", "key", "value")
    output: str | None = None
    use_bias: bool = True
    relative: str = "absolute"
    max_positions: int = 0
    relative_after_scale: bool = False
    initializer_range: float = 0.02
    dtype: Any = jnp.float32

    def relative_scores(self, q, k, distance=None):
        head_size = self.hidden_size // self.num_heads
        table = nn.Embed(2 * self.max_positions - 1, head_size, dtype=self.dtype, name="distance_embedding",
                         embedding_init=nn.initializers.normal(self.initializer_range))  # fmt: skip
        if distance is None:
            distance = relative_distance(q.shape[1], k.shape[1])
        positional = table(distance + self.max_positions - 1)
        scores = jnp.einsum("blhd,lrd->bhlr", q, positional)
        if self.relative == "relative_key_query":
            scores = scores + jnp.einsum("brhd,lrd->bhlr", k, positional)
        return scores

    @nn.compact
    def __call__(self, hidden, bias=None, source=None, position_bias=None, head_mask=None, deterministic=True,
                 output_attentions=False, distance=None):  # fmt: skip
        head_size = self.hidden_size // self.num_heads
        source = hidden if source is None else source
        query, key, value = (dense(self.hidden_size, self.initializer_range, self.dtype, name, self.use_bias)
                             for name in self.names)  # fmt: skip

        def split(x):
            return x.reshape(x.shape[:2] + (self.num_heads, head_size))

        q, k, v = split(query(hidden)), split(key(source)), split(value(source))
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k)
        relative = self.relative_scores(q, k, distance) if self.relative != "absolute" else None
        if relative is not None and not self.relative_after_scale:
            scores = scores + relative
        scores = scores / jnp.asarray(math.sqrt(head_size), self.dtype)
        if position_bias is not None:
            scores = scores + position_bias
        if bias is not None:
            scores = scores + bias
        if relative is not None and self.relative_after_scale:
            scores = scores + relative
        probs = nn.Dropout(self.dropout)(jax.nn.softmax(scores, axis=-1), deterministic=deterministic)
        if head_mask is not None:
            probs = probs * head_mask
        context = jnp.einsum("bhqk,bkhd->bqhd", probs, v).reshape(hidden.shape[:2] + (self.hidden_size,))
        if self.output:
            context = dense(self.hidden_size, self.initializer_range, self.dtype, self.output)(context)
        return context, (probs if output_attentions else None)


def self_attention(options: EncoderOptions, dtype, relative: str | None = None, **kwargs) -> SelfAttention:
    relative = options.position_embedding_type if relative is None else relative
    return SelfAttention(options.hidden_size, options.num_attention_heads, options.attention_dropout, relative=relative,
                         max_positions=options.max_position_embeddings, initializer_range=options.initializer_range,
                         dtype=dtype, **kwargs)  # fmt: skip


class ResidualOutput(nn.Module):
    """dense -> dropout -> LayerNorm(+ residual): BERT's SelfOutput and Output."""

    options: EncoderOptions
    dense_name: str = "dense"
    norm: str = "LayerNorm"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, residual, deterministic=True):
        o = self.options
        hidden = dense(o.hidden_size, o.initializer_range, self.dtype, self.dense_name)(hidden)
        hidden = nn.Dropout(o.hidden_dropout)(hidden, deterministic=deterministic)
        return LayerNorm(epsilon=o.layer_norm_eps, dtype=self.dtype, name=self.norm)(hidden + residual)


class Attention(nn.Module):
    """BERT's attention block: `self` (the attention) and `output` (projection, residual, LayerNorm)."""

    options: EncoderOptions
    relative: str | None = None
    dtype: Any = jnp.float32

    def setup(self):
        self.self = self_attention(self.options, self.dtype, self.relative)
        self.output = ResidualOutput(self.options, dtype=self.dtype)

    def __call__(self, hidden, bias=None, source=None, position_bias=None, head_mask=None, deterministic=True,
                 output_attentions=False, distance=None):  # fmt: skip
        context, probs = self.self(hidden, bias, source, position_bias, head_mask, deterministic, output_attentions,
                                   distance)  # fmt: skip
        return self.output(context, hidden, deterministic), probs


class Intermediate(nn.Module):
    intermediate_size: int
    activation: str
    initializer_range: float = 0.02
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        hidden = dense(self.intermediate_size, self.initializer_range, self.dtype, "dense")(hidden)
        return get_activation(self.activation)(hidden)


class Layer(nn.Module):
    """attention (-> crossattention) -> intermediate -> output, each with a post-norm residual. A variant names
    its attention block's weights otherwise through `attention_class` (MPNet's attention/attn/q)."""

    options: EncoderOptions
    dtype: Any = jnp.float32
    attention_class = Attention  # a class attribute, not a field

    def setup(self):
        o = self.options
        self.attention = self.attention_class(o, dtype=self.dtype)
        if o.cross_attention:
            self.crossattention = Attention(o, relative="absolute", dtype=self.dtype)
        self.intermediate = Intermediate(o.intermediate_size, o.hidden_act, o.initializer_range, dtype=self.dtype)
        self.output = ResidualOutput(o, dtype=self.dtype)

    def __call__(self, hidden, bias=None, head_mask=None, deterministic=True, output_attentions=False,
                 encoder_hidden_states=None, encoder_mask=None, position_bias=None, distance=None):  # fmt: skip
        hidden, probs = self.attention(hidden, bias, None, position_bias, head_mask, deterministic, output_attentions,
                                       distance)  # fmt: skip
        cross = None
        if encoder_hidden_states is None and self.options.cross_attention and self.is_initializing():
            self.crossattention(hidden, None, hidden)  # creates the cross-attention weights the checkpoint holds
        if encoder_hidden_states is not None:
            if not self.options.cross_attention:
                raise ValueError("encoder_hidden_states were given but the config has add_cross_attention=False.")
            hidden, cross = self.crossattention(hidden, encoder_mask, encoder_hidden_states, None, head_mask,
                                                deterministic, output_attentions)  # fmt: skip
        return self.output(self.intermediate(hidden), hidden, deterministic), probs, cross


class EncoderOutput(NamedTuple):
    last_hidden_state: Any
    hidden_states: tuple | None
    attentions: tuple | None
    cross_attentions: tuple | None


def run_layers(layers, hidden, bias, head_mask=None, deterministic=True, output_attentions=False,
               output_hidden_states=False, **layer_kwargs):  # fmt: skip
    """Each layer in turn (layer(hidden, bias, head_mask, deterministic, output_attentions, **layer_kwargs) ->
    (hidden, probs, cross_probs)); collects every layer's input and the final output, and the attention maps."""
    states, attentions, cross = (hidden,), (), ()
    for layer, layer_head_mask in zip(layers, per_layer_head_mask(head_mask, len(layers))):
        hidden, probs, cross_probs = layer(hidden, bias, layer_head_mask, deterministic, output_attentions,
                                           **layer_kwargs)  # fmt: skip
        states, attentions = states + (hidden,), attentions + (probs,)
        if cross_probs is not None:
            cross += (cross_probs,)
    return EncoderOutput(hidden, states if output_hidden_states else None, attentions if output_attentions else None,
                         cross if output_attentions and cross else None)  # fmt: skip


class LayerCollection(nn.Module):
    """The layers, each a `layer_class(options)`, named "0", "1", … (transformers' Flax `…/layer/0/…`)."""

    options: EncoderOptions
    layer_class: Any = Layer
    dtype: Any = jnp.float32

    def setup(self):
        layer_class = checkpointed(self.layer_class, static_argnums=(4, 5))  # deterministic, output_attentions
        self.layers = [layer_class(self.options, dtype=self.dtype, name=str(i))
                       for i in range(self.options.num_hidden_layers)]  # fmt: skip

    def __call__(self, hidden, bias=None, head_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, **layer_kwargs):  # fmt: skip
        if tracing_shapes() and head_mask is None:
            first, probs, cross = self.layers[0](hidden, bias, None, deterministic, output_attentions, **layer_kwargs)
            if repeat_first_layer(self, [layer.name for layer in self.layers], hidden, first):
                states, attentions, crossed = as_if_every_layer_ran(len(self.layers), (hidden, first), first, (probs,),
                                                                    (cross,))  # fmt: skip
                return EncoderOutput(first, states if output_hidden_states else None,
                                     attentions if output_attentions else None,
                                     crossed if output_attentions and cross is not None else None)  # fmt: skip
        return run_layers(self.layers, hidden, bias, head_mask, deterministic, output_attentions, output_hidden_states,
                          **layer_kwargs)  # fmt: skip


class Encoder(nn.Module):
    options: EncoderOptions
    layer_class: Any = Layer
    dtype: Any = jnp.float32

    def setup(self):
        self.layer = LayerCollection(self.options, self.layer_class, dtype=self.dtype)

    def __call__(self, *args, **kwargs):
        return self.layer(*args, **kwargs)


class Pooler(nn.Module):
    """tanh(dense(first token))."""

    hidden_size: int
    initializer_range: float = 0.02
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        return jnp.tanh(dense(self.hidden_size, self.initializer_range, self.dtype, "dense")(hidden[:, 0]))


class TiedDense(nn.Module):
    """A projection onto the vocabulary: hidden @ embeddingsᵀ with the shared word embedding matrix when `tied`
    (no kernel of its own), else its own `kernel`; plus its own `bias` when use_bias."""

    features: int
    tied: bool
    use_bias: bool = False
    initializer_range: float = 0.02
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, shared_embedding=None):
        if self.tied:
            scores = hidden @ jnp.asarray(shared_embedding, self.dtype).T
        else:
            kernel = self.param("kernel", nn.initializers.normal(self.initializer_range), (hidden.shape[-1], self.features))
            scores = hidden @ kernel.astype(self.dtype)
        if self.use_bias:
            scores = scores + self.param("bias", nn.initializers.zeros, (self.features,)).astype(self.dtype)
        return scores


class LMHead(nn.Module):
    """dense -> activation -> LayerNorm -> vocabulary scores + bias (RoBERTa's lm_head; a subclass picks another
    width, activation or norm name, as ALBERT's predictions)."""

    config: Any
    width: int | None = None
    activation: str = "gelu"
    norm: str = "layer_norm"
    dtype: Any = jnp.float32

    def head_width(self) -> int:
        return self.width or self.config.hidden_size

    def head_activation(self) -> str:
        return self.activation

    @nn.compact
    def __call__(self, hidden, shared_embedding=None):
        c = self.config
        hidden = dense(self.head_width(), c.initializer_range, self.dtype, "dense")(hidden)
        hidden = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name=self.norm)(
            get_activation(self.head_activation())(hidden))
        decoder = TiedDense(c.vocab_size, c.tie_word_embeddings, False, c.initializer_range, self.dtype, name="decoder")
        scores = decoder(hidden, shared_embedding)
        return scores + self.param("bias", nn.initializers.zeros, (c.vocab_size,)).astype(self.dtype)


class SequenceSummary(nn.Module):
    """One vector per sequence from the config's summary_* fields (autoload.sequence_summary): the chosen
    position(s) -> dropout -> `summary` dense layer (if any) -> activation -> dropout."""

    options: SummaryOptions
    initializer_range: float = 0.02
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, cls_index=None, deterministic=True):
        o = self.options
        if o.kind == "first":
            pooled = hidden[:, 0]
        elif o.kind == "mean":
            pooled = hidden.mean(1)
        elif o.kind == "last":
            pooled = hidden[:, -1]
        else:  # "cls_index": the position cls_index gives (default: the last) along the sequence axis (-2)
            if cls_index is None:
                cls_index = jnp.full(hidden.shape[:-2], hidden.shape[-2] - 1)
            pooled = jnp.take_along_axis(hidden, cls_index[..., None, None], axis=-2).squeeze(-2)
        pooled = nn.Dropout(o.first_dropout)(pooled, deterministic=deterministic)
        if o.projection:
            pooled = dense(o.projection, self.initializer_range, self.dtype, "summary")(pooled)
        if o.activation:
            pooled = get_activation(o.activation)(pooled)
        return nn.Dropout(o.last_dropout)(pooled, deterministic=deterministic)


class EncoderModule(nn.Module):
    """The base model of the BERT family: embeddings -> encoder (-> pooler). A subclass's setup builds
    `embeddings`, `encoder` and `pooler` (or None) and sets `options`; `embed` and `pool` are the hooks a
    variant overrides."""

    config: Any
    dtype: Any = jnp.float32
    add_pooling_layer: bool = True
    output_class = out.BaseModelOutputWithPoolingAndCrossAttentions
    encoder_name = "encoder"  # the attribute holding the layer stack

    def embed(self, input_ids, token_type_ids, position_ids, inputs_embeds, deterministic):
        return self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds, deterministic)

    def pool(self, hidden):
        return self.pooler(hidden) if self.pooler is not None else None

    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                 inputs_embeds=None, encoder_hidden_states=None, encoder_attention_mask=None, past_key_values=None,
                 use_cache=None, deterministic=True, output_attentions=False, output_hidden_states=False, return_dict=True,
                 **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        refuse_cache(past_key_values)
        hidden = self.embed(input_ids, token_type_ids, position_ids, inputs_embeds, deterministic)
        bias = additive_mask(attention_mask, hidden.dtype, hidden.shape[1] if self.options.causal else None)
        layer_kwargs = {}
        if encoder_hidden_states is not None:
            layer_kwargs = {"encoder_hidden_states": jnp.asarray(encoder_hidden_states, hidden.dtype),
                            "encoder_mask": padding_bias(encoder_attention_mask, hidden.dtype)}  # fmt: skip
        cached = self.options.use_cache if use_cache is None else use_cache
        if self.options.relative and self.options.causal and cached:
            layer_kwargs["distance"] = relative_distance(hidden.shape[1], hidden.shape[1], queries_at_end=True)
        encoded = getattr(self, self.encoder_name)(hidden, bias, head_mask, deterministic, output_attentions, output_hidden_states,
                               **layer_kwargs)  # fmt: skip
        return out.finish(self.build_output(encoded), return_dict)

    def build_output(self, encoded: EncoderOutput):
        values = encoded._asdict()
        fields = self.output_class._fields
        if "pooler_output" in fields:
            values["pooler_output"] = self.pool(encoded.last_hidden_state)
        if "cross_attentions" not in fields:
            values.pop("cross_attentions")
        return self.output_class(**values)
