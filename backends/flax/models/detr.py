"""DETR in Flax: FlaxDetrModel, FlaxDetrForObjectDetection and FlaxDetrForSegmentation (transformers never had
them; names mirror the PyTorch classes), on our own Flax ResNet backbone whose BatchNorms always use their
stored statistics, as DETR's frozen BatchNorm does (see blocks/detection.py and autoload/detr.py)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.detr import DetrConfig

from ..blocks.detection import (
    DetrDecoder,
    DetrEncoder,
    DetrMLPPredictionHead,
    backbone_module,
    conv,
    dense,
    flatten_map,
    positions_of,
    resize_nearest,
)
from ..blocks.vision import FlaxVisionPreTrainedModel, check_pixel_values, nchw, nhwc


class DetrConvEncoder(nn.Module):
    """The backbone (`model`); each feature map with the pixel mask resized to it."""

    config: DetrConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, pixel_mask):
        features = backbone_module(self.config.own_backbone_config, self.dtype)(pixel_values).feature_maps
        mask = pixel_mask.astype(jnp.float32)
        return [(f, resize_nearest(mask, f.shape[-2:]).astype(bool)) for f in features]


class DetrConvModel(nn.Module):
    """The backbone (`conv_encoder`) and the position embedding of its last feature map."""

    config: DetrConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, pixel_mask):
        features = DetrConvEncoder(self.config, self.dtype, name="conv_encoder")(pixel_values, pixel_mask)
        feature_map, mask = features[-1]
        return features, positions_of(self.config, feature_map, mask)


class FlaxDetrModule(nn.Module):
    """DetrModel: backbone, input_projection, query_position_embeddings, encoder, decoder."""

    config: DetrConfig
    dtype: Any = jnp.float32

    @nn.compact
    def run(self, pixel_values, pixel_mask=None, encoder_outputs=None, output_attentions=False,
            output_hidden_states=False, deterministic=True):  # fmt: skip
        """(decoder output, encoder output, feature maps with their masks, projected last feature map)."""
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        pixel_values = pixel_values.astype(self.dtype)
        if pixel_mask is None:
            pixel_mask = jnp.ones_like(pixel_values[:, 0])
        features, positions = DetrConvModel(c, self.dtype, name="backbone")(pixel_values, pixel_mask)
        feature_map, mask = features[-1]
        projected = nchw(conv(c, c.d_model, 1, "input_projection", self.dtype)(nhwc(feature_map)))
        tokens, spatial_positions = flatten_map(projected), flatten_map(positions)
        keep = mask.reshape(mask.shape[0], -1)
        if encoder_outputs is None:
            encoder_outputs = DetrEncoder(c, self.dtype, name="encoder")(
                tokens, keep, spatial_positions, output_attentions, output_hidden_states, deterministic)
        elif not isinstance(encoder_outputs, out.ModelOutput):
            encoder_outputs = out.BaseModelOutput(*encoder_outputs)
        queries = nn.Embed(c.num_queries, c.d_model, name="query_position_embeddings")(jnp.arange(c.num_queries))
        query_positions = jnp.broadcast_to(queries[None], (pixel_values.shape[0],) + queries.shape)
        decoded = DetrDecoder(c, self.dtype, name="decoder")(
            jnp.zeros_like(query_positions), query_positions, encoder_outputs[0], spatial_positions, keep,
            output_attentions, output_hidden_states, deterministic)  # fmt: skip
        return decoded, encoder_outputs, features, projected

    def __call__(self, pixel_values, pixel_mask=None, encoder_outputs=None, output_attentions=False,
                 output_hidden_states=False, return_dict=True, deterministic=True, **kwargs):  # fmt: skip
        decoded, encoded, _, _ = self.run(pixel_values, pixel_mask, encoder_outputs, output_attentions,
                                          output_hidden_states, deterministic)  # fmt: skip
        result = out.DetrModelOutput(**seq2seq_fields(decoded, encoded),
                                     intermediate_hidden_states=decoded.intermediate_hidden_states)  # fmt: skip
        return out.finish(result, return_dict)


def seq2seq_fields(decoded, encoded) -> dict:
    return {"last_hidden_state": decoded.last_hidden_state, "decoder_hidden_states": decoded.decoder_hidden_states,
            "decoder_attentions": decoded.decoder_attentions, "cross_attentions": decoded.cross_attentions,
            "encoder_last_hidden_state": encoded.last_hidden_state, "encoder_hidden_states": encoded.hidden_states,
            "encoder_attentions": encoded.attentions}  # fmt: skip


def refuse_labels(labels) -> None:
    if labels is not None:
        raise NotImplementedError(
            "DETR's training loss from `labels` (Hungarian matching) is computed in PyTorch only (DetrForObjectDetection "
            "/ DetrForSegmentation); in Flax call the model without labels."
        )


class FlaxDetrForObjectDetectionModule(nn.Module):
    config: DetrConfig
    dtype: Any = jnp.float32

    @nn.compact
    def detect(self, pixel_values, pixel_mask=None, encoder_outputs=None, output_attentions=False,
               output_hidden_states=False, deterministic=True):  # fmt: skip
        """(logits, pred_boxes, decoder output, encoder output, feature maps, projected map)."""
        c = self.config
        decoded, encoded, features, projected = FlaxDetrModule(c, self.dtype, name="model").run(
            pixel_values, pixel_mask, encoder_outputs, output_attentions, output_hidden_states, deterministic)
        hidden = decoded.last_hidden_state
        logits = dense(c, c.num_labels + 1, "class_labels_classifier", self.dtype)(hidden)
        boxes = jax.nn.sigmoid(DetrMLPPredictionHead(c, c.d_model, 4, 3, self.dtype, name="bbox_predictor")(hidden))
        return logits, boxes, decoded, encoded, features, projected

    def __call__(self, pixel_values, pixel_mask=None, encoder_outputs=None, labels=None, output_attentions=False,
                 output_hidden_states=False, return_dict=True, deterministic=True, **kwargs):  # fmt: skip
        refuse_labels(labels)
        logits, boxes, decoded, encoded, _, _ = self.detect(pixel_values, pixel_mask, encoder_outputs,
                                                            output_attentions, output_hidden_states, deterministic)  # fmt: skip
        result = out.DetrObjectDetectionOutput(logits=logits, pred_boxes=boxes, **seq2seq_fields(decoded, encoded))
        return out.finish(result, return_dict)


class DetrMHAttentionMap(nn.Module):
    """Attention weights of the queries over the encoder's map, softmaxed over heads and positions together."""

    config: DetrConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, q, k_nhwc, mask=None):
        """q [batch, queries, d]; k_nhwc [batch, H, W, d]; mask [batch, H, W] true on padding ->
        [batch, queries, heads, H, W]."""
        c = self.config
        hidden_dim, heads = c.d_model, c.encoder_attention_heads
        head_dim = hidden_dim // heads
        q = dense(c, hidden_dim, "q_linear", self.dtype)(q)
        k = dense(c, hidden_dim, "k_linear", self.dtype)(k_nhwc)
        q = q.reshape(q.shape[0], q.shape[1], heads, head_dim)
        k = k.reshape(k.shape[0], k.shape[1], k.shape[2], heads, head_dim)
        weights = jnp.einsum("bqnc,bhwnc->bqnhw", q * float(hidden_dim / heads) ** -0.5, k)
        if mask is not None:
            weights = jnp.where(mask[:, None, None], jnp.finfo(weights.dtype).min, weights)
        flat = jax.nn.softmax(weights.reshape(weights.shape[0], weights.shape[1], -1), axis=-1)
        return flat.reshape(weights.shape)


class DetrMaskHeadSmallConv(nn.Module):
    """Convolutions with GroupNorm upsampling the attention maps, FPN-style, with the backbone's features (NHWC)."""

    config: DetrConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, bbox_mask, fpns):
        c, sizes = self.config, self.config.mask_head
        widths = list(sizes.dims)

        def block(x, i):
            x = conv(c, widths[i], 3, f"lay{i + 1}", self.dtype)(x)
            x = nn.GroupNorm(num_groups=sizes.groups[i], epsilon=1e-5, dtype=self.dtype, use_fast_variance=False,
                             name=f"gn{i + 1}")(x)  # fmt: skip
            return jax.nn.relu(x)

        batch, queries, heads, height, width = bbox_mask.shape
        maps = bbox_mask.transpose(0, 1, 3, 4, 2).reshape(batch * queries, height, width, heads)
        x = jnp.concatenate([jnp.repeat(x, queries, axis=0), maps], axis=-1)
        x = block(block(x, 0), 1)
        for i, fpn in enumerate(fpns):
            lateral = jnp.repeat(conv(c, widths[i + 1], 1, f"adapter{i + 1}", self.dtype)(fpn), queries, axis=0)
            x = block(lateral + resize_nearest(x, lateral.shape[1:3], axes=(1, 2)), i + 2)
        return conv(c, 1, 3, "out_lay", self.dtype)(x)


class FlaxDetrForSegmentationModule(nn.Module):
    config: DetrConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, pixel_mask=None, encoder_outputs=None, labels=None, output_attentions=False,
                 output_hidden_states=False, return_dict=True, deterministic=True, **kwargs):  # fmt: skip
        refuse_labels(labels)
        c = self.config
        logits, boxes, decoded, encoded, features, projected = FlaxDetrForObjectDetectionModule(
            c, self.dtype, name="detr").detect(pixel_values, pixel_mask, encoder_outputs, output_attentions,
                                               output_hidden_states, deterministic)  # fmt: skip
        hidden = decoded.last_hidden_state
        batch, _, height, width = projected.shape
        memory = encoded[0].reshape(batch, height, width, c.d_model)
        bbox_mask = DetrMHAttentionMap(c, self.dtype, name="bbox_attention")(hidden, memory, ~features[-1][1])
        fpns = [nhwc(features[i][0]) for i in (2, 1, 0)]
        masks = DetrMaskHeadSmallConv(c, self.dtype, name="mask_head")(nhwc(projected), bbox_mask, fpns)
        pred_masks = masks.reshape(batch, c.num_queries, masks.shape[1], masks.shape[2])
        result = out.DetrSegmentationOutput(logits=logits, pred_boxes=boxes, pred_masks=pred_masks,
                                            **seq2seq_fields(decoded, encoded))  # fmt: skip
        return out.finish(result, return_dict)


class FlaxDetrPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = DetrConfig
    base_model_prefix = "model"
    base_module = FlaxDetrModule

    def __init__(self, config: DetrConfig, *args, **kwargs):
        config.check_supported()
        super().__init__(config, *args, **kwargs)

    def __call__(self, *args, labels=None, **kwargs):
        refuse_labels(labels)  # before the inputs are turned into arrays: labels are a list of dicts
        return super().__call__(*args, **kwargs)


class FlaxDetrModel(FlaxDetrPreTrainedModel):
    module_class = FlaxDetrModule


class FlaxDetrForObjectDetection(FlaxDetrPreTrainedModel):
    module_class = FlaxDetrForObjectDetectionModule


class FlaxDetrForSegmentation(FlaxDetrPreTrainedModel):
    module_class = FlaxDetrForSegmentationModule
