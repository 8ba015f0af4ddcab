"""BART in PyTorch: post-norm encoder-decoder with learned positions (offset 2) and the task heads."""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.bart import BartConfig

from ..activations import get_activation
from ..attention import MultiHeadAttention, causal_mask, padding_mask
from ..generation import GenerationMixin
from ..losses import causal_lm_loss, sequence_classification_loss, span_loss, token_loss
from ..modeling import PreTrainedModel


def shift_tokens_right(input_ids: torch.Tensor, pad_token_id: int, start_token_id: int) -> torch.Tensor:
    shifted = input_ids.new_zeros(input_ids.shape)
    shifted[:, 1:] = input_ids[:, :-1]
    shifted[:, 0] = start_token_id
    return shifted.masked_fill(shifted == -100, pad_token_id)


class BartLearnedPositionalEmbedding(nn.Embedding):
    OFFSET = 2  # the first two rows are reserved, a layout the original checkpoints fixed

    def __init__(self, num_positions: int, dim: int):
        super().__init__(num_positions + self.OFFSET, dim)

    def forward(self, length: int, past_length: int = 0):
        if past_length + length > self.num_embeddings - self.OFFSET:
            raise ValueError(
                f"Sequence length {past_length + length} is longer than max_position_embeddings "
                f"({self.num_embeddings - self.OFFSET}); truncate the inputs."
            )
        positions = torch.arange(past_length, past_length + length, device=self.weight.device) + self.OFFSET
        return super().forward(positions)[None]


class BartEncoderLayer(nn.Module):
    def __init__(self, config: BartConfig):
        super().__init__()
        d = config.d_model
        self.self_attn = MultiHeadAttention(d, config.encoder_attention_heads, config.attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, config.encoder_ffn_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_dim, d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.act = get_activation(config.activation_function)
        self.dropout = nn.Dropout(config.dropout)
        self.activation_dropout = nn.Dropout(config.activation_dropout)

    def forward(self, hidden, mask):
        attended, _ = self.self_attn(hidden, mask)
        hidden = self.self_attn_layer_norm(hidden + self.dropout(attended))
        ff = self.fc2(self.activation_dropout(self.act(self.fc1(hidden))))
        return self.final_layer_norm(hidden + self.dropout(ff))


class BartDecoderLayer(nn.Module):
    def __init__(self, config: BartConfig):
        super().__init__()
        d = config.d_model
        self.self_attn = MultiHeadAttention(d, config.decoder_attention_heads, config.attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = MultiHeadAttention(d, config.decoder_attention_heads, config.attention_dropout)
        self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, config.decoder_ffn_dim)
        self.fc2 = nn.Linear(config.decoder_ffn_dim, d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.act = get_activation(config.activation_function)
        self.dropout = nn.Dropout(config.dropout)
        self.activation_dropout = nn.Dropout(config.activation_dropout)

    def forward(self, hidden, mask, encoder_hidden=None, encoder_mask=None, past=None):
        attended, cache = self.self_attn(hidden, mask, past=past[:2] if past else None)
        hidden = self.self_attn_layer_norm(hidden + self.dropout(attended))
        if encoder_hidden is not None:
            attended, cross = self.encoder_attn(hidden, encoder_mask, encoder_hidden, past[2:] if past else None)
            hidden = self.encoder_attn_layer_norm(hidden + self.dropout(attended))
            cache = cache + cross
        ff = self.fc2(self.activation_dropout(self.act(self.fc1(hidden))))
        return self.final_layer_norm(hidden + self.dropout(ff)), cache


class _BartStack(nn.Module):
    def __init__(self, config: BartConfig, embed_tokens: nn.Embedding | None):
        super().__init__()
        self.embed_scale = math.sqrt(config.d_model) if config.scale_embedding else 1.0
        self.embed_tokens = embed_tokens or nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.embed_positions = BartLearnedPositionalEmbedding(config.max_position_embeddings, config.d_model)
        self.layernorm_embedding = nn.LayerNorm(config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def _embed(self, input_ids, inputs_embeds, past_length=0):
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        embeds = self.embed_tokens(input_ids) * self.embed_scale if inputs_embeds is None else inputs_embeds
        hidden = embeds + self.embed_positions(embeds.shape[1], past_length).to(embeds.dtype)
        return self.dropout(self.layernorm_embedding(hidden))


class BartEncoder(_BartStack):
    def __init__(self, config: BartConfig, embed_tokens=None):
        super().__init__(config, embed_tokens)
        self.layers = nn.ModuleList(BartEncoderLayer(config) for _ in range(config.encoder_layers))

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_hidden_states=False, **kwargs):
        hidden = self._embed(input_ids, inputs_embeds)
        mask = padding_mask(attention_mask, hidden.dtype)
        states = ()
        for layer in self.layers:
            states += (hidden,)
            hidden = layer(hidden, mask)
        states += (hidden,)
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None)


class BartDecoder(_BartStack):
    def __init__(self, config: BartConfig, embed_tokens=None):
        super().__init__(config, embed_tokens)
        self.layers = nn.ModuleList(BartDecoderLayer(config) for _ in range(config.decoder_layers))

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                inputs_embeds=None, past_key_values=None, use_cache=False, output_hidden_states=False, **kwargs):  # fmt: skip
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        hidden = self._embed(input_ids, inputs_embeds, past_length)
        mask = causal_mask(hidden.shape[1], past_length, attention_mask, hidden.dtype, hidden.device)
        encoder_mask = padding_mask(encoder_attention_mask, hidden.dtype)
        states, caches = (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            hidden, cache = layer(hidden, mask, encoder_hidden_states, encoder_mask,
                                  past_key_values[i] if past_key_values else None)  # fmt: skip
            caches += (cache,)
        states += (hidden,)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states if output_hidden_states else None,
        )  # fmt: skip


class BartPreTrainedModel(PreTrainedModel):
    config_class = BartConfig
    base_model_prefix = "model"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=self.config.init_std)
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()


class BartModel(BartPreTrainedModel):
    _tied_weights_keys = ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"]

    def __init__(self, config: BartConfig):
        super().__init__(config)
        self.shared = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.encoder = BartEncoder(config, self.shared)
        self.decoder = BartDecoder(config, self.shared)

    def get_input_embeddings(self):
        return self.shared

    def get_encoder(self):
        return self.encoder

    def tie_weights(self):
        self.encoder.embed_tokens = self.decoder.embed_tokens = self.shared

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
                use_cache=None, output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        keep = self._flag(output_hidden_states, "output_hidden_states")
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            if input_ids is None:
                raise ValueError("BART needs decoder_input_ids when input_ids are not given (they are built from them).")
            decoder_input_ids = shift_tokens_right(input_ids, self.config.pad_token_id, self.config.decoder_start_token_id)
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids, attention_mask, inputs_embeds, keep)
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(last_hidden_state=encoder_outputs[0])
        decoded = self.decoder(decoder_input_ids, decoder_attention_mask, encoder_outputs.last_hidden_state,
                               attention_mask, decoder_inputs_embeds, past_key_values,
                               self._flag(use_cache, "use_cache"), keep)  # fmt: skip
        result = out.Seq2SeqModelOutput(
            last_hidden_state=decoded.last_hidden_state, past_key_values=decoded.past_key_values,
            decoder_hidden_states=decoded.hidden_states, encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=encoder_outputs.hidden_states,
        )  # fmt: skip
        return self._finish(result, return_dict)


def _seq2seq_fields(encoded) -> dict:
    return {k: encoded[k] for k in ("past_key_values", "decoder_hidden_states", "encoder_last_hidden_state",
                                    "encoder_hidden_states") if k in encoded}  # fmt: skip


class BartForConditionalGeneration(BartPreTrainedModel, GenerationMixin):
    _tied_weights_keys = ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"]

    def __init__(self, config: BartConfig):
        super().__init__(config)
        self.model = BartModel(config)
        self.register_buffer("final_logits_bias", torch.zeros((1, config.vocab_size)))
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)

    def get_output_embeddings(self):
        return self.lm_head

    def get_encoder(self):
        return self.model.encoder

    def tie_weights(self):
        self.model.tie_weights()
        super().tie_weights()

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, labels=None, return_dict=None,
                **kwargs):  # fmt: skip
        if labels is not None and decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        encoded = self.model(input_ids, attention_mask, decoder_input_ids, return_dict=True, **kwargs)
        logits = self.lm_head(encoded.last_hidden_state) + self.final_logits_bias.to(encoded.last_hidden_state.device)
        loss = token_loss(logits, labels) if labels is not None else None
        result = out.Seq2SeqLMOutput(loss=loss, logits=logits, **_seq2seq_fields(encoded))
        return self._finish(result, return_dict)


class BartClassificationHead(nn.Module):
    def __init__(self, config: BartConfig):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.out_proj = nn.Linear(config.d_model, config.num_labels)

    def forward(self, hidden):
        return self.out_proj(self.dropout(torch.tanh(self.dense(self.dropout(hidden)))))


class BartForSequenceClassification(BartPreTrainedModel):
    _tied_weights_keys = ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"]

    def __init__(self, config: BartConfig):
        super().__init__(config)
        self.model = BartModel(config)
        self.classification_head = BartClassificationHead(config)

    def tie_weights(self):
        self.model.tie_weights()

    def forward(self, input_ids=None, attention_mask=None, labels=None, return_dict=None, **kwargs):
        if input_ids is None:
            raise ValueError("BartForSequenceClassification needs input_ids (it reads the end-of-sequence tokens).")
        kwargs["use_cache"] = False
        encoded = self.model(input_ids, attention_mask, return_dict=True, **kwargs)
        eos = input_ids.eq(self.config.eos_token_id)
        counts = eos.sum(1)
        if counts.min() == 0 or (counts != counts[0]).any():
            raise ValueError("Every example must contain the same number (at least one) of end-of-sequence tokens.")
        hidden = encoded.last_hidden_state
        logits = self.classification_head(hidden[eos].view(hidden.shape[0], -1, hidden.shape[-1])[:, -1])
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        result = out.Seq2SeqSequenceClassifierOutput(loss=loss, logits=logits, **_seq2seq_fields(encoded))
        return self._finish(result, return_dict)


class BartForQuestionAnswering(BartPreTrainedModel):
    _tied_weights_keys = ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"]

    def __init__(self, config: BartConfig):
        super().__init__(config)
        self.model = BartModel(config)
        self.qa_outputs = nn.Linear(config.d_model, config.num_labels)

    def tie_weights(self):
        self.model.tie_weights()

    def forward(self, input_ids=None, attention_mask=None, start_positions=None, end_positions=None,
                return_dict=None, **kwargs):  # fmt: skip
        kwargs["use_cache"] = False
        encoded = self.model(input_ids, attention_mask, return_dict=True, **kwargs)
        start, end = self.qa_outputs(encoded.last_hidden_state).split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = span_loss(start, end, start_positions, end_positions)
        result = out.Seq2SeqQuestionAnsweringModelOutput(
            loss=loss, start_logits=start, end_logits=end, **_seq2seq_fields(encoded)
        )
        return self._finish(result, return_dict)


class BartDecoderWrapper(BartPreTrainedModel):
    """Holds the decoder under `decoder` so a causal LM keeps the checkpoint's `model.decoder.` names."""

    def __init__(self, config: BartConfig):
        super().__init__(config)
        self.decoder = BartDecoder(config)

    def forward(self, *args, **kwargs):
        return self.decoder(*args, **kwargs)


class BartForCausalLM(BartPreTrainedModel, GenerationMixin):
    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config: BartConfig):
        config.is_decoder, config.is_encoder_decoder = True, False
        super().__init__(config)
        self.model = BartDecoderWrapper(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)

    def get_input_embeddings(self):
        return self.model.decoder.embed_tokens

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids=None, attention_mask=None, labels=None, past_key_values=None, use_cache=None,
                output_hidden_states=None, return_dict=None, inputs_embeds=None, **kwargs):  # fmt: skip
        decoded = self.model.decoder(input_ids, attention_mask, None, None, inputs_embeds, past_key_values,
                                     self._flag(use_cache, "use_cache"),
                                     self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        logits = self.lm_head(decoded.last_hidden_state)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        result = out.CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=decoded.past_key_values, hidden_states=decoded.hidden_states
        )
        return self._finish(result, return_dict)
