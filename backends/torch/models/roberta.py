"""RoBERTa in PyTorch: BERT's encoder with positions counted from padding_idx + 1 and its own LM head."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.roberta import RobertaConfig

from ..activations import get_activation
from ..losses import causal_lm_loss, sequence_classification_loss, span_loss, token_loss
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


class _RobertaHead(RobertaPreTrainedModel):
    def _encode(self, input_ids, kwargs):
        return self.roberta(input_ids, **{k: kwargs.get(k) for k in bert._ENCODER_ARGS}, return_dict=True)


class RobertaForMaskedLM(_RobertaHead):
    _tied_weights_keys = ["lm_head.decoder.weight"]
    causal = False

    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.roberta.causal = self.causal
        self.lm_head = RobertaLMHead(config)

    def get_output_embeddings(self):
        return self.lm_head.decoder

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        logits = self.lm_head(encoded.last_hidden_state)
        if self.causal:
            loss = causal_lm_loss(logits, labels) if labels is not None else None
            result = out.CausalLMOutputWithCrossAttentions(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        else:
            loss = token_loss(logits, labels) if labels is not None else None
            result = out.MaskedLMOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        return self._finish(result, return_dict)


class RobertaForCausalLM(RobertaForMaskedLM):
    causal = True


class RobertaClassificationHead(nn.Module):
    def __init__(self, config: RobertaConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = bert._classifier_dropout(config)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, hidden):
        return self.out_proj(self.dropout(torch.tanh(self.dense(self.dropout(hidden[:, 0])))))


class RobertaForSequenceClassification(_RobertaHead):
    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.classifier = RobertaClassificationHead(config)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        logits = self.classifier(encoded.last_hidden_state)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return self._finish(out.SequenceClassifierOutput(loss=loss, logits=logits,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class RobertaForMultipleChoice(_RobertaHead):
    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.roberta = RobertaModel(config)
        self.dropout = bert._classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, 1)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        choices = input_ids.shape[1]
        flat = {k: (v.flatten(0, 1) if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}
        encoded = self._encode(input_ids.flatten(0, 1), flat)
        logits = self.classifier(self.dropout(encoded.pooler_output)).view(-1, choices)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.MultipleChoiceModelOutput(loss=loss, logits=logits,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class RobertaForTokenClassification(_RobertaHead):
    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.dropout = bert._classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        logits = self.classifier(self.dropout(encoded.last_hidden_state))
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.TokenClassifierOutput(loss=loss, logits=logits,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class RobertaForQuestionAnswering(_RobertaHead):
    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids=None, start_positions=None, end_positions=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        start, end = self.qa_outputs(encoded.last_hidden_state).split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        loss = span_loss(start, end, start_positions, end_positions) if start_positions is not None else None
        return self._finish(out.QuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip
