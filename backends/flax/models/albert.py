"""ALBERT in Flax: the shared encoder blocks with factorised embeddings and layers shared in groups
(encoder/albert_layer_groups/<g>/albert_layers/<i>), under transformers' Flax ALBERT names, and the MLM and
sentence-order heads."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.albert import AlbertConfig

from ..activations import get_activation
from ..blocks.encoder import Embeddings, EncoderModule, EncoderOutput, LMHead, SelfAttention, dense, per_layer_head_mask
from ..blocks.norms import LayerNorm
from ..heads import (
    FlaxLanguageModelingModel,
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTaskModel,
    FlaxTokenClassificationModel,
    HeadModule,
)
from ..modeling import FlaxPreTrainedModel


class FlaxAlbertAttention(SelfAttention):
    """query/key/value/dense and the post-norm LayerNorm in one module; relative scores added after scaling."""

    layer_norm_eps: float = 1e-12
    output_dropout: float = 0.0

    @nn.compact
    def __call__(self, hidden, bias=None, head_mask=None, deterministic=True, output_attentions=False):
        context, probs = super().__call__(hidden, bias, head_mask=head_mask, deterministic=deterministic,
                                          output_attentions=output_attentions)  # fmt: skip
        context = nn.Dropout(self.output_dropout)(context, deterministic=deterministic)
        return LayerNorm(epsilon=self.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(hidden + context), probs


class FlaxAlbertLayer(nn.Module):
    """attention -> ffn -> activation -> ffn_output -> full_layer_layer_norm(+ residual)."""

    options: EncoderOptions
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias=None, head_mask=None, deterministic=True, output_attentions=False):
        o = self.options
        attention = FlaxAlbertAttention(o.hidden_size, o.num_attention_heads, o.attention_dropout, output="dense",
                                        relative=o.position_embedding_type, max_positions=o.max_position_embeddings,
                                        relative_after_scale=True, initializer_range=o.initializer_range,
                                        dtype=self.dtype, layer_norm_eps=o.layer_norm_eps,
                                        output_dropout=o.hidden_dropout, name="attention")  # fmt: skip
        attended, probs = attention(hidden, bias, head_mask, deterministic, output_attentions)
        ffn = dense(o.intermediate_size, o.initializer_range, self.dtype, "ffn")(attended)
        ffn = dense(o.hidden_size, o.initializer_range, self.dtype, "ffn_output")(get_activation(o.hidden_act)(ffn))
        norm = LayerNorm(epsilon=o.layer_norm_eps, dtype=self.dtype, name="full_layer_layer_norm")
        return norm(ffn + attended), probs


class FlaxAlbertLayers(nn.Module):
    """One group's inner layers, named "0", "1", …"""

    options: EncoderOptions
    count: int
    dtype: Any = jnp.float32

    def setup(self):
        self.layers = [FlaxAlbertLayer(self.options, dtype=self.dtype, name=str(i)) for i in range(self.count)]

    def __call__(self, hidden, bias=None, head_masks=(), deterministic=True, output_attentions=False):
        attentions = ()
        for layer, head_mask in zip(self.layers, head_masks):
            hidden, probs = layer(hidden, bias, head_mask, deterministic, output_attentions)
            attentions += (probs,)
        return hidden, attentions


class FlaxAlbertLayerGroup(nn.Module):
    options: EncoderOptions
    inner_group_num: int
    dtype: Any = jnp.float32

    def setup(self):
        self.albert_layers = FlaxAlbertLayers(self.options, self.inner_group_num, dtype=self.dtype)

    def __call__(self, *args, **kwargs):
        return self.albert_layers(*args, **kwargs)


class FlaxAlbertLayerGroups(nn.Module):
    """The groups, named "0", "1", …"""

    options: EncoderOptions
    groups: int
    inner_group_num: int
    dtype: Any = jnp.float32

    def setup(self):
        self.layer_groups = [FlaxAlbertLayerGroup(self.options, self.inner_group_num, dtype=self.dtype, name=str(g))
                             for g in range(self.groups)]  # fmt: skip

    def __call__(self, group: int, *args, **kwargs):
        return self.layer_groups[group](*args, **kwargs)


class FlaxAlbertTransformer(nn.Module):
    """embedding_hidden_mapping_in, then for each of num_hidden_layers steps one group's inner layers."""

    config: AlbertConfig
    options: EncoderOptions
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        self.embedding_hidden_mapping_in = dense(c.hidden_size, c.initializer_range, self.dtype)
        self.albert_layer_groups = FlaxAlbertLayerGroups(self.options, c.num_hidden_groups, c.inner_group_num,
                                                         dtype=self.dtype)  # fmt: skip

    def __call__(self, hidden, bias=None, head_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False):  # fmt: skip
        hidden = self.embedding_hidden_mapping_in(hidden)
        steps = self.config.layer_groups()
        head_masks = per_layer_head_mask(head_mask, len(steps))
        inner = self.config.inner_group_num
        states, attentions = (hidden,), ()
        for group, first_mask in steps:
            masks = head_masks[first_mask:first_mask + inner]
            hidden, probs = self.albert_layer_groups(group, hidden, bias, masks, deterministic, output_attentions)
            states, attentions = states + (hidden,), attentions + probs
        return EncoderOutput(hidden, states if output_hidden_states else None,
                             attentions if output_attentions else None, None)  # fmt: skip


class FlaxAlbertModule(EncoderModule):
    output_class = out.BaseModelOutputWithPooling

    def setup(self):
        c = self.config
        self.options = c.encoder_options()
        self.embeddings = Embeddings(self.options, dtype=self.dtype)
        self.encoder = FlaxAlbertTransformer(c, self.options, dtype=self.dtype)
        self.pooler = dense(c.hidden_size, c.initializer_range, self.dtype) if self.add_pooling_layer else None

    def pool(self, hidden):
        return jnp.tanh(self.pooler(hidden[:, 0])) if self.pooler is not None else None


class FlaxAlbertMLMHead(LMHead):
    """dense (hidden -> embedding_size) -> hidden_act -> LayerNorm -> decoder (tied) + bias."""

    norm: str = "LayerNorm"

    def head_width(self) -> int:
        return self.config.embedding_size

    def head_activation(self) -> str:
        return self.config.hidden_act


class FlaxAlbertForPreTrainingModule(HeadModule):
    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        c = self.config
        base = self.base()
        encoded = base(input_ids, deterministic=deterministic, **kwargs)
        shared = base.variables["params"]["embeddings"]["word_embeddings"]["embedding"]
        scores = FlaxAlbertMLMHead(c, dtype=self.dtype, name="predictions")(encoded.last_hidden_state, shared)
        sop = _SentenceOrderHead(c, dtype=self.dtype, name="sop_classifier")(encoded.pooler_output, deterministic)
        result = out.from_encoded(out.AlbertForPreTrainingOutput, encoded, prediction_logits=scores, sop_logits=sop)
        return out.finish(result, return_dict)


class _SentenceOrderHead(nn.Module):
    """dropout -> classifier on the pooled output."""

    config: AlbertConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pooled, deterministic=True):
        c = self.config
        pooled = nn.Dropout(c.classifier_dropout_prob)(pooled, deterministic=deterministic)
        return dense(c.num_labels, c.initializer_range, self.dtype, "classifier")(pooled)


class FlaxAlbertPreTrainedModel(FlaxPreTrainedModel):
    config_class = AlbertConfig
    base_model_prefix = "albert"
    base_module = FlaxAlbertModule
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"predictions\.decoder\.(weight|bias)$"]

    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, token_type_ids=token_type_ids,
                                position_ids=position_ids, **kwargs)  # fmt: skip


class FlaxAlbertModel(FlaxAlbertPreTrainedModel):
    module_class = FlaxAlbertModule


class FlaxAlbertForPreTraining(FlaxTaskModel, FlaxAlbertPreTrainedModel):
    module_class = FlaxAlbertForPreTrainingModule


class FlaxAlbertForMaskedLM(FlaxLanguageModelingModel, FlaxAlbertPreTrainedModel):
    lm_head = FlaxAlbertMLMHead
    embedding_path = ("embeddings", "word_embeddings", "embedding")


class FlaxAlbertForSequenceClassification(FlaxSequenceClassificationModel, FlaxAlbertPreTrainedModel):
    pass


class FlaxAlbertForMultipleChoice(FlaxMultipleChoiceModel, FlaxAlbertPreTrainedModel):
    pass


class FlaxAlbertForTokenClassification(FlaxTokenClassificationModel, FlaxAlbertPreTrainedModel):
    pass


class FlaxAlbertForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxAlbertPreTrainedModel):
    pass
