"""LayoutLMv3 in Flax (linen; transformers never had one, so the parameter tree mirrors the PyTorch names);
mirrors the PyTorch classes."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.layoutlmv3 import (
    LayoutLMv3Config,
    patch_boxes,
    relative_bucket_table,
    token_head_is_projection,
)

from ..blocks.encoder import LayerCollection, padding_bias, positions_after_padding
from ..blocks.norms import LayerNorm
from ..heads import (
    FlaxClassificationHead,
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTaskModel,
    HeadModule,
    _dense,
)
from ..modeling import FlaxPreTrainedModel


class FlaxLayoutLMv3TextEmbeddings(nn.Module):
    config: LayoutLMv3Config
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids=None, bbox=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                 deterministic=True):  # fmt: skip
        c = self.config
        init = nn.initializers.normal(c.initializer_range)

        def table(rows, width, name):
            return nn.Embed(rows, width, embedding_init=init, dtype=self.dtype, name=name)

        words = table(c.vocab_size, c.hidden_size, "word_embeddings")
        if inputs_embeds is None:
            embeds = words(input_ids.astype("i4"))
        else:
            embeds = jnp.asarray(inputs_embeds, self.dtype)
            if self.is_initializing():
                words(jnp.zeros((1, 1), "i4"))
        if token_type_ids is None:
            token_type_ids = jnp.zeros(embeds.shape[:2], "i4")
        embeds = embeds + table(c.type_vocab_size, c.hidden_size, "token_type_embeddings")(token_type_ids.astype("i4"))
        if position_ids is None:
            padding = c.pad_token_id
            position_ids = positions_after_padding(input_ids, padding) if input_ids is not None else \
                jnp.arange(padding + 1, embeds.shape[1] + padding + 1)[None]  # fmt: skip
        embeds = embeds + table(c.max_position_embeddings, c.hidden_size, "position_embeddings")(position_ids)
        bbox = jnp.asarray(bbox).astype("i4")
        if not isinstance(bbox, jax.core.Tracer) and bbox.size and (
                int(bbox.max()) >= c.max_2d_position_embeddings or int(bbox.min()) < 0):  # fmt: skip
            raise IndexError("The `bbox` coordinate values should be within 0-1000 range.")
        rows = c.max_2d_position_embeddings
        x = table(rows, c.coordinate_size, "x_position_embeddings")
        y = table(rows, c.coordinate_size, "y_position_embeddings")
        height = table(rows, c.shape_size, "h_position_embeddings")(jnp.clip(bbox[..., 3] - bbox[..., 1], 0, 1023))
        width = table(rows, c.shape_size, "w_position_embeddings")(jnp.clip(bbox[..., 2] - bbox[..., 0], 0, 1023))
        boxes = jnp.concatenate([x(bbox[..., 0]), y(bbox[..., 1]), x(bbox[..., 2]), y(bbox[..., 3]), height, width], -1)
        embeds = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(embeds + boxes)
        return nn.Dropout(c.hidden_dropout_prob)(embeds, deterministic=deterministic)


class BucketBias(nn.Module):
    """transformers' bias-free rel_pos_bias Linear ([bins] -> [heads]) applied as a lookup of distance buckets."""

    bins: int
    max_distance: int
    heads: int
    initializer_range: float = 0.02

    @nn.compact
    def __call__(self, distance):
        kernel = self.param("kernel", nn.initializers.normal(self.initializer_range), (self.bins, self.heads))
        table = jnp.asarray(relative_bucket_table(self.bins, self.max_distance))
        bucket = (distance > 0).astype("i4") * (self.bins // 2) + table[jnp.minimum(jnp.abs(distance), len(table) - 1)]
        return kernel[bucket].transpose(0, 3, 1, 2)


class FlaxLayoutLMv3Encoder(nn.Module):
    config: LayoutLMv3Config
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        self.layer = LayerCollection(c.encoder_options(), dtype=self.dtype)
        heads, init = c.num_attention_heads, c.initializer_range
        if c.has_relative_attention_bias:
            self.rel_pos_bias = BucketBias(c.rel_pos_bins, c.max_rel_pos, heads, init)
        if c.has_spatial_attention_bias:
            self.rel_pos_x_bias = BucketBias(c.rel_2d_pos_bins, c.max_rel_2d_pos, heads, init)
            self.rel_pos_y_bias = BucketBias(c.rel_2d_pos_bins, c.max_rel_2d_pos, heads, init)

    def position_bias(self, position_ids, bbox):
        c = self.config
        one_d, two_d = c.attention_bias_kinds
        x, y = bbox[..., 0], bbox[..., 3]
        if self.is_initializing():  # every table of the checkpoint exists, whichever the attention reads
            for name, values in (("rel_pos_bias", position_ids), ("rel_pos_x_bias", x), ("rel_pos_y_bias", y)):
                if hasattr(self, name):
                    getattr(self, name)(values[:, None, :] - values[:, :, None])
        if not one_d:
            return None
        bias = self.rel_pos_bias(position_ids[:, None, :] - position_ids[:, :, None])
        if two_d:
            bias = bias + (self.rel_pos_x_bias(x[:, None, :] - x[:, :, None])
                           + self.rel_pos_y_bias(y[:, None, :] - y[:, :, None]))  # fmt: skip
        return bias / np.float32(math.sqrt(c.hidden_size // c.num_attention_heads))

    def __call__(self, hidden, bias, position_ids, bbox, head_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False):  # fmt: skip
        return self.layer(hidden, bias, head_mask, deterministic, output_attentions, output_hidden_states,
                          position_bias=self.position_bias(position_ids, bbox))  # fmt: skip


class FlaxLayoutLMv3PatchEmbeddings(nn.Module):
    config: LayoutLMv3Config
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values):
        c = self.config
        proj = nn.Conv(c.hidden_size, (c.patch_size, c.patch_size), strides=c.patch_size, padding="VALID",
                       dtype=self.dtype, kernel_init=nn.initializers.normal(c.initializer_range), name="proj")
        patches = proj(jnp.transpose(jnp.asarray(pixel_values, self.dtype), (0, 2, 3, 1)))
        return patches.reshape(patches.shape[0], -1, patches.shape[-1])


class FlaxLayoutLMv3Module(nn.Module):
    config: LayoutLMv3Config
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        self.embeddings = FlaxLayoutLMv3TextEmbeddings(c, dtype=self.dtype)
        if c.visual_embed:
            self.patch_embed = FlaxLayoutLMv3PatchEmbeddings(c, dtype=self.dtype)
            count = c.patches_per_side**2 + 1
            self.cls_token = self.param("cls_token", nn.initializers.zeros, (1, 1, c.hidden_size))
            self.pos_embed = self.param("pos_embed", nn.initializers.zeros, (1, count, c.hidden_size))
            self.LayerNorm = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype)
            self.dropout = nn.Dropout(c.hidden_dropout_prob)
            self.norm = LayerNorm(epsilon=1e-6, dtype=self.dtype)
        self.encoder = FlaxLayoutLMv3Encoder(c, dtype=self.dtype)

    def embed_image(self, pixel_values):
        c = self.config
        if not c.visual_embed:
            raise ValueError("pixel_values were given but the config has visual_embed=False.")
        patches = self.patch_embed(pixel_values)
        if patches.shape[1] != c.patches_per_side**2:
            raise ValueError(f"LayoutLMv3 takes {c.input_size}x{c.input_size} images (config.input_size); "
                             f"got {tuple(pixel_values.shape[2:])}.")  # fmt: skip
        cls = jnp.broadcast_to(self.cls_token, (patches.shape[0], 1, patches.shape[-1])).astype(self.dtype)
        return self.norm(jnp.concatenate([cls, patches], axis=1) + self.pos_embed.astype(self.dtype))

    def __call__(self, input_ids=None, bbox=None, attention_mask=None, token_type_ids=None, position_ids=None,
                 head_mask=None, inputs_embeds=None, pixel_values=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True):  # fmt: skip
        text = input_ids if input_ids is not None else inputs_embeds
        if text is None and pixel_values is None:
            raise ValueError("You have to specify either input_ids or inputs_embeds or pixel_values")
        parts, masks, positions, boxes = [], [], [], []
        if text is not None:
            batch, length = text.shape[:2]
            mask = jnp.ones((batch, length)) if attention_mask is None else jnp.asarray(attention_mask, jnp.float32)
            bbox = jnp.zeros((batch, length, 4), "i4") if bbox is None else jnp.asarray(bbox).astype("i4")
            parts.append(self.embeddings(input_ids, bbox, token_type_ids, position_ids, inputs_embeds, deterministic))
            masks.append(mask)
            positions.append(jnp.broadcast_to(jnp.arange(length), (batch, length)))
            boxes.append(bbox)
        if pixel_values is not None:
            image = self.embed_image(pixel_values)
            batch, count = image.shape[:2]
            parts.append(image)
            masks.append(jnp.ones((batch, count)))
            positions.append(jnp.broadcast_to(jnp.arange(count), (batch, count)))
            boxes.append(jnp.broadcast_to(jnp.asarray(patch_boxes(self.config.patches_per_side)), (batch, count, 4)))
        hidden = jnp.concatenate(parts, axis=1)
        if pixel_values is not None:
            hidden = self.dropout(self.LayerNorm(hidden), deterministic=deterministic)
        encoded = self.encoder(hidden, padding_bias(jnp.concatenate(masks, axis=1), hidden.dtype),
                               jnp.concatenate(positions, axis=1), jnp.concatenate(boxes, axis=1), head_mask,
                               deterministic, output_attentions, output_hidden_states)  # fmt: skip
        result = out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states,
                                     attentions=encoded.attentions)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxLayoutLMv3PreTrainedModel(FlaxPreTrainedModel):
    config_class = LayoutLMv3Config
    base_model_prefix = "layoutlmv3"
    base_module = FlaxLayoutLMv3Module
    _keys_to_ignore_on_load_unexpected = [r"position_ids$"]

    def dummy_inputs(self) -> dict:
        c = self.config
        inputs = {"input_ids": jnp.full((1, 2), 3, "i4"), "bbox": jnp.zeros((1, 2, 4), "i4")}
        if c.visual_embed:
            inputs["pixel_values"] = jnp.zeros((1, c.num_channels, c.input_size, c.input_size))
        return inputs


class FlaxLayoutLMv3Model(FlaxLayoutLMv3PreTrainedModel):
    module_class = FlaxLayoutLMv3Module


class FlaxLayoutLMv3ForSequenceClassification(FlaxSequenceClassificationModel, FlaxLayoutLMv3PreTrainedModel):
    pass


class FlaxLayoutLMv3ForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxLayoutLMv3PreTrainedModel):
    pass


class LayoutLMv3TokenClassificationModule(HeadModule):
    """Scores for the text positions only; a linear classifier below 10 labels, RoBERTa's two-layer head from 10."""

    @nn.compact
    def __call__(self, input_ids=None, deterministic=True, return_dict=True, **kwargs):
        c = self.config
        encoded = self.encode(input_ids, deterministic=deterministic, **kwargs)
        text = input_ids if input_ids is not None else kwargs["inputs_embeds"]
        hidden = nn.Dropout(c.hidden_dropout_prob)(encoded.last_hidden_state[:, : text.shape[1]], deterministic)
        if token_head_is_projection(c):
            rate = c.hidden_dropout_prob if c.classifier_dropout is None else c.classifier_dropout
            logits = FlaxClassificationHead(c, c.num_labels, "tanh", rate, dtype=self.dtype, name="classifier")(
                hidden, deterministic)  # fmt: skip
        else:
            logits = _dense(c, c.num_labels, self.dtype, "classifier")(hidden)
        return out.finish(out.from_encoded(out.TokenClassifierOutput, encoded, logits=logits), return_dict)


class FlaxLayoutLMv3ForTokenClassification(FlaxTaskModel, FlaxLayoutLMv3PreTrainedModel):
    module_class = LayoutLMv3TokenClassificationModule
