"""T5 in PyTorch: encoder-decoder with RMS layer norms, bucketed relative attention bias, no score scaling."""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.t5 import T5Config

from ..activations import get_activation
from ..generation import GenerationMixin
from ..losses import sequence_classification_loss, span_loss, token_loss
from ..modeling import PreTrainedModel


class T5LayerNorm(nn.Module):
    """Scale-only RMS norm (no mean subtraction, no bias), statistics in float32."""

    def __init__(self, size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, hidden):
        variance = hidden.float().pow(2).mean(-1, keepdim=True)
        hidden = hidden * torch.rsqrt(variance + self.eps)
        return self.weight * hidden.to(self.weight.dtype)


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
        self.layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
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
        """`bias` holds position bias plus mask; `past` is this layer's cached (key, value) or None."""
        q = self._heads(self.q(hidden))
        if key_value_states is not None and past is not None:  # cross-attention: encoder keys never change
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = self._heads(self.k(source)), self._heads(self.v(source))
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        scores = q @ k.transpose(-1, -2) + bias
        probs = nn.functional.dropout(scores.float().softmax(-1).type_as(scores), self.dropout, self.training)
        context = (probs @ v).transpose(1, 2).reshape(hidden.shape[0], -1, self.num_heads * self.head_dim)
        return self.o(context), (k, v)


class T5LayerSelfAttention(nn.Module):
    def __init__(self, config, is_decoder, has_relative_attention_bias):
        super().__init__()
        self.SelfAttention = T5Attention(config, is_decoder, has_relative_attention_bias)
        self.layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden, bias, past=None):
        attended, cache = self.SelfAttention(self.layer_norm(hidden), bias, past=past)
        return hidden + self.dropout(attended), cache


class T5LayerCrossAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.EncDecAttention = T5Attention(config, is_decoder=True, has_relative_attention_bias=False)
        self.layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden, encoder_hidden, bias, past=None):
        attended, cache = self.EncDecAttention(self.layer_norm(hidden), bias, encoder_hidden, past)
        return hidden + self.dropout(attended), cache


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
        hidden, self_cache = self.layer[0](hidden, self_bias, past[:2] if past else None)
        cache = self_cache
        if self.is_decoder:
            hidden, cross_cache = self.layer[1](hidden, encoder_hidden, cross_bias, past[2:] if past else None)
            cache = self_cache + cross_cache
        return self.layer[-1](hidden), cache


def _mask_bias(mask: torch.Tensor, dtype) -> torch.Tensor:
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class T5Stack(nn.Module):
    def __init__(self, config: T5Config, embed_tokens: nn.Embedding, is_decoder: bool):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.is_decoder = is_decoder
        depth = config.num_decoder_layers if is_decoder else config.num_layers
        self.block = nn.ModuleList(T5Block(config, is_decoder, i == 0) for i in range(depth))
        self.final_layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                inputs_embeds=None, past_key_values=None, use_cache=False, output_hidden_states=False):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds (decoder: decoder_input_ids).")
        embeds = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        batch, length = embeds.shape[:2]
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
            source = encoder_hidden_states.shape[1]
            cross_bias = torch.zeros(1, 1, length, source, dtype=dtype, device=device)
            if encoder_attention_mask is not None:
                cross_bias = cross_bias + _mask_bias(encoder_attention_mask, dtype)
        hidden = self.dropout(embeds)
        states, caches = (), ()
        for i, block in enumerate(self.block):
            states += (hidden,)
            hidden, cache = block(hidden, bias, encoder_hidden_states, cross_bias,
                                  past_key_values[i] if past_key_values else None)  # fmt: skip
            caches += (cache,)
        hidden = self.dropout(self.final_layer_norm(hidden))
        states += (hidden,)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states if output_hidden_states else None,
        )  # fmt: skip


class T5PreTrainedModel(PreTrainedModel):
    config_class = T5Config
    base_model_prefix = "transformer"
    _keys_to_ignore_on_load_unexpected = [r"decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias"]

    def _init_weights(self, module):
        factor = self.config.initializer_factor
        if isinstance(module, T5LayerNorm):
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
        start = self.config.decoder_start_token_id
        if start is None:
            raise ValueError("config.decoder_start_token_id is not set; it is needed to build decoder inputs.")
        shifted = input_ids.new_zeros(input_ids.shape)
        shifted[..., 1:] = input_ids[..., :-1]
        shifted[..., 0] = start
        return shifted.masked_fill(shifted == -100, self.config.pad_token_id)


class _T5EncoderDecoder(T5PreTrainedModel):
    """shared embedding + encoder + decoder; the heads differ only in what they do with the output."""

    _tied_weights_keys = ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"]

    def __init__(self, config: T5Config):
        super().__init__(config)
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = T5Stack(config, self.shared, is_decoder=False)
        self.decoder = T5Stack(config, self.shared, is_decoder=True)

    def get_input_embeddings(self):
        return self.shared

    def tie_weights(self):
        self.encoder.embed_tokens = self.decoder.embed_tokens = self.shared
        super().tie_weights()

    def get_encoder(self):
        return self.encoder

    def _run(self, input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, encoder_outputs,
             past_key_values, use_cache, output_hidden_states, inputs_embeds=None, decoder_inputs_embeds=None):  # fmt: skip
        keep = self._flag(output_hidden_states, "output_hidden_states")
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids, attention_mask, inputs_embeds=inputs_embeds, output_hidden_states=keep)
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(last_hidden_state=encoder_outputs[0])
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            raise ValueError(
                f"{type(self).__name__} needs decoder_input_ids (or labels, from which they are built by shifting "
                "right); an encoder-decoder model cannot run its decoder without inputs."
            )
        decoded = self.decoder(decoder_input_ids, decoder_attention_mask, encoder_outputs.last_hidden_state, attention_mask,
                               decoder_inputs_embeds, past_key_values, use_cache, keep)  # fmt: skip
        return encoder_outputs, decoded

    @staticmethod
    def _seq2seq_fields(encoded, decoded) -> dict:
        return dict(
            past_key_values=decoded.past_key_values, decoder_hidden_states=decoded.hidden_states,
            encoder_last_hidden_state=encoded.last_hidden_state, encoder_hidden_states=encoded.hidden_states,
        )  # fmt: skip


class T5Model(_T5EncoderDecoder):
    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, use_cache=None, output_hidden_states=None,
                return_dict=None, inputs_embeds=None, decoder_inputs_embeds=None, **kwargs):  # fmt: skip
        use_cache = self._flag(use_cache, "use_cache")
        encoded, decoded = self._run(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask,
                                     encoder_outputs, past_key_values, use_cache, output_hidden_states,
                                     inputs_embeds, decoder_inputs_embeds)  # fmt: skip
        result = out.Seq2SeqModelOutput(last_hidden_state=decoded.last_hidden_state, **self._seq2seq_fields(encoded, decoded))
        return self._finish(result, return_dict)


class T5ForConditionalGeneration(_T5EncoderDecoder, GenerationMixin):
    _tied_weights_keys = ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight"]

    def __init__(self, config: T5Config):
        super().__init__(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, labels=None, use_cache=None, output_hidden_states=None,
                return_dict=None, inputs_embeds=None, decoder_inputs_embeds=None, **kwargs):  # fmt: skip
        use_cache = self._flag(use_cache, "use_cache")
        if labels is not None and decoder_input_ids is None and decoder_inputs_embeds is None:
            decoder_input_ids = self._shift_right(labels)
        encoded, decoded = self._run(input_ids, attention_mask, decoder_input_ids, decoder_attention_mask,
                                     encoder_outputs, past_key_values, use_cache, output_hidden_states,
                                     inputs_embeds, decoder_inputs_embeds)  # fmt: skip
        hidden = decoded.last_hidden_state
        if self.config.tie_word_embeddings:  # the shared matrix was trained at this scale
            hidden = hidden * self.config.d_model**-0.5
        logits = self.lm_head(hidden)
        loss = token_loss(logits, labels) if labels is not None else None
        result = out.Seq2SeqLMOutput(loss=loss, logits=logits, **self._seq2seq_fields(encoded, decoded))
        return self._finish(result, return_dict)


class T5EncoderModel(T5PreTrainedModel):
    _tied_weights_keys = ["encoder.embed_tokens.weight"]

    def __init__(self, config: T5Config):
        super().__init__(config)
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = T5Stack(config, self.shared, is_decoder=False)

    def get_input_embeddings(self):
        return self.shared

    def tie_weights(self):
        self.encoder.embed_tokens = self.shared

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        encoded = self.encoder(input_ids, attention_mask, inputs_embeds=inputs_embeds,
                               output_hidden_states=self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        result = out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states)
        return self._finish(result, return_dict)


class T5ClassificationHead(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.out_proj = nn.Linear(config.d_model, config.num_labels)

    def forward(self, hidden):
        return self.out_proj(self.dropout(torch.tanh(self.dense(self.dropout(hidden)))))


class T5ForSequenceClassification(T5PreTrainedModel):
    """Classifies from the decoder state at the last end-of-sequence token (decoder fed input_ids shifted)."""

    _tied_weights_keys = ["transformer.encoder.embed_tokens.weight", "transformer.decoder.embed_tokens.weight"]

    def __init__(self, config: T5Config):
        super().__init__(config)
        self.transformer = T5Model(config)
        self.classification_head = T5ClassificationHead(config)

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, labels=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        if input_ids is None:
            raise ValueError("T5ForSequenceClassification needs input_ids (it finds the end-of-sequence tokens).")
        if decoder_input_ids is None:
            decoder_input_ids = self._shift_right(input_ids)
        encoded = self.transformer(input_ids, attention_mask, decoder_input_ids, use_cache=False,
                                   output_hidden_states=output_hidden_states, return_dict=True, **kwargs)  # fmt: skip
        eos = input_ids.eq(self.config.eos_token_id)
        counts = eos.sum(1)
        if counts.min() == 0 or (counts != counts[0]).any():
            raise ValueError("Every example must contain the same number (at least one) of end-of-sequence tokens.")
        hidden = encoded.last_hidden_state
        sentence = hidden[eos].view(hidden.shape[0], -1, hidden.shape[-1])[:, -1]
        logits = self.classification_head(sentence)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        result = out.Seq2SeqSequenceClassifierOutput(
            loss=loss, logits=logits, decoder_hidden_states=encoded.decoder_hidden_states,
            encoder_last_hidden_state=encoded.encoder_last_hidden_state,
            encoder_hidden_states=encoded.encoder_hidden_states,
        )  # fmt: skip
        return self._finish(result, return_dict)


class T5ForTokenClassification(T5PreTrainedModel):
    _tied_weights_keys = ["transformer.encoder.embed_tokens.weight"]

    def __init__(self, config: T5Config):
        super().__init__(config)
        self.transformer = T5EncoderModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.d_model, config.num_labels)

    def forward(self, input_ids=None, attention_mask=None, labels=None, output_hidden_states=None, return_dict=None,
                **kwargs):  # fmt: skip
        encoded = self.transformer(input_ids, attention_mask, output_hidden_states=output_hidden_states,
                                   return_dict=True, **kwargs)  # fmt: skip
        logits = self.classifier(self.dropout(encoded.last_hidden_state))
        loss = token_loss(logits, labels) if labels is not None else None
        result = out.TokenClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)
        return self._finish(result, return_dict)


class T5ForQuestionAnswering(_T5EncoderDecoder):
    def __init__(self, config: T5Config):
        super().__init__(config)
        self.qa_outputs = nn.Linear(config.d_model, config.num_labels)

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, start_positions=None,
                end_positions=None, output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        if decoder_input_ids is None:
            if input_ids is None:
                raise ValueError("T5ForQuestionAnswering needs input_ids or decoder_input_ids.")
            decoder_input_ids = self._shift_right(input_ids)
        encoded, decoded = self._run(input_ids, attention_mask, decoder_input_ids, None, kwargs.get("encoder_outputs"),
                                     None, False, output_hidden_states)  # fmt: skip
        start, end = self.qa_outputs(decoded.last_hidden_state).split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start, end, start_positions, end_positions)
        result = out.Seq2SeqQuestionAnsweringModelOutput(
            loss=loss, start_logits=start, end_logits=end, **self._seq2seq_fields(encoded, decoded)
        )
        return self._finish(result, return_dict)
