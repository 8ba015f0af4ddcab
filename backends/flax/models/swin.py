"""Swin Transformer in Flax (transformers had none; parameter names follow the PyTorch modules).
Windowed attention with relative position bias, shifted windows, patch merging, padding."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.swin import SwinConfig

from ..activations import get_activation
from ..modeling import FlaxPreTrainedModel
from .vit import check_pixel_values


def window_partition(x, size: int):
    batch, height, width, channels = x.shape
    x = x.reshape(batch, height // size, size, width // size, size, channels)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(-1, size, size, channels)


def window_reverse(windows, size: int, height: int, width: int):
    channels = windows.shape[-1]
    x = windows.reshape(-1, height // size, width // size, size, size, channels)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(-1, height, width, channels)


def relative_position_index(size: int) -> np.ndarray:
    coords = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="ij")).reshape(2, -1)
    offsets = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + (size - 1)
    return offsets[:, :, 0] * (2 * size - 1) + offsets[:, :, 1]


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
    def __call__(self, hidden, mask=None):
        c, heads = self.config, self.num_heads
        size, head_dim = c.window_size, self.dim // heads
        table = self.param("relative_position_bias_table", nn.initializers.zeros, ((2 * size - 1) ** 2, heads))
        q, k, v = (nn.Dense(self.dim, use_bias=c.qkv_bias, name=n)(hidden) for n in ("query", "key", "value"))
        split = lambda x: x.reshape(x.shape[:2] + (heads, head_dim)).transpose(0, 2, 1, 3)  # noqa: E731
        scores = split(q) @ split(k).transpose(0, 1, 3, 2) / np.sqrt(head_dim).astype(np.float32)
        length = hidden.shape[1]
        bias = table[relative_position_index(size).reshape(-1)].reshape(length, length, heads).transpose(2, 0, 1)
        scores = scores + bias[None]
        if mask is not None:
            count = mask.shape[0]
            scores = scores.reshape(-1, count, heads, length, length) + mask[None, :, None]
            scores = scores.reshape(-1, heads, length, length)
        context = jax.nn.softmax(scores, axis=-1) @ split(v)
        return context.transpose(0, 2, 1, 3).reshape(hidden.shape)


class FlaxSwinAttention(nn.Module):
    config: SwinConfig
    dim: int
    num_heads: int

    @nn.compact
    def __call__(self, hidden, mask=None):
        context = FlaxSwinSelfAttention(self.config, self.dim, self.num_heads, name="self")(hidden, mask)
        return FlaxDenseBlock(self.dim, name="output")(context)


class FlaxDenseBlock(nn.Module):
    """A module holding one Dense under `dense` (the PyTorch names' extra level)."""

    features: int
    activation: str | None = None

    @nn.compact
    def __call__(self, x):
        x = nn.Dense(self.features, name="dense")(x)
        return get_activation(self.activation)(x) if self.activation else x


class FlaxSwinLayer(nn.Module):
    config: SwinConfig
    dim: int
    num_heads: int
    shift_size: int

    @nn.compact
    def __call__(self, hidden, grid, always_partition=False):
        c = self.config
        height, width = grid
        size, shift = c.window_size, self.shift_size
        if not always_partition and min(grid) <= size:
            size, shift = min(grid), 0
        batch, _, channels = hidden.shape
        shortcut = hidden
        x = nn.LayerNorm(epsilon=c.layer_norm_eps, name="layernorm_before")(hidden).reshape(batch, height, width, channels)
        pad_h, pad_w = (-height) % size, (-width) % size
        x = jnp.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
        padded_h, padded_w = x.shape[1:3]
        if shift:
            x = jnp.roll(x, (-shift, -shift), axis=(1, 2))
        mask = jnp.asarray(shifted_window_mask(padded_h, padded_w, size, shift)) if shift else None
        windows = window_partition(x, size).reshape(-1, size * size, channels)
        attended = FlaxSwinAttention(c, self.dim, self.num_heads, name="attention")(windows, mask)
        x = window_reverse(attended.reshape(-1, size, size, channels), size, padded_h, padded_w)
        if shift:
            x = jnp.roll(x, (shift, shift), axis=(1, 2))
        hidden = shortcut + x[:, :height, :width].reshape(batch, height * width, channels)
        y = nn.LayerNorm(epsilon=c.layer_norm_eps, name="layernorm_after")(hidden)
        y = FlaxDenseBlock(int(c.mlp_ratio * self.dim), c.hidden_act, name="intermediate")(y)
        return hidden + FlaxDenseBlock(self.dim, name="output")(y)


class FlaxSwinPatchMerging(nn.Module):
    dim: int

    @nn.compact
    def __call__(self, hidden, grid):
        height, width = grid
        batch, _, channels = hidden.shape
        x = hidden.reshape(batch, height, width, channels)
        x = jnp.pad(x, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)))
        x = jnp.concatenate([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        x = nn.LayerNorm(epsilon=1e-5, name="norm")(x.reshape(batch, -1, 4 * channels))
        return nn.Dense(2 * self.dim, use_bias=False, name="reduction")(x)


class FlaxSwinBlocks(nn.Module):
    config: SwinConfig
    dim: int
    depth: int
    num_heads: int

    @nn.compact
    def __call__(self, hidden, grid, always_partition=False):
        for j in range(self.depth):
            shift = 0 if j % 2 == 0 else self.config.window_size // 2
            hidden = FlaxSwinLayer(self.config, self.dim, self.num_heads, shift, name=str(j))(hidden, grid, always_partition)
        return hidden


class FlaxSwinStage(nn.Module):
    config: SwinConfig
    index: int

    @nn.compact
    def __call__(self, hidden, grid, always_partition=False):
        c, i = self.config, self.index
        dim = int(c.embed_dim * 2**i)
        hidden = FlaxSwinBlocks(c, dim, c.depths[i], c.num_heads[i], name="blocks")(hidden, grid, always_partition)
        if i == len(c.depths) - 1:
            return hidden, hidden, grid
        merged = FlaxSwinPatchMerging(dim, name="downsample")(hidden, grid)
        return merged, hidden, ((grid[0] + 1) // 2, (grid[1] + 1) // 2)


def _as_map(hidden, grid):
    return hidden.reshape(hidden.shape[0], *grid, hidden.shape[-1]).transpose(0, 3, 1, 2)


class FlaxSwinStages(nn.Module):
    config: SwinConfig

    @nn.compact
    def __call__(self, hidden, grid, before_downsampling=False, always_partition=False):
        states, maps = (hidden,), (_as_map(hidden, grid),)
        for i in range(len(self.config.depths)):
            hidden, before, next_grid = FlaxSwinStage(self.config, i, name=str(i))(hidden, grid, always_partition)
            if before_downsampling:
                states, maps = states + (before,), maps + (_as_map(before, grid),)
            else:
                states, maps = states + (hidden,), maps + (_as_map(hidden, next_grid),)
            grid = next_grid
        return hidden, states, maps


class FlaxSwinEncoder(nn.Module):
    config: SwinConfig

    @nn.compact
    def __call__(self, *args, **kwargs):
        return FlaxSwinStages(self.config, name="layers")(*args, **kwargs)


class FlaxSwinEmbeddings(nn.Module):
    config: SwinConfig
    use_mask_token: bool = False

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None):
        c = self.config
        if c.use_absolute_embeddings:
            raise NotImplementedError("Swin with use_absolute_embeddings=True is not supported by autoload yet.")
        check_pixel_values(pixel_values, c.num_channels)
        p = c.patch_size
        x = jnp.transpose(pixel_values, (0, 2, 3, 1))
        x = jnp.pad(x, ((0, 0), (0, (-x.shape[1]) % p), (0, (-x.shape[2]) % p), (0, 0)))
        x = FlaxPatchProjection(c.embed_dim, p, name="patch_embeddings")(x)
        grid = x.shape[1:3]
        x = nn.LayerNorm(epsilon=1e-5, name="norm")(x.reshape(x.shape[0], -1, x.shape[-1]))
        if self.use_mask_token:
            token = self.param("mask_token", nn.initializers.zeros, (1, 1, c.embed_dim))
            if bool_masked_pos is not None:
                mask = bool_masked_pos[..., None].astype(x.dtype)
                x = x * (1.0 - mask) + token * mask
        return x, grid


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
    def __call__(self, pixel_values, bool_masked_pos=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        embeds, grid = FlaxSwinEmbeddings(c, self.use_mask_token, name="embeddings")(pixel_values, bool_masked_pos)
        hidden, states, maps = FlaxSwinEncoder(c, name="encoder")(embeds, grid)
        hidden = nn.LayerNorm(epsilon=c.layer_norm_eps, name="layernorm")(hidden)
        result = out.SwinModelOutput(
            last_hidden_state=hidden, pooler_output=hidden.mean(axis=1) if self.add_pooling_layer else None,
            hidden_states=states if output_hidden_states else None,
            reshaped_hidden_states=maps if output_hidden_states else None,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSwinForImageClassificationModule(nn.Module):
    config: SwinConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, return_dict=True, **kwargs):
        encoded = FlaxSwinModule(self.config, name="swin")(pixel_values, **kwargs)
        logits = nn.Dense(self.config.num_labels, name="classifier")(encoded.pooler_output)
        result = out.SwinImageClassifierOutput(logits=logits, hidden_states=encoded.hidden_states,
                                               reshaped_hidden_states=encoded.reshaped_hidden_states)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSwinForMaskedImageModelingModule(nn.Module):
    config: SwinConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, return_dict=True, **kwargs):
        from .vit import FlaxViTDecoder

        c = self.config
        encoded = FlaxSwinModule(c, add_pooling_layer=False, use_mask_token=True, name="swin")(
            pixel_values, bool_masked_pos, **kwargs
        )
        hidden = encoded.last_hidden_state
        side = int(hidden.shape[1] ** 0.5)
        reconstruction = FlaxViTDecoder(c, name="decoder")(hidden.reshape(hidden.shape[0], side, side, -1))
        loss = None
        if bool_masked_pos is not None:
            size, patch = c.image_size // c.patch_size, c.patch_size
            mask = jnp.repeat(jnp.repeat(bool_masked_pos.reshape(-1, size, size), patch, 1), patch, 2)
            mask = mask[:, None].astype(reconstruction.dtype)
            loss = (jnp.abs(pixel_values - reconstruction) * mask).sum() / (mask.sum() + 1e-5) / c.num_channels
        result = out.SwinMaskedImageModelingOutput(
            loss=loss, reconstruction=reconstruction, hidden_states=encoded.hidden_states,
            reshaped_hidden_states=encoded.reshaped_hidden_states,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSwinBackboneModule(nn.Module):
    config: SwinConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):
        c = self.config
        embeds, grid = FlaxSwinEmbeddings(c, name="embeddings")(pixel_values)
        _, states, maps = FlaxSwinEncoder(c, name="encoder")(embeds, grid, before_downsampling=True, always_partition=True)
        features = FlaxSwinStageNorms(tuple(c.out_features), name="hidden_states_norms")(
            [maps[i] for i in c.out_indices]
        )
        result = out.BackboneOutput(feature_maps=tuple(features), hidden_states=states if output_hidden_states else None)
        return out.finish(result, return_dict)


class FlaxSwinStageNorms(nn.Module):
    stages: tuple

    @nn.compact
    def __call__(self, maps):
        normed = []
        for stage, m in zip(self.stages, maps):
            x = nn.LayerNorm(epsilon=1e-5, name=stage)(m.transpose(0, 2, 3, 1))
            normed.append(x.transpose(0, 3, 1, 2))
        return normed


class FlaxSwinPreTrainedModel(FlaxPreTrainedModel):
    config_class = SwinConfig
    base_model_prefix = "swin"
    main_input_name = "pixel_values"

    def dummy_inputs(self) -> dict:
        size = self.config.image_size
        return {"pixel_values": jnp.zeros((1, self.config.num_channels, size, size), jnp.float32)}

    def __call__(self, pixel_values=None, **kwargs):
        if pixel_values is None:
            raise ValueError(f"{type(self).__name__} needs pixel_values.")
        return super().__call__(jnp.asarray(pixel_values), **kwargs)


def _model(name, module_class):
    return type(name, (FlaxSwinPreTrainedModel,), {"module_class": module_class, "__module__": __name__})


FlaxSwinModel = _model("FlaxSwinModel", FlaxSwinModule)
FlaxSwinForImageClassification = _model("FlaxSwinForImageClassification", FlaxSwinForImageClassificationModule)
FlaxSwinForMaskedImageModeling = _model("FlaxSwinForMaskedImageModeling", FlaxSwinForMaskedImageModelingModule)
FlaxSwinBackbone = _model("FlaxSwinBackbone", FlaxSwinBackboneModule)
