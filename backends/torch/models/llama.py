"""Llama in PyTorch: RMSNorm, rotary positions, grouped-query attention, gated SiLU MLP. Mistral (sliding
window) and Qwen2 (q/k/v biases) reuse these modules with their own configs."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.llama import LlamaConfig
from autoload.rope import rope_kind

from ..activations import get_activation
from ..attention import causal_mask
from ..generation import GenerationMixin
from ..losses import causal_lm_loss, sequence_classification_loss, span_loss, token_loss
from ..modeling import PreTrainedModel
from ..rotary import apply_rotary, rotary_cos_sin
from .gpt2 import last_token_index


class LlamaRMSNorm(nn.Module):
    def __init__(self, size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, hidden):
        dtype = hidden.dtype
        hidden = hidden.float()
        hidden = hidden * torch.rsqrt(hidden.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * hidden.to(dtype)


class LlamaAttention(nn.Module):
    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        self.num_heads, self.num_kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = config.head_dim
        qkv_bias = config.qkv_bias
        self.q_proj = nn.Linear(config.hidden_size, self.num_heads * self.head_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(config.hidden_size, self.num_kv_heads * self.head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(config.hidden_size, self.num_kv_heads * self.head_dim, bias=qkv_bias)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, config.hidden_size, bias=config.output_bias)
        self.dropout = config.attention_dropout

    def _heads(self, x, count):
        return x.view(x.shape[0], x.shape[1], count, self.head_dim).transpose(1, 2)

    def forward(self, hidden, cos, sin, mask, past=None):
        q = apply_rotary(self._heads(self.q_proj(hidden), self.num_heads), cos, sin)
        k = apply_rotary(self._heads(self.k_proj(hidden), self.num_kv_heads), cos, sin)
        v = self._heads(self.v_proj(hidden), self.num_kv_heads)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        cache = (k, v)
        groups = self.num_heads // self.num_kv_heads
        if groups > 1:
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        dropout = self.dropout if self.training else 0.0
        context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        context = context.transpose(1, 2).reshape(hidden.shape[0], hidden.shape[1], -1)
        return self.o_proj(context), cache


class LlamaMLP(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        bias = getattr(config, "mlp_bias", False)
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=bias)
        self.act = get_activation(config.hidden_act)

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        self.self_attn = LlamaAttention(config, layer_idx)
        self.mlp = LlamaMLP(config)
        self.input_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, hidden, cos, sin, mask, past=None):
        attended, cache = self.self_attn(self.input_layernorm(hidden), cos, sin, mask, past)
        hidden = hidden + attended
        return hidden + self.mlp(self.post_attention_layernorm(hidden)), cache


def sliding_window_of(config, layer_idx: int) -> int | None:
    if getattr(config, "layer_types", None):
        return config.sliding_window if config.layer_types[layer_idx] == "sliding_attention" else None
    return getattr(config, "sliding_window", None)


def windowed(mask: torch.Tensor, window: int | None, past_length: int) -> torch.Tensor:
    """Add the sliding-window limit to an additive causal mask: query i sees keys j with i - j < window."""
    if window is None:
        return mask
    length, total = mask.shape[-2:]
    query = torch.arange(past_length, past_length + length, device=mask.device)[:, None]
    key = torch.arange(total, device=mask.device)[None, :]
    too_far = (query - key) >= window
    return mask.masked_fill(too_far, torch.finfo(mask.dtype).min)


class LlamaPreTrainedModel(PreTrainedModel):
    config_class = LlamaConfig
    base_model_prefix = "model"
    _keys_to_ignore_on_load_unexpected = [r"rotary_emb\.inv_freq"]


class LlamaModel(LlamaPreTrainedModel):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.layers = nn.ModuleList(LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def get_input_embeddings(self):
        return self.embed_tokens

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache=None, output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        hidden = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        length = hidden.shape[1]
        if past_length + length > self.config.max_position_embeddings and rope_kind(self.config) != "dynamic":
            raise ValueError(
                f"Sequence length {past_length + length} is longer than max_position_embeddings "
                f"({self.config.max_position_embeddings}); truncate the inputs or raise max_position_embeddings "
                "(with rope_scaling) in the config."
            )
        if position_ids is None:
            position_ids = torch.arange(past_length, past_length + length, device=hidden.device)[None]
        cos, sin = rotary_cos_sin(self.config, position_ids, hidden.dtype)
        mask = causal_mask(length, past_length, attention_mask, hidden.dtype, hidden.device)
        keep = self._flag(output_hidden_states, "output_hidden_states")
        states, caches = (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            layer_mask = windowed(mask, sliding_window_of(self.config, i), past_length)
            hidden, cache = layer(hidden, cos, sin, layer_mask, past_key_values[i] if past_key_values else None)
            caches += (cache,)
        hidden = self.norm(hidden)
        states += (hidden,)
        result = out.BaseModelOutputWithPast(
            last_hidden_state=hidden, past_key_values=caches if self._flag(use_cache, "use_cache") else None,
            hidden_states=states if keep else None,
        )  # fmt: skip
        return self._finish(result, return_dict)


class LlamaForCausalLM(LlamaPreTrainedModel, GenerationMixin):
    base_class = LlamaModel
    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model = self.base_class(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.model(input_ids, return_dict=True, **kwargs)
        logits = self.lm_head(encoded.last_hidden_state)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        result = out.CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=encoded.past_key_values,
                                            hidden_states=encoded.hidden_states)  # fmt: skip
        return self._finish(result, return_dict)


class LlamaForSequenceClassification(LlamaPreTrainedModel):
    base_class = LlamaModel

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model = self.base_class(config)
        self.score = nn.Linear(config.hidden_size, config.num_labels, bias=False)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        encoded = self.model(input_ids, return_dict=True, **kwargs)
        logits = self.score(encoded.last_hidden_state)
        batch = logits.shape[0]
        pooled = logits[torch.arange(batch), last_token_index(input_ids, self.config.pad_token_id, batch)]
        loss = sequence_classification_loss(pooled, labels, self.config) if labels is not None else None
        result = out.SequenceClassifierOutputWithPast(loss=loss, logits=pooled, past_key_values=encoded.past_key_values,
                                                      hidden_states=encoded.hidden_states)  # fmt: skip
        return self._finish(result, return_dict)


class LlamaForTokenClassification(LlamaPreTrainedModel):
    base_class = LlamaModel

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model = self.base_class(config)
        rate = getattr(config, "classifier_dropout", None)
        rate = rate if rate is not None else getattr(config, "hidden_dropout", 0.1)
        self.dropout = nn.Dropout(rate)
        self.score = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids=None, labels=None, return_dict=None, **kwargs):
        kwargs.setdefault("use_cache", False)
        encoded = self.model(input_ids, return_dict=True, **kwargs)
        logits = self.score(self.dropout(encoded.last_hidden_state))
        loss = token_loss(logits, labels) if labels is not None else None
        result = out.TokenClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        return self._finish(result, return_dict)


class LlamaForQuestionAnswering(LlamaPreTrainedModel):
    base_class = LlamaModel
    base_model_prefix = "transformer"  # Llama and Qwen2 QA checkpoints keep the base model here; Mistral's: `model`

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        setattr(self, self.base_model_prefix, self.base_class(config))
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, input_ids=None, start_positions=None, end_positions=None, return_dict=None, **kwargs):
        kwargs.setdefault("use_cache", False)
        encoded = self.base_model(input_ids, return_dict=True, **kwargs)
        start, end = self.qa_outputs(encoded.last_hidden_state).split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start, end, start_positions, end_positions)
        result = out.QuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end,
                                                  hidden_states=encoded.hidden_states)  # fmt: skip
        return self._finish(result, return_dict)
