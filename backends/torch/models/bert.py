"""BERT in PyTorch: the shared encoder blocks under BERT's names, and its task heads."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.bert import BertConfig

from ..activations import get_activation
from ..blocks.encoder import Embeddings, Encoder, EncoderCausalLM, EncoderModel, Pooler
from ..heads import (
    LanguageModelingModel,
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TaskModel,
    TokenClassificationModel,
)
from ..losses import token_loss
from ..modeling import PreTrainedModel


class BertPreTrainedModel(PreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"cls\.predictions\.decoder\.bias$"]


class BertModel(EncoderModel, BertPreTrainedModel):
    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.options = config.encoder_options()
        self.embeddings = Embeddings(self.options)
        self.encoder = Encoder(self.options)
        self.pooler = Pooler(config.hidden_size) if add_pooling_layer else None


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden):
        return self.LayerNorm(self.act(self.dense(hidden)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden):
        return self.decoder(self.transform(hidden)) + self.bias


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, hidden):
        return self.predictions(hidden)


class BertOnlyNSPHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled):
        return self.seq_relationship(pooled)


class BertPreTrainingHeads(BertOnlyMLMHead):
    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)


class BertForPreTraining(TaskModel, BertPreTrainedModel):
    base_class = BertModel
    _tied_weights_keys = ["cls.predictions.decoder.weight"]

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.cls = BertPreTrainingHeads(config)

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def forward(self, input_ids=None, labels=None, next_sentence_label=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        scores = self.cls.predictions(encoded.last_hidden_state)
        relationship = self.cls.seq_relationship(encoded.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = token_loss(scores, labels) + token_loss(relationship, next_sentence_label)
        result = out.from_encoded(out.BertForPreTrainingOutput, encoded, loss=loss, prediction_logits=scores,
                                  seq_relationship_logits=relationship)  # fmt: skip
        return self._finish(result, return_dict)


class BertForMaskedLM(LanguageModelingModel, BertPreTrainedModel):
    base_class = BertModel
    _tied_weights_keys = ["cls.predictions.decoder.weight"]

    def build_lm_head(self, config):
        return BertOnlyMLMHead(config)

    def get_output_embeddings(self):
        return self.cls.predictions.decoder


class BertLMHeadModel(EncoderCausalLM, BertForMaskedLM):
    """BERT as a left-to-right language model: causal when the config says is_decoder, as in transformers."""


class BertForNextSentencePrediction(TaskModel, BertPreTrainedModel):
    base_class = BertModel

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.cls = BertOnlyNSPHead(config)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        labels = labels if labels is not None else kwargs.pop("next_sentence_label", None)
        encoded = self.encode(input_ids, **kwargs)
        logits = self.cls(encoded.pooler_output)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.NextSentencePredictorOutput, encoded, loss=loss, logits=logits),
                            return_dict)  # fmt: skip


class BertForSequenceClassification(SequenceClassificationModel, BertPreTrainedModel):
    base_class = BertModel


class BertForMultipleChoice(MultipleChoiceModel, BertPreTrainedModel):
    base_class = BertModel


class BertForTokenClassification(TokenClassificationModel, BertPreTrainedModel):
    base_class = BertModel


class BertForQuestionAnswering(QuestionAnsweringModel, BertPreTrainedModel):
    base_class = BertModel
