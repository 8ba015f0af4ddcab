"""RoBERTa in PyTorch: BERT's encoder with positions counted from padding_idx + 1 and its own LM head."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.roberta import RobertaConfig

from ..activations import get_activation
from ..heads import (
    LanguageModelingModel,
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TokenClassificationModel,
)
from . import bert


def position_ids_from(input_ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """Real tokens get padding_idx + 1, + 2, …; padding keeps padding_idx (as the original model)."""
    real = input_ids.ne(padding_idx).int()
    return (torch.cumsum(real, dim=1) * real).long() + padding_idx


class RobertaEmbeddings(bert.BertEmbeddings):
    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size,
                                                padding_idx=config.pad_token_id)  # fmt: skip
        self.max_positions = config.max_position_embeddings - config.pad_token_id - 1

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None):
        if position_ids is None:
            if input_ids is not None:
                position_ids = position_ids_from(input_ids, self.padding_idx)
            else:
                length = inputs_embeds.shape[1]
                position_ids = torch.arange(self.padding_idx + 1, length + self.padding_idx + 1)[None]
        return super().forward(input_ids, token_type_ids, position_ids, inputs_embeds)


class RobertaPreTrainedModel(bert.BertPreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"lm_head\.decoder\.bias$"]


class RobertaModel(RobertaPreTrainedModel, bert.BertModel):
    def __init__(self, config: RobertaConfig, add_pooling_layer: bool = True):
        bert.BertModel.__init__(self, config, add_pooling_layer)
        self.embeddings = RobertaEmbeddings(config)


class RobertaLMHead(nn.Module):
    def __init__(self, config: RobertaConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.act = get_activation("gelu")

    def forward(self, hidden):
        return self.decoder(self.layer_norm(self.act(self.dense(hidden)))) + self.bias


class RobertaForMaskedLM(LanguageModelingModel, RobertaPreTrainedModel):
    base_class = RobertaModel
    _tied_weights_keys = ["lm_head.decoder.weight"]

    def build_lm_head(self, config):
        return RobertaLMHead(config)

    def get_output_embeddings(self):
        return self.lm_head.decoder


class RobertaForCausalLM(RobertaForMaskedLM):
    causal = True
    output_class = out.CausalLMOutputWithCrossAttentions


class RobertaForSequenceClassification(SequenceClassificationModel, RobertaPreTrainedModel):
    base_class = RobertaModel


class RobertaForMultipleChoice(MultipleChoiceModel, RobertaPreTrainedModel):
    base_class = RobertaModel


class RobertaForTokenClassification(TokenClassificationModel, RobertaPreTrainedModel):
    base_class = RobertaModel


class RobertaForQuestionAnswering(QuestionAnsweringModel, RobertaPreTrainedModel):
    base_class = RobertaModel
