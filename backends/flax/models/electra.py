"""ELECTRA in Flax: the shared encoder blocks under transformers' Flax ELECTRA names, the discriminator's
pre-training head and the generator's LM head."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.electra import ElectraConfig

from ..activations import get_activation
from ..blocks.encoder import Embeddings, Encoder, EncoderModule, SequenceSummary, TiedDense, dense
from ..blocks.norms import LayerNorm
from ..heads import (
    FlaxMultipleChoiceModel,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTaskModel,
    FlaxTokenClassificationModel,
    HeadModule,
    MultipleChoiceModule,
)
from ..modeling import FlaxPreTrainedModel


class FlaxElectraModule(EncoderModule):
    output_class = out.BaseModelOutputWithCrossAttentions

    def setup(self):
        c = self.config
        self.options = c.encoder_options()
        self.embeddings = Embeddings(self.options, dtype=self.dtype)
        self.embeddings_project = dense(c.hidden_size, c.initializer_range, self.dtype) \
            if c.projects_embeddings else None  # fmt: skip
        self.encoder = Encoder(self.options, dtype=self.dtype)
        self.pooler = None

    def embed(self, input_ids, token_type_ids, position_ids, inputs_embeds, deterministic):
        hidden = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds, deterministic)
        return self.embeddings_project(hidden) if self.embeddings_project is not None else hidden


class FlaxElectraForPreTrainingModule(HeadModule):
    """dense -> hidden_act -> dense_prediction: one "replaced?" logit per token."""

    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        c = self.config
        encoded = self.encode(input_ids, deterministic=deterministic, **kwargs)
        head = _DiscriminatorPredictions(c, dtype=self.dtype, name="discriminator_predictions")
        logits = head(encoded.last_hidden_state)
        return out.finish(out.from_encoded(out.ElectraForPreTrainingOutput, encoded, logits=logits), return_dict)


class _DiscriminatorPredictions(nn.Module):
    config: ElectraConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        hidden = get_activation(c.hidden_act)(dense(c.hidden_size, c.initializer_range, self.dtype, "dense")(hidden))
        return dense(1, c.initializer_range, self.dtype, "dense_prediction")(hidden).squeeze(-1)


class _GeneratorPredictions(nn.Module):
    """dense (hidden -> embedding_size) -> gelu -> LayerNorm."""

    config: ElectraConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        hidden = get_activation("gelu")(dense(c.embedding_size, c.initializer_range, self.dtype, "dense")(hidden))
        return LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(hidden)


class FlaxElectraForMaskedLMModule(HeadModule):
    """The generator: generator_predictions, then generator_lm_head (tied to the word embeddings, with a bias)."""

    output_class = out.MaskedLMOutput

    @nn.compact
    def __call__(self, input_ids, deterministic=True, return_dict=True, **kwargs):
        c = self.config
        base = self.base()
        encoded = base(input_ids, deterministic=deterministic, **kwargs)
        hidden = _GeneratorPredictions(c, dtype=self.dtype, name="generator_predictions")(encoded.last_hidden_state)
        shared = base.variables["params"]["embeddings"]["word_embeddings"]["embedding"]
        head = TiedDense(c.vocab_size, c.tie_word_embeddings, True, c.initializer_range, self.dtype,
                         name="generator_lm_head")  # fmt: skip
        return out.finish(out.from_encoded(self.output_class, encoded, logits=head(hidden, shared)), return_dict)


class FlaxElectraForCausalLMModule(FlaxElectraForMaskedLMModule):
    output_class = out.CausalLMOutputWithCrossAttentions


class FlaxElectraForMultipleChoiceModule(MultipleChoiceModule):
    def pool(self, encoded, *args, **kwargs):
        summary = SequenceSummary(self.config.multiple_choice_summary(), self.config.initializer_range, self.dtype,
                                  name="sequence_summary")  # fmt: skip
        return summary(encoded.last_hidden_state)


class FlaxElectraPreTrainedModel(FlaxPreTrainedModel):
    config_class = ElectraConfig
    base_model_prefix = "electra"
    base_module = FlaxElectraModule
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"generator_lm_head\.weight$"]

    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, **kwargs):
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids.")
        return super().__call__(jnp.asarray(input_ids), attention_mask=attention_mask, token_type_ids=token_type_ids,
                                position_ids=position_ids, **kwargs)  # fmt: skip


class FlaxElectraModel(FlaxElectraPreTrainedModel):
    module_class = FlaxElectraModule


class FlaxElectraForPreTraining(FlaxTaskModel, FlaxElectraPreTrainedModel):
    module_class = FlaxElectraForPreTrainingModule


class FlaxElectraForMaskedLM(FlaxTaskModel, FlaxElectraPreTrainedModel):
    module_class = FlaxElectraForMaskedLMModule


class FlaxElectraForCausalLM(FlaxTaskModel, FlaxElectraPreTrainedModel):
    module_class = FlaxElectraForCausalLMModule


class FlaxElectraForSequenceClassification(FlaxSequenceClassificationModel, FlaxElectraPreTrainedModel):
    pass


class FlaxElectraForMultipleChoice(FlaxMultipleChoiceModel, FlaxElectraPreTrainedModel):
    module_class = FlaxElectraForMultipleChoiceModule


class FlaxElectraForTokenClassification(FlaxTokenClassificationModel, FlaxElectraPreTrainedModel):
    pass


class FlaxElectraForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxElectraPreTrainedModel):
    pass
