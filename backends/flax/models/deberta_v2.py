"""DeBERTa-v2 in Flax (transformers never had one): disentangled self-attention on the shared post-norm blocks,
under the PyTorch names so every checkpoint format loads, and every head."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.deberta_v2 import DebertaV2Config, DisentangledOptions

from ..activations import get_activation
from ..blocks.encoder import (
    EncoderModule,
    EncoderOutput,
    Intermediate,
    ResidualOutput,
    TiedDense,
    dense,
    per_layer_head_mask,
)
from ..blocks.norms import LayerNorm
from ..heads import (
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTaskModel,
    FlaxTokenClassificationModel,
    HeadModule,
    MultipleChoiceModule,
    SequenceClassificationModule,
)
from ..modeling import FlaxPreTrainedModel


def log_bucket_positions(relative, bucket_size: int, max_position: int):
    """Distances within bucket_size // 2 stay exact; longer ones share logarithmically wider buckets."""
    sign = jnp.sign(relative)
    mid = bucket_size // 2
    inside = (relative < mid) & (relative > -mid)
    absolute = jnp.where(inside, mid - 1, jnp.abs(relative))
    ratio = jnp.log(absolute.astype(jnp.float32) / mid) / jnp.log(jnp.float32((max_position - 1) / mid))
    log_pos = jnp.ceil(ratio * (mid - 1)) + mid
    return jnp.where(absolute <= mid, relative.astype(jnp.float32), log_pos * sign).astype(jnp.int32)


def relative_positions(query_length: int, key_length: int, layout: DisentangledOptions):
    relative = jnp.arange(query_length)[:, None] - jnp.arange(key_length)[None]
    if layout.position_buckets > 0 and layout.max_relative_positions > 0:
        relative = log_bucket_positions(relative, layout.position_buckets, layout.max_relative_positions)
    return relative


def gather_last(scores, index):
    """scores [b, h, r, n], index [r, c] -> [b, h, r, c] with scores[..., i, index[i, j]]."""
    return jnp.take_along_axis(scores, jnp.broadcast_to(index, scores.shape[:2] + index.shape), axis=-1)


class DisentangledSelfAttention(nn.Module):
    options: EncoderOptions
    layout: DisentangledOptions
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, mask, head_mask=None, relative_pos=None, rel_embeddings=None, deterministic=True,
                 output_attentions=False):  # fmt: skip
        o, layout = self.options, self.layout
        heads, size = o.num_attention_heads, o.head_size

        def proj(name):
            return dense(o.hidden_size, o.initializer_range, self.dtype, name)

        def split(x):
            return x.reshape(x.shape[:2] + (heads, size)).transpose(0, 2, 1, 3)

        query, key = proj("query_proj"), proj("key_proj")
        q, k, v = split(query(hidden)), split(key(hidden)), split(proj("value_proj")(hidden))
        scale = math.sqrt(size * layout.scale_factor)
        scores = q @ (k.transpose(0, 1, 3, 2) / scale)
        if layout.relative:
            table = nn.Dropout(o.hidden_dropout)(rel_embeddings, deterministic=deterministic)[: layout.span * 2][None]
            span = layout.span
            if "c2p" in layout.pos_att_type:
                pos_key = split(key(table) if layout.share_att_key else proj("pos_key_proj")(table))
                c2p = q @ pos_key.transpose(0, 1, 3, 2)
                scores = scores + gather_last(c2p, jnp.clip(relative_pos + span, 0, span * 2 - 1)) / scale
            if "p2c" in layout.pos_att_type:
                pos_query = split(query(table) if layout.share_att_key else proj("pos_query_proj")(table))
                p2c = k @ pos_query.transpose(0, 1, 3, 2)
                gathered = gather_last(p2c, jnp.clip(-relative_pos + span, 0, span * 2 - 1))
                scores = scores + gathered.transpose(0, 1, 3, 2) / scale
        scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
        probs = nn.Dropout(o.attention_dropout)(jax.nn.softmax(scores, axis=-1), deterministic=deterministic)
        if head_mask is not None:
            probs = probs * head_mask
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(hidden.shape[:2] + (heads * size,))
        return context, (probs if output_attentions else None)


class DebertaV2Attention(nn.Module):
    options: EncoderOptions
    layout: DisentangledOptions
    dtype: Any = jnp.float32

    def setup(self):
        self.self = DisentangledSelfAttention(self.options, self.layout, dtype=self.dtype)
        self.output = ResidualOutput(self.options, dtype=self.dtype)

    def __call__(self, hidden, mask, head_mask=None, relative_pos=None, rel_embeddings=None, deterministic=True,
                 output_attentions=False):  # fmt: skip
        context, probs = self.self(hidden, mask, head_mask, relative_pos, rel_embeddings, deterministic,
                                   output_attentions)  # fmt: skip
        return self.output(context, hidden, deterministic), probs


class DebertaV2Layer(nn.Module):
    options: EncoderOptions
    layout: DisentangledOptions
    dtype: Any = jnp.float32

    def setup(self):
        o = self.options
        self.attention = DebertaV2Attention(o, self.layout, dtype=self.dtype)
        self.intermediate = Intermediate(o.intermediate_size, o.hidden_act, o.initializer_range, dtype=self.dtype)
        self.output = ResidualOutput(o, dtype=self.dtype)

    def __call__(self, hidden, mask, head_mask=None, relative_pos=None, rel_embeddings=None, deterministic=True,
                 output_attentions=False):  # fmt: skip
        attended, probs = self.attention(hidden, mask, head_mask, relative_pos, rel_embeddings, deterministic,
                                         output_attentions)  # fmt: skip
        return self.output(self.intermediate(attended), attended, deterministic), probs


class ConvLayer(nn.Module):
    """After the first layer: conv over the embeddings -> masked -> activation -> LayerNorm(+ layer output)."""

    options: EncoderOptions
    layout: DisentangledOptions
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, residual, input_mask, deterministic=True):
        o, layout = self.options, self.layout
        keep = input_mask.astype(hidden.dtype)[..., None]
        conv = nn.Conv(o.hidden_size, (layout.conv_kernel_size,), padding=[((layout.conv_kernel_size - 1) // 2,) * 2],
                       feature_group_count=layout.conv_groups, dtype=self.dtype, name="conv")(hidden) * keep
        conv = get_activation(layout.conv_act)(nn.Dropout(o.hidden_dropout)(conv, deterministic=deterministic))
        return LayerNorm(epsilon=o.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(residual + conv) * keep


class DebertaV2LayerCollection(nn.Module):
    options: EncoderOptions
    layout: DisentangledOptions
    dtype: Any = jnp.float32

    def setup(self):
        self.layers = [DebertaV2Layer(self.options, self.layout, dtype=self.dtype, name=str(i))
                       for i in range(self.options.num_hidden_layers)]  # fmt: skip

    def __call__(self, i: int, *args, **kwargs):
        return self.layers[i](*args, **kwargs)


class DebertaV2Encoder(nn.Module):
    options: EncoderOptions
    layout: DisentangledOptions
    dtype: Any = jnp.float32

    def setup(self):
        o, layout = self.options, self.layout
        self.layer = DebertaV2LayerCollection(o, layout, dtype=self.dtype)
        if layout.relative:
            self.rel_embeddings = nn.Embed(layout.span * 2, o.hidden_size, dtype=self.dtype,
                                           embedding_init=nn.initializers.normal(o.initializer_range))  # fmt: skip
        if layout.norm_rel_ebd:
            self.LayerNorm = LayerNorm(epsilon=o.layer_norm_eps, dtype=self.dtype)
        if layout.conv_kernel_size > 0:
            self.conv = ConvLayer(o, layout, dtype=self.dtype)

    def __call__(self, hidden, input_mask, head_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False):  # fmt: skip
        keep = input_mask.astype(bool)
        mask = keep[:, None, None, :] & keep[:, None, :, None]
        relative_pos = table = None
        if self.layout.relative:
            relative_pos = relative_positions(hidden.shape[1], hidden.shape[1], self.layout)
            table = self.rel_embeddings.embedding.astype(self.dtype)
            if self.layout.norm_rel_ebd:
                table = self.LayerNorm(table)
        embedded, states, attentions = hidden, (hidden,), ()
        head_masks = per_layer_head_mask(head_mask, self.options.num_hidden_layers)
        for i in range(self.options.num_hidden_layers):
            hidden, probs = self.layer(i, hidden, mask, head_masks[i], relative_pos, table, deterministic,
                                       output_attentions)  # fmt: skip
            if i == 0 and self.layout.conv_kernel_size > 0:
                hidden = self.conv(embedded, hidden, input_mask, deterministic)
            states, attentions = states + (hidden,), attentions + (probs,)
        return EncoderOutput(hidden, states if output_hidden_states else None,
                             attentions if output_attentions else None, None)  # fmt: skip


class DebertaV2Embeddings(nn.Module):
    """word (+ absolute position when position_biased_input) (+ token type) -> embed_proj (when the width differs)
    -> LayerNorm -> zeroed at padding -> dropout."""

    config: DebertaV2Config
    options: EncoderOptions
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids, token_type_ids=None, position_ids=None, input_mask=None, deterministic=True):
        o = self.options
        width, init = o.embedding_width, nn.initializers.normal(o.initializer_range)
        embeds = nn.Embed(o.vocab_size, width, embedding_init=init, dtype=self.dtype, name="word_embeddings")(
            input_ids.astype("i4"))
        if self.config.position_biased_input:
            o.check_length(embeds.shape[1])
            if position_ids is None:
                position_ids = jnp.arange(embeds.shape[1])[None]
            table = nn.Embed(o.max_position_embeddings, width, embedding_init=init, dtype=self.dtype,
                             name="position_embeddings")  # fmt: skip
            embeds = embeds + table(position_ids.astype("i4"))
        if o.type_vocab_size:
            if token_type_ids is None:
                token_type_ids = jnp.zeros(embeds.shape[:2], "i4")
            table = nn.Embed(o.type_vocab_size, width, embedding_init=init, dtype=self.dtype,
                             name="token_type_embeddings")  # fmt: skip
            embeds = embeds + table(token_type_ids.astype("i4"))
        if width != o.hidden_size:
            embeds = dense(o.hidden_size, o.initializer_range, self.dtype, "embed_proj", use_bias=False)(embeds)
        embeds = LayerNorm(epsilon=o.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(embeds)
        embeds = embeds * input_mask.astype(embeds.dtype)[..., None]
        return nn.Dropout(o.hidden_dropout)(embeds, deterministic=deterministic)


class FlaxDebertaV2Module(EncoderModule):
    output_class = out.BaseModelOutput

    def setup(self):
        self.options = self.config.encoder_options()
        self.embeddings = DebertaV2Embeddings(self.config, self.options, dtype=self.dtype)
        self.encoder = DebertaV2Encoder(self.options, self.config.disentangled(), dtype=self.dtype)
        self.pooler = None

    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                 deterministic=True, output_attentions=False, output_hidden_states=False, return_dict=True,
                 **kwargs):  # fmt: skip
        if attention_mask is None:
            attention_mask = jnp.ones(input_ids.shape, "i4")
        hidden = self.embeddings(input_ids, token_type_ids, position_ids, attention_mask, deterministic)
        encoded = self.encoder(hidden, attention_mask, head_mask, deterministic, output_attentions, output_hidden_states)
        return out.finish(self.build_output(encoded), return_dict)


class _Transform(nn.Module):
    """dense -> hidden_act -> LayerNorm."""

    config: DebertaV2Config
    width: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        hidden = get_activation(c.hidden_act)(dense(self.width, c.initializer_range, self.dtype, "dense")(hidden))
        return LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(hidden)


class _LegacyPredictions(nn.Module):
    """cls/predictions: transform (to the embedding width), decoder (tied) + bias."""

    config: DebertaV2Config
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, shared):
        c = self.config
        hidden = _Transform(c, c.embedding_width, dtype=self.dtype, name="transform")(hidden)
        decoder = TiedDense(c.vocab_size, c.tie_word_embeddings, False, c.initializer_range, self.dtype, name="decoder")
        return decoder(hidden, shared) + self.param("bias", nn.initializers.zeros, (c.vocab_size,)).astype(self.dtype)


class _LMHead(nn.Module):
    """lm_predictions/lm_head (legacy=False): dense, hidden_act, LayerNorm, then the word embeddings + bias."""

    config: DebertaV2Config
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, shared):
        c = self.config
        hidden = get_activation(c.hidden_act)(dense(c.hidden_size, c.initializer_range, self.dtype, "dense")(hidden))
        hidden = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(hidden)
        bias = self.param("bias", nn.initializers.zeros, (c.vocab_size,)).astype(self.dtype)
        return hidden @ jnp.asarray(shared, self.dtype).T + bias


class _Scope(nn.Module):
    """A named module around one inner module (cls/predictions, lm_predictions/lm_head)."""

    inner: Any
    inner_name: str
    config: DebertaV2Config
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, shared):
        return self.inner(self.config, dtype=self.dtype, name=self.inner_name)(hidden, shared)


class FlaxDebertaV2ForMaskedLMModule(HeadModule):
    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        c = self.config
        base = self.base()
        encoded = base(input_ids, deterministic=deterministic, **kwargs)
        shared = base.variables["params"]["embeddings"]["word_embeddings"]["embedding"]
        if c.legacy:
            head = _Scope(_LegacyPredictions, "predictions", c, dtype=self.dtype, name="cls")
        else:
            head = _Scope(_LMHead, "lm_head", c, dtype=self.dtype, name="lm_predictions")
        logits = head(encoded.last_hidden_state, shared)
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, logits=logits), return_dict)


class _Pooler(nn.Module):
    config: DebertaV2Config
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, first, deterministic=True):
        c = self.config
        first = nn.Dropout(c.pooler_dropout)(first, deterministic=deterministic)
        return get_activation(c.pooler_hidden_act)(dense(c.pooler_hidden_size, c.initializer_range, self.dtype,
                                                         "dense")(first))  # fmt: skip


class ContextPooler:
    """The first token -> dropout (pooler_dropout) -> pooler/dense -> pooler_hidden_act, before the head's
    dropout and classifier."""

    def pool(self, encoded, *args, **kwargs):
        return _Pooler(self.config, dtype=self.dtype, name="pooler")(super().pool(encoded, *args, **kwargs))


class FlaxDebertaV2SequenceClassificationModule(ContextPooler, SequenceClassificationModule):
    pass


class FlaxDebertaV2MultipleChoiceModule(ContextPooler, MultipleChoiceModule):
    pass


class FlaxDebertaV2PreTrainedModel(FlaxPreTrainedModel):
    config_class = DebertaV2Config
    base_model_prefix = "deberta"
    base_module = FlaxDebertaV2Module
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"position_embeddings", r"mask_predictions\.",
                                          r"cls\.predictions\.decoder\.(weight|bias)$"]  # fmt: skip

    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, token_type_ids=token_type_ids,
                                position_ids=position_ids, **kwargs)  # fmt: skip


class FlaxDebertaV2Model(FlaxDebertaV2PreTrainedModel):
    module_class = FlaxDebertaV2Module


class FlaxDebertaV2ForMaskedLM(FlaxTaskModel, FlaxDebertaV2PreTrainedModel):
    module_class = FlaxDebertaV2ForMaskedLMModule


class FlaxDebertaV2ForSequenceClassification(FlaxSequenceClassificationModel, FlaxDebertaV2PreTrainedModel):
    module_class = FlaxDebertaV2SequenceClassificationModule


class FlaxDebertaV2ForMultipleChoice(FlaxMultipleChoiceModel, FlaxDebertaV2PreTrainedModel):
    module_class = FlaxDebertaV2MultipleChoiceModule


class FlaxDebertaV2ForTokenClassification(FlaxTokenClassificationModel, FlaxDebertaV2PreTrainedModel):
    pass


class FlaxDebertaV2ForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxDebertaV2PreTrainedModel):
    pass
