"""MPNet in Flax (transformers never had one): the shared encoder blocks under the PyTorch names
(attention/attn/{q,k,v,o}, encoder/relative_attention_bias), so every checkpoint format loads, and its heads."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.mpnet import MPNET_BUCKETS, MPNET_MAX_DISTANCE, MPNetConfig

from ..blocks.encoder import (
    Embeddings,
    EncoderModule,
    Layer,
    LayerCollection,
    LMHead,
    Pooler,
    self_attention,
)
from ..blocks.norms import LayerNorm
from ..blocks.speech import relative_buckets
from ..heads import (
    FlaxLanguageModelingModel,
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTokenClassificationModel,
)
from ..modeling import FlaxPreTrainedModel


class FlaxMPNetAttention(nn.Module):
    """attn (q, k, v and the o projection) -> dropout -> LayerNorm(+ residual)."""

    options: EncoderOptions
    relative: str | None = None
    dtype: Any = jnp.float32

    def setup(self):
        o = self.options
        self.attn = self_attention(o, self.dtype, names=("q", "k", "v"), output="o")
        self.LayerNorm = LayerNorm(epsilon=o.layer_norm_eps, dtype=self.dtype)
        self.dropout = nn.Dropout(o.hidden_dropout)

    def __call__(self, hidden, bias=None, source=None, position_bias=None, head_mask=None, deterministic=True,
                 output_attentions=False, distance=None):  # fmt: skip
        context, probs = self.attn(hidden, bias, None, position_bias, head_mask, deterministic, output_attentions)
        return self.LayerNorm(self.dropout(context, deterministic=deterministic) + hidden), probs


class FlaxMPNetLayer(Layer):
    attention_class = FlaxMPNetAttention


class FlaxMPNetEncoder(nn.Module):
    """The layers plus `relative_attention_bias`: one learned bias per head and distance bucket, shared by all."""

    config: MPNetConfig
    options: EncoderOptions
    dtype: Any = jnp.float32

    def setup(self):
        self.layer = LayerCollection(self.options, FlaxMPNetLayer, dtype=self.dtype)
        self.relative_attention_bias = nn.Embed(self.config.relative_attention_num_buckets,
                                                self.options.num_attention_heads, dtype=self.dtype,
                                                embedding_init=nn.initializers.normal(self.options.initializer_range))

    def __call__(self, hidden, bias=None, head_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, **layer_kwargs):  # fmt: skip
        buckets = relative_buckets(hidden.shape[1], MPNET_BUCKETS, MPNET_MAX_DISTANCE)
        position_bias = self.relative_attention_bias(buckets).transpose(2, 0, 1)[None]
        return self.layer(hidden, bias, head_mask, deterministic, output_attentions, output_hidden_states,
                          position_bias=position_bias, **layer_kwargs)  # fmt: skip


class FlaxMPNetModule(EncoderModule):
    output_class = out.BaseModelOutputWithPooling

    def setup(self):
        self.options = self.config.encoder_options()
        self.embeddings = Embeddings(self.options, dtype=self.dtype)
        self.encoder = FlaxMPNetEncoder(self.config, self.options, dtype=self.dtype)
        self.pooler = Pooler(self.config.hidden_size, self.config.initializer_range, dtype=self.dtype) \
            if self.add_pooling_layer else None  # fmt: skip


class FlaxMPNetPreTrainedModel(FlaxPreTrainedModel):
    config_class = MPNetConfig
    base_model_prefix = "mpnet"
    base_module = FlaxMPNetModule
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"lm_head\.decoder\.(weight|bias)$"]

    def __call__(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, position_ids=position_ids,
                                **kwargs)  # fmt: skip


class FlaxMPNetModel(FlaxMPNetPreTrainedModel):
    module_class = FlaxMPNetModule


class FlaxMPNetForMaskedLM(FlaxLanguageModelingModel, FlaxMPNetPreTrainedModel):
    lm_head = LMHead  # dense -> gelu -> layer_norm -> decoder (tied) + bias
    embedding_path = ("embeddings", "word_embeddings", "embedding")


class FlaxMPNetForSequenceClassification(FlaxSequenceClassificationModel, FlaxMPNetPreTrainedModel):
    pass


class FlaxMPNetForMultipleChoice(FlaxMultipleChoiceModel, FlaxMPNetPreTrainedModel):
    pass


class FlaxMPNetForTokenClassification(FlaxTokenClassificationModel, FlaxMPNetPreTrainedModel):
    pass


class FlaxMPNetForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxMPNetPreTrainedModel):
    pass
