"""BLIP in Flax (new: transformers never had it): the ViT image encoder and the BERT-style text transformer with
self and cross-attention caches, with the PyTorch checkpoints' parameter paths (`vision_model/…`,
`text_model/…`, `text_decoder/bert/…`, `text_decoder/cls/predictions/…`, `text_encoder/…`)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.blip import BlipConfig, BlipTextConfig
from autoload.vision import bicubic_matrix

from ..activations import get_activation
from ..attention import as_array, extend_cache, key_width
from ..blocks.norms import LayerNorm
from ..generation import FlaxCompiledStep, FlaxGenerationMixin
from ..modeling import FlaxPreTrainedModel

NEG = -10000.0  # BLIP's additive mask value


def dense(config, features: int, name: str, use_bias: bool = True, dtype=jnp.float32) -> nn.Dense:
    init = nn.initializers.normal(getattr(config, "initializer_range", 0.02))
    return nn.Dense(features, use_bias=use_bias, dtype=dtype, kernel_init=init, name=name)


def layer_norm(eps: float, name: str, dtype=jnp.float32) -> nn.LayerNorm:
    return LayerNorm(epsilon=eps, dtype=dtype, name=name)


# -- the image encoder ----------------------------------------------------------------------------------------
class FlaxBlipVisionEmbeddings(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, interpolate_pos_encoding=False):
        c = self.config
        if pixel_values.ndim != 4 or pixel_values.shape[1] != 3:
            raise ValueError(f"pixel_values must have shape [batch, 3, height, width]; got {pixel_values.shape}.")
        init = nn.initializers.truncated_normal(c.initializer_range)
        cls = self.param("class_embedding", init, (1, 1, c.hidden_size))
        table = self.param("position_embedding", init, (1, c.num_positions, c.hidden_size))
        conv = nn.Conv(c.hidden_size, (c.patch_size, c.patch_size), strides=(c.patch_size, c.patch_size),
                       padding="VALID", dtype=self.dtype, name="patch_embedding")  # fmt: skip
        patches = conv(jnp.transpose(pixel_values.astype(self.dtype), (0, 2, 3, 1)))
        patches = patches.reshape(patches.shape[0], -1, c.hidden_size)
        hidden = jnp.concatenate([jnp.broadcast_to(cls, (patches.shape[0], 1, c.hidden_size)).astype(patches.dtype),
                                  patches], axis=1)  # fmt: skip
        if interpolate_pos_encoding:
            grid = int((table.shape[1] - 1) ** 0.5)
            rows, cols = pixel_values.shape[2] // c.patch_size, pixel_values.shape[3] // c.patch_size
            left, right = jnp.asarray(bicubic_matrix(grid, rows)), jnp.asarray(bicubic_matrix(grid, cols))
            resized = jnp.einsum("rh,hwc,sw->rsc", left, table[0, 1:].reshape(grid, grid, -1), right)
            table = jnp.concatenate([table[:, :1], resized.reshape(1, rows * cols, -1)], axis=1)
        return hidden + table[:, : hidden.shape[1]].astype(hidden.dtype)


class FlaxBlipEncoderLayer(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        c = self.config
        x = layer_norm(c.layer_norm_eps, "layer_norm1", self.dtype)(hidden)
        attended, probs = FlaxBlipAttention(c, self.dtype, name="self_attn")(x, deterministic)
        hidden = hidden + attended
        x = layer_norm(c.layer_norm_eps, "layer_norm2", self.dtype)(hidden)
        return hidden + FlaxBlipMLP(c, self.dtype, name="mlp")(x), probs


class FlaxBlipAttention(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        c = self.config
        heads, head_dim = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        batch, length, width = hidden.shape
        qkv = dense(c, 3 * width, "qkv", dtype=self.dtype)(hidden)
        qkv = qkv.reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
        probs = jax.nn.softmax((qkv[0] @ qkv[1].swapaxes(-1, -2)) * head_dim**-0.5, axis=-1)
        dropped = nn.Dropout(c.attention_dropout)(probs, deterministic=deterministic)
        context = (dropped @ qkv[2]).transpose(0, 2, 1, 3).reshape(batch, length, width)
        return dense(c, width, "projection", dtype=self.dtype)(context), probs


class FlaxBlipMLP(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        hidden = get_activation(c.hidden_act)(dense(c, c.intermediate_size, "fc1", dtype=self.dtype)(hidden))
        return dense(c, c.hidden_size, "fc2", dtype=self.dtype)(hidden)


class FlaxBlipEncoderLayers(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        states, attentions = (), ()
        for i in range(self.config.num_hidden_layers):
            states += (hidden,)
            hidden, probs = FlaxBlipEncoderLayer(self.config, self.dtype, name=str(i))(hidden, deterministic)
            attentions += (probs,)
        return hidden, states, attentions


class FlaxBlipVisionEncoder(nn.Module):
    """`encoder/layers/<i>/…`"""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        return FlaxBlipEncoderLayers(self.config, self.dtype, name="layers")(hidden, deterministic)


class FlaxBlipVisionTransformer(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 interpolate_pos_encoding=False):  # fmt: skip
        c = self.config
        c.blip_vision_options()
        hidden = FlaxBlipVisionEmbeddings(c, self.dtype, name="embeddings")(pixel_values, bool(interpolate_pos_encoding))
        hidden, states, attentions = FlaxBlipVisionEncoder(c, self.dtype, name="encoder")(hidden, deterministic)
        norm = layer_norm(c.layer_norm_eps, "post_layernorm", self.dtype)
        last = norm(hidden)
        return out.BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=norm(last[:, 0]),
                                              hidden_states=states + (hidden,) if output_hidden_states else None,
                                              attentions=attentions if output_attentions else None)  # fmt: skip


# -- the text transformer -------------------------------------------------------------------------------------
class FlaxBlipTextProjections(nn.Module):
    """`self/query|key|value`, heads split: [batch, heads, length, size]."""

    config: Any
    dtype: Any = jnp.float32

    def split(self, x):
        c = self.config
        return x.reshape(x.shape[0], x.shape[1], c.num_attention_heads, -1).transpose(0, 2, 1, 3)

    @nn.compact
    def __call__(self, hidden, states, compute_kv: bool):
        c = self.config
        q = self.split(dense(c, c.hidden_size, "query", dtype=self.dtype)(hidden))
        if not compute_kv:
            return q, None, None
        return (q, self.split(dense(c, c.hidden_size, "key", dtype=self.dtype)(states)),
                self.split(dense(c, c.hidden_size, "value", dtype=self.dtype)(states)))  # fmt: skip


class FlaxBlipTextAttention(nn.Module):
    """`self` (query, key, value) and `output` (dense, LayerNorm); keys and values from `source` when cross."""

    config: Any
    cross: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias=None, source=None, past=None, deterministic=True):
        c = self.config
        size = c.hidden_size // c.num_attention_heads
        reuse = self.cross and past is not None
        q, k, v = FlaxBlipTextProjections(c, self.dtype, name="self")(hidden, source if self.cross else hidden,
                                                                     not reuse)  # fmt: skip
        # cached as [batch, length, heads, size], the layout the Flax stepper reads (self-attention's in a StaticCache
        # once generate() has moved it there)
        cache = past if reuse else extend_cache(past, k.transpose(0, 2, 1, 3), v.transpose(0, 2, 1, 3))
        k, v = (as_array(t).transpose(0, 2, 1, 3) for t in cache)
        scores = (q @ k.swapaxes(-1, -2)) / math.sqrt(size)
        if bias is not None:
            scores = scores + bias
        probs = jax.nn.softmax(scores, axis=-1)
        dropped = nn.Dropout(c.attention_probs_dropout_prob)(probs, deterministic=deterministic)
        context = (dropped @ v).transpose(0, 2, 1, 3).reshape(hidden.shape[0], hidden.shape[1], -1)
        output = FlaxBlipTextOutput(c, self.dtype, name="output")(context, hidden, deterministic)
        return output, probs, tuple(cache)


class FlaxBlipTextOutput(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, residual, deterministic=True):
        c = self.config
        hidden = nn.Dropout(c.hidden_dropout_prob)(dense(c, c.hidden_size, "dense", dtype=self.dtype)(hidden),
                                                   deterministic=deterministic)  # fmt: skip
        return layer_norm(c.layer_norm_eps, "LayerNorm", self.dtype)(hidden + residual)


class FlaxBlipTextIntermediate(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        return get_activation(c.hidden_act)(dense(c, c.intermediate_size, "dense", dtype=self.dtype)(hidden))


class FlaxBlipTextLayer(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias, source=None, past=None, deterministic=True):
        c = self.config
        hidden, probs, cache = FlaxBlipTextAttention(c, False, self.dtype, name="attention")(
            hidden, bias, None, past[:2] if past else None, deterministic)
        cross_probs = None
        cross_past = past[2:] if past and len(past) > 2 else None
        wants_cross = source is not None or cross_past is not None
        if wants_cross and not c.is_decoder:
            raise ValueError("encoder_hidden_states were given but the text config has is_decoder=False (its layers "
                             "have no cross-attention).")  # fmt: skip
        if wants_cross or (c.is_decoder and self.is_initializing()):
            if source is None and cross_past is None:  # initialising: the cross-attention's parameters too
                source = jnp.zeros((hidden.shape[0], 1, c.encoder_hidden_size), hidden.dtype)
                FlaxBlipTextAttention(c, True, self.dtype, name="crossattention")(hidden, None, source, None, True)
            else:
                hidden, cross_probs, cross_cache = FlaxBlipTextAttention(c, True, self.dtype, name="crossattention")(
                    hidden, None, source, cross_past, deterministic)
                cache = cache + cross_cache
        intermediate = FlaxBlipTextIntermediate(c, self.dtype, name="intermediate")(hidden)
        return FlaxBlipTextOutput(c, self.dtype, name="output")(intermediate, hidden, deterministic), probs, \
            cross_probs, cache


class FlaxBlipTextEmbeddings(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, ids, positions, deterministic=True):
        c = self.config
        init = nn.initializers.normal(c.initializer_range)
        words = nn.Embed(c.vocab_size, c.hidden_size, embedding_init=init, dtype=self.dtype,
                         name="word_embeddings")(jnp.asarray(ids).astype("i4"))  # fmt: skip
        places = nn.Embed(c.max_position_embeddings, c.hidden_size, embedding_init=init, dtype=self.dtype,
                          name="position_embeddings")(jnp.asarray(positions).astype("i4"))  # fmt: skip
        hidden = layer_norm(c.layer_norm_eps, "LayerNorm", self.dtype)(words + places)
        return nn.Dropout(c.hidden_dropout_prob)(hidden, deterministic=deterministic)


class FlaxBlipTextLayers(nn.Module):
    """`<i>/…` for each layer; returns (hidden, states, self-attention and cross-attention maps, caches)."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias, source=None, past_key_values=None, deterministic=True):
        states, attentions, crossed, caches = (), (), (), ()
        for i in range(self.config.num_hidden_layers):
            states += (hidden,)
            past = past_key_values[i] if past_key_values else None
            hidden, probs, cross_probs, cache = FlaxBlipTextLayer(self.config, self.dtype, name=str(i))(
                hidden, bias, source, past, deterministic)
            attentions, crossed, caches = attentions + (probs,), crossed + (cross_probs,), caches + (cache,)
        return hidden, states, attentions, crossed, caches


class FlaxBlipTextEncoder(nn.Module):
    """`encoder/layer/<i>/…`"""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias, source=None, past_key_values=None, deterministic=True):
        return FlaxBlipTextLayers(self.config, self.dtype, name="layer")(hidden, bias, source, past_key_values,
                                                                         deterministic)  # fmt: skip


def text_bias(attention_mask, batch: int, length: int, past_length, causal: bool, dtype, keys: int | None = None):
    """keys: past + length, or a static cache's capacity (its unwritten positions lie after every query)."""
    if attention_mask is None:
        attention_mask = jnp.ones((batch, past_length + length if keys is None else keys))
    allowed = jnp.asarray(attention_mask, dtype)[:, None, None, :]
    if causal:  # (past_length may be traced: the compiled decoding step)
        seen = jnp.arange(allowed.shape[-1])[None, :] <= past_length + jnp.arange(length)[:, None]
        allowed = allowed * seen.astype(dtype)[None, None]
    return (1.0 - allowed) * NEG


class FlaxBlipTextModule(nn.Module):
    """The BERT-style text transformer; causal with is_decoder=True (the LM head's call). Cross-attention is
    unmasked, as in transformers 4.57.6's BLIP (which drops encoder_attention_mask)."""

    config: Any
    dtype: Any = jnp.float32
    add_pooling_layer: bool = True

    @nn.compact
    def __call__(self, input_ids=None, attention_mask=None, position_ids=None, encoder_hidden_states=None,
                 past_key_values=None, use_cache=None, output_attentions=False, output_hidden_states=False,
                 is_decoder=False, deterministic=True, **kwargs):  # fmt: skip
        c = self.config
        c.blip_text_options()
        past_length = past_key_values[0][0].shape[1] if past_key_values else 0  # traced in the compiled step
        batch, length = input_ids.shape
        if isinstance(past_length, int) and past_length + length > c.max_position_embeddings:
            raise ValueError(f"Sequence length {past_length + length} is longer than max_position_embeddings "
                             f"({c.max_position_embeddings}); truncate the inputs.")  # fmt: skip
        if position_ids is None:
            position_ids = past_length + jnp.arange(length)[None]
        hidden = FlaxBlipTextEmbeddings(c, self.dtype, name="embeddings")(input_ids, position_ids, deterministic)
        bias = text_bias(attention_mask, batch, length, past_length, is_decoder, hidden.dtype,
                         key_width(past_key_values, past_length + length))  # fmt: skip
        use_cache = bool(c.use_cache if use_cache is None else use_cache) and is_decoder

        hidden, states, attentions, crossed, caches = FlaxBlipTextEncoder(c, self.dtype, name="encoder")(
            hidden, bias, encoder_hidden_states, past_key_values, deterministic)
        pooled = FlaxBlipTextPooler(c, self.dtype, name="pooler")(hidden) if self.add_pooling_layer else None
        return out.BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden, pooler_output=pooled,
            hidden_states=states + (hidden,) if output_hidden_states else None,
            past_key_values=caches if use_cache else None, attentions=attentions if output_attentions else None,
            cross_attentions=crossed if output_attentions and crossed[0] is not None else None,
        )  # fmt: skip


class FlaxBlipTextPooler(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        return jnp.tanh(dense(self.config, self.config.hidden_size, "dense", dtype=self.dtype)(hidden[:, 0]))


class FlaxBlipPredictions(nn.Module):
    """`transform` (dense, activation, LayerNorm), then the vocabulary scores: the word embeddings `table` (tied)
    or an own `decoder`, plus `bias`."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, table):
        c = self.config
        hidden = FlaxBlipTransform(c, self.dtype, name="transform")(hidden)
        if getattr(c, "tie_word_embeddings", True):
            scores = hidden @ table.T.astype(hidden.dtype)
        else:
            scores = dense(c, c.vocab_size, "decoder", use_bias=False, dtype=self.dtype)(hidden)
        return scores + self.param("bias", nn.initializers.zeros, (c.vocab_size,)).astype(scores.dtype)


class FlaxBlipTransform(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        hidden = get_activation(c.hidden_act)(dense(c, c.hidden_size, "dense", dtype=self.dtype)(hidden))
        return layer_norm(c.layer_norm_eps, "LayerNorm", self.dtype)(hidden)


class FlaxBlipLMHead(nn.Module):
    """`cls/predictions/…`"""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, table):
        return FlaxBlipPredictions(self.config, self.dtype, name="predictions")(hidden, table)


class FlaxBlipTextLMHeadModule(nn.Module):
    """BlipTextLMHeadModel: `bert` (no pooler) and `cls/predictions` (transform, tied or own decoder, bias)."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids=None, attention_mask=None, position_ids=None, encoder_hidden_states=None,
                 past_key_values=None, use_cache=None, output_attentions=False, output_hidden_states=False,
                 deterministic=True, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        bert = FlaxBlipTextModule(c, self.dtype, add_pooling_layer=False, name="bert")
        encoded = bert(input_ids, attention_mask, position_ids, encoder_hidden_states, past_key_values, use_cache,
                       output_attentions, output_hidden_states, True, deterministic)  # fmt: skip
        table = bert.variables["params"]["embeddings"]["word_embeddings"]["embedding"]

        scores = FlaxBlipLMHead(c, self.dtype, name="cls")(encoded.last_hidden_state, table)
        return out.from_encoded(out.CausalLMOutputWithCrossAttentions, encoded, logits=scores)


def lm_loss(scores, labels, smoothing: float):
    """Next-token cross-entropy (position t predicts label t+1), -100 ignored, label smoothing as torch's."""
    log_probs = jax.nn.log_softmax(scores[:, :-1].astype(jnp.float32), axis=-1)
    labels = jnp.asarray(labels)[:, 1:]
    keep = labels != -100
    nll = -jnp.take_along_axis(log_probs, jnp.where(keep, labels, 0)[..., None], axis=-1)[..., 0]
    losses = (1.0 - smoothing) * nll - smoothing * log_probs.mean(-1)
    return jnp.where(keep, losses, 0.0).sum() / jnp.maximum(keep.sum(), 1)


# -- the BLIP modules -----------------------------------------------------------------------------------------
class FlaxBlipModule(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
                 deterministic=True, output_attentions=False, output_hidden_states=False,
                 interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        c.blip_options()
        vision = FlaxBlipVisionTransformer(c.vision_config, self.dtype, name="vision_model")(
            pixel_values, deterministic, output_attentions, output_hidden_states, interpolate_pos_encoding)
        text_model = FlaxBlipTextModule(c.text_config, self.dtype, name="text_model")
        text = text_model(input_ids, attention_mask, position_ids, None, None, None, output_attentions,
                          output_hidden_states, False, deterministic)  # fmt: skip
        if self.is_initializing():  # the text layers' cross-attention parameters
            text_model(input_ids, attention_mask, position_ids, vision.last_hidden_state)
        image_embeds = dense(c, c.projection_dim, "visual_projection", use_bias=False, dtype=self.dtype)(vision.pooler_output)
        text_embeds = dense(c, c.projection_dim, "text_projection", use_bias=False, dtype=self.dtype)(text.pooler_output)
        image_embeds = image_embeds / jnp.linalg.norm(image_embeds, axis=-1, keepdims=True)
        text_embeds = text_embeds / jnp.linalg.norm(text_embeds, axis=-1, keepdims=True)
        scale = self.param("logit_scale", nn.initializers.constant(c.logit_scale_init_value), ())
        logits_per_text = text_embeds @ image_embeds.T * jnp.exp(scale)
        loss = None
        if return_loss:
            targets = jnp.arange(logits_per_text.shape[0])

            def cross_entropy(logits):
                return -jnp.take_along_axis(jax.nn.log_softmax(logits, -1), targets[:, None], axis=-1).mean()

            loss = (cross_entropy(logits_per_text) + cross_entropy(logits_per_text.T)) / 2
        result = out.BlipOutput(loss=loss, logits_per_image=logits_per_text.T, logits_per_text=logits_per_text,
                                text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text,
                                vision_model_output=vision)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxBlipForConditionalGenerationModule(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    def setup(self):
        self.config.blip_options()
        self.vision_model = FlaxBlipVisionTransformer(self.config.vision_config, self.dtype)
        self.text_decoder = FlaxBlipTextLMHeadModule(self.config.text_config, self.dtype)

    def image(self, pixel_values, interpolate_pos_encoding=False):
        return self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding).last_hidden_state

    def decode(self, input_ids, attention_mask, position_ids, encoder_hidden_states, past_key_values):
        return self.text_decoder(input_ids, attention_mask, position_ids, encoder_hidden_states, past_key_values, True)

    def __call__(self, pixel_values=None, input_ids=None, attention_mask=None, labels=None, deterministic=True,
                 output_attentions=False, output_hidden_states=False, interpolate_pos_encoding=False,
                 return_dict=True, **kwargs):  # fmt: skip
        vision = self.vision_model(pixel_values, deterministic, output_attentions, output_hidden_states,
                                   interpolate_pos_encoding)  # fmt: skip
        embeds = vision.last_hidden_state
        decoded = self.text_decoder(input_ids, attention_mask, None, embeds, None, False, deterministic=deterministic)
        loss = lm_loss(decoded.logits, labels, self.config.text_config.label_smoothing) if labels is not None else None
        result = out.BlipForConditionalGenerationModelOutput(
            loss=loss, logits=decoded.logits, image_embeds=embeds, last_hidden_state=embeds,
            hidden_states=vision.hidden_states, attentions=vision.attentions,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxBlipForQuestionAnsweringModule(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    def setup(self):
        self.config.blip_options()
        self.vision_model = FlaxBlipVisionTransformer(self.config.vision_config, self.dtype)
        self.text_encoder = FlaxBlipTextModule(self.config.text_config, self.dtype, add_pooling_layer=False)
        self.text_decoder = FlaxBlipTextLMHeadModule(self.config.text_config, self.dtype)

    def question(self, input_ids, pixel_values, attention_mask=None, interpolate_pos_encoding=False):
        embeds = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding).last_hidden_state
        return self.text_encoder(input_ids, attention_mask, None, embeds).last_hidden_state

    def decode(self, input_ids, attention_mask, position_ids, encoder_hidden_states, past_key_values):
        return self.text_decoder(input_ids, attention_mask, position_ids, encoder_hidden_states, past_key_values, True)

    def __call__(self, input_ids=None, pixel_values=None, decoder_input_ids=None, decoder_attention_mask=None,
                 attention_mask=None, labels=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        if labels is None and decoder_input_ids is None:
            raise ValueError("Either `decoder_input_ids` or `labels` should be passed when calling "
                             "`FlaxBlipForQuestionAnswering`; for inference pass `decoder_input_ids` or call "
                             "`generate`.")  # fmt: skip
        vision = self.vision_model(pixel_values, deterministic, output_attentions, output_hidden_states,
                                   interpolate_pos_encoding)  # fmt: skip
        question = self.text_encoder(input_ids, attention_mask, None, vision.last_hidden_state,
                                     deterministic=deterministic).last_hidden_state  # fmt: skip
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = labels
        answer = self.text_decoder(decoder_input_ids, decoder_attention_mask, None, question, None, False,
                                   deterministic=deterministic)  # fmt: skip
        loss = lm_loss(answer.logits, labels, self.config.text_config.label_smoothing) if labels is not None else None
        result = out.BlipTextVisionModelOutput(
            loss=loss, image_embeds=vision.last_hidden_state, last_hidden_state=vision.last_hidden_state,
            hidden_states=vision.hidden_states, attentions=vision.attentions,
        )  # fmt: skip
        return out.finish(result, return_dict)


# -- the wrappers ---------------------------------------------------------------------------------------------
class FlaxBlipDecoderStep:
    """One apply of a BLIP model's text decoder (the prompt, with the image or question states)."""

    def __call__(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=True, position_ids=None,
                 encoder_hidden_states=None, params=None, **kwargs):  # fmt: skip
        arrays = (None if a is None else jnp.asarray(a) for a in (input_ids, attention_mask, position_ids,
                                                                  encoder_hidden_states))  # fmt: skip
        logits, past = compiled(self.wrapper, "decode")(self.params if params is None else params, *arrays,
                                                        past_key_values)  # fmt: skip
        return out.CausalLMOutputWithCrossAttentions(logits=logits, past_key_values=past)


class FlaxBlipDecoderRunner(FlaxCompiledStep, FlaxGenerationMixin, FlaxBlipDecoderStep):
    """generate() over a BLIP model's text decoder: the text config's generation defaults; the steps after the
    prompt decode into a static cache as one compiled step (FlaxCompiledStep), reading the cross-attention keys
    and values the prompt's step cached."""

    main_input_name = "input_ids"
    generation_position_ids = True
    cross_attention_caches = True

    def __init__(self, model, config: BlipTextConfig):
        self.wrapper, self.config = model, config

    @property
    def params(self):
        return self.wrapper.params

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def compiled_step_allowed(self, total: int) -> bool:
        return total <= self.config.max_position_embeddings

    def step_output(self, logits, past_key_values):
        return out.CausalLMOutputWithCrossAttentions(logits=logits, past_key_values=past_key_values)

    def step_apply(self, params, input_ids, attention_mask, position_ids, past_key_values):
        module = self.wrapper.module
        result = module.apply({"params": params}, input_ids, attention_mask, position_ids, None, past_key_values,
                              method=type(module).decode)  # fmt: skip
        return result.logits, result.past_key_values


def decoder_runner(model) -> FlaxBlipDecoderRunner:
    """The model's one runner, so its compiled step is traced once for all its generate() calls."""
    if "_decoder_runner" not in model.__dict__:
        model._decoder_runner = FlaxBlipDecoderRunner(model, model.config.text_config)
    return model._decoder_runner


_COMPILED: dict = {}


def compiled(model, method: str):
    """`model.module.<method>` as one jitted function of (params, *args), shared by every model of the same class
    and config, so each input shape compiles once per process (BLIP's decoding steps grow the cache by one)."""
    module = model.module
    key = (type(module).__name__, method, model.config.to_json_string(use_diff=False))
    if key not in _COMPILED:
        def run(params, *args):
            result = module.apply({"params": params}, *args, method=getattr(type(module), method))
            return (result.logits, result.past_key_values) if method == "decode" else result

        _COMPILED[key] = jax.jit(run)
    return _COMPILED[key]


class FlaxBlipPreTrainedModel(FlaxPreTrainedModel):
    config_class = BlipConfig
    base_model_prefix = "blip"

    def dummy_inputs(self) -> dict:
        v = self.config.vision_config
        return {"input_ids": jnp.ones((1, 2), "i4"),
                "pixel_values": jnp.zeros((1, 3, v.image_size, v.image_size), jnp.float32)}  # fmt: skip

    def __call__(self, *args, **kwargs):
        kwargs = {k: (jnp.asarray(np.asarray(v)) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        return super().__call__(*args, **kwargs)


class FlaxBlipModel(FlaxBlipPreTrainedModel):
    module_class = FlaxBlipModule


class FlaxBlipForConditionalGeneration(FlaxBlipPreTrainedModel):
    module_class = FlaxBlipForConditionalGenerationModule
    main_input_name = "pixel_values"

    def generate(self, pixel_values=None, input_ids=None, attention_mask=None, interpolate_pos_encoding=False,
                 **generate_kwargs):  # fmt: skip
        text = self.config.text_config
        if interpolate_pos_encoding:
            embeds = self.module.apply({"params": self.params}, jnp.asarray(pixel_values), True,
                                       method=type(self.module).image)  # fmt: skip
        else:
            embeds = compiled(self, "image")(self.params, jnp.asarray(pixel_values))
        if input_ids is None:
            input_ids = np.tile(np.array([[text.bos_token_id, text.eos_token_id]]), (embeds.shape[0], 1))
        input_ids = np.array(input_ids, dtype=np.int64)
        input_ids[:, 0] = text.bos_token_id
        attention_mask = np.asarray(attention_mask)[:, :-1] if attention_mask is not None else None
        return decoder_runner(self).generate(
            input_ids=input_ids[:, :-1], attention_mask=attention_mask, eos_token_id=text.sep_token_id,
            pad_token_id=text.pad_token_id, encoder_hidden_states=embeds, **generate_kwargs)


class FlaxBlipForQuestionAnswering(FlaxBlipPreTrainedModel):
    module_class = FlaxBlipForQuestionAnsweringModule

    def dummy_inputs(self) -> dict:
        return {**super().dummy_inputs(), "decoder_input_ids": jnp.ones((1, 2), "i4")}

    def generate(self, input_ids=None, pixel_values=None, attention_mask=None, interpolate_pos_encoding=False,
                 **generate_kwargs):  # fmt: skip
        text = self.config.text_config
        mask = None if attention_mask is None else jnp.asarray(attention_mask)
        if interpolate_pos_encoding:
            question = self.module.apply({"params": self.params}, jnp.asarray(input_ids), jnp.asarray(pixel_values),
                                         mask, True, method=type(self.module).question)  # fmt: skip
        else:
            question = compiled(self, "question")(self.params, jnp.asarray(input_ids), jnp.asarray(pixel_values), mask)
        start = np.full((question.shape[0], 1), text.bos_token_id, np.int64)
        return decoder_runner(self).generate(
            input_ids=start, eos_token_id=text.sep_token_id, pad_token_id=text.pad_token_id,
            encoder_hidden_states=question, **generate_kwargs)
