"""GPT-2 in PyTorch. Its projections are Conv1D layers: weights stored [in, out], applied as x @ W + b."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.gpt2 import GPT2Config

from ..activations import get_activation
from ..attention import causal_mask
from ..generation import GenerationMixin
from ..losses import causal_lm_loss, sequence_classification_loss, span_loss, token_loss
from ..modeling import PreTrainedModel


class Conv1D(nn.Module):
    def __init__(self, out_features: int, in_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


class GPT2Attention(nn.Module):
    def __init__(self, config: GPT2Config, layer_idx: int):
        super().__init__()
        self.num_heads = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.c_attn = Conv1D(3 * config.n_embd, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, config.n_embd)
        self.attn_dropout = config.attn_pdrop
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        scale = self.head_dim**-0.5 if config.scale_attn_weights else 1.0
        self.scale = scale / (layer_idx + 1) if config.scale_attn_by_inverse_layer_idx else scale

    def _heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask, past=None):
        q, k, v = (self._heads(t) for t in self.c_attn(hidden).split(hidden.shape[-1], dim=2))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        dropout = self.attn_dropout if self.training else 0.0
        context = nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=dropout, scale=self.scale
        )
        context = context.transpose(1, 2).reshape(hidden.shape)
        return self.resid_dropout(self.c_proj(context)), (k, v)


class GPT2MLP(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        inner = config.n_inner or 4 * config.n_embd
        self.c_fc = Conv1D(inner, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, inner)
        self.act = get_activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, hidden):
        return self.dropout(self.c_proj(self.act(self.c_fc(hidden))))


class GPT2Block(nn.Module):
    def __init__(self, config: GPT2Config, layer_idx: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config)

    def forward(self, hidden, mask, past=None):
        attended, cache = self.attn(self.ln_1(hidden), mask, past)
        hidden = hidden + attended
        return hidden + self.mlp(self.ln_2(hidden)), cache


class GPT2PreTrainedModel(PreTrainedModel):
    config_class = GPT2Config
    base_model_prefix = "transformer"
    _keys_to_ignore_on_load_unexpected = [r"attn\.masked_bias", r"attn\.bias$"]

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, Conv1D):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            nn.init.zeros_(module.bias)


class GPT2Model(GPT2PreTrainedModel):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList(GPT2Block(config, i) for i in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def get_input_embeddings(self):
        return self.wte

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                past_key_values=None, inputs_embeds=None, use_cache=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        embeds = self.wte(input_ids) if inputs_embeds is None else inputs_embeds
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        length = embeds.shape[1]
        if past_length + length > self.config.n_positions:
            raise ValueError(
                f"Sequence length {past_length + length} is longer than n_positions ({self.config.n_positions})."
            )
        if position_ids is None:
            position_ids = torch.arange(past_length, past_length + length, device=embeds.device)[None]
        hidden = embeds + self.wpe(position_ids)
        if token_type_ids is not None:
            hidden = hidden + self.wte(token_type_ids)
        hidden = self.drop(hidden)
        mask = causal_mask(length, past_length, attention_mask, hidden.dtype, hidden.device)
        keep = self._flag(output_hidden_states, "output_hidden_states")
        states, caches = (), ()
        for i, block in enumerate(self.h):
            states += (hidden,)
            hidden, cache = block(hidden, mask, past_key_values[i] if past_key_values else None)
            caches += (cache,)
        hidden = self.ln_f(hidden)
        states += (hidden,)
        result = out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if self._flag(use_cache, "use_cache") else None,
            hidden_states=states if keep else None,
        )  # fmt: skip
        return self._finish(result, return_dict)


class _GPT2Head(GPT2PreTrainedModel):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.transformer = GPT2Model(config)

    def _encode(self, input_ids, kwargs):
        return self.transformer(input_ids, return_dict=True, **kwargs)


class GPT2LMHeadModel(_GPT2Head, GenerationMixin):
    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        logits = self.lm_head(encoded.last_hidden_state)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        result = out.CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=encoded.past_key_values, hidden_states=encoded.hidden_states
        )
        return self._finish(result, return_dict)


class SequenceSummary(nn.Module):
    """The multiple-choice head: one vector per choice (at mc_token_ids), projected to a score."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        labels = config.num_labels if config.summary_proj_to_labels and config.num_labels > 0 else config.n_embd
        self.summary = nn.Linear(config.n_embd, labels) if config.summary_use_proj else nn.Identity()
        self.activation = get_activation(config.summary_activation) if config.summary_activation else nn.Identity()
        self.first_dropout = nn.Dropout(config.summary_first_dropout)

    def forward(self, hidden, token_ids=None):
        if token_ids is None:
            token_ids = torch.full(hidden.shape[:-2], hidden.shape[-2] - 1, dtype=torch.long, device=hidden.device)
        index = token_ids[..., None, None].expand(*token_ids.shape, 1, hidden.shape[-1])
        picked = hidden.gather(-2, index).squeeze(-2)
        return self.activation(self.summary(self.first_dropout(picked)))


class GPT2DoubleHeadsModel(_GPT2Head, GenerationMixin):
    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config: GPT2Config):
        config.num_labels = 1
        super().__init__(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.multiple_choice_head = SequenceSummary(config)

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids=None, mc_token_ids=None, labels=None, mc_labels=None, return_dict=None, **kwargs):
        shape = input_ids.shape
        flat = {k: (v.reshape(-1, v.shape[-1]) if isinstance(v, torch.Tensor) and v.shape == shape else v)
                for k, v in kwargs.items()}  # fmt: skip
        encoded = self._encode(input_ids.reshape(-1, shape[-1]), flat)
        hidden = encoded.last_hidden_state.view(*shape, -1)
        logits = self.lm_head(hidden)
        mc_logits = self.multiple_choice_head(hidden, mc_token_ids).squeeze(-1)
        loss = (
            causal_lm_loss(logits.view(-1, *logits.shape[-2:]), labels.view(-1, shape[-1]))
            if labels is not None
            else None
        )
        mc_loss = token_loss(mc_logits, mc_labels) if mc_labels is not None else None
        result = out.GPT2DoubleHeadsModelOutput(
            loss=loss, mc_loss=mc_loss, logits=logits, mc_logits=mc_logits,
            past_key_values=encoded.past_key_values, hidden_states=encoded.hidden_states,
        )  # fmt: skip
        return self._finish(result, return_dict)


def last_token_index(input_ids, pad_token_id, batch: int) -> torch.Tensor:
    """Index of each row's last non-padding token (rows without padding: the last position)."""
    if pad_token_id is None:
        if batch > 1:
            raise ValueError("Sequence classification of a batch needs config.pad_token_id to find each row's end.")
        return torch.full((batch,), -1, dtype=torch.long)
    if input_ids is None:
        raise ValueError("With inputs_embeds the last token cannot be found; pass input_ids.")
    not_pad = (input_ids != pad_token_id).long()
    return (torch.arange(input_ids.shape[-1], device=input_ids.device) * not_pad).argmax(-1)


class GPT2ForSequenceClassification(_GPT2Head):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.score = nn.Linear(config.n_embd, config.num_labels, bias=False)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self._encode(input_ids, kwargs)
        logits = self.score(encoded.last_hidden_state)
        batch = logits.shape[0]
        ends = last_token_index(input_ids, self.config.pad_token_id, batch)
        pooled = logits[torch.arange(batch, device=logits.device), ends]
        loss = sequence_classification_loss(pooled, labels, self.config) if labels is not None else None
        result = out.SequenceClassifierOutputWithPast(
            loss=loss, logits=pooled, past_key_values=encoded.past_key_values, hidden_states=encoded.hidden_states
        )
        return self._finish(result, return_dict)


class GPT2ForTokenClassification(_GPT2Head):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        rate = getattr(config, "classifier_dropout", None)
        self.dropout = nn.Dropout(rate if rate is not None else getattr(config, "hidden_dropout", 0.1))
        self.classifier = nn.Linear(config.n_embd, config.num_labels)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        kwargs.setdefault("use_cache", False)
        encoded = self._encode(input_ids, kwargs)
        logits = self.classifier(self.dropout(encoded.last_hidden_state))
        loss = token_loss(logits, labels) if labels is not None else None
        result = out.TokenClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        return self._finish(result, return_dict)


class GPT2ForQuestionAnswering(_GPT2Head):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.qa_outputs = nn.Linear(config.n_embd, 2)

    def forward(self, input_ids=None, start_positions=None, end_positions=None, return_dict=None, **kwargs):
        kwargs.setdefault("use_cache", False)
        encoded = self._encode(input_ids, kwargs)
        start, end = self.qa_outputs(encoded.last_hidden_state).split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start, end, start_positions, end_positions)
        result = out.QuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end,
                                                  hidden_states=encoded.hidden_states)  # fmt: skip
        return self._finish(result, return_dict)
