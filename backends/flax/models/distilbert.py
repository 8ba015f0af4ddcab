"""DistilBERT in Flax: the shared encoder blocks under transformers' Flax DistilBERT names, and its heads."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.encoder import EncoderOptions
from autoload.models.distilbert import DistilBertConfig

from ..activations import get_activation
from ..blocks.encoder import Embeddings, Encoder, EncoderModule, TiedDense, dense, self_attention
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


class FlaxFFN(nn.Module):
    options: EncoderOptions
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, deterministic=True):
        o = self.options
        x = get_activation(o.hidden_act)(dense(o.intermediate_size, o.initializer_range, self.dtype, "lin1")(x))
        x = dense(o.hidden_size, o.initializer_range, self.dtype, "lin2")(x)
        return nn.Dropout(o.hidden_dropout)(x, deterministic=deterministic)


class FlaxTransformerBlock(nn.Module):
    """attention (with its own out_lin) -> sa_layer_norm(+ residual) -> ffn -> output_layer_norm(+ residual)."""

    options: EncoderOptions
    dtype: Any = jnp.float32

    def setup(self):
        o = self.options
        self.attention = self_attention(o, self.dtype, names=("q_lin", "k_lin", "v_lin"), output="out_lin")
        self.sa_layer_norm = LayerNorm(epsilon=o.layer_norm_eps, dtype=self.dtype)
        self.ffn = FlaxFFN(o, dtype=self.dtype)
        self.output_layer_norm = LayerNorm(epsilon=o.layer_norm_eps, dtype=self.dtype)

    def __call__(self, hidden, bias=None, head_mask=None, deterministic=True, output_attentions=False):
        attended, probs = self.attention(hidden, bias, None, None, head_mask, deterministic, output_attentions)
        hidden = self.sa_layer_norm(attended + hidden)
        return self.output_layer_norm(self.ffn(hidden, deterministic) + hidden), probs, None


class FlaxDistilBertModule(EncoderModule):
    output_class = out.BaseModelOutput
    encoder_name = "transformer"

    def setup(self):
        self.options = self.config.encoder_options()
        self.embeddings = Embeddings(self.options, dtype=self.dtype)
        self.transformer = Encoder(self.options, FlaxTransformerBlock, dtype=self.dtype)
        self.pooler = None


class FlaxDistilBertForMaskedLMModule(HeadModule):
    """vocab_transform -> activation -> vocab_layer_norm -> vocab_projector (tied to the word embeddings)."""

    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        c = self.config
        base = self.base()
        encoded = base(input_ids, deterministic=deterministic, **kwargs)
        hidden = dense(c.dim, c.initializer_range, self.dtype, "vocab_transform")(encoded.last_hidden_state)
        hidden = LayerNorm(epsilon=1e-12, dtype=self.dtype, name="vocab_layer_norm")(
            get_activation(c.activation)(hidden))
        shared = base.variables["params"]["embeddings"]["word_embeddings"]["embedding"]
        projector = TiedDense(c.vocab_size, c.tie_word_embeddings, True, c.initializer_range, self.dtype,
                              name="vocab_projector")  # fmt: skip
        logits = projector(hidden, shared)
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, logits=logits), return_dict)


class PreClassifier:
    """The first token through pre_classifier (dim -> dim) and ReLU, before the head's dropout and classifier."""

    def pool(self, encoded, *args, **kwargs):
        pooled = super().pool(encoded, *args, **kwargs)
        return nn.relu(dense(self.config.dim, self.config.initializer_range, self.dtype, "pre_classifier")(pooled))


class FlaxDistilBertSequenceClassificationModule(PreClassifier, SequenceClassificationModule):
    pass


class FlaxDistilBertMultipleChoiceModule(PreClassifier, MultipleChoiceModule):
    pass


class FlaxDistilBertPreTrainedModel(FlaxPreTrainedModel):
    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    base_module = FlaxDistilBertModule
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"vocab_projector\.weight$"]

    def __call__(self, input_ids=None, attention_mask=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, **kwargs)


class FlaxDistilBertModel(FlaxDistilBertPreTrainedModel):
    module_class = FlaxDistilBertModule


class FlaxDistilBertForMaskedLM(FlaxTaskModel, FlaxDistilBertPreTrainedModel):
    module_class = FlaxDistilBertForMaskedLMModule


class FlaxDistilBertForSequenceClassification(FlaxSequenceClassificationModel, FlaxDistilBertPreTrainedModel):
    module_class = FlaxDistilBertSequenceClassificationModule


class FlaxDistilBertForMultipleChoice(FlaxMultipleChoiceModel, FlaxDistilBertPreTrainedModel):
    module_class = FlaxDistilBertMultipleChoiceModule


class FlaxDistilBertForTokenClassification(FlaxTokenClassificationModel, FlaxDistilBertPreTrainedModel):
    pass


class FlaxDistilBertForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxDistilBertPreTrainedModel):
    pass
