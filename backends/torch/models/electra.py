"""ELECTRA in PyTorch: the shared encoder blocks (embeddings of their own width, projected by embeddings_project
when it differs from hidden_size), the discriminator's pre-training head and the generator's LM head."""

from __future__ import annotations

from torch import nn

from autoload import outputs as out
from autoload.models.electra import ElectraConfig

from ..activations import get_activation
from ..blocks.encoder import Embeddings, Encoder, EncoderCausalLM, EncoderModel, SequenceSummary
from ..heads import (
    LanguageModelingModel,
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TaskModel,
    TokenClassificationModel,
)
from ..modeling import PreTrainedModel


def replaced_token_loss(logits, labels, attention_mask=None):
    """Binary cross entropy of the discriminator's logits, over the attended positions when a mask is given."""
    labels = labels.to(logits.dtype)
    if attention_mask is not None:
        active = attention_mask.reshape(logits.shape) == 1
        logits, labels = logits[active], labels[active]
    return nn.functional.binary_cross_entropy_with_logits(logits, labels)


class ElectraPreTrainedModel(PreTrainedModel):
    config_class = ElectraConfig
    base_model_prefix = "electra"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$"]


class ElectraModel(EncoderModel, ElectraPreTrainedModel):
    output_class = out.BaseModelOutputWithCrossAttentions

    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        self.options = config.encoder_options()
        self.embeddings = Embeddings(self.options)
        if config.projects_embeddings:
            self.embeddings_project = nn.Linear(config.embedding_size, config.hidden_size)
        self.encoder = Encoder(self.options)

    def embed(self, input_ids, token_type_ids, position_ids, inputs_embeds):
        hidden = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        return self.embeddings_project(hidden) if hasattr(self, "embeddings_project") else hidden


class ElectraDiscriminatorPredictions(nn.Module):
    """dense -> hidden_act -> dense_prediction: one "replaced?" logit per token."""

    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = get_activation(config.hidden_act)
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, hidden):
        return self.dense_prediction(self.activation(self.dense(hidden))).squeeze(-1)


class ElectraGeneratorPredictions(nn.Module):
    """dense (hidden -> embedding_size) -> gelu -> LayerNorm."""

    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.activation = get_activation("gelu")
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)

    def forward(self, hidden):
        return self.LayerNorm(self.activation(self.dense(hidden)))


class ElectraForPreTraining(TaskModel, ElectraPreTrainedModel):
    base_class = ElectraModel

    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        self.discriminator_predictions = ElectraDiscriminatorPredictions(config)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        logits = self.discriminator_predictions(encoded.last_hidden_state)
        loss = replaced_token_loss(logits, labels, kwargs.get("attention_mask")) if labels is not None else None
        result = out.from_encoded(out.ElectraForPreTrainingOutput, encoded, loss=loss, logits=logits)
        return self._finish(result, return_dict)


class ElectraForMaskedLM(LanguageModelingModel, ElectraPreTrainedModel):
    """The generator: generator_predictions, then generator_lm_head (embedding_size -> vocabulary, with a bias;
    its weight tied to the word embeddings)."""

    base_class = ElectraModel
    _tied_weights_keys = ["generator_lm_head.weight"]

    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        self.generator_predictions = ElectraGeneratorPredictions(config)

    def build_lm_head(self, config):
        return nn.Linear(config.embedding_size, config.vocab_size)

    def lm_logits(self, hidden):
        return self.generator_lm_head(self.generator_predictions(hidden))

    def get_output_embeddings(self):
        return self.generator_lm_head


class ElectraForCausalLM(EncoderCausalLM, ElectraForMaskedLM):
    pass


class ElectraForSequenceClassification(SequenceClassificationModel, ElectraPreTrainedModel):
    base_class = ElectraModel


class ElectraForMultipleChoice(MultipleChoiceModel, ElectraPreTrainedModel):
    base_class = ElectraModel

    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        self.sequence_summary = SequenceSummary(config.hidden_size, config.multiple_choice_summary())

    def pool(self, encoded, *args, **kwargs):
        return self.sequence_summary(encoded.last_hidden_state)


class ElectraForTokenClassification(TokenClassificationModel, ElectraPreTrainedModel):
    base_class = ElectraModel


class ElectraForQuestionAnswering(QuestionAnsweringModel, ElectraPreTrainedModel):
    base_class = ElectraModel
