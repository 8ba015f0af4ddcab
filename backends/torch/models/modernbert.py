"""ModernBERT in PyTorch: pre-norm layers with a fused Wqkv projection, rotary positions (global and
sliding-window local layers with their own bases), a gated MLP, and heads with a prediction head before the
classifier. Outputs equal transformers' (whose flash-attention path unpads the tokens) at every real token."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.modernbert import ModernBertConfig

from ..activations import get_activation
from ..attention import padding_mask
from ..blocks.encoder import EncoderOutput, per_layer_head_mask
from ..heads import (
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TaskModel,
    TokenClassificationModel,
    masked_mean,
)
from ..losses import token_loss
from ..modeling import PreTrainedModel
from ..rotary import apply_rotary, rotary_cos_sin


def window_mask(mask: torch.Tensor, length: int, window: int) -> torch.Tensor:
    """The additive padding mask, with keys more than `window` positions from the query blocked too."""
    positions = torch.arange(length, device=mask.device)
    far = (positions[None, :] - positions[:, None]).abs() > window
    return mask.expand(mask.shape[0], 1, length, length).masked_fill(far, torch.finfo(mask.dtype).min)


class ModernBertEmbeddings(nn.Module):
    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        self.drop = nn.Dropout(config.embedding_dropout)

    def forward(self, input_ids=None, inputs_embeds=None):
        return self.drop(self.norm(self.tok_embeddings(input_ids) if inputs_embeds is None else inputs_embeds))


class ModernBertAttention(nn.Module):
    def __init__(self, config: ModernBertConfig, index: int):
        super().__init__()
        self.num_heads, self.head_dim = config.num_attention_heads, config.hidden_size // config.num_attention_heads
        self.window, self.rope = config.window(index), config.rope_settings(index)
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=config.attention_bias)
        self.Wo = nn.Linear(config.hidden_size, config.hidden_size, bias=config.attention_bias)
        self.dropout = config.attention_dropout
        self.out_drop = nn.Dropout(config.attention_dropout)

    def forward(self, hidden, masks, positions, output_attentions=False, head_mask=None):
        batch, length, _ = hidden.shape
        q, k, v = self.Wqkv(hidden).view(batch, length, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        cos, sin = rotary_cos_sin(self.rope, positions, q.dtype)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        scores = q @ k.transpose(-1, -2) * self.head_dim**-0.5 + masks[self.window is not None]
        probs = nn.functional.dropout(scores.softmax(-1, dtype=torch.float32).to(q.dtype), self.dropout, self.training)
        if head_mask is not None:
            probs = probs * head_mask
        context = (probs @ v).transpose(1, 2).reshape(batch, length, -1)
        return self.out_drop(self.Wo(context)), (probs if output_attentions else None)


class ModernBertMLP(nn.Module):
    """Wi (to twice the intermediate size) -> act(input) * gate -> dropout -> Wo."""

    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.Wi = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=config.mlp_bias)
        self.act = get_activation(config.hidden_activation)
        self.drop = nn.Dropout(config.mlp_dropout)
        self.Wo = nn.Linear(config.intermediate_size, config.hidden_size, bias=config.mlp_bias)

    def forward(self, hidden):
        value, gate = self.Wi(hidden).chunk(2, dim=-1)
        return self.Wo(self.drop(self.act(value) * gate))


class ModernBertEncoderLayer(nn.Module):
    """attn_norm (none in the first layer) -> attn (+ residual) -> mlp_norm -> mlp (+ residual)."""

    def __init__(self, config: ModernBertConfig, index: int):
        super().__init__()
        self.attn_norm = nn.Identity() if index == 0 else \
            nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)  # fmt: skip
        self.attn = ModernBertAttention(config, index)
        self.mlp_norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        self.mlp = ModernBertMLP(config)

    def forward(self, hidden, masks, positions, output_attentions=False, head_mask=None):
        attended, probs = self.attn(self.attn_norm(hidden), masks, positions, output_attentions, head_mask)
        hidden = hidden + attended
        return hidden + self.mlp(self.mlp_norm(hidden)), probs


class ModernBertPreTrainedModel(PreTrainedModel):
    config_class = ModernBertConfig
    base_model_prefix = "model"


class ModernBertModel(ModernBertPreTrainedModel):
    def __init__(self, config: ModernBertConfig):
        super().__init__(config)
        config.check_supported()
        self.embeddings = ModernBertEmbeddings(config)
        self.layers = nn.ModuleList(ModernBertEncoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.final_norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)

    def get_input_embeddings(self):
        return self.embeddings.tok_embeddings

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None, head_mask=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        output_attentions = self._flag(output_attentions, "output_attentions")
        output_hidden_states = self._flag(output_hidden_states, "output_hidden_states")
        hidden = self.embeddings(input_ids, inputs_embeds)
        batch, length = hidden.shape[:2]
        if attention_mask is None:
            attention_mask = torch.ones(batch, length, dtype=torch.long, device=hidden.device)
        if position_ids is None:
            position_ids = torch.arange(length, device=hidden.device)[None]
        mask = padding_mask(attention_mask, hidden.dtype)
        masks = (mask, window_mask(mask, length, self.config.local_attention // 2))
        states, attentions = (hidden,), ()
        for layer, layer_head_mask in zip(self.layers, per_layer_head_mask(head_mask, len(self.layers))):
            hidden, probs = layer(hidden, masks, position_ids, output_attentions, layer_head_mask)
            states, attentions = states + (hidden,), attentions + (probs,)
        encoded = EncoderOutput(self.final_norm(hidden), states if output_hidden_states else None,
                                attentions if output_attentions else None, None)  # fmt: skip
        result = out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state,
                                     hidden_states=encoded.hidden_states, attentions=encoded.attentions)  # fmt: skip
        return self._finish(result, return_dict)


class ModernBertPredictionHead(nn.Module):
    """dense (classifier_bias) -> classifier_activation -> norm."""

    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size, bias=config.classifier_bias)
        self.act = get_activation(config.classifier_activation)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)

    def forward(self, hidden):
        return self.norm(self.act(self.dense(hidden)))


class ModernBertForMaskedLM(TaskModel, ModernBertPreTrainedModel):
    """head, then decoder (tied to the token embeddings; its bias as decoder_bias says). With sparse_prediction
    and labels, only the positions whose label is not sparse_pred_ignore_index are scored, as transformers does."""

    base_class = ModernBertModel
    _tied_weights_keys = ["decoder.weight"]

    def __init__(self, config: ModernBertConfig):
        super().__init__(config)
        self.head = ModernBertPredictionHead(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=config.decoder_bias)

    def get_output_embeddings(self):
        return self.decoder

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.encode(input_ids, **kwargs)
        hidden = encoded.last_hidden_state
        if self.config.sparse_prediction and labels is not None:
            labels = labels.reshape(-1)
            keep = labels != self.config.sparse_pred_ignore_index
            hidden, labels = hidden.reshape(labels.shape[0], -1)[keep], labels[keep]
        logits = self.decoder(self.head(hidden))
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.MaskedLMOutput, encoded, loss=loss, logits=logits), return_dict)


class WithPredictionHead:
    """The pooled (or per-token) states pass through `head` before the dropout and classifier."""

    def __init__(self, config, **base_kwargs):
        super().__init__(config, **base_kwargs)
        self.head = ModernBertPredictionHead(config)

    def output_layer(self, features):
        return super().output_layer(self.head(features))


class ModernBertForSequenceClassification(WithPredictionHead, SequenceClassificationModel, ModernBertPreTrainedModel):
    base_class = ModernBertModel

    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        return masked_mean(hidden, mask) if self.config.classifier_pooling == "mean" else hidden[:, 0]


class ModernBertForMultipleChoice(WithPredictionHead, MultipleChoiceModel, ModernBertPreTrainedModel):
    """"cls" pooling reads each choice's first attended position, as transformers does for this head."""

    base_class = ModernBertModel

    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        if self.config.classifier_pooling == "mean":
            return masked_mean(hidden, mask)
        first = mask.argmax(-1) if mask is not None else torch.zeros(hidden.shape[0], dtype=torch.long)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), first.to(hidden.device)]


class ModernBertForTokenClassification(WithPredictionHead, TokenClassificationModel, ModernBertPreTrainedModel):
    base_class = ModernBertModel


class ModernBertForQuestionAnswering(WithPredictionHead, QuestionAnsweringModel, ModernBertPreTrainedModel):
    base_class = ModernBertModel
