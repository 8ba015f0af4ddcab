"""DistilBERT in PyTorch: a 6-layer BERT without token types or pooler, and its task heads."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autoload import outputs as out
from autoload.models.distilbert import DistilBertConfig

from ..activations import get_activation
from ..losses import sequence_classification_loss, span_loss, token_loss
from ..modeling import PreTrainedModel
from .bert import additive_mask


def sinusoidal_table(positions: int, dim: int) -> torch.Tensor:
    angles = np.array([[p / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for p in range(positions)])
    table = np.zeros((positions, dim), dtype=np.float32)
    table[:, 0::2], table[:, 1::2] = np.sin(angles[:, 0::2]), np.cos(angles[:, 1::2])
    return torch.from_numpy(table)


class Embeddings(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.dim, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.dim)
        self.LayerNorm = nn.LayerNorm(config.dim, eps=1e-12)
        self.dropout = nn.Dropout(config.dropout)
        self.sinusoidal = config.sinusoidal_pos_embds
        self.max_positions = config.max_position_embeddings

    def forward(self, input_ids=None, inputs_embeds=None):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        length = embeds.shape[1]
        if length > self.max_positions:
            raise ValueError(f"Sequence length {length} is longer than max_position_embeddings ({self.max_positions}).")
        if self.sinusoidal:
            positions = sinusoidal_table(self.max_positions, embeds.shape[-1]).to(embeds)[:length][None]
        else:
            positions = self.position_embeddings(torch.arange(length, device=embeds.device))[None]
        return self.dropout(self.LayerNorm(embeds + positions))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.num_heads, self.head_dim = config.n_heads, config.dim // config.n_heads
        self.q_lin, self.k_lin = nn.Linear(config.dim, config.dim), nn.Linear(config.dim, config.dim)
        self.v_lin, self.out_lin = nn.Linear(config.dim, config.dim), nn.Linear(config.dim, config.dim)
        self.dropout = config.attention_dropout

    def _heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask):
        q, k, v = self._heads(self.q_lin(hidden)), self._heads(self.k_lin(hidden)), self._heads(self.v_lin(hidden))
        dropout = self.dropout if self.training else 0.0
        context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        return self.out_lin(context.transpose(1, 2).reshape(hidden.shape))


class FFN(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.lin1 = nn.Linear(config.dim, config.hidden_dim)
        self.lin2 = nn.Linear(config.hidden_dim, config.dim)
        self.activation = get_activation(config.activation)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.lin2(self.activation(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.attention = MultiHeadSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)
        self.ffn = FFN(config)
        self.output_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)

    def forward(self, hidden, mask):
        hidden = self.sa_layer_norm(self.attention(hidden, mask) + hidden)
        return self.output_layer_norm(self.ffn(hidden) + hidden)


class Transformer(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.layer = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layers))

    def forward(self, hidden, mask):
        states = (hidden,)
        for layer in self.layer:
            hidden = layer(hidden, mask)
            states += (hidden,)
        return hidden, states


class DistilBertPreTrainedModel(PreTrainedModel):
    config_class = DistilBertConfig
    base_model_prefix = "distilbert"

    def _encode(self, input_ids, kwargs):
        return self.distilbert(input_ids, attention_mask=kwargs.get("attention_mask"),
                               inputs_embeds=kwargs.get("inputs_embeds"),
                               output_hidden_states=kwargs.get("output_hidden_states"), return_dict=True)  # fmt: skip


class DistilBertModel(DistilBertPreTrainedModel):
    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.embeddings = Embeddings(config)
        self.transformer = Transformer(config)

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        hidden = self.embeddings(input_ids, inputs_embeds)
        hidden, states = self.transformer(hidden, additive_mask(attention_mask, hidden.dtype))
        keep = self._flag(output_hidden_states, "output_hidden_states")
        return self._finish(out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states if keep else None),
                            return_dict)  # fmt: skip


class DistilBertForMaskedLM(DistilBertPreTrainedModel):
    _tied_weights_keys = ["vocab_projector.weight"]

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.vocab_transform = nn.Linear(config.dim, config.dim)
        self.activation = get_activation(config.activation)
        self.vocab_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)
        self.vocab_projector = nn.Linear(config.dim, config.vocab_size)

    def get_output_embeddings(self):
        return self.vocab_projector

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        hidden = self.vocab_layer_norm(self.activation(self.vocab_transform(encoded.last_hidden_state)))
        logits = self.vocab_projector(hidden)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.MaskedLMOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states),
                            return_dict)  # fmt: skip


class DistilBertForSequenceClassification(DistilBertPreTrainedModel):
    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.dropout = nn.Dropout(config.seq_classif_dropout)

    def _pooled(self, hidden):
        return self.dropout(nn.functional.relu(self.pre_classifier(hidden[:, 0])))

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        logits = self.classifier(self._pooled(encoded.last_hidden_state))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return self._finish(out.SequenceClassifierOutput(loss=loss, logits=logits,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class DistilBertForMultipleChoice(DistilBertForSequenceClassification):
    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.classifier = nn.Linear(config.dim, 1)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        choices = input_ids.shape[1]
        flat = {k: (v.flatten(0, 1) if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}
        encoded = self._encode(input_ids.flatten(0, 1), flat)
        logits = self.classifier(self._pooled(encoded.last_hidden_state)).view(-1, choices)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.MultipleChoiceModelOutput(loss=loss, logits=logits,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class DistilBertForTokenClassification(DistilBertPreTrainedModel):
    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.dim, config.num_labels)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        logits = self.classifier(self.dropout(encoded.last_hidden_state))
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.TokenClassifierOutput(loss=loss, logits=logits,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip


class DistilBertForQuestionAnswering(DistilBertPreTrainedModel):
    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.qa_outputs = nn.Linear(config.dim, 2)
        self.dropout = nn.Dropout(config.qa_dropout)

    def forward(self, input_ids=None, start_positions=None, end_positions=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        start, end = self.qa_outputs(self.dropout(encoded.last_hidden_state)).split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        loss = span_loss(start, end, start_positions, end_positions) if start_positions is not None else None
        return self._finish(out.QuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end,
                            hidden_states=encoded.hidden_states), return_dict)  # fmt: skip
