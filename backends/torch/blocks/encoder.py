"""The post-norm (BERT-family) encoder in PyTorch, written once.

BERT, RoBERTa, XLM-RoBERTa, ELECTRA, DistilBERT, ALBERT and MPNet are built from these blocks. The composite
blocks read an `autoload.encoder.EncoderOptions` (derived once from the config, in the core); the small ones
take plain sizes and the attribute names their checkpoints use, so a variant that names its weights otherwise
(DistilBERT's `q_lin`, MPNet's `attn.q`, ALBERT's `attention.dense`) is an explicit subclass or a different
set of names, never a copy of the arithmetic.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions, sinusoidal_table
from autoload.sequence_summary import SummaryOptions

from ..activations import get_activation
from ..attention import causal_mask, padding_mask
from ..modeling import PreTrainedModel


def additive_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype, causal_len: int | None = None):
    """[batch, seq] 1/0 mask -> additive mask broadcastable to [batch, heads, q, seq] (0 keep, dtype min drop),
    causal over `causal_len` positions when given; None when there is nothing to mask."""
    if causal_len is None:
        return padding_mask(attention_mask, dtype)
    device = attention_mask.device if attention_mask is not None else None
    return causal_mask(causal_len, 0, attention_mask, dtype, device)


def positions_after_padding(input_ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """Real tokens get padding_idx + 1, + 2, …; padding keeps padding_idx (RoBERTa's and MPNet's positions)."""
    real = input_ids.ne(padding_idx).int()
    return (torch.cumsum(real, dim=1) * real).long() + padding_idx


def per_layer_head_mask(head_mask, layers: int):
    """transformers' head_mask ([heads] or [layers, heads], 1 keeps a head) as one [1, heads, 1, 1] factor per
    layer, or Nones."""
    if head_mask is None:
        return [None] * layers
    head_mask = torch.as_tensor(head_mask)
    if head_mask.ndim == 1:
        head_mask = head_mask[None].expand(layers, -1)
    return [m[None, :, None, None] for m in head_mask]


def relative_distance(query_length: int, key_length: int, device=None, queries_at_end: bool = False):
    """[q, k] query position minus key position. queries_at_end: every query at the last key's position, as
    transformers' PyTorch decoders compute it whenever a cache is in use (is_decoder and use_cache), even over
    a whole sequence."""
    keys = torch.arange(key_length, device=device)[None]
    if queries_at_end:
        return (key_length - 1 - keys).expand(query_length, key_length)
    return torch.arange(query_length, device=device)[:, None] - keys


def refuse_cache(past_key_values=None) -> None:
    if past_key_values is not None:
        raise NotImplementedError("This encoder keeps no key/value cache in autoload; call it on the whole sequence.")


class SinusoidalPositions(nn.Embedding):
    """A position table that starts as the fixed sine/cosine table (DistilBERT's sinusoidal_pos_embds) but is an
    ordinary weight: a checkpoint's stored table is used as it is."""

    def fill(self) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(sinusoidal_table(*self.weight.shape).copy()))


class Embeddings(nn.Module):
    """word (+ token type) (+ absolute position) embeddings -> LayerNorm -> dropout, as BERT names them."""

    def __init__(self, options: EncoderOptions):
        super().__init__()
        width = options.embedding_width
        self.options = options
        self.word_embeddings = nn.Embedding(options.vocab_size, width, padding_idx=options.pad_token_id)
        table = SinusoidalPositions if options.sinusoidal_positions else nn.Embedding
        self.position_embeddings = table(options.max_position_embeddings, width, padding_idx=options.position_padding_idx)
        if options.type_vocab_size:
            self.token_type_embeddings = nn.Embedding(options.type_vocab_size, width)
        self.LayerNorm = nn.LayerNorm(width, eps=options.layer_norm_eps)
        self.dropout = nn.Dropout(options.hidden_dropout)

    def default_positions(self, input_ids, length: int, device) -> torch.Tensor:
        padding_idx = self.options.position_padding_idx
        if padding_idx is None:
            return torch.arange(length, device=device)[None]
        if input_ids is not None:
            return positions_after_padding(input_ids, padding_idx)
        return torch.arange(padding_idx + 1, length + padding_idx + 1, device=device)[None]

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        self.options.check_length(embeds.shape[1])
        if self.options.type_vocab_size:
            if token_type_ids is None:
                token_type_ids = torch.zeros(embeds.shape[:2], dtype=torch.long, device=embeds.device)
            embeds = embeds + self.token_type_embeddings(token_type_ids)
        if not self.options.relative:
            if position_ids is None:
                position_ids = self.default_positions(input_ids, embeds.shape[1], embeds.device)
            embeds = embeds + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeds))


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product attention. `names` are the query/key/value projections' attribute names;
    `output` names an output projection applied to the merged heads (None: the caller projects).

    relative: "relative_key" / "relative_key_query" add learned distance scores (`distance_embedding`, one
    row per distance in [-(max_positions-1), max_positions-1]); relative_after_scale adds them after the
    scaling and the mask (ALBERT) instead of before the scaling (BERT)."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float = 0.0, names=("query", "key", "value"),
                 output: str | None = None, bias: bool = True, relative: str = "absolute",
                 max_positions: int = 0, relative_after_scale: bool = False):  # fmt: skip
        super().__init__()
        self.num_heads, self.head_size = num_heads, hidden_size // num_heads
        self.names, self.output_name = tuple(names), output
        for name in self.names:
            setattr(self, name, nn.Linear(hidden_size, hidden_size, bias=bias))
        if output:
            setattr(self, output, nn.Linear(hidden_size, hidden_size))
        self.relative, self.max_positions, self.relative_after_scale = relative, max_positions, relative_after_scale
        if relative != "absolute":
            self.distance_embedding = nn.Embedding(2 * max_positions - 1, self.head_size)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_size).transpose(1, 2)

    def relative_scores(self, q: torch.Tensor, k: torch.Tensor, distance=None) -> torch.Tensor:
        if distance is None:
            distance = relative_distance(q.shape[2], k.shape[2], q.device)
        table = self.distance_embedding(distance + self.max_positions - 1).to(q.dtype)
        scores = torch.einsum("bhld,lrd->bhlr", q, table)
        if self.relative == "relative_key_query":
            scores = scores + torch.einsum("bhrd,lrd->bhlr", k, table)
        return scores

    def forward(self, hidden, mask=None, output_attentions=False, source=None, position_bias=None, head_mask=None,
                distance=None):  # fmt: skip
        """hidden [batch, q, width]; source: the states keys and values come from (cross-attention), default
        hidden; mask and position_bias: additive, broadcastable to [batch, heads, q, k]; head_mask: a
        [1, heads, 1, 1] factor on the probabilities; distance: the [q, k] query-minus-key positions the
        relative scores read (default: relative_distance). -> (context, probs or None)"""
        query, key, value = (getattr(self, name) for name in self.names)
        source = hidden if source is None else source
        q, k, v = self._heads(query(hidden)), self._heads(key(source)), self._heads(value(source))
        bias = mask if position_bias is None else (position_bias if mask is None else position_bias + mask)
        if output_attentions or head_mask is not None or self.relative != "absolute":
            scores = q @ k.transpose(-1, -2)
            if self.relative != "absolute" and not self.relative_after_scale:
                scores = scores + self.relative_scores(q, k, distance)
            scores = scores / math.sqrt(self.head_size)
            if bias is not None:
                scores = scores + bias
            if self.relative != "absolute" and self.relative_after_scale:
                scores = scores + self.relative_scores(q, k, distance)
            probs = self.dropout(scores.softmax(-1))
            if head_mask is not None:
                probs = probs * head_mask
            context = probs @ v
        else:
            probs = None
            dropout = self.dropout.p if self.training else 0.0
            context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
        context = context.transpose(1, 2).reshape(*hidden.shape[:2], self.num_heads * self.head_size)
        if self.output_name:
            context = getattr(self, self.output_name)(context)
        return context, (probs if output_attentions else None)

    @classmethod
    def from_options(cls, options: EncoderOptions, relative: str | None = None, **kwargs) -> SelfAttention:
        relative = options.position_embedding_type if relative is None else relative
        return cls(options.hidden_size, options.num_attention_heads, options.attention_dropout, relative=relative,
                   max_positions=options.max_position_embeddings, **kwargs)  # fmt: skip


class ResidualOutput(nn.Module):
    """dense -> dropout -> LayerNorm(+ residual): BERT's SelfOutput and Output."""

    def __init__(self, in_features: int, options: EncoderOptions, dense: str = "dense", norm: str = "LayerNorm"):
        super().__init__()
        self.names = (dense, norm)
        setattr(self, dense, nn.Linear(in_features, options.hidden_size))
        setattr(self, norm, nn.LayerNorm(options.hidden_size, eps=options.layer_norm_eps))
        self.dropout = nn.Dropout(options.hidden_dropout)

    def forward(self, hidden, residual):
        dense, norm = (getattr(self, name) for name in self.names)
        return norm(self.dropout(dense(hidden)) + residual)


class Attention(nn.Module):
    """BERT's attention block: `self` (the attention) and `output` (projection, residual, LayerNorm)."""

    def __init__(self, options: EncoderOptions, relative: str | None = None):
        super().__init__()
        self.self = SelfAttention.from_options(options, relative)
        self.output = ResidualOutput(options.hidden_size, options)

    def forward(self, hidden, mask=None, output_attentions=False, source=None, position_bias=None, head_mask=None,
                distance=None):  # fmt: skip
        context, probs = self.self(hidden, mask, output_attentions, source, position_bias, head_mask, distance)
        return self.output(context, hidden), probs


class Intermediate(nn.Module):
    def __init__(self, hidden_size: int, intermediate_size: int, activation: str):
        super().__init__()
        self.dense = nn.Linear(hidden_size, intermediate_size)
        self.act = get_activation(activation)

    def forward(self, hidden):
        return self.act(self.dense(hidden))


class Layer(nn.Module):
    """attention (-> crossattention) -> intermediate -> output, each with a post-norm residual. A variant names
    its attention block's weights otherwise through `attention_class` (MPNet's attention.attn.q)."""

    attention_class: type = Attention

    def __init__(self, options: EncoderOptions):
        super().__init__()
        self.attention = self.attention_class(options)
        if options.cross_attention:
            self.crossattention = Attention(options, relative="absolute")
        self.intermediate = Intermediate(options.hidden_size, options.intermediate_size, options.hidden_act)
        self.output = ResidualOutput(options.intermediate_size, options)

    def forward(self, hidden, mask=None, output_attentions=False, head_mask=None, encoder_hidden_states=None,
                encoder_mask=None, position_bias=None, distance=None):  # fmt: skip
        hidden, probs = self.attention(hidden, mask, output_attentions, position_bias=position_bias, head_mask=head_mask,
                                       distance=distance)  # fmt: skip
        cross = None
        if encoder_hidden_states is not None:
            if not hasattr(self, "crossattention"):
                raise ValueError("encoder_hidden_states were given but the config has add_cross_attention=False.")
            hidden, cross = self.crossattention(hidden, encoder_mask, output_attentions, source=encoder_hidden_states,
                                                head_mask=head_mask)  # fmt: skip
        return self.output(self.intermediate(hidden), hidden), probs, cross


class EncoderOutput(NamedTuple):
    last_hidden_state: torch.Tensor
    hidden_states: tuple | None
    attentions: tuple | None
    cross_attentions: tuple | None


def run_layers(layers, hidden, mask, output_attentions=False, output_hidden_states=False, head_mask=None,
               **layer_kwargs):  # fmt: skip
    """Each layer in turn (layer(hidden, mask, output_attentions, head_mask, **layer_kwargs) -> (hidden, probs,
    cross_probs)); collects every layer's input and the final output, and the attention maps."""
    states, attentions, cross = (hidden,), (), ()
    for layer, layer_head_mask in zip(layers, per_layer_head_mask(head_mask, len(layers))):
        hidden, probs, cross_probs = layer(hidden, mask, output_attentions, layer_head_mask, **layer_kwargs)
        states, attentions = states + (hidden,), attentions + (probs,)
        if cross_probs is not None:
            cross += (cross_probs,)
    return EncoderOutput(hidden, states if output_hidden_states else None, attentions if output_attentions else None,
                         cross if output_attentions and cross else None)  # fmt: skip


class Encoder(nn.Module):
    """The layers (`layer.0`, `layer.1`, …), each a `layer_class(options)`."""

    def __init__(self, options: EncoderOptions, layer_class: type = Layer):
        super().__init__()
        self.layer = nn.ModuleList(layer_class(options) for _ in range(options.num_hidden_layers))

    def forward(self, hidden, mask=None, output_attentions=False, output_hidden_states=False, head_mask=None,
                **layer_kwargs):  # fmt: skip
        return run_layers(self.layer, hidden, mask, output_attentions, output_hidden_states, head_mask, **layer_kwargs)


class Pooler(nn.Module):
    """tanh(dense(first token))."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)

    def forward(self, hidden):
        return torch.tanh(self.dense(hidden[:, 0]))


class LMHead(nn.Module):
    """dense -> activation -> LayerNorm -> vocabulary scores (decoder, without bias) + bias: RoBERTa's lm_head,
    ALBERT's predictions. The decoder's weight is tied to the word embeddings unless the config unties it."""

    def __init__(self, in_features: int, width: int, vocab_size: int, activation: str, eps: float,
                 norm: str = "layer_norm"):  # fmt: skip
        super().__init__()
        self.norm_name = norm
        self.dense = nn.Linear(in_features, width)
        self.act = get_activation(activation)
        setattr(self, norm, nn.LayerNorm(width, eps=eps))
        self.decoder = nn.Linear(width, vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, hidden):
        return self.decoder(getattr(self, self.norm_name)(self.act(self.dense(hidden)))) + self.bias


class SequenceSummary(nn.Module):
    """One vector per sequence from the config's summary_* fields (autoload.sequence_summary): the chosen
    position(s) -> dropout -> `summary` dense layer (if any) -> activation -> dropout."""

    def __init__(self, hidden_size: int, options: SummaryOptions):
        super().__init__()
        self.kind = options.kind
        self.summary = nn.Linear(hidden_size, options.projection) if options.projection else nn.Identity()
        self.activation = get_activation(options.activation) if options.activation else nn.Identity()
        self.first_dropout = nn.Dropout(options.first_dropout)
        self.last_dropout = nn.Dropout(options.last_dropout)

    def forward(self, hidden, cls_index=None):
        if self.kind == "first":
            pooled = hidden[:, 0]
        elif self.kind == "mean":
            pooled = hidden.mean(1)
        elif self.kind == "last":
            pooled = hidden[:, -1]
        else:  # "cls_index": the position cls_index gives (default: the last) along the sequence axis (-2)
            if cls_index is None:
                cls_index = torch.full(hidden.shape[:-2], hidden.shape[-2] - 1, dtype=torch.long, device=hidden.device)
            index = cls_index[..., None, None].expand(*cls_index.shape, 1, hidden.shape[-1])
            pooled = hidden.gather(-2, index).squeeze(-2)
        return self.last_dropout(self.activation(self.summary(self.first_dropout(pooled))))


class EncoderCausalLM:
    """Mixin for an encoder used as a left-to-right language model (causal when config.is_decoder): next-token
    loss, and, as transformers does, no cache (so plain relative distances) when labels are given."""

    causal = True
    output_class = out.CausalLMOutputWithCrossAttentions

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        if labels is not None:
            kwargs["use_cache"] = False
        return super().forward(input_ids, labels=labels, return_dict=return_dict, **kwargs)


class EncoderModel(PreTrainedModel):
    """The base model of the BERT family: embeddings -> encoder (-> pooler). A subclass builds `embeddings`,
    `encoder` and `pooler` (or None) in __init__ and sets `options`; `embed` and `pool` are the hooks a variant
    overrides (ELECTRA projects its embeddings, ALBERT's pooler is a bare dense layer)."""

    output_class = out.BaseModelOutputWithPoolingAndCrossAttentions
    encoder_name = "encoder"  # the attribute (checkpoint name) of the layer stack
    options: EncoderOptions

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def embed(self, input_ids, token_type_ids, position_ids, inputs_embeds):
        return self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                encoder_hidden_states=None, encoder_attention_mask=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, head_mask=None, past_key_values=None, use_cache=None,
                **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        refuse_cache(past_key_values)
        output_attentions = self._flag(output_attentions, "output_attentions")
        output_hidden_states = self._flag(output_hidden_states, "output_hidden_states")
        hidden = self.embed(input_ids, token_type_ids, position_ids, inputs_embeds)
        mask = additive_mask(attention_mask, hidden.dtype, hidden.shape[1] if self.options.causal else None)
        layer_kwargs = {}
        if encoder_hidden_states is not None:
            layer_kwargs = {"encoder_hidden_states": encoder_hidden_states,
                            "encoder_mask": padding_mask(encoder_attention_mask, hidden.dtype)}  # fmt: skip
        cached = self.options.use_cache if use_cache is None else use_cache
        if self.options.relative and self.options.causal and cached:
            layer_kwargs["distance"] = relative_distance(hidden.shape[1], hidden.shape[1], hidden.device, True)
        encoder = getattr(self, self.encoder_name)
        encoded = encoder(hidden, mask, output_attentions, output_hidden_states, head_mask, **layer_kwargs)
        return self._finish(self.build_output(encoded), return_dict)

    def pool(self, hidden):
        return self.pooler(hidden) if self.pooler is not None else None

    def build_output(self, encoded: EncoderOutput):
        values = encoded._asdict()
        fields = self.output_class._fields
        if "pooler_output" in fields:
            values["pooler_output"] = self.pool(encoded.last_hidden_state)
        if "cross_attentions" not in fields:
            values.pop("cross_attentions")
        return self.output_class(**values)
