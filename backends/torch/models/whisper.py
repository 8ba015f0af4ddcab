"""Whisper in PyTorch: a conv front end over log-mel features, pre-norm encoder-decoder transformer."""

from __future__ import annotations

import math

import torch
from torch import nn

from autoload import outputs as out
from autoload.generation.whisper import model_decoder_prompt
from autoload.models.whisper import WhisperConfig

from ..activations import get_activation
from ..attention import MultiHeadAttention, causal_mask
from ..generation import GenerationMixin
from ..losses import causal_lm_loss, sequence_classification_loss, token_loss
from ..modeling import PreTrainedModel
from .bart import shift_tokens_right


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> torch.Tensor:
    """The fixed sin/cos table Whisper's encoder positions start from."""
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inv = torch.exp(-increment * torch.arange(channels // 2))
    scaled = torch.arange(length)[:, None] * inv[None, :]
    return torch.cat([scaled.sin(), scaled.cos()], dim=1)


class WhisperEncoderLayer(nn.Module):
    def __init__(self, config: WhisperConfig, heads: int, ffn: int, cross: bool = False):
        super().__init__()
        d = config.d_model
        self.self_attn = MultiHeadAttention(d, heads, config.attention_dropout, key_bias=False)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        if cross:
            self.encoder_attn = MultiHeadAttention(d, heads, config.attention_dropout, key_bias=False)
            self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.act = get_activation(config.activation_function)
        self.dropout = nn.Dropout(config.dropout)
        self.activation_dropout = nn.Dropout(config.activation_dropout)

    def forward(self, hidden, mask=None, encoder_hidden=None, encoder_mask=None, past=None):
        attended, cache = self.self_attn(self.self_attn_layer_norm(hidden), mask, past=past[:2] if past else None)
        hidden = hidden + self.dropout(attended)
        if encoder_hidden is not None:
            attended, cross = self.encoder_attn(self.encoder_attn_layer_norm(hidden), encoder_mask, encoder_hidden,
                                                past[2:] if past else None)  # fmt: skip
            hidden = hidden + self.dropout(attended)
            cache = cache + cross
        ff = self.fc2(self.activation_dropout(self.act(self.fc1(self.final_layer_norm(hidden)))))
        return hidden + self.dropout(ff), cache


class WhisperDecoderLayer(WhisperEncoderLayer):
    def __init__(self, config: WhisperConfig):
        super().__init__(config, config.decoder_attention_heads, config.decoder_ffn_dim, cross=True)


class WhisperEncoder(nn.Module):
    def __init__(self, config: WhisperConfig):
        super().__init__()
        self.config = config
        self.conv1 = nn.Conv1d(config.num_mel_bins, config.d_model, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(config.d_model, config.d_model, kernel_size=3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(config.max_source_positions, config.d_model)
        self.embed_positions.requires_grad_(False)
        self.layers = nn.ModuleList(
            WhisperEncoderLayer(config, config.encoder_attention_heads, config.encoder_ffn_dim)
            for _ in range(config.encoder_layers)
        )
        self.layer_norm = nn.LayerNorm(config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_features, output_hidden_states=False, **kwargs):
        frames = self.config.max_source_positions * 2
        if input_features.ndim != 3 or input_features.shape[1:] != (self.config.num_mel_bins, frames):
            raise ValueError(
                f"Whisper expects input_features of shape [batch, {self.config.num_mel_bins}, {frames}] (log-mel "
                f"frames padded to {frames}); got {tuple(input_features.shape)}. Use WhisperFeatureExtractor."
            )
        x = nn.functional.gelu(self.conv1(input_features.to(self.conv1.weight.dtype)))
        x = nn.functional.gelu(self.conv2(x)).permute(0, 2, 1)
        hidden = self.dropout(x + self.embed_positions.weight[: x.shape[1]])
        states = ()
        for layer in self.layers:
            states += (hidden,)
            hidden, _ = layer(hidden)
        hidden = self.layer_norm(hidden)
        states += (hidden,)
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None)


class WhisperDecoder(nn.Module):
    def __init__(self, config: WhisperConfig):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.embed_positions = nn.Embedding(config.max_target_positions, config.d_model)
        self.layers = nn.ModuleList(WhisperDecoderLayer(config) for _ in range(config.decoder_layers))
        self.layer_norm = nn.LayerNorm(config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, inputs_embeds=None,
                past_key_values=None, use_cache=False, output_hidden_states=False, **kwargs):  # fmt: skip
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of decoder_input_ids and decoder_inputs_embeds.")
        embeds = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        length = embeds.shape[1]
        if past_length + length > self.config.max_target_positions:
            raise ValueError(
                f"Decoder length {past_length + length} exceeds max_target_positions ({self.config.max_target_positions})."
            )
        hidden = self.dropout(embeds + self.embed_positions.weight[past_length : past_length + length])
        mask = causal_mask(length, past_length, attention_mask, hidden.dtype, hidden.device)
        states, caches = (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            hidden, cache = layer(hidden, mask, encoder_hidden_states, None, past_key_values[i] if past_key_values else None)
            caches += (cache,)
        hidden = self.layer_norm(hidden)
        states += (hidden,)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states if output_hidden_states else None,
        )  # fmt: skip


class WhisperPreTrainedModel(PreTrainedModel):
    config_class = WhisperConfig
    base_model_prefix = "model"
    main_input_name = "input_features"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Embedding)):
            nn.init.normal_(module.weight, std=self.config.init_std)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
        if isinstance(module, WhisperEncoder):
            with torch.no_grad():
                module.embed_positions.weight.copy_(sinusoids(*module.embed_positions.weight.shape))


class WhisperModel(WhisperPreTrainedModel):
    def __init__(self, config: WhisperConfig):
        super().__init__(config)
        self.encoder = WhisperEncoder(config)
        self.decoder = WhisperDecoder(config)

    def get_input_embeddings(self):
        return self.decoder.embed_tokens

    def get_encoder(self):
        return self.encoder

    def forward(self, input_features=None, decoder_input_ids=None, decoder_attention_mask=None, encoder_outputs=None,
                past_key_values=None, decoder_inputs_embeds=None, use_cache=None, output_hidden_states=None,
                return_dict=None, **kwargs):  # fmt: skip
        keep = self._flag(output_hidden_states, "output_hidden_states")
        if encoder_outputs is None:
            if input_features is None:
                raise ValueError("Whisper needs input_features (or encoder_outputs).")
            encoder_outputs = self.encoder(input_features, keep)
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(last_hidden_state=encoder_outputs[0])
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            raise ValueError(
                "Whisper's decoder needs decoder_input_ids (start with config.decoder_start_token_id), or labels "
                "for WhisperForConditionalGeneration."
            )
        decoded = self.decoder(decoder_input_ids, decoder_attention_mask, encoder_outputs.last_hidden_state,
                               decoder_inputs_embeds, past_key_values, self._flag(use_cache, "use_cache"), keep)  # fmt: skip
        result = out.Seq2SeqModelOutput(
            last_hidden_state=decoded.last_hidden_state, past_key_values=decoded.past_key_values,
            decoder_hidden_states=decoded.hidden_states, encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=encoder_outputs.hidden_states,
        )  # fmt: skip
        return self._finish(result, return_dict)


class WhisperForConditionalGeneration(WhisperPreTrainedModel, GenerationMixin):
    _tied_weights_keys = ["proj_out.weight"]

    def __init__(self, config: WhisperConfig):
        super().__init__(config)
        self.model = WhisperModel(config)
        self.proj_out = nn.Linear(config.d_model, config.vocab_size, bias=False)

    def get_output_embeddings(self):
        return self.proj_out

    def get_encoder(self):
        return self.model.encoder

    def generate(self, input_features=None, language=None, task=None, return_timestamps=None, **kwargs):
        """Like transformers' Whisper: the returned tokens exclude the decoder prompt (start, language, task)."""
        features = torch.as_tensor(input_features, device=self.device)

        def first_logits(tokens):
            with torch.no_grad():
                tokens = torch.as_tensor(tokens, device=self.device)
                return self(input_features=features, decoder_input_ids=tokens).logits[:, -1].float().cpu().numpy()

        prompt = model_decoder_prompt(self, features.shape[0], kwargs, language=language, task=task,
                                      return_timestamps=return_timestamps, first_logits=first_logits)  # fmt: skip
        return super().generate(input_features=features, decoder_input_ids=prompt, **kwargs)[:, prompt.shape[1] :]

    def forward(self, input_features=None, decoder_input_ids=None, labels=None, return_dict=None, **kwargs):
        if labels is not None and decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        encoded = self.model(input_features, decoder_input_ids, return_dict=True, **kwargs)
        logits = self.proj_out(encoded.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        fields = {k: encoded[k] for k in ("past_key_values", "decoder_hidden_states", "encoder_last_hidden_state",
                                          "encoder_hidden_states") if k in encoded}  # fmt: skip
        result = out.Seq2SeqLMOutput(loss=loss, logits=logits, **fields)
        return self._finish(result, return_dict)


class WhisperDecoderWrapper(WhisperPreTrainedModel):
    """Holds the decoder under `decoder` so the causal LM keeps the checkpoint's `model.decoder.` names."""

    def __init__(self, config: WhisperConfig):
        super().__init__(config)
        self.decoder = WhisperDecoder(config)


class WhisperForCausalLM(WhisperPreTrainedModel, GenerationMixin):
    _tied_weights_keys = ["proj_out.weight"]
    main_input_name = "input_ids"

    def __init__(self, config: WhisperConfig):
        config.is_encoder_decoder = False
        super().__init__(config)
        self.model = WhisperDecoderWrapper(config)
        self.proj_out = nn.Linear(config.d_model, config.vocab_size, bias=False)

    def get_input_embeddings(self):
        return self.model.decoder.embed_tokens

    def get_output_embeddings(self):
        return self.proj_out

    def forward(self, input_ids=None, attention_mask=None, encoder_outputs=None, labels=None, past_key_values=None,
                inputs_embeds=None, use_cache=None, output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        encoder_hidden = encoder_outputs[0] if encoder_outputs is not None else None
        decoded = self.model.decoder(input_ids, attention_mask, encoder_hidden, inputs_embeds, past_key_values,
                                     self._flag(use_cache, "use_cache"),
                                     self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        logits = self.proj_out(decoded.last_hidden_state)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        result = out.CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=decoded.past_key_values, hidden_states=decoded.hidden_states
        )
        return self._finish(result, return_dict)


class WhisperForAudioClassification(WhisperPreTrainedModel):
    def __init__(self, config: WhisperConfig):
        super().__init__(config)
        self.encoder = WhisperEncoder(config)
        if config.use_weighted_layer_sum:
            self.layer_weights = nn.Parameter(torch.ones(config.encoder_layers + 1) / (config.encoder_layers + 1))
        self.projector = nn.Linear(config.d_model, config.classifier_proj_size)
        self.classifier = nn.Linear(config.classifier_proj_size, config.num_labels)

    def forward(self, input_features=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        keep = self._flag(output_hidden_states, "output_hidden_states")
        encoded = self.encoder(input_features, keep or self.config.use_weighted_layer_sum)
        if self.config.use_weighted_layer_sum:
            weights = nn.functional.softmax(self.layer_weights, dim=-1)
            hidden = (torch.stack(encoded.hidden_states, dim=1) * weights[None, :, None, None]).sum(dim=1)
        else:
            hidden = encoded.last_hidden_state
        logits = self.classifier(self.projector(hidden).mean(dim=1))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        result = out.SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states if keep else None)
        return self._finish(result, return_dict)
