"""ModernBERT in Flax (transformers never had one): pre-norm layers with a fused Wqkv projection, rotary positions
for global and sliding-window local layers, a gated MLP and the heads, under the PyTorch names
(`model/layers/0/attn/Wqkv`), so every checkpoint format loads."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.modernbert import ModernBertConfig

from ..activations import get_activation
from ..blocks.encoder import TiedDense, dense, padding_bias, per_layer_head_mask
from ..blocks.norms import LayerNorm
from ..heads import (
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTaskModel,
    FlaxTokenClassificationModel,
    HeadModule,
    MultipleChoiceModule,
    QuestionAnsweringModule,
    SequenceClassificationModule,
    TokenClassificationModule,
    masked_mean,
)
from ..modeling import FlaxPreTrainedModel
from ..rotary import apply_rotary, rotary_cos_sin


def layer_norm(config: ModernBertConfig, dtype, name: str | None = None) -> nn.LayerNorm:
    return LayerNorm(epsilon=config.norm_eps, use_bias=config.norm_bias, dtype=dtype, name=name)


def window_mask(bias, length: int, window: int):
    """The additive padding bias, with keys more than `window` positions from the query blocked too."""
    positions = jnp.arange(length)
    far = jnp.abs(positions[None, :] - positions[:, None]) > window
    full = jnp.broadcast_to(bias, (bias.shape[0], 1, length, length))
    return jnp.where(far[None, None], jnp.finfo(bias.dtype).min, full).astype(bias.dtype)


class FlaxModernBertAttention(nn.Module):
    config: ModernBertConfig
    index: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, masks, positions, head_mask=None, deterministic=True, output_attentions=False):
        c = self.config
        heads, size = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        qkv = dense(3 * c.hidden_size, c.initializer_range, self.dtype, "Wqkv", c.attention_bias)(hidden)
        q, k, v = jnp.moveaxis(qkv.reshape(hidden.shape[:2] + (3, heads, size)), 2, 0)
        cos, sin = rotary_cos_sin(c.rope_settings(self.index), positions, hidden.shape[1], q.dtype)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) * size**-0.5 + masks[not c.is_global_layer(self.index)]
        probs = nn.Dropout(c.attention_dropout)(jax.nn.softmax(scores, axis=-1), deterministic=deterministic)
        if head_mask is not None:
            probs = probs * head_mask
        context = jnp.einsum("bhqk,bkhd->bqhd", probs, v).reshape(hidden.shape[:2] + (heads * size,))
        context = dense(c.hidden_size, c.initializer_range, self.dtype, "Wo", c.attention_bias)(context)
        return nn.Dropout(c.attention_dropout)(context, deterministic=deterministic), (probs if output_attentions else None)


class FlaxModernBertMLP(nn.Module):
    """Wi (to twice the intermediate size) -> act(input) * gate -> dropout -> Wo."""

    config: ModernBertConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        c = self.config
        value, gate = jnp.split(dense(2 * c.intermediate_size, c.initializer_range, self.dtype, "Wi", c.mlp_bias)(hidden),
                                2, axis=-1)  # fmt: skip
        hidden = nn.Dropout(c.mlp_dropout)(get_activation(c.hidden_activation)(value) * gate, deterministic=deterministic)
        return dense(c.hidden_size, c.initializer_range, self.dtype, "Wo", c.mlp_bias)(hidden)


class FlaxModernBertEncoderLayer(nn.Module):
    """attn_norm (none in the first layer) -> attn (+ residual) -> mlp_norm -> mlp (+ residual)."""

    config: ModernBertConfig
    index: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, masks, positions, head_mask=None, deterministic=True, output_attentions=False):
        c = self.config
        normed = layer_norm(c, self.dtype, "attn_norm")(hidden) if self.index else hidden
        attended, probs = FlaxModernBertAttention(c, self.index, self.dtype, name="attn")(
            normed, masks, positions, head_mask, deterministic, output_attentions)
        hidden = hidden + attended
        mlp = FlaxModernBertMLP(c, self.dtype, name="mlp")
        return hidden + mlp(layer_norm(c, self.dtype, "mlp_norm")(hidden), deterministic), probs


class FlaxModernBertLayers(nn.Module):
    config: ModernBertConfig
    dtype: Any = jnp.float32

    def setup(self):
        self.layers = [FlaxModernBertEncoderLayer(self.config, i, self.dtype, name=str(i))
                       for i in range(self.config.num_hidden_layers)]  # fmt: skip

    def __call__(self, i: int, *args, **kwargs):
        return self.layers[i](*args, **kwargs)


class FlaxModernBertModule(nn.Module):
    config: ModernBertConfig
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        c.check_supported()
        self.embeddings = _Embeddings(c, self.dtype)
        self.layers = FlaxModernBertLayers(c, self.dtype)
        self.final_norm = layer_norm(c, self.dtype)

    def __call__(self, input_ids=None, attention_mask=None, position_ids=None, head_mask=None, deterministic=True,
                 output_attentions=False, output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        hidden = self.embeddings(input_ids, deterministic)
        batch, length = hidden.shape[:2]
        if attention_mask is None:
            attention_mask = jnp.ones((batch, length), "i4")
        if position_ids is None:
            position_ids = jnp.arange(length)[None]
        bias = padding_bias(attention_mask, hidden.dtype)
        masks = (bias, window_mask(bias, length, c.local_attention // 2))
        states, attentions = (hidden,), ()
        for i, layer_head_mask in enumerate(per_layer_head_mask(head_mask, c.num_hidden_layers)):
            hidden, probs = self.layers(i, hidden, masks, position_ids, layer_head_mask, deterministic, output_attentions)
            states, attentions = states + (hidden,), attentions + (probs,)
        result = out.BaseModelOutput(last_hidden_state=self.final_norm(hidden),
                                     hidden_states=states if output_hidden_states else None,
                                     attentions=attentions if output_attentions else None)  # fmt: skip
        return out.finish(result, return_dict)


class _Embeddings(nn.Module):
    config: ModernBertConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids, deterministic=True):
        c = self.config
        table = nn.Embed(c.vocab_size, c.hidden_size, embedding_init=nn.initializers.normal(c.initializer_range),
                         dtype=self.dtype, name="tok_embeddings")  # fmt: skip
        hidden = layer_norm(c, self.dtype, "norm")(table(input_ids.astype("i4")))
        return nn.Dropout(c.embedding_dropout)(hidden, deterministic=deterministic)


class _PredictionHead(nn.Module):
    """dense (classifier_bias) -> classifier_activation -> norm."""

    config: ModernBertConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        hidden = dense(c.hidden_size, c.initializer_range, self.dtype, "dense", c.classifier_bias)(hidden)
        return layer_norm(c, self.dtype, "norm")(get_activation(c.classifier_activation)(hidden))


class FlaxModernBertForMaskedLMModule(HeadModule):
    """head, then decoder (tied to the token embeddings; its bias as decoder_bias says)."""

    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        c = self.config
        base = self.base()
        encoded = base(input_ids, deterministic=deterministic, **kwargs)
        hidden = _PredictionHead(c, self.dtype, name="head")(encoded.last_hidden_state)
        shared = base.variables["params"]["embeddings"]["tok_embeddings"]["embedding"]
        decoder = TiedDense(c.vocab_size, c.tie_word_embeddings, c.decoder_bias, c.initializer_range, self.dtype,
                            name="decoder")  # fmt: skip
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, logits=decoder(hidden, shared)), return_dict)


class WithPredictionHead:
    """The pooled (or per-token) states pass through `head` before the dropout and classifier."""

    def output_layer(self, features, out_features: int, deterministic=True):
        features = _PredictionHead(self.config, self.dtype, name="head")(features)
        return super().output_layer(features, out_features, deterministic)


class FlaxModernBertSequenceClassificationModule(WithPredictionHead, SequenceClassificationModule):
    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        return masked_mean(hidden, mask) if self.config.classifier_pooling == "mean" else hidden[:, 0]


class FlaxModernBertMultipleChoiceModule(WithPredictionHead, MultipleChoiceModule):
    """"cls" pooling reads each choice's first attended position, as transformers does for this head."""

    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        if self.config.classifier_pooling == "mean":
            return masked_mean(hidden, mask)
        first = jnp.argmax(mask, axis=-1) if mask is not None else jnp.zeros(hidden.shape[0], "i4")
        return hidden[jnp.arange(hidden.shape[0]), first]


class FlaxModernBertTokenClassificationModule(WithPredictionHead, TokenClassificationModule):
    pass


class FlaxModernBertQuestionAnsweringModule(WithPredictionHead, QuestionAnsweringModule):
    pass


class FlaxModernBertPreTrainedModel(FlaxPreTrainedModel):
    config_class = ModernBertConfig
    base_model_prefix = "model"
    base_module = FlaxModernBertModule
    _keys_to_ignore_on_load_unexpected = [r"^decoder\.weight$"]

    def __call__(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, position_ids=position_ids,
                                **kwargs)  # fmt: skip


class FlaxModernBertModel(FlaxModernBertPreTrainedModel):
    module_class = FlaxModernBertModule


class FlaxModernBertForMaskedLM(FlaxTaskModel, FlaxModernBertPreTrainedModel):
    module_class = FlaxModernBertForMaskedLMModule


class FlaxModernBertForSequenceClassification(FlaxSequenceClassificationModel, FlaxModernBertPreTrainedModel):
    module_class = FlaxModernBertSequenceClassificationModule


class FlaxModernBertForMultipleChoice(FlaxMultipleChoiceModel, FlaxModernBertPreTrainedModel):
    module_class = FlaxModernBertMultipleChoiceModule


class FlaxModernBertForTokenClassification(FlaxTokenClassificationModel, FlaxModernBertPreTrainedModel):
    module_class = FlaxModernBertTokenClassificationModule


class FlaxModernBertForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxModernBertPreTrainedModel):
    module_class = FlaxModernBertQuestionAnsweringModule
