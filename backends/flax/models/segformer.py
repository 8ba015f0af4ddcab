"""SegFormer in Flax (transformers had none; parameter names follow the PyTorch module names, so the shared
converter maps them; see autoload/backends/torch/models/segformer.py for what each class does). Channels-first
in and out; the convolutions run NHWC inside, and a NHWC map read row by row is PyTorch's token order."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.segformer import SegformerConfig, SegformerStage

from ..activations import get_activation
from ..blocks.dense_prediction import DepthwiseConv, conv, semantic_loss
from ..blocks.norms import LayerNorm
from ..blocks.vision import (
    DropPath,
    FlaxVisionPreTrainedModel,
    attend,
    batch_norm,
    check_pixel_values,
    dense,
    merge_heads,
    nchw,
    nhwc,
    resize_maps_nhwc,
    split_heads,
)
from ..heads import FlaxImageClassificationModel, FlaxTaskModel, HeadModule, ImageClassificationModule

_EPS = 1e-5  # every SegFormer LayerNorm has PyTorch's default epsilon (layer_norm_eps is not read)


def layer_norm(name: str, dtype=jnp.float32):
    return LayerNorm(epsilon=_EPS, dtype=dtype, name=name)


def as_tokens(x):
    return x.reshape(x.shape[0], x.shape[1] * x.shape[2], x.shape[3])


def as_map(tokens, grid):
    return tokens.reshape(tokens.shape[0], grid[0], grid[1], tokens.shape[-1])


class FlaxSegformerOverlapPatchEmbeddings(nn.Module):
    config: Any
    stage: SegformerStage
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        s = self.stage
        x = conv(self.config, s.width, s.patch_size, "proj", s.stride, s.patch_size // 2, dtype=self.dtype)(x)
        return layer_norm("layer_norm", self.dtype)(as_tokens(x)), (x.shape[1], x.shape[2])


class FlaxSegformerEfficientSelfAttention(nn.Module):
    config: Any
    stage: SegformerStage
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, grid, deterministic=True):
        c, s = self.config, self.stage
        queries = split_heads(dense(c, s.width, "query", dtype=self.dtype)(hidden), s.heads)
        if s.sr_ratio > 1:
            reduced = conv(c, s.width, s.sr_ratio, "sr", s.sr_ratio, dtype=self.dtype)(as_map(hidden, grid))
            hidden = layer_norm("layer_norm", self.dtype)(as_tokens(reduced))
        keys = split_heads(dense(c, s.width, "key", dtype=self.dtype)(hidden), s.heads)
        values = split_heads(dense(c, s.width, "value", dtype=self.dtype)(hidden), s.heads)
        context, probs = attend(queries, keys, values, dropout=nn.Dropout(c.attention_probs_dropout_prob),
                                deterministic=deterministic)  # fmt: skip
        return merge_heads(context), probs


class FlaxSegformerSelfOutput(nn.Module):
    config: Any
    width: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        hidden = dense(self.config, self.width, "dense", dtype=self.dtype)(hidden)
        return nn.Dropout(self.config.hidden_dropout_prob)(hidden, deterministic=deterministic)


class FlaxSegformerAttention(nn.Module):
    config: Any
    stage: SegformerStage
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, grid, deterministic=True):
        context, probs = FlaxSegformerEfficientSelfAttention(self.config, self.stage, self.dtype, name="self")(
            hidden, grid, deterministic)
        return FlaxSegformerSelfOutput(self.config, self.stage.width, self.dtype, name="output")(context,
                                                                                               deterministic), probs


class FlaxSegformerMixFFN(nn.Module):
    config: Any
    stage: SegformerStage
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, grid, deterministic=True):
        c, s = self.config, self.stage
        dropout = nn.Dropout(c.hidden_dropout_prob)
        hidden = dense(c, s.mlp_width, "dense1", dtype=self.dtype)(hidden)
        hidden = as_tokens(DepthwiseConv(c, s.mlp_width, dtype=self.dtype, name="dwconv")(as_map(hidden, grid)))
        hidden = dropout(get_activation(c.hidden_act)(hidden), deterministic=deterministic)
        return dropout(dense(c, s.width, "dense2", dtype=self.dtype)(hidden), deterministic=deterministic)


class FlaxSegformerLayer(nn.Module):
    config: Any
    stage: SegformerStage
    index: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, grid, deterministic=True):
        c, s = self.config, self.stage
        drop = DropPath(s.drop_path_rates[self.index])
        attended, probs = FlaxSegformerAttention(c, s, self.dtype, name="attention")(
            layer_norm("layer_norm_1", self.dtype)(hidden), grid, deterministic)
        hidden = drop(attended, deterministic) + hidden
        mixed = FlaxSegformerMixFFN(c, s, self.dtype, name="mlp")(layer_norm("layer_norm_2", self.dtype)(hidden), grid,
                                                                  deterministic)  # fmt: skip
        return drop(mixed, deterministic) + hidden, probs


class FlaxSegformerEncoder(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, output_attentions=False, output_hidden_states=False, deterministic=True):
        c = self.config
        stages = c.segformer_options()
        hidden, states, attentions = nhwc(pixel_values), (), ()
        for i, s in enumerate(stages):
            hidden, grid = FlaxSegformerOverlapPatchEmbeddings(c, s, self.dtype, name=f"patch_embeddings.{i}")(hidden)
            for j in range(s.depth):
                hidden, probs = FlaxSegformerLayer(c, s, j, self.dtype, name=f"block.{i}.{j}")(hidden, grid,
                                                                                               deterministic)  # fmt: skip
                attentions += (probs,)
            hidden = layer_norm(f"layer_norm.{i}", self.dtype)(hidden)
            if i != len(stages) - 1 or c.reshape_last_stage:
                hidden = as_map(hidden, grid)
                states += (nchw(hidden),)
            else:
                states += (hidden,)
        return states[-1], states if output_hidden_states else None, attentions if output_attentions else None


class FlaxSegformerModule(nn.Module):
    config: SegformerConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        check_pixel_values(pixel_values, self.config.num_channels)
        hidden, states, attentions = FlaxSegformerEncoder(self.config, self.dtype, name="encoder")(
            pixel_values, output_attentions, output_hidden_states, deterministic)
        result = out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states, attentions=attentions)
        return out.finish(result, return_dict)


class FlaxSegformerPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = SegformerConfig
    base_model_prefix = "segformer"
    base_module = FlaxSegformerModule


class FlaxSegformerModel(FlaxSegformerPreTrainedModel):
    module_class = FlaxSegformerModule


class FlaxSegformerForImageClassificationModule(ImageClassificationModule):
    output_class = out.SegFormerImageClassifierOutput

    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        return hidden.mean((2, 3)) if hidden.ndim == 4 else hidden.mean(1)


class FlaxSegformerForImageClassification(FlaxImageClassificationModel, FlaxSegformerPreTrainedModel):
    module_class = FlaxSegformerForImageClassificationModule


class FlaxSegformerDecodeHead(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, maps_nchw, deterministic=True):
        c = self.config
        maps = [nhwc(m) for m in maps_nchw]
        size = maps[0].shape[1:3]
        projected = [resize_maps_nhwc(FlaxSegformerMLP(c, self.dtype, name=f"linear_c.{i}")(m), size)
                     for i, m in enumerate(maps)]  # fmt: skip
        fused = conv(c, c.decoder_hidden_size, 1, "linear_fuse", use_bias=False, dtype=self.dtype)(
            jnp.concatenate(projected[::-1], axis=-1))
        fused = nn.relu(batch_norm("batch_norm", dtype=self.dtype)(fused))
        fused = nn.Dropout(c.classifier_dropout_prob)(fused, deterministic=deterministic)
        return nchw(conv(c, c.num_labels, 1, "classifier", dtype=self.dtype)(fused))


class FlaxSegformerMLP(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        return dense(self.config, self.config.decoder_hidden_size, "proj", dtype=self.dtype)(x)


class FlaxSegformerForSemanticSegmentationModule(HeadModule):
    @nn.compact
    def __call__(self, pixel_values, labels=None, deterministic=True, output_hidden_states=False, return_dict=True,
                 **kwargs):  # fmt: skip
        c = self.config
        c.check_decode_head()
        if labels is not None and c.num_labels < 1:
            raise ValueError(f"Number of labels should be >=0: {c.num_labels}")
        encoded = self.encode(pixel_values, deterministic=deterministic, output_hidden_states=True, **kwargs)
        logits = FlaxSegformerDecodeHead(c, self.dtype, name="decode_head")(encoded.hidden_states, deterministic)
        loss = semantic_loss(logits, labels, c) if labels is not None else None
        result = out.SemanticSegmenterOutput(loss=loss, logits=logits, attentions=encoded.attentions,
                                             hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSegformerForSemanticSegmentation(FlaxTaskModel, FlaxSegformerPreTrainedModel):
    module_class = FlaxSegformerForSemanticSegmentationModule
