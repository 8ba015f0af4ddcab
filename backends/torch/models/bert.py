"""BERT in PyTorch: the encoder and its task heads, with the canonical (Hub) parameter names."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.bert import BertConfig

from ..activations import get_activation
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


def additive_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype, causal_len: int | None = None):
    """[batch, seq] 1/0 mask -> [batch, 1, q, seq] additive mask (0 keep, dtype min drop), or None."""
    neg = torch.finfo(dtype).min
    mask = None
    if attention_mask is not None:
        mask = (1.0 - attention_mask[:, None, None, :].to(dtype)) * neg
    if causal_len is not None:
        causal = torch.full((causal_len, causal_len), neg, dtype=dtype).triu(1)[None, None]
        mask = causal if mask is None else (mask + causal).clamp(min=neg)
    return mask


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.max_positions = config.max_position_embeddings

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        seq_len = embeds.shape[1]
        if seq_len > self.max_positions:
            raise ValueError(
                f"Sequence length {seq_len} is longer than max_position_embeddings ({self.max_positions}); "
                "truncate the inputs."
            )
        if position_ids is None:
            position_ids = torch.arange(seq_len, device=embeds.device)[None]
        if token_type_ids is None:
            token_type_ids = torch.zeros(embeds.shape[:2], dtype=torch.long, device=embeds.device)
        embeds = embeds + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeds))


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask, output_attentions=False):
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(hidden)), self._heads(self.value(hidden))
        dropout = self.dropout_p if self.training else 0.0
        if output_attentions:
            scores = q @ k.transpose(-1, -2) / self.head_dim**0.5
            if mask is not None:
                scores = scores + mask
            probs = nn.functional.dropout(scores.softmax(-1), dropout, self.training)
            context = probs @ v
        else:
            probs = None
            context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        context = context.transpose(1, 2).reshape(hidden.shape)
        return context, probs


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden, residual):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden, mask, output_attentions=False):
        context, probs = self.self(hidden, mask, output_attentions)
        return self.output(context, hidden), probs


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = get_activation(config.hidden_act)

    def forward(self, hidden):
        return self.act(self.dense(hidden))


class BertOutput(BertSelfOutput):
    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden, mask, output_attentions=False):
        attended, probs = self.attention(hidden, mask, output_attentions)
        return self.output(self.intermediate(attended), attended), probs


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, hidden, mask, output_attentions=False, output_hidden_states=False):
        all_hidden = (hidden,) if output_hidden_states else None
        all_attn = () if output_attentions else None
        for layer in self.layer:
            hidden, probs = layer(hidden, mask, output_attentions)
            if output_hidden_states:
                all_hidden += (hidden,)
            if output_attentions:
                all_attn += (probs,)
        return hidden, all_hidden, all_attn


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden):
        return torch.tanh(self.dense(hidden[:, 0]))


class BertPreTrainedModel(PreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"cls\.predictions\.decoder\.bias$"]


class BertModel(BertPreTrainedModel):
    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.causal = config.is_decoder

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        output_attentions = self._flag(output_attentions, "output_attentions")
        output_hidden_states = self._flag(output_hidden_states, "output_hidden_states")
        hidden = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        mask = additive_mask(attention_mask, hidden.dtype, hidden.shape[1] if self.causal else None)
        hidden, all_hidden, all_attn = self.encoder(hidden, mask, output_attentions, output_hidden_states)
        pooled = self.pooler(hidden) if self.pooler is not None else None
        result = out.BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden, pooler_output=pooled, hidden_states=all_hidden, attentions=all_attn
        )
        return self._finish(result, return_dict)


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


class BertLMHeadModel(BertForMaskedLM):
    """BERT as a left-to-right language model: causal when the config says is_decoder, as in transformers."""

    causal = True
    output_class = out.CausalLMOutputWithCrossAttentions

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        kwargs.pop("past_key_values", None)
        kwargs.pop("use_cache", None)
        return super().forward(input_ids, labels=labels, return_dict=return_dict, **kwargs)


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
