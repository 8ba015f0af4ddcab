"""BERT in Flax (linen): the shared encoder blocks under transformers' Flax names (so flax_model.msgpack files
interchange), and its heads."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.bert import BertConfig

from ..activations import get_activation
from ..blocks.encoder import Embeddings, Encoder, EncoderModule, Pooler, TiedDense, dense
from ..blocks.norms import LayerNorm
from ..heads import (
    FlaxLanguageModelingModel,
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTokenClassificationModel,
)
from ..modeling import FlaxPreTrainedModel


class FlaxBertModule(EncoderModule):
    def setup(self):
        self.options = self.config.encoder_options()
        self.embeddings = Embeddings(self.options, dtype=self.dtype)
        self.encoder = Encoder(self.options, dtype=self.dtype)
        self.pooler = Pooler(self.config.hidden_size, self.config.initializer_range, dtype=self.dtype) \
            if self.add_pooling_layer else None  # fmt: skip


class FlaxBertPredictionHeadTransform(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        hidden = get_activation(c.hidden_act)(dense(c.hidden_size, c.initializer_range, self.dtype, "dense")(hidden))
        return LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(hidden)


class FlaxBertLMPredictionHead(nn.Module):
    """transform -> vocabulary scores (tied unless the config unties them) + bias."""

    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden, shared_embedding):
        c = self.config
        hidden = FlaxBertPredictionHeadTransform(c, dtype=self.dtype, name="transform")(hidden)
        decoder = TiedDense(c.vocab_size, c.tie_word_embeddings, False, c.initializer_range, self.dtype, name="decoder")
        scores = decoder(hidden, shared_embedding)
        return scores + self.param("bias", nn.initializers.zeros, (c.vocab_size,)).astype(self.dtype)


class FlaxBertOnlyMLMHead(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden, shared_embedding):
        return FlaxBertLMPredictionHead(self.config, dtype=self.dtype, name="predictions")(hidden, shared_embedding)


class FlaxBertPreTrainingHeads(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden, pooled, shared_embedding):
        scores = FlaxBertLMPredictionHead(self.config, dtype=self.dtype, name="predictions")(hidden, shared_embedding)
        return scores, nn.Dense(2, dtype=self.dtype, name="seq_relationship")(pooled)


class FlaxBertOnlyNSPHead(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pooled):
        return nn.Dense(2, dtype=self.dtype, name="seq_relationship")(pooled)


class FlaxBertForPreTrainingModule(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_ids, return_dict=True, **kwargs):
        bert = FlaxBertModule(self.config, dtype=self.dtype, name="bert")
        encoded = bert(input_ids, **kwargs)
        shared = bert.variables["params"]["embeddings"]["word_embeddings"]["embedding"]
        heads = FlaxBertPreTrainingHeads(self.config, dtype=self.dtype, name="cls")
        scores, relationship = heads(encoded.last_hidden_state, encoded.pooler_output, shared)
        result = out.from_encoded(out.BertForPreTrainingOutput, encoded, prediction_logits=scores,
                                  seq_relationship_logits=relationship)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxBertForNextSentencePredictionModule(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_ids, return_dict=True, **kwargs):
        encoded = FlaxBertModule(self.config, dtype=self.dtype, name="bert")(input_ids, **kwargs)
        logits = FlaxBertOnlyNSPHead(self.config, dtype=self.dtype, name="cls")(encoded.pooler_output)
        return out.finish(out.from_encoded(out.NextSentencePredictorOutput, encoded, logits=logits), return_dict)


class FlaxBertPreTrainedModel(FlaxPreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    base_module = FlaxBertModule
    # Older PyTorch checkpoints store the position ids buffer and the decoder's copies of the tied
    # embedding matrix and of cls.predictions.bias; the Flax tree has no such leaves.
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"cls\.predictions\.decoder\.(weight|bias)$"]

    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, token_type_ids=token_type_ids,
                                position_ids=position_ids, **kwargs)  # fmt: skip


class FlaxBertModel(FlaxBertPreTrainedModel):
    module_class = FlaxBertModule


class FlaxBertForPreTraining(FlaxBertPreTrainedModel):
    module_class = FlaxBertForPreTrainingModule


class FlaxBertForNextSentencePrediction(FlaxBertPreTrainedModel):
    module_class = FlaxBertForNextSentencePredictionModule


class FlaxBertForMaskedLM(FlaxLanguageModelingModel, FlaxBertPreTrainedModel):
    lm_head = FlaxBertOnlyMLMHead
    embedding_path = ("embeddings", "word_embeddings", "embedding")


class FlaxBertLMHeadModel(FlaxBertForMaskedLM):
    """BERT as a causal LM (transformers' name: FlaxBertForCausalLM); causal when config.is_decoder."""

    output_class = out.CausalLMOutputWithCrossAttentions


FlaxBertForCausalLM = FlaxBertLMHeadModel


class FlaxBertForSequenceClassification(FlaxSequenceClassificationModel, FlaxBertPreTrainedModel):
    pass


class FlaxBertForMultipleChoice(FlaxMultipleChoiceModel, FlaxBertPreTrainedModel):
    pass


class FlaxBertForTokenClassification(FlaxTokenClassificationModel, FlaxBertPreTrainedModel):
    pass


class FlaxBertForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxBertPreTrainedModel):
    pass
