"""SpeechT5 in PyTorch: the post-norm encoder (relative position bias) and decoder between the text / speech
pre-nets and post-nets. Module names are the checkpoint's (`wrapped_encoder`, `wrapped_decoder`, `prenet`,
`speech_decoder_postnet`, `text_decoder_postnet`); the speech encoder pre-net is the shared wav2vec2-style
feature encoder, projection and positional convolution (`blocks/speech.py`), the decoder attention the
block library's (`blocks/seq2seq.py`, with its (self k, self v, cross k, cross v) cache per layer)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autoload import outputs as out
from autoload.models.speecht5 import (
    SpeechT5Config,
    fairseq_sinusoids,
    padded_positions,
    relative_distances,
    scaled_positions,
    speech_frame_positions,
)
from autoload.speech import check_audio

from ..attention import causal_mask, padding_mask
from ..blocks.seq2seq import Seq2SeqAttention, reject_unsupported, shift_tokens_right
from ..blocks.speech import (
    SpeechEncoderModel,
    SpeechFeatureEncoder,
    SpeechFeatureProjection,
    SpeechFeedForward,
    SpeechPositionalConvEmbedding,
    frame_mask,
)
from ..generation import GenerationMixin
from ..losses import token_loss
from ..modeling import PreTrainedModel


# -- pre-nets ---------------------------------------------------------------------------------------------------
class SpeechT5ScaledPositionalEncoding(nn.Module):
    """Adds `alpha` times the sin/cos table (computed, never stored), then dropout."""

    def __init__(self, dropout: float, limit: int, limit_name: str):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(1.0))
        self.dropout = nn.Dropout(dropout)
        self.limit, self.limit_name = limit, limit_name

    def forward(self, embeds):
        table = scaled_positions(embeds.shape[1], embeds.shape[2], self.limit, self.limit_name)
        return self.dropout(embeds + self.alpha * torch.from_numpy(table).to(embeds.device, embeds.dtype))


class SpeechT5TextEncoderPrenet(nn.Module):
    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        self.encode_positions = SpeechT5ScaledPositionalEncoding(config.positional_dropout, config.max_text_positions,
                                                                 "max_text_positions")  # fmt: skip

    def forward(self, input_ids):
        return self.encode_positions(self.embed_tokens(input_ids))


class SpeechT5SpeechEncoderPrenet(nn.Module):
    """Raw audio -> conv features -> projection (-> SpecAugment while training) + positional conv + fairseq
    sinusoidal positions counted over the real frames. Returns (hidden, frame mask or None)."""

    spec_augment_lengths = True
    mask_hidden = SpeechEncoderModel.mask_hidden

    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.config = config
        o = self.options = config.speech_options()
        self.feature_encoder = SpeechFeatureEncoder(o)
        self.feature_projection = SpeechFeatureProjection(o)
        if o.masked_spec_embed:
            self.masked_spec_embed = nn.Parameter(torch.empty(o.hidden_size).uniform_())
        self.pos_conv_embed = SpeechPositionalConvEmbedding(o)

    def forward(self, input_values, attention_mask=None):
        check_audio(self.config, input_values.shape)
        features = self.feature_encoder(input_values.to(self.feature_projection.projection.weight.dtype))
        features = features.transpose(1, 2)
        frames = None if attention_mask is None else frame_mask(self.config, attention_mask, features.shape[1], False)
        hidden, _ = self.feature_projection(features)
        hidden = self.mask_hidden(hidden, None, frames)
        hidden = hidden + self.pos_conv_embed(hidden)
        positions = speech_frame_positions(None if frames is None else frames.cpu().numpy(), hidden.shape[1],
                                           hidden.shape[0], self.config.pad_token_id)  # fmt: skip
        table = fairseq_sinusoids(positions, hidden.shape[2], self.config.pad_token_id)
        return hidden + torch.from_numpy(table).to(hidden.device, hidden.dtype), frames


class SpeechT5TextDecoderPrenet(nn.Module):
    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.config = config
        self.dropout = nn.Dropout(config.positional_dropout)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)

    def forward(self, input_ids, past_length: int = 0):
        pad = self.config.pad_token_id
        positions = padded_positions(input_ids.cpu().numpy(), pad, past_length)
        table = torch.from_numpy(fairseq_sinusoids(positions, self.config.hidden_size, pad))
        embeds = self.embed_tokens(input_ids) * self.config.embed_scale
        return self.dropout(embeds + table.to(embeds.device, embeds.dtype))


class SpeechT5SpeechDecoderPrenet(nn.Module):
    """Log-mel frames -> ReLU layers, each followed by the consistent dropout (applied in eval mode too; see
    autoload/models/speecht5.py) -> final_layer -> scaled positions -> speaker embedding (L2-normalised,
    concatenated, ReLU(speaker_embeds_layer)).

    The dropout masks are drawn with `torch.bernoulli` on the given `generator` (torch's default generator when
    None), one [frames, units] draw per layer in order, exactly as transformers draws them: under the same
    `torch.manual_seed` both give the same masks. TF and Flax draw theirs from their own generators, so for
    speech_decoder_prenet_dropout > 0 the three frameworks agree only in distribution."""

    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.config = config
        units = config.speech_decoder_prenet_units
        self.layers = nn.ModuleList(nn.Linear(config.num_mel_bins if i == 0 else units, units)
                                    for i in range(config.speech_decoder_prenet_layers))  # fmt: skip
        self.final_layer = nn.Linear(units, config.hidden_size)
        self.encode_positions = SpeechT5ScaledPositionalEncoding(config.positional_dropout,
                                                                 config.max_speech_positions, "max_speech_positions")  # fmt: skip
        self.speaker_embeds_layer = nn.Linear(config.speaker_embedding_dim + config.hidden_size, config.hidden_size)

    def consistent_dropout(self, hidden, generator=None):
        p = self.config.speech_decoder_prenet_dropout
        keep = torch.bernoulli(hidden[0].detach(), p, generator=generator)
        return torch.where(keep[None] == 1, hidden, 0) * (1 / (1 - p))

    def forward(self, input_values, speaker_embeddings=None, generator=None):
        hidden = input_values
        for layer in self.layers:
            hidden = self.consistent_dropout(nn.functional.relu(layer(hidden)), generator)
        hidden = self.encode_positions(self.final_layer(hidden))
        if speaker_embeddings is not None:
            speaker = nn.functional.normalize(speaker_embeddings.to(hidden.dtype), dim=-1)
            speaker = speaker[:, None].expand(-1, hidden.shape[1], -1)
            hidden = nn.functional.relu(self.speaker_embeds_layer(torch.cat([hidden, speaker], dim=-1)))
        return hidden


# -- post-nets --------------------------------------------------------------------------------------------------
class SpeechT5BatchNormConvLayer(nn.Module):
    def __init__(self, config: SpeechT5Config, index: int):
        super().__init__()
        last = index == config.speech_decoder_postnet_layers - 1
        units, kernel = config.speech_decoder_postnet_units, config.speech_decoder_postnet_kernel
        self.conv = nn.Conv1d(config.num_mel_bins if index == 0 else units, config.num_mel_bins if last else units,
                              kernel, padding=(kernel - 1) // 2, bias=False)  # fmt: skip
        self.batch_norm = nn.BatchNorm1d(config.num_mel_bins if last else units)
        self.activation = None if last else nn.Tanh()
        self.dropout = nn.Dropout(config.speech_decoder_postnet_dropout)

    def forward(self, hidden):
        hidden = self.batch_norm(self.conv(hidden))
        return self.dropout(hidden if self.activation is None else self.activation(hidden))


class SpeechT5SpeechDecoderPostnet(nn.Module):
    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.config = config
        self.feat_out = nn.Linear(config.hidden_size, config.num_mel_bins * config.reduction_factor)
        self.prob_out = nn.Linear(config.hidden_size, config.reduction_factor)
        self.layers = nn.ModuleList(SpeechT5BatchNormConvLayer(config, i)
                                    for i in range(config.speech_decoder_postnet_layers))  # fmt: skip

    def forward(self, hidden):
        before = self.feat_out(hidden).view(hidden.shape[0], -1, self.config.num_mel_bins)
        return before, self.postnet(before), self.prob_out(hidden).view(hidden.shape[0], -1)

    def postnet(self, frames):
        hidden = frames.transpose(1, 2)
        for layer in self.layers:
            hidden = layer(hidden)
        return frames + hidden.transpose(1, 2)


class SpeechT5TextDecoderPostnet(nn.Module):
    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, hidden):
        return self.lm_head(hidden)


# -- transformer --------------------------------------------------------------------------------------------------
class SpeechT5RelativePositionalEncoding(nn.Module):
    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.max_length = config.encoder_max_relative_position
        self.pe_k = nn.Embedding(2 * self.max_length, config.encoder_head_dim)

    def forward(self, length: int):
        index = torch.from_numpy(relative_distances(length, self.max_length)).to(self.pe_k.weight.device)
        return self.pe_k(index)  # [query, key, head_dim]


class SpeechT5EncoderAttention(nn.Module):
    """Self-attention whose scores add each (scaled) query's dot product with the relative position embedding
    of its distance to each key."""

    def __init__(self, config: SpeechT5Config):
        super().__init__()
        d = config.hidden_size
        self.num_heads, self.head_dim = config.encoder_attention_heads, config.encoder_head_dim
        self.k_proj, self.v_proj, self.q_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))
        self.dropout = config.attention_dropout

    def forward(self, hidden, mask=None, position_bias=None, output_attentions=False):
        batch, length, _ = hidden.shape

        def heads(x):
            return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

        q = heads(self.q_proj(hidden)) * self.head_dim**-0.5
        k, v = heads(self.k_proj(hidden)), heads(self.v_proj(hidden))
        scores = q @ k.transpose(-1, -2) + torch.einsum("bhqd,qkd->bhqk", q, position_bias)
        if mask is not None:
            scores = scores + mask
        weights = scores.softmax(-1)
        context = nn.functional.dropout(weights, self.dropout, self.training) @ v
        context = context.transpose(1, 2).reshape(batch, length, self.num_heads * self.head_dim)
        return self.out_proj(context), weights if output_attentions else None


class SpeechT5EncoderLayer(nn.Module):
    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.attention = SpeechT5EncoderAttention(config)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.feed_forward = SpeechFeedForward(config.feed_forward_options(decoder=False))
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden, mask=None, position_bias=None, output_attentions=False):
        attended, weights = self.attention(hidden, mask, position_bias, output_attentions)
        hidden = self.layer_norm(hidden + self.dropout(attended))
        return self.final_layer_norm(hidden + self.feed_forward(hidden)), weights


class SpeechT5DecoderLayer(nn.Module):
    def __init__(self, config: SpeechT5Config):
        super().__init__()
        d, heads = config.hidden_size, config.decoder_attention_heads
        self.self_attn = Seq2SeqAttention(d, heads, config.attention_dropout)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.encoder_attn = Seq2SeqAttention(d, heads, config.attention_dropout)
        self.encoder_attn_layer_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.feed_forward = SpeechFeedForward(config.feed_forward_options(decoder=True))
        self.final_layer_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)

    def forward(self, hidden, mask=None, encoder_hidden=None, encoder_mask=None, past=None, output_attentions=False):
        attended, cache, weights = self.self_attn(hidden, mask, past=past[:2] if past else None,
                                                  output_attentions=output_attentions)  # fmt: skip
        hidden = self.self_attn_layer_norm(hidden + self.dropout(attended))
        cross_weights = None
        if encoder_hidden is not None:
            attended, cross, cross_weights = self.encoder_attn(hidden, encoder_mask, encoder_hidden,
                                                               past[2:] if past else None, output_attentions)  # fmt: skip
            hidden = self.encoder_attn_layer_norm(hidden + self.dropout(attended))
            cache = cache + cross
        return self.final_layer_norm(hidden + self.feed_forward(hidden)), cache, weights, cross_weights


def layer_dropped(module, rate: float) -> bool:
    return module.training and rate > 0 and torch.rand([]).item() < rate


class SpeechT5Encoder(nn.Module):
    """LayerNorm and dropout first, then the post-norm layers (no final norm)."""

    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.config = config
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layers = nn.ModuleList(SpeechT5EncoderLayer(config) for _ in range(config.encoder_layers))
        self.embed_positions = SpeechT5RelativePositionalEncoding(config)

    def forward(self, hidden, attention_mask=None, output_attentions=False, output_hidden_states=False):
        mask = padding_mask(attention_mask, hidden.dtype)
        hidden = self.dropout(self.layer_norm(hidden))
        position_bias = self.embed_positions(hidden.shape[1]).to(hidden.dtype)
        states, attentions = (), ()
        for layer in self.layers:
            states += (hidden,)
            if layer_dropped(self, self.config.encoder_layerdrop):
                attentions += (None,)
                continue
            hidden, weights = layer(hidden, mask, position_bias, output_attentions)
            attentions += (weights,)
        return out.BaseModelOutput(last_hidden_state=hidden,
                                   hidden_states=states + (hidden,) if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class SpeechT5Decoder(nn.Module):
    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList(SpeechT5DecoderLayer(config) for _ in range(config.decoder_layers))

    def forward(self, hidden, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                past_key_values=None, use_cache=False, output_attentions=False, output_hidden_states=False):  # fmt: skip
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        mask = causal_mask(hidden.shape[1], past_length, attention_mask, hidden.dtype, hidden.device)
        encoder_mask = padding_mask(encoder_attention_mask, hidden.dtype)
        states, caches, self_weights, cross_weights = (), (), (), ()
        for i, layer in enumerate(self.layers):
            states += (hidden,)
            if layer_dropped(self, self.config.decoder_layerdrop):
                caches += (None,)
                continue
            hidden, cache, weights, cross = layer(hidden, mask, encoder_hidden_states, encoder_mask,
                                                  past_key_values[i] if past_key_values else None, output_attentions)  # fmt: skip
            caches, self_weights, cross_weights = caches + (cache,), self_weights + (weights,), cross_weights + (cross,)
        return out.BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=caches if use_cache else None,
            hidden_states=states + (hidden,) if output_hidden_states else None,
            attentions=self_weights if output_attentions else None,
            cross_attentions=cross_weights if output_attentions and encoder_hidden_states is not None else None,
        )  # fmt: skip


# -- encoder / decoder wrappers (a pre-net, or none, before the transformer) ----------------------------------
class SpeechT5EncoderWithoutPrenet(nn.Module):
    speech_input = False

    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.wrapped_encoder = SpeechT5Encoder(config)

    def embed(self, input_values, attention_mask):
        return input_values, attention_mask

    def forward(self, input_values=None, attention_mask=None, output_attentions=False, output_hidden_states=False,
                return_dict=True, **kwargs):  # fmt: skip
        if input_values is None:
            raise ValueError("The SpeechT5 encoder needs input_values (input_ids for text to speech).")
        hidden, mask = self.embed(input_values, attention_mask)
        return self.wrapped_encoder(hidden, mask, output_attentions, output_hidden_states)


class SpeechT5EncoderWithTextPrenet(SpeechT5EncoderWithoutPrenet):
    def __init__(self, config: SpeechT5Config):
        super().__init__(config)
        self.prenet = SpeechT5TextEncoderPrenet(config)

    def embed(self, input_ids, attention_mask):
        return self.prenet(input_ids), attention_mask


class SpeechT5EncoderWithSpeechPrenet(SpeechT5EncoderWithoutPrenet):
    speech_input = True

    def __init__(self, config: SpeechT5Config):
        super().__init__(config)
        self.prenet = SpeechT5SpeechEncoderPrenet(config)

    def embed(self, input_values, attention_mask):
        return self.prenet(input_values, attention_mask)


class SpeechT5DecoderWithoutPrenet(nn.Module):
    def __init__(self, config: SpeechT5Config):
        super().__init__()
        self.wrapped_decoder = SpeechT5Decoder(config)

    def embed(self, input_values, past_length, speaker_embeddings, generator):
        return input_values

    def forward(self, input_values=None, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                past_key_values=None, use_cache=False, output_attentions=False, output_hidden_states=False,
                speaker_embeddings=None, generator=None):  # fmt: skip
        if input_values is None:
            raise ValueError("The SpeechT5 decoder needs decoder_input_values (decoder_input_ids for speech to text).")
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        hidden = self.embed(input_values, past_length, speaker_embeddings, generator)
        return self.wrapped_decoder(hidden, attention_mask, encoder_hidden_states, encoder_attention_mask,
                                    past_key_values, use_cache, output_attentions, output_hidden_states)  # fmt: skip


class SpeechT5DecoderWithTextPrenet(SpeechT5DecoderWithoutPrenet):
    def __init__(self, config: SpeechT5Config):
        super().__init__(config)
        self.prenet = SpeechT5TextDecoderPrenet(config)

    def embed(self, input_ids, past_length, speaker_embeddings, generator):
        return self.prenet(input_ids, past_length)


class SpeechT5DecoderWithSpeechPrenet(SpeechT5DecoderWithoutPrenet):
    def __init__(self, config: SpeechT5Config):
        super().__init__(config)
        self.prenet = SpeechT5SpeechDecoderPrenet(config)

    def embed(self, input_values, past_length, speaker_embeddings, generator):
        return self.prenet(input_values, speaker_embeddings, generator)


# -- models -------------------------------------------------------------------------------------------------------
class SpeechT5PreTrainedModel(PreTrainedModel):
    config_class = SpeechT5Config
    base_model_prefix = "speecht5"
    main_input_name = "input_values"

    def __init__(self, config: SpeechT5Config, *args, **kwargs):
        config.check_sizes()
        super().__init__(config)

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, SpeechPositionalConvEmbedding) and not module.conv.bias.is_meta:
            nn.init.zeros_(module.conv.bias)
        elif isinstance(module, SpeechT5ScaledPositionalEncoding):
            with torch.no_grad():
                module.alpha.fill_(1.0)
        elif isinstance(module, SpeechFeatureProjection):
            bound = module.projection.in_features**-0.5
            nn.init.uniform_(module.projection.weight, -bound, bound)
            nn.init.uniform_(module.projection.bias, -bound, bound)
        elif isinstance(module, nn.Conv1d) and not module.weight.is_meta:
            nn.init.kaiming_normal_(module.weight)
        if isinstance(getattr(module, "masked_spec_embed", None), nn.Parameter):
            nn.init.uniform_(module.masked_spec_embed)

    def _get_feat_extract_output_lengths(self, input_lengths):
        return self.config.conv_output_lengths(input_lengths, False)


class SpeechT5Model(SpeechT5PreTrainedModel):
    """The transformer alone (hidden states in and out), or, built by the heads, with their pre-nets."""

    def __init__(self, config: SpeechT5Config, encoder: nn.Module | None = None, decoder: nn.Module | None = None):
        super().__init__(config)
        self.encoder = encoder if encoder is not None else SpeechT5EncoderWithoutPrenet(config)
        self.decoder = decoder if decoder is not None else SpeechT5DecoderWithoutPrenet(config)

    def get_input_embeddings(self):
        for part in (self.encoder, self.decoder):
            prenet = getattr(part, "prenet", None)
            if hasattr(prenet, "embed_tokens"):
                return prenet.embed_tokens
        return None

    def get_encoder(self):
        return self.encoder

    def get_decoder(self):
        return self.decoder

    def encoder_mask(self, attention_mask, frames: int):
        """The cross-attention mask: per frame for a speech encoder, else the given one."""
        if attention_mask is not None and self.encoder.speech_input:
            return frame_mask(self.config, attention_mask, frames, False)
        return attention_mask

    def forward(self, input_values=None, attention_mask=None, decoder_input_values=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, use_cache=None, speaker_embeddings=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, generator=None, **kwargs):  # fmt: skip
        reject_unsupported({k: kwargs.pop(k, None) for k in ("head_mask", "decoder_head_mask", "cross_attn_head_mask")})
        kwargs.pop("cache_position", None)  # transformers' cache bookkeeping: positions here come from the cache
        if kwargs:
            raise TypeError(f"{type(self).__name__}.forward() got unexpected arguments {sorted(kwargs)}.")
        attend = self._flag(output_attentions, "output_attentions")
        keep = self._flag(output_hidden_states, "output_hidden_states")
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_values, attention_mask, attend, keep)
        elif isinstance(encoder_outputs, (tuple, list)):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        encoded = encoder_outputs.last_hidden_state
        decoded = self.decoder(decoder_input_values, decoder_attention_mask, encoded,
                               self.encoder_mask(attention_mask, encoded.shape[1]), past_key_values,
                               self._flag(use_cache, "use_cache"), attend, keep, speaker_embeddings, generator)  # fmt: skip
        result = out.Seq2SeqModelOutput(
            last_hidden_state=decoded.last_hidden_state, past_key_values=decoded.past_key_values,
            decoder_hidden_states=decoded.hidden_states, decoder_attentions=decoded.attentions,
            cross_attentions=decoded.cross_attentions, encoder_last_hidden_state=encoded,
            encoder_hidden_states=encoder_outputs.hidden_states, encoder_attentions=encoder_outputs.attentions,
        )  # fmt: skip
        return self._finish(result, return_dict)


class SpeechT5ForSpeechToText(SpeechT5PreTrainedModel, GenerationMixin):
    """Speech encoder pre-net, text decoder pre-net, and the LM head (tied to the decoder's embed_tokens)."""

    def __init__(self, config: SpeechT5Config):
        super().__init__(config)
        self.speecht5 = SpeechT5Model(config, SpeechT5EncoderWithSpeechPrenet(config),
                                      SpeechT5DecoderWithTextPrenet(config))  # fmt: skip
        self.text_decoder_postnet = SpeechT5TextDecoderPostnet(config)

    @property
    def _tied_weights_keys(self) -> list[str]:
        return ["text_decoder_postnet.lm_head.weight"]

    def get_output_embeddings(self):
        return self.text_decoder_postnet.lm_head

    def get_encoder(self):
        return self.speecht5.encoder

    def get_decoder(self):
        return self.speecht5.decoder

    def freeze_feature_encoder(self) -> None:
        for parameter in self.speecht5.encoder.prenet.feature_encoder.parameters():
            parameter.requires_grad = False

    def forward(self, input_values=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                labels=None, return_dict=None, **kwargs):  # fmt: skip
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        encoded = self.speecht5(input_values, attention_mask, decoder_input_ids, decoder_attention_mask,
                                return_dict=True, **kwargs)  # fmt: skip
        logits = self.text_decoder_postnet(encoded.last_hidden_state)
        loss = token_loss(logits, labels) if labels is not None else None
        return self._finish(out.from_encoded(out.Seq2SeqLMOutput, encoded, loss=loss, logits=logits), return_dict)


class SpeechT5ForTextToSpeech(SpeechT5PreTrainedModel):
    """Text encoder pre-net, speech decoder pre-net (speaker embeddings, consistent dropout: see
    SpeechT5SpeechDecoderPrenet) and the speech post-net. `generator` (forward, generate, generate_speech) is the
    torch.Generator the pre-net's dropout masks are drawn from; None uses torch's default generator, as
    transformers does."""

    main_input_name = "input_ids"

    def __init__(self, config: SpeechT5Config):
        super().__init__(config)
        self.speecht5 = SpeechT5Model(config, SpeechT5EncoderWithTextPrenet(config),
                                      SpeechT5DecoderWithSpeechPrenet(config))  # fmt: skip
        self.speech_decoder_postnet = SpeechT5SpeechDecoderPostnet(config)

    @classmethod
    def can_generate(cls) -> bool:
        return True

    def get_encoder(self):
        return self.speecht5.encoder

    def get_decoder(self):
        return self.speecht5.decoder

    def forward(self, input_ids=None, attention_mask=None, decoder_input_values=None, decoder_attention_mask=None,
                speaker_embeddings=None, labels=None, stop_labels=None, return_dict=None, **kwargs):  # fmt: skip
        """With `labels` (log-mel targets, padded frames -100): transformers' loss, L1 before and after the post-net
        plus the stop-token BCE (stop labels derived from the padding; `stop_labels` is read by neither library)
        plus, with config.use_guided_attention_loss, the guided attention loss on the cross-attentions."""
        if labels is not None:
            if decoder_input_values is None:
                decoder_input_values, decoder_attention_mask = shift_spectrograms_right(
                    labels, self.config.reduction_factor, decoder_attention_mask)  # fmt: skip
            if self.config.use_guided_attention_loss:
                kwargs["output_attentions"] = True
        encoded = self.speecht5(input_ids, attention_mask, decoder_input_values, decoder_attention_mask,
                                speaker_embeddings=speaker_embeddings, return_dict=True, **kwargs)  # fmt: skip
        before, spectrogram, logits = self.speech_decoder_postnet(encoded.last_hidden_state)
        loss = None
        if labels is not None:
            loss = spectrogram_loss(self.config, attention_mask, before, spectrogram, logits, labels,
                                    encoded.cross_attentions)  # fmt: skip
        result = out.from_encoded(out.Seq2SeqSpectrogramOutput, encoded, loss=loss, spectrogram=spectrogram)
        return self._finish(result, return_dict)

    @torch.no_grad()
    def generate(self, input_ids, attention_mask=None, speaker_embeddings=None, threshold: float = 0.5,
                 minlenratio: float = 0.0, maxlenratio: float = 20.0, vocoder=None, output_cross_attentions=False,
                 return_output_lengths=False, generator=None, **kwargs):  # fmt: skip
        """transformers' generate_speech: see autoload/generation/speecht5.py for the loop and return values."""
        from autoload.generation.speecht5 import generate_speech

        return generate_speech(TorchSpeechSteps(self, generator), input_ids, attention_mask, speaker_embeddings,
                               threshold, minlenratio, maxlenratio, vocoder, output_cross_attentions,
                               return_output_lengths)  # fmt: skip

    def generate_speech(self, input_ids, speaker_embeddings=None, attention_mask=None, threshold: float = 0.5,
                        minlenratio: float = 0.0, maxlenratio: float = 20.0, vocoder=None,
                        output_cross_attentions=False, return_output_lengths=False, generator=None):  # fmt: skip
        return self.generate(input_ids, attention_mask, speaker_embeddings, threshold, minlenratio, maxlenratio,
                             vocoder, output_cross_attentions, return_output_lengths, generator)  # fmt: skip


def shift_spectrograms_right(labels, reduction_factor: int, attention_mask=None):
    """Decoder inputs from target frames: every reduction_factor-th frame (the last of each group), moved one step
    right behind a zero frame, -100 -> 0; the decoder mask thinned alike."""
    if reduction_factor > 1:
        labels = labels[:, reduction_factor - 1 :: reduction_factor]
        if attention_mask is not None:
            attention_mask = attention_mask[:, reduction_factor - 1 :: reduction_factor]
    shifted = torch.zeros_like(labels)
    shifted[:, 1:] = labels[:, :-1]
    return shifted.masked_fill(shifted == -100.0, 0.0), attention_mask


def guided_attention_masks(input_masks, output_masks, sigma: float) -> torch.Tensor:
    """[batch, 1, output, input] penalty 1 - exp(-(i / I - o / O)^2 / (2 sigma^2)) inside each example's lengths."""
    inputs, outputs = input_masks.sum(-1).tolist(), output_masks.sum(-1).tolist()
    table = np.zeros((len(inputs), output_masks.shape[1], input_masks.shape[1]), np.float32)
    for row, (count_in, count_out) in enumerate(zip(inputs, outputs)):
        i = np.arange(count_in, dtype=np.float32)[None, :] / np.float32(count_in)
        o = np.arange(count_out, dtype=np.float32)[:, None] / np.float32(count_out)
        table[row, :count_out, :count_in] = 1.0 - np.exp(-((i - o) ** 2) / np.float32(2 * sigma**2))
    return torch.from_numpy(table).to(input_masks.device)[:, None]


def spectrogram_loss(config, attention_mask, before, after, logits, labels, cross_attentions) -> torch.Tensor:
    padding = labels != -100.0
    target = labels[padding]
    loss = nn.functional.l1_loss(after[padding], target) + nn.functional.l1_loss(before[padding], target)
    frames = padding[:, :, 0]
    stop = torch.cat([(~frames).to(logits.dtype), frames.new_ones(frames.shape[0], 1, dtype=logits.dtype)], dim=1)
    loss = loss + nn.functional.binary_cross_entropy_with_logits(
        logits[frames], stop[:, 1:][frames], pos_weight=torch.tensor(5.0, device=logits.device))  # fmt: skip
    if config.use_guided_attention_loss:
        heads = config.guided_attention_loss_num_heads
        attentions = torch.cat([layer[:, :heads] for layer in cross_attentions], dim=1)
        inputs = (torch.ones(attentions.shape[0], attentions.shape[-1], dtype=torch.bool, device=logits.device)
                  if attention_mask is None else attention_mask == 1)  # fmt: skip
        outputs = frames[:, config.reduction_factor - 1 :: config.reduction_factor]
        penalty = guided_attention_masks(inputs, outputs, config.guided_attention_loss_sigma) * attentions
        keep = (outputs[:, :, None] & inputs[:, None, :])[:, None]
        loss = loss + config.guided_attention_loss_scale * penalty.masked_select(keep).mean()
    return loss


class TorchSpeechSteps:
    """What the shared spectrogram loop asks of a framework (autoload/generation/speecht5.py)."""

    def __init__(self, model: SpeechT5ForTextToSpeech, generator=None):
        self.model, self.generator = model, generator
        self.device = model.device

    def tensor(self, value, dtype=None):
        return torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value, device=self.device,
                               dtype=dtype)  # fmt: skip

    def numpy(self, value):
        return value.detach().float().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)

    def encode(self, input_ids, attention_mask):
        was_training = self.model.training
        self.model.eval()
        self.was_training = was_training
        return self.model.speecht5.encoder(input_ids, attention_mask).last_hidden_state

    def step(self, frames, speaker_embeddings, encoded, encoder_mask, past, output_attentions):
        """One decoder step: (spectrum [batch, reduction * mel], stop logits [batch, reduction], past, cross
        attentions stacked over layers [layers * batch, heads, 1, source] or None)."""
        decoder = self.model.speecht5.decoder
        hidden = decoder.prenet(frames, speaker_embeddings, self.generator)
        decoded = decoder.wrapped_decoder(hidden[:, -1:], None, encoded, encoder_mask, past, True, output_attentions)
        last = decoded.last_hidden_state[:, 0]
        postnet = self.model.speech_decoder_postnet
        cross = torch.cat(decoded.cross_attentions, dim=0) if output_attentions else None
        return postnet.feat_out(last), postnet.prob_out(last), decoded.past_key_values, cross

    def postnet(self, spectrogram):
        return self.model.speech_decoder_postnet.postnet(spectrogram)

    def finish(self):
        self.model.train(self.was_training)

    cat = staticmethod(lambda values, axis: torch.cat(values, dim=axis))
    stack = staticmethod(lambda values, axis: torch.stack(values, dim=axis))
