"""MaskFormer in Flax (FlaxMaskFormerModel, FlaxMaskFormerForInstanceSegmentation; transformers never had them,
names mirror the PyTorch classes): our own Flax backbone, the feature-pyramid pixel decoder, DETR's transformer
decoder (blocks/detection.py) over learned queries, and the class / mask-embedding heads."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.maskformer import MaskFormerConfig

from ..blocks.detection import (
    DetrDecoder,
    backbone_module,
    conv,
    dense,
    flatten_map,
    resize_nearest,
    sine_positions,
)
from ..blocks.vision import FlaxVisionPreTrainedModel, nchw, nhwc

_FPN_GROUPS = 32


def group_norm(name: str, dtype):
    # the two-pass variance: a group can be one channel of a few pixels, where E[x^2] - E[x]^2 loses digits
    return nn.GroupNorm(num_groups=_FPN_GROUPS, epsilon=1e-5, dtype=dtype, use_fast_variance=False, name=name)


def no_bias_conv(config, features: int, kernel: int, name: str, dtype):
    pad = kernel // 2
    return nn.Conv(features, (kernel, kernel), padding=[(pad, pad)] * 2, use_bias=False, dtype=dtype, name=name)


class MaskFormerFPNConvLayer(nn.Module):
    """conv (no bias, `0`) -> GroupNorm(32) (`1`) -> ReLU on NHWC maps."""

    config: MaskFormerConfig
    features: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        x = no_bias_conv(self.config, self.features, 3, "0", self.dtype)(x)
        return jax.nn.relu(group_norm("1", self.dtype)(x))


class MaskFormerFPNProjection(nn.Module):
    """The lateral projection `proj`: 1x1 conv (`0`) and GroupNorm (`1`)."""

    config: MaskFormerConfig
    features: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        return group_norm("1", self.dtype)(no_bias_conv(self.config, self.features, 1, "0", self.dtype)(x))


class MaskFormerFPNLayer(nn.Module):
    config: MaskFormerConfig
    features: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, down, left):
        left = MaskFormerFPNProjection(self.config, self.features, self.dtype, name="proj")(left)
        merged = resize_nearest(down, left.shape[1:3], axes=(1, 2)) + left
        return MaskFormerFPNConvLayer(self.config, self.features, self.dtype, name="block")(merged)


class MaskFormerFPNLayers(nn.Module):
    config: MaskFormerConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, output, lefts):
        maps = []
        for i, left in enumerate(lefts):
            output = MaskFormerFPNLayer(self.config, self.config.fpn_feature_size, self.dtype, name=str(i))(output, left)
            maps.append(output)
        return maps


class MaskFormerFPNModel(nn.Module):
    config: MaskFormerConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, features):
        """NHWC feature maps (last = deepest) -> the pyramid's maps, coarse to fine (NHWC)."""
        stem = MaskFormerFPNConvLayer(self.config, self.config.fpn_feature_size, self.dtype, name="stem")(features[-1])
        return MaskFormerFPNLayers(self.config, self.dtype, name="layers")(stem, list(features[:-1][::-1]))


class MaskFormerPixelDecoder(nn.Module):
    config: MaskFormerConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, features):
        maps = MaskFormerFPNModel(self.config, self.dtype, name="fpn")(features)
        return conv(self.config, self.config.mask_feature_size, 3, "mask_projection", self.dtype)(maps[-1]), maps


class MaskFormerPixelLevelModule(nn.Module):
    """The backbone (`encoder`, channels-first maps) and the pixel decoder (`decoder`)."""

    config: MaskFormerConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True):
        encoder = backbone_module(self.config.pixel_backbone_config, self.dtype, name="encoder")
        features = tuple(encoder(pixel_values, deterministic=deterministic).feature_maps)
        pixel_embeddings, maps = MaskFormerPixelDecoder(self.config, self.dtype, name="decoder")(
            [nhwc(f) for f in features])
        return features, nchw(pixel_embeddings), tuple(nchw(m) for m in maps)


class MaskFormerTransformerModule(nn.Module):
    config: MaskFormerConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, image_features, output_attentions=False, output_hidden_states=False, deterministic=True):
        decoder_config = self.config.decoder_config
        hidden, num_queries = decoder_config.d_model, decoder_config.num_queries
        if image_features.shape[1] != hidden:
            image_features = nchw(conv(decoder_config, hidden, 1, "input_projection", self.dtype)(nhwc(image_features)))
        batch, _, height, width = image_features.shape
        positions = flatten_map(sine_positions(jnp.ones((batch, height, width)), hidden // 2))
        queries = nn.Embed(num_queries, hidden, name="queries_embedder")(jnp.arange(num_queries))
        queries = jnp.broadcast_to(queries[None], (batch, num_queries, hidden))
        return DetrDecoder(decoder_config, self.dtype, name="decoder")(
            jnp.zeros_like(queries), queries, flatten_map(image_features), positions, None, output_attentions,
            output_hidden_states, deterministic)  # fmt: skip


class FlaxMaskFormerModule(nn.Module):
    """MaskFormerModel: pixel_level_module and transformer_module."""

    config: MaskFormerConfig
    dtype: Any = jnp.float32

    @nn.compact
    def run(self, pixel_values, output_attentions=False, output_hidden_states=False, deterministic=True):
        if pixel_values is None:
            raise ValueError("You have to specify pixel_values")
        features, pixel_embeddings, maps = MaskFormerPixelLevelModule(self.config, self.dtype,
                                                                      name="pixel_level_module")(
            pixel_values.astype(self.dtype), deterministic)  # fmt: skip
        decoded = MaskFormerTransformerModule(self.config, self.dtype, name="transformer_module")(
            features[-1], output_attentions, output_hidden_states, deterministic)
        states = decoded.decoder_hidden_states
        return out.MaskFormerModelOutput(
            encoder_last_hidden_state=features[-1], pixel_decoder_last_hidden_state=pixel_embeddings,
            transformer_decoder_last_hidden_state=decoded.last_hidden_state,
            encoder_hidden_states=features if output_hidden_states else None,
            pixel_decoder_hidden_states=maps if output_hidden_states else None,
            transformer_decoder_hidden_states=states,
            hidden_states=features + maps + states if output_hidden_states else None,
            attentions=decoded.decoder_attentions,
        )  # fmt: skip

    def __call__(self, pixel_values, pixel_mask=None, output_attentions=False, output_hidden_states=False,
                 return_dict=True, deterministic=True, **kwargs):  # fmt: skip
        """pixel_mask is accepted and unused, as in transformers 4.57.6."""
        result = self.run(pixel_values, output_attentions, output_hidden_states, deterministic)
        return out.finish(result, return_dict)


class MaskformerMLPLayer(nn.Module):
    """PredictionBlock: its Linear is `0`."""

    config: MaskFormerConfig
    features: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        return dense(self.config, self.features, "0", self.dtype)(x)


class MaskformerMLPPredictionHead(nn.Module):
    config: MaskFormerConfig
    hidden_dim: int
    output_dim: int
    num_layers: int = 3
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        widths = [self.hidden_dim] * (self.num_layers - 1) + [self.output_dim]
        for i, width in enumerate(widths):
            x = MaskformerMLPLayer(self.config, width, self.dtype, name=str(i))(x)
            if i < len(widths) - 1:
                x = jax.nn.relu(x)
        return x


def refuse_labels(mask_labels, class_labels) -> None:
    if mask_labels is not None or class_labels is not None:
        raise NotImplementedError(
            "MaskFormer's training loss from mask_labels / class_labels (Hungarian matching) is computed in PyTorch "
            "only (MaskFormerForInstanceSegmentation); in Flax call the model without labels."
        )


class FlaxMaskFormerForInstanceSegmentationModule(nn.Module):
    config: MaskFormerConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, mask_labels=None, class_labels=None, pixel_mask=None,
                 output_auxiliary_logits=None, output_hidden_states=False, output_attentions=False, return_dict=True,
                 deterministic=True, **kwargs):  # fmt: skip
        refuse_labels(mask_labels, class_labels)
        c = self.config
        outputs = FlaxMaskFormerModule(c, self.dtype, name="model").run(
            pixel_values, output_attentions, output_hidden_states or c.use_auxiliary_loss, deterministic)
        hidden = c.decoder_config.d_model
        class_predictor = dense(c, c.num_labels + 1, "class_predictor", self.dtype)
        mask_embedder = MaskformerMLPPredictionHead(c, hidden, c.mask_feature_size, dtype=self.dtype,
                                                    name="mask_embedder")  # fmt: skip
        pixel_embeddings = outputs.pixel_decoder_last_hidden_state
        auxiliary = None
        if c.use_auxiliary_loss:
            stacked = jnp.stack(outputs.transformer_decoder_hidden_states)
            classes = class_predictor(stacked)
            masks = jnp.einsum("lbqc,bchw->lbqhw", mask_embedder(stacked), pixel_embeddings)
            class_logits, mask_logits = classes[-1], masks[-1]
            auxiliary = [{"masks_queries_logits": masks[i], "class_queries_logits": classes[i]}
                         for i in range(stacked.shape[0] - 1)]  # fmt: skip
        else:
            queries = outputs.transformer_decoder_last_hidden_state
            class_logits = class_predictor(queries)
            mask_logits = jnp.einsum("bqc,bchw->bqhw", mask_embedder(queries), pixel_embeddings)
        if not (c.output_auxiliary_logits if output_auxiliary_logits is None else output_auxiliary_logits):
            auxiliary = None
        fields = {f: getattr(outputs, f) for f in ("encoder_last_hidden_state", "pixel_decoder_last_hidden_state",
                                                   "transformer_decoder_last_hidden_state", "attentions")}  # fmt: skip
        if output_hidden_states:
            fields.update({f: getattr(outputs, f) for f in ("encoder_hidden_states", "pixel_decoder_hidden_states",
                                                            "transformer_decoder_hidden_states", "hidden_states")})  # fmt: skip
        result = out.MaskFormerForInstanceSegmentationOutput(
            class_queries_logits=class_logits, masks_queries_logits=mask_logits, auxiliary_logits=auxiliary, **fields
        )
        return out.finish(result, return_dict)


class FlaxMaskFormerPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = MaskFormerConfig
    base_model_prefix = "model"
    base_module = FlaxMaskFormerModule
    # transformers' loss keeps its class weights as a buffer of the model (the no-object weight): not a weight here
    _keys_to_ignore_on_load_unexpected = [r"criterion\.empty_weight"]

    def __init__(self, config: MaskFormerConfig, *args, **kwargs):
        config.check_supported()
        super().__init__(config, *args, **kwargs)

    def __call__(self, *args, mask_labels=None, class_labels=None, **kwargs):
        refuse_labels(mask_labels, class_labels)  # before the inputs are turned into arrays: they are lists
        return super().__call__(*args, **kwargs)

    def dummy_inputs(self) -> dict:
        return {"pixel_values": jnp.zeros((1, self.config.pixel_backbone_config.num_channels, 64, 64), jnp.float32)}


class FlaxMaskFormerModel(FlaxMaskFormerPreTrainedModel):
    module_class = FlaxMaskFormerModule


class FlaxMaskFormerForInstanceSegmentation(FlaxMaskFormerPreTrainedModel):
    module_class = FlaxMaskFormerForInstanceSegmentationModule
