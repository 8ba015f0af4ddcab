"""Swin Transformer in Flax (transformers had none; parameter names follow the PyTorch modules).
Windowed attention with relative position bias, shifted windows, patch merging, padding."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.swin import SwinConfig
from autoload.vision import window_relative_position_index

from ..activations import get_activation
from ..blocks.norms import LayerNorm
from ..blocks.vision import (
    DropPath,
    FlaxVisionPreTrainedModel,
    PixelDecoder,
    check_pixel_values,
    masked_image_loss,
    tokens_to_map,
)
from ..heads import FlaxImageClassificationModel, ImageClassificationModule


def window_partition(x, size: int):
    batch, height, width, channels = x.shape
    x = x.reshape(batch, height // size, size, width // size, size, channels)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(-1, size, size, channels)


def window_reverse(windows, size: int, height: int, width: int):
    channels = windows.shape[-1]
    x = windows.reshape(-1, height // size, width // size, size, size, channels)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(-1, height, width, channels)


def shifted_window_mask(height: int, width: int, size: int, shift: int) -> np.ndarray:
    regions = np.zeros((1, height, width, 1), np.float32)
    bounds = (slice(0, -size), slice(-size, -shift), slice(-shift, None))
    label = 0
    for rows in bounds:
        for cols in bounds:
            regions[:, rows, cols, :] = label
            label += 1
    labels = np.asarray(window_partition(regions, size)).reshape(-1, size * size)
    return np.where(labels[:, None, :] != labels[:, :, None], -100.0, 0.0).astype(np.float32)


class FlaxSwinSelfAttention(nn.Module):
    config: SwinConfig
    dim: int
    num_heads: int

    @nn.compact
    def __call__(self, hidden, mask=None, deterministic=True):
        c, heads = self.config, self.num_heads
        size, head_dim = c.window_size, self.dim // heads
        table = self.param("relative_position_bias_table", nn.initializers.zeros, ((2 * size - 1) ** 2, heads))
        q, k, v = (nn.Dense(self.dim, use_bias=c.qkv_bias, name=n)(hidden) for n in ("query", "key", "value"))
        split = lambda x: x.reshape(x.shape[:2] + (heads, head_dim)).transpose(0, 2, 1, 3)  # noqa: E731
        scores = split(q) @ split(k).transpose(0, 1, 3, 2) / np.sqrt(head_dim).astype(np.float32)
        length = hidden.shape[1]
        index = window_relative_position_index(size, size).reshape(-1)
        bias = table[index].reshape(length, length, heads).transpose(2, 0, 1)
        scores = scores + bias[None]
        if mask is not None:
            count = mask.shape[0]
            scores = scores.reshape(-1, count, heads, length, length) + mask[None, :, None]
            scores = scores.reshape(-1, heads, length, length)
        probs = jax.nn.softmax(scores, axis=-1)
        context = nn.Dropout(c.attention_probs_dropout_prob)(probs, deterministic=deterministic) @ split(v)
        return context.transpose(0, 2, 1, 3).reshape(hidden.shape), probs


class FlaxSwinAttention(nn.Module):
    config: SwinConfig
    dim: int
    num_heads: int

    @nn.compact
    def __call__(self, hidden, mask=None, deterministic=True):
        context, probs = FlaxSwinSelfAttention(self.config, self.dim, self.num_heads, name="self")(hidden, mask,
                                                                                                   deterministic)  # fmt: skip
        rate = self.config.attention_probs_dropout_prob
        return FlaxDenseBlock(self.dim, rate=rate, name="output")(context, deterministic), probs


class FlaxDenseBlock(nn.Module):
    """A module holding one Dense under `dense` (the PyTorch names' extra level), then activation or dropout."""

    features: int
    activation: str | None = None
    rate: float = 0.0

    @nn.compact
    def __call__(self, x, deterministic=True):
        x = nn.Dense(self.features, name="dense")(x)
        x = get_activation(self.activation)(x) if self.activation else x
        return nn.Dropout(self.rate)(x, deterministic=deterministic)


class FlaxSwinLayer(nn.Module):
    config: SwinConfig
    dim: int
    num_heads: int
    shift_size: int
    drop_path: float = 0.0

    @nn.compact
    def __call__(self, hidden, grid, always_partition=False, deterministic=True):
        c = self.config
        height, width = grid
        size, shift = c.window_size, self.shift_size
        if not always_partition and min(grid) <= size:
            size, shift = min(grid), 0
            if size < c.window_size:
                raise ValueError(
                    f"Swin: a {height}x{width} map is smaller than window_size ({c.window_size}), so the relative "
                    "position table does not fit (transformers 4.57.6 fails here too); use larger images or a smaller "
                    "window_size."
                )
        batch, _, channels = hidden.shape
        shortcut = hidden
        x = LayerNorm(epsilon=c.layer_norm_eps, name="layernorm_before")(hidden).reshape(batch, height, width, channels)
        pad_h, pad_w = (-height) % size, (-width) % size
        x = jnp.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
        padded_h, padded_w = x.shape[1:3]
        if shift:
            x = jnp.roll(x, (-shift, -shift), axis=(1, 2))
        mask = jnp.asarray(shifted_window_mask(padded_h, padded_w, size, shift)) if shift else None
        windows = window_partition(x, size).reshape(-1, size * size, channels)
        attended, probs = FlaxSwinAttention(c, self.dim, self.num_heads, name="attention")(windows, mask, deterministic)
        x = window_reverse(attended.reshape(-1, size, size, channels), size, padded_h, padded_w)
        if shift:
            x = jnp.roll(x, (shift, shift), axis=(1, 2))
        drop = DropPath(self.drop_path)
        hidden = shortcut + drop(x[:, :height, :width].reshape(batch, height * width, channels), deterministic)
        y = LayerNorm(epsilon=c.layer_norm_eps, name="layernorm_after")(hidden)
        y = FlaxDenseBlock(int(c.mlp_ratio * self.dim), c.hidden_act, name="intermediate")(y)
        return hidden + FlaxDenseBlock(self.dim, rate=c.hidden_dropout_prob, name="output")(y, deterministic), probs


class FlaxSwinPatchMerging(nn.Module):
    dim: int

    @nn.compact
    def __call__(self, hidden, grid):
        height, width = grid
        batch, _, channels = hidden.shape
        x = hidden.reshape(batch, height, width, channels)
        x = jnp.pad(x, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)))
        x = jnp.concatenate([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        x = LayerNorm(epsilon=1e-5, name="norm")(x.reshape(batch, -1, 4 * channels))
        return nn.Dense(2 * self.dim, use_bias=False, name="reduction")(x)


class FlaxSwinBlocks(nn.Module):
    config: SwinConfig
    index: int

    @nn.compact
    def __call__(self, hidden, grid, always_partition=False, deterministic=True):
        c, i = self.config, self.index
        dim, start = int(c.embed_dim * 2**i), sum(c.depths[:i])
        rates = np.linspace(0, c.drop_path_rate, sum(c.depths)).tolist()
        for j in range(c.depths[i]):
            shift = 0 if j % 2 == 0 else c.window_size // 2
            layer = FlaxSwinLayer(c, dim, c.num_heads[i], shift, rates[start + j], name=str(j))
            hidden, probs = layer(hidden, grid, always_partition, deterministic)
        return hidden, probs


class FlaxSwinStage(nn.Module):
    config: SwinConfig
    index: int

    @nn.compact
    def __call__(self, hidden, grid, always_partition=False, deterministic=True):
        """(output, output before patch merging, next grid, the last block's attention probabilities)."""
        c, i = self.config, self.index
        hidden, probs = FlaxSwinBlocks(c, i, name="blocks")(hidden, grid, always_partition, deterministic)
        if i == len(c.depths) - 1:
            return hidden, hidden, grid, probs
        merged = FlaxSwinPatchMerging(int(c.embed_dim * 2**i), name="downsample")(hidden, grid)
        return merged, hidden, ((grid[0] + 1) // 2, (grid[1] + 1) // 2), probs


class FlaxSwinStages(nn.Module):
    config: SwinConfig

    @nn.compact
    def __call__(self, hidden, grid, before_downsampling=False, always_partition=False, deterministic=True):
        states, maps, attentions = (hidden,), (tokens_to_map(hidden, *grid),), ()
        for i in range(len(self.config.depths)):
            stage = FlaxSwinStage(self.config, i, name=str(i))
            hidden, before, next_grid, probs = stage(hidden, grid, always_partition, deterministic)
            if before_downsampling:
                states, maps = states + (before,), maps + (tokens_to_map(before, *grid),)
            else:
                states, maps = states + (hidden,), maps + (tokens_to_map(hidden, *next_grid),)
            attentions += (probs,)
            grid = next_grid
        return hidden, states, maps, attentions


class FlaxSwinEncoder(nn.Module):
    config: SwinConfig

    @nn.compact
    def __call__(self, *args, **kwargs):
        return FlaxSwinStages(self.config, name="layers")(*args, **kwargs)


class FlaxSwinEmbeddings(nn.Module):
    config: SwinConfig
    use_mask_token: bool = False

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, deterministic=True):
        c = self.config
        c.check_supported()
        check_pixel_values(pixel_values, c.num_channels)
        p = c.patch_size
        x = jnp.transpose(pixel_values, (0, 2, 3, 1))
        x = jnp.pad(x, ((0, 0), (0, (-x.shape[1]) % p), (0, (-x.shape[2]) % p), (0, 0)))
        x = FlaxPatchProjection(c.embed_dim, p, name="patch_embeddings")(x)
        grid = x.shape[1:3]
        x = LayerNorm(epsilon=1e-5, name="norm")(x.reshape(x.shape[0], -1, x.shape[-1]))
        if self.use_mask_token:
            token = self.param("mask_token", nn.initializers.zeros, (1, 1, c.embed_dim))
            if bool_masked_pos is not None:
                mask = bool_masked_pos[..., None].astype(x.dtype)
                x = x * (1.0 - mask) + token * mask
        return nn.Dropout(c.hidden_dropout_prob)(x, deterministic=deterministic), grid


class FlaxPatchProjection(nn.Module):
    features: int
    patch: int

    @nn.compact
    def __call__(self, x):
        p = self.patch
        return nn.Conv(self.features, (p, p), strides=(p, p), padding="VALID", name="projection")(x)


class FlaxSwinModule(nn.Module):
    config: SwinConfig
    dtype: jnp.dtype = jnp.float32
    add_pooling_layer: bool = True
    use_mask_token: bool = False

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        embeds, grid = FlaxSwinEmbeddings(c, self.use_mask_token, name="embeddings")(pixel_values, bool_masked_pos,
                                                                                      deterministic)  # fmt: skip
        hidden, states, maps, attentions = FlaxSwinEncoder(c, name="encoder")(embeds, grid, deterministic=deterministic)
        hidden = LayerNorm(epsilon=c.layer_norm_eps, name="layernorm")(hidden)
        result = out.SwinModelOutput(
            last_hidden_state=hidden, pooler_output=hidden.mean(axis=1) if self.add_pooling_layer else None,
            hidden_states=states if output_hidden_states else None,
            attentions=attentions if output_attentions else None,
            reshaped_hidden_states=maps if output_hidden_states else None,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSwinForMaskedImageModelingModule(nn.Module):
    config: SwinConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, return_dict=True, **kwargs):
        c = self.config
        encoded = FlaxSwinModule(c, add_pooling_layer=False, use_mask_token=True, name="swin")(
            pixel_values, bool_masked_pos, **kwargs
        )
        hidden = encoded.last_hidden_state
        side = int(hidden.shape[1] ** 0.5)
        reconstruction = PixelDecoder(c.encoder_stride, c.num_channels, name="decoder")(tokens_to_map(hidden, side, side))
        loss = None
        if bool_masked_pos is not None:
            loss = masked_image_loss(pixel_values, reconstruction, bool_masked_pos, c)
        result = out.from_encoded(out.SwinMaskedImageModelingOutput, encoded, loss=loss, reconstruction=reconstruction)
        return out.finish(result, return_dict)


class FlaxSwinBackboneModule(nn.Module):
    config: SwinConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        embeds, grid = FlaxSwinEmbeddings(c, name="embeddings")(pixel_values, deterministic=deterministic)
        _, states, maps, attentions = FlaxSwinEncoder(c, name="encoder")(embeds, grid, before_downsampling=True,
                                                                         always_partition=True,
                                                                         deterministic=deterministic)  # fmt: skip
        features = FlaxSwinStageNorms(tuple(c.out_features), name="hidden_states_norms")(
            [maps[i] for i in c.out_indices]
        )
        result = out.BackboneOutput(feature_maps=tuple(features), hidden_states=states if output_hidden_states else None,
                                    attentions=attentions if output_attentions else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSwinStageNorms(nn.Module):
    stages: tuple

    @nn.compact
    def __call__(self, maps):
        normed = []
        for stage, m in zip(self.stages, maps):
            x = LayerNorm(epsilon=1e-5, name=stage)(m.transpose(0, 2, 3, 1))
            normed.append(x.transpose(0, 3, 1, 2))
        return normed


class FlaxSwinPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = SwinConfig
    base_model_prefix = "swin"
    base_module = FlaxSwinModule


class FlaxSwinModel(FlaxSwinPreTrainedModel):
    module_class = FlaxSwinModule


class FlaxSwinForImageClassificationModule(ImageClassificationModule):
    output_class = out.SwinImageClassifierOutput


class FlaxSwinForImageClassification(FlaxImageClassificationModel, FlaxSwinPreTrainedModel):
    module_class = FlaxSwinForImageClassificationModule


class FlaxSwinForMaskedImageModeling(FlaxSwinPreTrainedModel):
    module_class = FlaxSwinForMaskedImageModelingModule


class FlaxSwinBackbone(FlaxSwinPreTrainedModel):
    module_class = FlaxSwinBackboneModule
