"""Encoder-decoder blocks in PyTorch: the BART family (BART, mBART, Marian, Pegasus) and Whisper's transformer.

Attribute names are the checkpoint names (self_attn/{q,k,v,out}_proj, self_attn_layer_norm, encoder_attn,
encoder_attn_layer_norm, fc1, fc2, final_layer_norm, embed_positions, layernorm_embedding, layer_norm).
What differs between the architectures (pre- or post-norm, positions, embedding scale, extra norms) comes
from the config's Seq2SeqLayout (autoload/seq2seq.py); an architecture's module only names its classes.

The key/value cache of a decoder layer is a tuple (self keys, self values, cross keys, cross values), each
[batch, heads, length, head_dim]; the cross-attention pair is computed once from the encoder output and
reused as it is.
"""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.seq2seq import sinusoidal_positions

from ..activations import get_activation
from ..attention import causal_mask, padding_mask
from ..generation import GenerationMixin
from ..losses import causal_lm_loss, token_loss
from ..modeling import PreTrainedModel


class Seq2SeqAttention(nn.Module):
    """Multi-head self- or cross-attention with q_proj / k_proj / v_proj / out_proj."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, key_bias: bool = True):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=key_bias)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.dropout = dropout

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], -1, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden, mask=None, key_value_states=None, past=None, output_attentions=False):
        """Returns (output, (keys, values), attention weights or None); `mask` is additive."""
        q = self._heads(self.q_proj(hidden))
        if key_value_states is not None and past is not None:
            k, v = past
        else:
            source = hidden if key_value_states is None else key_value_states
            k, v = self._heads(self.k_proj(source)), self._heads(self.v_proj(source))
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        dropout = self.dropout if self.training else 0.0
        weights = None
        if output_attentions:
            scores = (q @ k.transpose(-1, -2)) * self.head_dim**-0.5
            weights = (scores if mask is None else scores + mask).softmax(-1)
            context = nn.functional.dropout(weights, dropout, self.training) @ v
        else:
            context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        context = context.transpose(1, 2).reshape(hidden.shape[0], -1, self.num_heads * self.head_dim)
        return self.out_proj(context), (k, v), weights


class Seq2SeqLayer(nn.Module):
    """One encoder layer (self-attention, feed-forward) or decoder layer (with cross-attention between),
    each sub-layer a residual branch normalised before (pre-norm) or after (post-norm) it."""

    def __init__(self, config, decoder: bool):
        super().__init__()
        _, heads, ffn = config.stack_sizes(decoder)
        d, layout = config.d_model, config.layout
        self.pre_norm = layout.pre_norm
        self.self_attn = Seq2SeqAttention(d, heads, config.attention_dropout, layout.key_bias)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        if decoder:
            self.encoder_attn = Seq2SeqAttention(d, heads, config.attention_dropout, layout.key_bias)
            self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.act = get_activation(config.activation_function)
        self.dropout = nn.Dropout(config.dropout)
        self.activation_dropout = nn.Dropout(config.activation_dropout)

    def _residual(self, hidden, norm, branch):
        if self.pre_norm:
            output, *rest = branch(norm(hidden))
            return (hidden + self.dropout(output), *rest)
        output, *rest = branch(hidden)
        return (norm(hidden + self.dropout(output)), *rest)

    def _feed_forward(self, hidden):
        return (self.fc2(self.activation_dropout(self.act(self.fc1(hidden)))),)

    def forward(self, hidden, mask=None, encoder_hidden=None, encoder_mask=None, past=None, output_attentions=False):
        """Returns (hidden, cache, self-attention weights, cross-attention weights)."""
        hidden, cache, weights = self._residual(hidden, self.self_attn_layer_norm, lambda x: self.self_attn(
            x, mask, past=past[:2] if past else None, output_attentions=output_attentions))  # fmt: skip
        cross_weights = None
        if encoder_hidden is not None:
            hidden, cross, cross_weights = self._residual(hidden, self.encoder_attn_layer_norm, lambda x: self.encoder_attn(
                x, encoder_mask, encoder_hidden, past[2:] if past else None, output_attentions))  # fmt: skip
            cache = cache + cross
        (hidden,) = self._residual(hidden, self.final_layer_norm, self._feed_forward)
        return hidden, cache, weights, cross_weights


class LearnedPositions(nn.Embedding):
    """A learned table whose first `offset` rows precede position 0 (BART and mBART keep two)."""

    def __init__(self, num_positions: int, dim: int, offset: int = 0, limit_name: str = "max_position_embeddings"):
        super().__init__(num_positions + offset, dim)
        self.offset, self.limit_name = offset, limit_name

    def forward(self, length: int, past_length: int = 0, position_ids=None) -> torch.Tensor:
        """[1, length, dim] for past_length, ...; [batch, length, dim] for given position_ids."""
        if position_ids is not None:
            check_length(int(position_ids.max()) + 1, self.num_embeddings - self.offset, self.limit_name)
            return super().forward(position_ids + self.offset)
        check_length(past_length + length, self.num_embeddings - self.offset, self.limit_name)
        positions = torch.arange(past_length, past_length + length, device=self.weight.device) + self.offset
        return super().forward(positions)[None]


class SinusoidalPositions(nn.Module):
    """Marian's and Pegasus' fixed sin/cos table, computed from the config; never a weight, so a checkpoint's
    copy of it is not read (`embed_positions.weight` is ignored on load)."""

    def __init__(self, num_positions: int, dim: int):
        super().__init__()
        self.register_buffer("table", torch.from_numpy(sinusoidal_positions(num_positions, dim)), persistent=False)

    def forward(self, length: int, past_length: int = 0, position_ids=None) -> torch.Tensor:
        if position_ids is not None:
            check_length(int(position_ids.max()) + 1, self.table.shape[0])
            return self.table[position_ids]
        check_length(past_length + length, self.table.shape[0])
        return self.table[past_length : past_length + length][None]


def check_length(length: int, limit: int, limit_name: str = "max_position_embeddings") -> None:
    if length > limit:
        raise ValueError(f"Sequence length {length} is longer than the {limit} positions of the model "
                         f"(config.{limit_name}); truncate the inputs.")  # fmt: skip


def position_embedding(config, decoder: bool) -> nn.Module:
    layout, (count, name) = config.layout, config.position_limit(decoder)
    if layout.positions == "sinusoidal":
        return SinusoidalPositions(count, config.d_model)
    return LearnedPositions(count, config.d_model, layout.position_offset, name)


class LayerStack(nn.Module):
    """`layers` (and the final `layer_norm` where the layout has one), run with LayerDrop while training."""

    def build_layers(self, config, decoder: bool) -> None:
        count, _, _ = config.stack_sizes(decoder)
        self.layers = nn.ModuleList(Seq2SeqLayer(config, decoder) for _ in range(count))
        self.layerdrop = config.decoder_layerdrop if decoder else config.encoder_layerdrop
        if config.layout.final_norm:
            self.layer_norm = nn.LayerNorm(config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def run_layers(self, hidden, mask, encoder_hidden=None, encoder_mask=None, past_key_values=None, use_cache=False,
                   output_attentions=False, output_hidden_states=False):  # fmt: skip
        states, caches, self_weights, cross_weights = (), (), (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            if self.training and self.layerdrop and torch.rand([]) < self.layerdrop:
                caches += (None,)
                continue
            hidden, cache, weights, cross = layer(hidden, mask, encoder_hidden, encoder_mask,
                                                  past_key_values[i] if past_key_values else None, output_attentions)  # fmt: skip
            caches, self_weights, cross_weights = caches + (cache,), self_weights + (weights,), cross_weights + (cross,)
        if hasattr(self, "layer_norm"):
            hidden = self.layer_norm(hidden)
        states += (hidden,)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states if output_hidden_states else None,
            attentions=self_weights if output_attentions else None,
            cross_attentions=cross_weights if output_attentions and encoder_hidden is not None else None,
        )  # fmt: skip


class Seq2SeqStack(LayerStack):
    """Token embedding, positions, optional `layernorm_embedding`, then the layers."""

    def __init__(self, config, embed_tokens: nn.Embedding | None, decoder: bool):
        super().__init__()
        self.config, self.is_decoder = config, decoder
        vocab = config.decoder_vocab if decoder else config.vocab_size
        self.embed_tokens = embed_tokens or nn.Embedding(vocab, config.d_model, config.pad_token_id)
        self.embed_positions = position_embedding(config, decoder)
        if config.layout.embedding_norm:
            self.layernorm_embedding = nn.LayerNorm(config.d_model)
        self.build_layers(config, decoder)

    def embed(self, input_ids, inputs_embeds, past_length: int = 0, position_ids=None):
        if (input_ids is None) == (inputs_embeds is None):
            what = "decoder_input_ids and decoder_inputs_embeds" if self.is_decoder else "input_ids and inputs_embeds"
            raise ValueError(f"Pass exactly one of {what}.")
        scale = self.config.embed_scale
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids) * scale
        elif self.is_decoder and self.config.layout.scales_given_embeddings:
            inputs_embeds = inputs_embeds * scale
        positions = self.embed_positions(inputs_embeds.shape[1], past_length, position_ids)
        hidden = inputs_embeds + positions.to(inputs_embeds.dtype)
        if hasattr(self, "layernorm_embedding"):
            hidden = self.layernorm_embedding(hidden)
        return self.dropout(hidden)


class Seq2SeqEncoder(Seq2SeqStack):
    def __init__(self, config, embed_tokens: nn.Embedding | None = None):
        super().__init__(config, embed_tokens, decoder=False)

    def get_input_embeddings(self):
        return self.embed_tokens

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, output_attentions=False,
                output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        hidden = self.embed(input_ids, inputs_embeds)
        encoded = self.run_layers(hidden, padding_mask(attention_mask, hidden.dtype), output_attentions=output_attentions,
                                  output_hidden_states=output_hidden_states)  # fmt: skip
        return out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states,
                                   attentions=encoded.attentions)  # fmt: skip


class Seq2SeqDecoder(Seq2SeqStack):
    def __init__(self, config, embed_tokens: nn.Embedding | None = None):
        super().__init__(config, embed_tokens, decoder=True)

    def get_input_embeddings(self):
        return self.embed_tokens

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                inputs_embeds=None, past_key_values=None, use_cache=False, output_attentions=False,
                output_hidden_states=False, position_ids=None, **kwargs):  # fmt: skip
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        hidden = self.embed(input_ids, inputs_embeds, past_length, position_ids)
        mask = causal_mask(hidden.shape[1], past_length, attention_mask, hidden.dtype, hidden.device)
        return self.run_layers(hidden, mask, encoder_hidden_states, padding_mask(encoder_attention_mask, hidden.dtype),
                               past_key_values, use_cache, output_attentions, output_hidden_states)


def shift_tokens_right(input_ids: torch.Tensor, pad_token_id: int, start_token_id: int) -> torch.Tensor:
    """Decoder inputs from targets: the start token, then the targets moved one place right (-100 -> pad)."""
    if start_token_id is None:
        raise ValueError("config.decoder_start_token_id is not set; it is needed to build decoder inputs.")
    shifted = input_ids.new_zeros(input_ids.shape)
    shifted[:, 1:] = input_ids[:, :-1]
    shifted[:, 0] = start_token_id
    return shifted.masked_fill(shifted == -100, pad_token_id)


class Seq2SeqPreTrainedModel(PreTrainedModel):
    """Weight initialisation of the BART family (normal(init_std), zero biases, zero padding row)."""

    base_model_prefix = "model"
    # Old fairseq conversions carry these; transformers ignores them too.
    _keys_to_ignore_on_load_unexpected = [r"(encoder|decoder)\.version$"]

    @property
    def _tied_aliases(self) -> list[str]:
        """The base model's embedding aliases under its prefix: tied whatever tie_word_embeddings says."""
        base = getattr(self, self.base_model_prefix, None)
        if base is None or base is self:
            return []
        return [f"{self.base_model_prefix}.{key}" for key in getattr(base, "_tied_aliases", ())]

    @property
    def _tied_weights_keys(self) -> list[str]:
        return self._tied_aliases

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=self.config.init_std)
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()


class EncoderDecoderModel(PreTrainedModel):
    """`shared` token embedding, `encoder` and `decoder`, and the forward pass of transformers' <X>Model, for
    any stacks called as `stack(input_ids=, attention_mask=, inputs_embeds=, encoder_hidden_states=,
    encoder_attention_mask=, past_key_values=, use_cache=, output_attentions=, output_hidden_states=)`
    (the block library's, or T5's). Architectures set the stack classes and say how decoder inputs are built
    when only input_ids are given."""

    encoder_class: type
    decoder_class: type
    encoder_embeds = True  # the encoder takes token ids (Whisper's takes audio features)

    def __init__(self, config):
        super().__init__(config)
        self.shared = self.build_embedding(config) if self.shares_embeddings(config) else None
        separate = self.shared is None
        self.encoder = self.encoder_class(config, self.build_embedding(config) if separate and self.encoder_embeds
                                          else self.shared)  # fmt: skip
        self.decoder = self.decoder_class(config, self.build_embedding(config) if separate else self.shared)

    @staticmethod
    def build_embedding(config) -> nn.Embedding:
        return nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)

    @staticmethod
    def shares_embeddings(config) -> bool:
        return True

    @property
    def _tied_aliases(self) -> list[str]:
        """The encoder's and decoder's embed_tokens are the shared embedding (when there is one)."""
        return ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"] if self.shared is not None else []

    @property
    def _tied_weights_keys(self) -> list[str]:
        return self._tied_aliases

    def get_input_embeddings(self):
        return self.encoder.embed_tokens

    def get_encoder(self):
        return self.encoder

    def get_decoder(self):
        return self.decoder

    def tie_weights(self):
        if self.shared is not None:
            self.encoder.embed_tokens = self.decoder.embed_tokens = self.shared

    def decoder_inputs_from(self, input_ids):
        """decoder_input_ids for a call that gives only input_ids (BART shifts them; others need them given)."""
        raise ValueError(
            f"{type(self).__name__} needs decoder_input_ids (or decoder_inputs_embeds); an encoder-decoder model "
            "cannot run its decoder without inputs."
        )

    def labels_to_decoder_inputs(self, labels):
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    def run_encoder(self, input_ids, attention_mask, inputs_embeds, output_attentions, output_hidden_states):
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                            output_attentions=output_attentions, output_hidden_states=output_hidden_states)

    def run(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
            encoder_outputs=None, past_key_values=None, inputs_embeds=None, decoder_inputs_embeds=None,
            use_cache=None, output_attentions=None, output_hidden_states=None, decoder_position_ids=None,
            **kwargs):  # fmt: skip
        """(encoder output, decoder output) of one call."""
        reject_unsupported(kwargs)
        attend = self._flag(output_attentions, "output_attentions")
        keep = self._flag(output_hidden_states, "output_hidden_states")
        if decoder_input_ids is None and decoder_inputs_embeds is None:
            if input_ids is None:
                raise ValueError(f"{type(self).__name__} needs decoder_input_ids when input_ids are not given.")
            decoder_input_ids = self.decoder_inputs_from(input_ids)
        if encoder_outputs is None:
            encoder_outputs = self.run_encoder(input_ids, attention_mask, inputs_embeds, attend, keep)
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        positions = {} if decoder_position_ids is None else {"position_ids": decoder_position_ids}
        decoded = self.decoder(input_ids=decoder_input_ids, attention_mask=decoder_attention_mask,
                               encoder_hidden_states=encoder_outputs.last_hidden_state,
                               encoder_attention_mask=attention_mask, inputs_embeds=decoder_inputs_embeds,
                               past_key_values=past_key_values, use_cache=self._flag(use_cache, "use_cache"),
                               output_attentions=attend, output_hidden_states=keep, **positions)  # fmt: skip
        return encoder_outputs, decoded

    def forward(self, *args, return_dict=None, **kwargs):
        encoded, decoded = self.run(*args, **kwargs)
        return self._finish(seq2seq_output(out.Seq2SeqModelOutput, encoded, decoded,
                                           last_hidden_state=decoded.last_hidden_state), return_dict)  # fmt: skip


class Seq2SeqModel(EncoderDecoderModel, Seq2SeqPreTrainedModel):
    """transformers' <X>Model of the BART family."""

    encoder_class = Seq2SeqEncoder
    decoder_class = Seq2SeqDecoder


def reject_unsupported(kwargs: dict) -> None:
    given = sorted(k for k in ("head_mask", "decoder_head_mask", "cross_attn_head_mask", "position_ids",
                               "decoder_position_ids") if kwargs.get(k) is not None)  # fmt: skip
    if given:
        raise NotImplementedError(f"{', '.join(given)} are not supported by autoload's encoder-decoder models.")


def seq2seq_output(output_class, encoded, decoded, **values):
    """An output of the encoder-decoder family from the encoder's and the decoder's outputs."""
    return output_class(
        **values, past_key_values=decoded.past_key_values, decoder_hidden_states=decoded.hidden_states,
        decoder_attentions=decoded.attentions, cross_attentions=decoded.cross_attentions,
        encoder_last_hidden_state=encoded.last_hidden_state, encoder_hidden_states=encoded.hidden_states,
        encoder_attentions=encoded.attentions,
    )  # fmt: skip


class Seq2SeqLM(Seq2SeqPreTrainedModel, GenerationMixin):
    """The base model under `model`, an `lm_head` over the decoder vocabulary and `final_logits_bias`:
    transformers' <X>ForConditionalGeneration (<X>MTModel for Marian)."""

    base_class: type

    def __init__(self, config):
        super().__init__(config)
        self.model = self.base_class(config)
        self.register_buffer("final_logits_bias", torch.zeros((1, config.target_vocab)))
        self.lm_head = nn.Linear(config.d_model, config.target_vocab, bias=False)

    @property
    def _tied_weights_keys(self) -> list[str]:
        return [*self._tied_aliases, "lm_head.weight"]

    def get_input_embeddings(self):
        return self.model.get_input_embeddings()

    def get_output_embeddings(self):
        return self.lm_head

    def get_encoder(self):
        return self.model.encoder

    def get_decoder(self):
        return self.model.decoder

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """The decoder inputs a call with these labels derives (DataCollatorForSeq2Seq(model=...) adds them)."""
        return self.model.labels_to_decoder_inputs(labels)

    def tie_weights(self):
        self.model.tie_weights()
        if getattr(self.config, "tie_word_embeddings", True):
            self.lm_head.weight = self.model.decoder.embed_tokens.weight

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, labels=None, return_dict=None,
                **kwargs):  # fmt: skip
        if labels is not None:
            kwargs["use_cache"] = False
            if decoder_input_ids is None and kwargs.get("decoder_inputs_embeds") is None:
                decoder_input_ids = self.model.labels_to_decoder_inputs(labels)
        encoded = self.model(input_ids, attention_mask, decoder_input_ids, return_dict=True, **kwargs)
        logits = self.lm_head(encoded.last_hidden_state) + self.final_logits_bias.to(encoded.last_hidden_state.device)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.Seq2SeqLMOutput, encoded, loss=loss, logits=logits), return_dict)


class DecoderWrapper(Seq2SeqPreTrainedModel):
    """Holds a decoder under `decoder`, so a causal LM keeps the checkpoint's `model.decoder.` names."""

    def __init__(self, config, decoder_class: type = Seq2SeqDecoder):
        super().__init__(config)
        self.decoder = decoder_class(config)

    def forward(self, *args, **kwargs):
        return self.decoder(*args, **kwargs)


class Seq2SeqForCausalLM(Seq2SeqPreTrainedModel, GenerationMixin):
    """The decoder alone as a language model (cross-attention only when encoder_hidden_states are given)."""

    decoder_class: type = Seq2SeqDecoder
    lm_head_name = "lm_head"  # Whisper's is proj_out
    marks_decoder = True  # sets config.is_decoder (Whisper's causal LM leaves it)

    def __init__(self, config):
        config.is_decoder, config.is_encoder_decoder = config.is_decoder or self.marks_decoder, False
        super().__init__(config)
        self.model = DecoderWrapper(config, self.decoder_class)
        setattr(self, self.lm_head_name, nn.Linear(config.d_model, config.vocab_size, bias=False))

    @property
    def _tied_weights_keys(self) -> list[str]:
        return [self.lm_head_name + ".weight"]

    def get_input_embeddings(self):
        return self.model.decoder.embed_tokens

    def get_output_embeddings(self):
        return getattr(self, self.lm_head_name)

    def get_decoder(self):
        return self.model.decoder

    def forward(self, input_ids=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                inputs_embeds=None, past_key_values=None, labels=None, use_cache=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, **kwargs):  # fmt: skip
        reject_unsupported(kwargs)
        decoded = self.model.decoder(input_ids, attention_mask, encoder_hidden_states, encoder_attention_mask,
                                     inputs_embeds, past_key_values, self._flag(use_cache, "use_cache"),
                                     self._flag(output_attentions, "output_attentions"),
                                     self._flag(output_hidden_states, "output_hidden_states"))  # fmt: skip
        logits = self.get_output_embeddings()(decoded.last_hidden_state)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        result = out.from_encoded(out.CausalLMOutputWithCrossAttentions, decoded, loss=loss, logits=logits)
        return self._finish(result, return_dict)
