"""T5 in PyTorch: encoder-decoder with RMS layer norms, bucketed relative attention bias, no score scaling.

T5 keeps its own attention and stacks (`block.<i>.layer.<j>`); the model-level forward pass, the output
fields, the RMS norm and the sequence / token classification heads are the shared ones.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.t5 import T5Config

from ..activations import get_activation
from ..blocks.norms import RMSNorm
from ..blocks.seq2seq import EncoderDecoderModel, reject_unsupported, seq2seq_output, shift_tokens_right
from ..generation import GenerationMixin
from ..heads import SequenceClassificationModel, TokenClassificationModel
from ..losses import span_loss, token_loss
from ..modeling import PreTrainedModel


class T5DenseActDense(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.wi = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.act = get_activation(config.dense_act_fn)

    def forward(self, hidden):
        return self.wo(self.dropout(self.act(self.wi(hidden))))


class T5DenseGatedActDense(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.wi_0 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wi_1 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.act = get_activation(config.dense_act_fn)

    def forward(self, hidden):
        return self.wo(self.dropout(self.act(self.wi_0(hidden)) * self.wi_1(hidden)))


class T5LayerFF(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.DenseReluDense = T5DenseGatedActDense(config) if config.is_gated_act else T5DenseActDense(config)
        self.layer_norm = RMSNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden):
        return hidden + self.dropout(self.DenseReluDense(self.layer_norm(hidden)))


def relative_position_bucket(relative: torch.Tensor, bidirectional: bool, num_buckets: int, max_distance: int):
    """Exact buckets for small offsets, logarithmically wider ones up to max_distance."""
    bucket = torch.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        bucket += (relative > 0).long() * num_buckets
        distance = relative.abs()
    else:
        distance = -torch.clamp(relative, max=0)
    exact = num_buckets // 2
    far = exact + (
        torch.log(distance.float() / exact) / math.log(max_distance / exact) * (num_buckets - exact)
    ).long()
    far = torch.clamp(far, max=num_buckets - 1)
    return bucket + torch.where(distance < exact, distance, far)


class T5Attention(nn.Module):
    def __init__(self, config: T5Config, is_decoder: bool, has_relative_attention_bias: bool):
        super().__init__()
        self.is_decoder = is_decoder
        self.num_heads = config.num_heads
        self.head_dim = config.d_kv
        inner = config.num_heads * config.d_kv
        self.q = nn.Linear(config.d_model, inner, bias=False)
        self.k = nn.Linear(config.d_model, inner, bias=False)
        self.v = nn.Linear(config.d_model, inner, bias=False)
        self.o = nn.Linear(inner, config.d_model, bias=False)
        self.num_buckets = config.relative_attention_num_buckets
        self.max_distance = config.relative_attention_max_distance
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(self.num_buckets, config.num_heads)
        self.has_relative_attention_bias = has_relative_attention_bias
        self.dropout = config.dropout_rate

    def _heads(self, x):
        return x.view(x.shape[0], -1, self.num_heads, self.head_dim).transpose(1, 2)

    def position_bias(self, query_length: int, key_length: int, device) -> torch.Tensor:
        """[1, heads, query, key] learned bias for the offsets of the last query_length positions."""
        if not self.has_relative_attention_bias:
            return torch.zeros(1, self.num_heads, query_length, key_length, device=device)
        context = torch.arange(key_length - query_length, key_length, device=device)[:, None]
        memory = torch.arange(key_length, device=device)[None, :]
        buckets = relative_position_bucket(memory - context, not self.is_decoder, self.num_buckets, self.max_distance)
        return self.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)

    def forward(self, hidden, bias, key_value_states=None, past=None):
        """`bias` holds position bias plus mask; `past` is this layer's cached (key, value) or None.
        Returns (output, (key, value), attention weights)."""
        q = self._heads(self.q(hidden))
        if key_value_states is not None and past is not None:  # cross-attention: encoder keys never change
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = self._heads(self.k(source)), self._heads(self.v(source))
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        scores = q @ k.transpose(-1, -2) + bias
        weights = scores.float().softmax(-1).type_as(scores)
        probs = nn.functional.dropout(weights, self.dropout, self.training)
        context = (probs @ v).transpose(1, 2).reshape(hidden.shape[0], -1, self.num_heads * self.head_dim)
        return self.o(context), (k, v), weights


class T5LayerSelfAttention(nn.Module):
    def __init__(self, config, is_decoder, has_relative_attention_bias):
        super().__init__()
        self.SelfAttention = T5Attention(config, is_decoder, has_relative_attention_bias)
        self.layer_norm = RMSNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden, bias, past=None):
        attended, cache, weights = self.SelfAttention(self.layer_norm(hidden), bias, past=past)
        return hidden + self.dropout(attended), cache, weights


class T5LayerCrossAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.EncDecAttention = T5Attention(config, is_decoder=True, has_relative_attention_bias=False)
        self.layer_norm = RMSNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden, encoder_hidden, bias, past=None):
        attended, cache, weights = self.EncDecAttention(self.layer_norm(hidden), bias, encoder_hidden, past)
        return hidden + self.dropout(attended), cache, weights


class T5Block(nn.Module):
    def __init__(self, config: T5Config, is_decoder: bool, has_relative_attention_bias: bool):
        super().__init__()
        layers = [T5LayerSelfAttention(config, is_decoder, has_relative_attention_bias)]
        if is_decoder:
            layers.append(T5LayerCrossAttention(config))
        layers.append(T5LayerFF(config))
        self.layer = nn.ModuleList(layers)
        self.is_decoder = is_decoder

    def forward(self, hidden, self_bias, encoder_hidden=None, cross_bias=None, past=None):
        """Returns (hidden, cache, self-attention weights, cross-attention weights)."""
        hidden, cache, weights = self.layer[0](hidden, self_bias, past[:2] if past else None)
        cross_weights = None
        if self.is_decoder and encoder_hidden is not None:
            hidden, cross_cache, cross_weights = self.layer[1](hidden, encoder_hidden, cross_bias,
                                                               past[2:] if past else None)  # fmt: skip
            cache = cache + cross_cache
        return self.layer[-1](hidden), cache, weights, cross_weights


def _mask_bias(mask: torch.Tensor, dtype) -> torch.Tensor:
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class T5Stack(nn.Module):
    def __init__(self, config: T5Config, embed_tokens: nn.Embedding, is_decoder: bool):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.is_decoder = is_decoder
        depth = config.num_decoder_layers if is_decoder else config.num_layers
        self.block = nn.ModuleList(T5Block(config, is_decoder, i == 0) for i in range(depth))
        self.final_layer_norm = RMSNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                inputs_embeds=None, past_key_values=None, use_cache=False, output_attentions=False,
                output_hidden_states=False, **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds (decoder: decoder_input_ids).")
        embeds = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        length = embeds.shape[1]
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        total = past_length + length
        dtype, device = embeds.dtype, embeds.device
        bias = self.block[0].layer[0].SelfAttention.position_bias(length, total, device).to(dtype)
        if attention_mask is not None:
            bias = bias + _mask_bias(attention_mask, dtype)
        if self.is_decoder:
            causal = torch.full((length, total), torch.finfo(dtype).min, dtype=dtype, device=device)
            bias = (bias + causal.triu(past_length + 1)).clamp(min=torch.finfo(dtype).min)
        cross_bias = None
        if self.is_decoder and encoder_hidden_states is not None:
            cross_bias = torch.zeros(1, 1, length, encoder_hidden_states.shape[1], dtype=dtype, device=device)
            if encoder_attention_mask is not None:
                cross_bias = cross_bias + _mask_bias(encoder_attention_mask, dtype)
        hidden = self.dropout(embeds)
        states, caches, self_weights, cross_weights = (), (), (), ()
        for i, block in enumerate(self.block):
            states += (hidden,)
            hidden, cache, weights, cross = block(hidden, bias, encoder_hidden_states, cross_bias,
                                                  past_key_values[i] if past_key_values else None)  # fmt: skip
            caches, self_weights, cross_weights = caches + (cache,), self_weights + (weights,), cross_weights + (cross,)
        hidden = self.dropout(self.final_layer_norm(hidden))
        states += (hidden,)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states if output_hidden_states else None,
            attentions=self_weights if output_attentions else None,
            cross_attentions=cross_weights if output_attentions and encoder_hidden_states is not None else None,
        )  # fmt: skip


class T5EncoderStack(T5Stack):
    def __init__(self, config: T5Config, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens, is_decoder=False)


class T5DecoderStack(T5Stack):
    def __init__(self, config: T5Config, embed_tokens: nn.Embedding):
        super().__init__(config, embed_tokens, is_decoder=True)


class T5PreTrainedModel(PreTrainedModel):
    config_class = T5Config
    base_model_prefix = "transformer"
    _keys_to_ignore_on_load_unexpected = [r"decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias"]

    def _init_weights(self, module):
        factor = self.config.initializer_factor
        if isinstance(module, RMSNorm):
            nn.init.constant_(module.weight, factor)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=factor)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=factor * module.in_features**-0.5)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        else:
            super()._init_weights(module)

    def _shift_right(self, input_ids: torch.Tensor) -> torch.Tensor:
        return shift_tokens_right(input_ids, self.config.pad_token_id, self.config.decoder_start_token_id)


class T5Model(EncoderDecoderModel, T5PreTrainedModel):
    """`shared`, `encoder`, `decoder` at the top level (T5's checkpoints have no base prefix for them)."""

    encoder_class = T5EncoderStack
    decoder_class = T5DecoderStack

    @staticmethod
    def build_embedding(config) -> nn.Embedding:
        return nn.Embedding(config.vocab_size, config.d_model)


class T5ForConditionalGeneration(T5Model, GenerationMixin):
    def __init__(self, config: T5Config):
        super().__init__(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)

    @property
    def _tied_weights_keys(self) -> list[str]:
        return [*self._tied_aliases, "lm_head.weight"]

    def get_output_embeddings(self):
        return self.lm_head

    def tie_weights(self):
        super().tie_weights()
        PreTrainedModel.tie_weights(self)

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """The decoder inputs a call with these labels derives (DataCollatorForSeq2Seq(model=...) adds them)."""
        return self._shift_right(labels)

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, labels=None, return_dict=None,
                **kwargs):  # fmt: skip
        if labels is not None:
            kwargs["use_cache"] = False
            if decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
                decoder_input_ids = self._shift_right(labels)
        encoded, decoded = self.run(input_ids, attention_mask, decoder_input_ids, **kwargs)
        hidden = decoded.last_hidden_state
        if self.config.tie_word_embeddings:  # the shared matrix was trained at this scale
            hidden = hidden * self.config.d_model**-0.5
        logits = self.lm_head(hidden)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(seq2seq_output(out.Seq2SeqLMOutput, encoded, decoded, loss=loss, logits=logits), return_dict)


class T5EncoderModel(T5PreTrainedModel):
    def __init__(self, config: T5Config):
        super().__init__(config)
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = T5EncoderStack(config, self.shared)

    _tied_aliases = _tied_weights_keys = ["encoder.embed_tokens.weight"]

    def get_input_embeddings(self):
        return self.shared

    def get_encoder(self):
        return self.encoder

    def tie_weights(self):
        self.encoder.embed_tokens = self.shared

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        reject_unsupported(kwargs)
        encoded = self.encoder(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                               output_attentions=self._flag(output_attentions, "output_attentions"),
                               output_hidden_states=self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        result = out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states,
                                     attentions=encoded.attentions)  # fmt: skip
        return self._finish(result, return_dict)


class T5HeadTies:
    """The base model's embedding aliases under the `transformer` prefix."""

    @property
    def _tied_aliases(self) -> list[str]:
        return [f"{self.base_model_prefix}.{key}" for key in self.base_model._tied_aliases]

    @property
    def _tied_weights_keys(self) -> list[str]:
        return self._tied_aliases


class T5ForSequenceClassification(T5HeadTies, SequenceClassificationModel, T5PreTrainedModel):
    """Classifies from the decoder state at the last end-of-sequence token (decoder fed input_ids shifted)."""

    base_class = T5Model
    output_class = out.Seq2SeqSequenceClassifierOutput

    def encode(self, input_ids, **kwargs):
        if input_ids is None:
            raise ValueError("T5ForSequenceClassification needs input_ids (it finds the end-of-sequence tokens).")
        if kwargs.get("decoder_input_ids") is None and kwargs.get("decoder_inputs_embeds") is None:
            kwargs["decoder_input_ids"] = self._shift_right(input_ids)
        return super().encode(input_ids, **kwargs)


class T5ForTokenClassification(T5HeadTies, TokenClassificationModel, T5PreTrainedModel):
    base_class = T5EncoderModel


class T5ForQuestionAnswering(T5Model):
    """Start and end logits from the decoder, fed input_ids shifted right unless decoder inputs are given."""

    def __init__(self, config: T5Config):
        super().__init__(config)
        self.qa_outputs = nn.Linear(config.d_model, config.num_labels)

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, start_positions=None,
                end_positions=None, return_dict=None, **kwargs):  # fmt: skip
        if decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            if input_ids is None:
                raise ValueError("T5ForQuestionAnswering needs input_ids or decoder_input_ids.")
            decoder_input_ids = self._shift_right(input_ids)
        kwargs.pop("past_key_values", None)
        kwargs["use_cache"] = False
        encoded, decoded = self.run(input_ids, attention_mask, decoder_input_ids, **kwargs)
        start, end = self.qa_outputs(decoded.last_hidden_state).split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start, end, start_positions, end_positions)
        result = seq2seq_output(out.Seq2SeqQuestionAnsweringModelOutput, encoded, decoded, loss=loss,
                                start_logits=start, end_logits=end)  # fmt: skip
        return self._finish(result, return_dict)
