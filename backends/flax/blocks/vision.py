"""Vision building blocks in Flax (linen); submodule and parameter names are the checkpoint names, as in
autoload/backends/torch/blocks/vision.py (see there for what each block is). Images come in channels-first
like PyTorch's; convolutions run channels-last inside."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.vision import bicubic_matrix, bilinear_matrix, pair, window_relative_position_index

from ..abstract_params import as_if_every_layer_ran, repeat_first_layer, tracing_shapes
from ..activations import get_activation
from ..modeling import FlaxPreTrainedModel
from ..remat import checkpointed
from .norms import LayerNorm


def nhwc(x):
    return jnp.transpose(x, (0, 2, 3, 1))


def nchw(x):
    return jnp.transpose(x, (0, 3, 1, 2))


def normal(config):
    return nn.initializers.normal(getattr(config, "initializer_range", 0.02))


def dense(config, features: int, name: str, use_bias: bool = True, dtype=jnp.float32) -> nn.Dense:
    return nn.Dense(features, use_bias=use_bias, dtype=dtype, kernel_init=normal(config), name=name)


def check_pixel_values(pixel_values, num_channels: int) -> None:
    if pixel_values is None:
        raise ValueError("You have to specify pixel_values.")
    if pixel_values.ndim != 4 or pixel_values.shape[1] != num_channels:
        raise ValueError(
            f"pixel_values must have shape [batch, {num_channels}, height, width]; got {tuple(pixel_values.shape)}. "
            "Images are channels-first (use the image processor's output)."
        )


def resize_grid(table, rows: int, cols: int, kind: str = "bicubic"):
    """Resize a [height, width, channels] grid exactly as PyTorch's interpolate (align_corners=False)."""
    make = bicubic_matrix if kind == "bicubic" else bilinear_matrix
    height, width = table.shape[:2]
    if (height, width) == (rows, cols):
        return table
    return jnp.einsum("rh,hwc,sw->rsc", make(height, rows), table, make(width, cols))


def resize_maps_nhwc(x, size):
    height, width = x.shape[1:3]
    if (height, width) == tuple(size):
        return x
    return jnp.einsum("rh,bhwc,sw->brsc", bilinear_matrix(height, size[0]), x, bilinear_matrix(width, size[1]))


def per_layer_head_mask(head_mask, layers: int):
    if head_mask is None:
        return [None] * layers
    head_mask = jnp.asarray(head_mask, jnp.float32)
    if head_mask.ndim == 1:
        head_mask = jnp.broadcast_to(head_mask[None], (layers, head_mask.shape[0]))
    return [head_mask[i][None, :, None, None] for i in range(layers)]


def tokens_to_map(tokens, rows: int, cols: int):
    """[batch, rows*cols, channels] -> channels-first [batch, channels, rows, cols]."""
    return nchw(tokens.reshape(tokens.shape[0], rows, cols, tokens.shape[-1]))


def pixel_shuffle_nhwc_to_nchw(x, factor: int):
    """PyTorch's PixelShuffle (channels grouped as c * r * r) of NHWC input, returned channels-first."""
    batch, height, width, channels = x.shape
    channels //= factor * factor
    x = x.reshape(batch, height, width, channels, factor, factor).transpose(0, 3, 1, 4, 2, 5)
    return x.reshape(batch, channels, height * factor, width * factor)


def masked_image_loss(pixel_values, reconstruction, bool_masked_pos, config):
    size, patch = config.image_size // config.patch_size, config.patch_size
    mask = jnp.asarray(bool_masked_pos).reshape(-1, size, size)
    mask = jnp.repeat(jnp.repeat(mask, patch, 1), patch, 2)[:, None].astype(reconstruction.dtype)
    l1 = jnp.abs(pixel_values - reconstruction)
    return (l1 * mask).sum() / (mask.sum() + 1e-5) / config.num_channels


def check_mim_stride(config, bool_masked_pos) -> None:
    if bool_masked_pos is not None and config.patch_size != config.encoder_stride:
        raise ValueError(
            "When bool_masked_pos is given, patch_size must equal encoder_stride so the reconstruction has the "
            f"input's size; got patch_size={config.patch_size} and encoder_stride={config.encoder_stride}."
        )


class DropPath(nn.Module):
    """Stochastic depth: drop whole residual branches per sample while training; identity otherwise."""

    rate: float = 0.0

    @nn.compact
    def __call__(self, x, deterministic=True):
        if self.rate == 0.0 or deterministic:
            return x
        keep = 1.0 - self.rate
        mask = jax.random.bernoulli(self.make_rng("dropout"), keep, (x.shape[0],) + (1,) * (x.ndim - 1))
        return x * mask / keep


def batch_norm(name: str, epsilon: float = 1e-5, dtype=jnp.float32) -> nn.BatchNorm:
    """Inference statistics (batch_stats), PyTorch's defaults."""
    return nn.BatchNorm(use_running_average=True, momentum=0.9, epsilon=epsilon, dtype=dtype, name=name)


class ConvBatchNormReLU(nn.Module):
    """conv (no bias) -> BatchNorm -> ReLU on NHWC maps, named conv / bn."""

    features: int
    kernel_size: int
    padding: int = 0
    dilation: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        k, p = self.kernel_size, self.padding
        x = nn.Conv(self.features, (k, k), padding=[(p, p)] * 2, kernel_dilation=self.dilation, use_bias=False,
                    dtype=self.dtype, name="conv")(x)  # fmt: skip
        return nn.relu(batch_norm("bn", dtype=self.dtype)(x))


class PixelDecoder(nn.Module):
    """A 1x1 conv (`0`) to stride**2 * channels, then a pixel shuffle; channels-first in and out."""

    stride: int
    num_channels: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, feature_map_nchw):
        x = nn.Conv(self.stride**2 * self.num_channels, (1, 1), dtype=self.dtype, name="0")(nhwc(feature_map_nchw))
        return pixel_shuffle_nhwc_to_nchw(x, self.stride)


# -- ViT-style token embeddings ------------------------------------------------------------------------------
class PatchEmbeddings(nn.Module):
    config: Any
    check_size: bool = True
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, interpolate_pos_encoding=False):
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        image, patch = pair(c.image_size), pair(c.patch_size)
        if self.check_size and not interpolate_pos_encoding and tuple(pixel_values.shape[-2:]) != image:
            raise ValueError(
                f"Input image size ({pixel_values.shape[-2]}*{pixel_values.shape[-1]}) doesn't match the model "
                f"({image[0]}*{image[1]}); resize it or pass interpolate_pos_encoding=True."
            )
        x = nn.Conv(c.hidden_size, patch, strides=patch, padding="VALID", dtype=self.dtype, kernel_init=normal(c),
                    name="projection")(nhwc(pixel_values).astype(self.dtype))  # fmt: skip
        return x.reshape(x.shape[0], -1, x.shape[-1]), (x.shape[1], x.shape[2])


def num_patches(config) -> int:
    image, patch = pair(config.image_size), pair(config.patch_size)
    return (image[0] // patch[0]) * (image[1] // patch[1])


def patch_window(config) -> tuple[int, int]:
    image, patch = pair(config.image_size), pair(config.patch_size)
    return image[0] // patch[0], image[1] // patch[1]


class ViTEmbeddings(nn.Module):
    """Learned tokens + patch embeddings (+ position embeddings), as the config's token_layout says."""

    config: Any
    use_mask_token: bool = False
    dtype: Any = jnp.float32

    def positions_for(self, table, height: int, width: int):
        leading = len(self.config.token_layout.tokens)
        patch = pair(self.config.patch_size)
        grid = int((table.shape[1] - leading) ** 0.5)
        rows, cols = height // patch[0], width // patch[1]
        if (rows, cols) == (grid, grid):
            return table
        patches = resize_grid(table[0, leading:].reshape(grid, grid, -1), rows, cols,
                              self.config.token_layout.position_resize)
        return jnp.concatenate([table[:, :leading], patches.reshape(1, rows * cols, -1)], axis=1)

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, interpolate_pos_encoding=False, deterministic=True):
        c, layout = self.config, self.config.token_layout
        size = c.hidden_size
        tokens = [self.param(name, normal(c), (1, 1, size)) for name in layout.tokens]
        embeds, grid = PatchEmbeddings(c, layout.interpolation == "on_request", self.dtype, name="patch_embeddings")(
            pixel_values, interpolate_pos_encoding)
        if self.use_mask_token:
            mask_token = self.param("mask_token", nn.initializers.zeros, (1, size) if layout.flat_mask_token else (1, 1, size))
        if bool_masked_pos is not None:
            if not self.use_mask_token:
                raise ValueError("bool_masked_pos was given but this model has no mask token (use_mask_token).")
            mask = jnp.asarray(bool_masked_pos)[..., None].astype(embeds.dtype)
            embeds = embeds * (1.0 - mask) + mask_token * mask
        batch = embeds.shape[0]
        embeds = jnp.concatenate([jnp.broadcast_to(t, (batch, 1, size)) for t in tokens] + [embeds], axis=1)
        if layout.position_embeddings:
            table = self.param("position_embeddings", normal(c), (1, num_patches(c) + len(tokens), size))
            resize = interpolate_pos_encoding or layout.interpolation == "always"
            embeds = embeds + (self.positions_for(table, *pixel_values.shape[-2:]) if resize else table)
        if layout.registers:
            registers = self.param("register_tokens", normal(c), (1, layout.registers, size))
            count = len(tokens)
            embeds = jnp.concatenate([embeds[:, :count], jnp.broadcast_to(registers, (batch, *registers.shape[1:])),
                                      embeds[:, count:]], axis=1)  # fmt: skip
        return nn.Dropout(c.hidden_dropout_prob)(embeds, deterministic=deterministic), grid


# -- attention ------------------------------------------------------------------------------------------------
def split_heads(x, heads: int):
    """[batch, length, hidden] -> [batch, heads, length, dim]."""
    return x.reshape(x.shape[0], x.shape[1], heads, -1).transpose(0, 2, 1, 3)


def merge_heads(x):
    return x.transpose(0, 2, 1, 3).reshape(x.shape[0], x.shape[2], -1)


def attend(q, k, v, bias=None, head_mask=None, dropout=None, deterministic=True):
    """q/k/v [batch, heads, length, dim] -> (context, probabilities)."""
    scores = q @ jnp.swapaxes(k, -1, -2) / np.float32(np.sqrt(q.shape[-1]))
    if bias is not None:
        scores = scores + bias
    probs = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(q.dtype)
    if dropout is not None:
        probs = dropout(probs, deterministic=deterministic)
    if head_mask is not None:
        probs = probs * head_mask
    return probs @ v, probs


class RelativePositionBias(nn.Module):
    """BEiT's relative position bias (see the PyTorch block)."""

    config: Any
    window: tuple

    @nn.compact
    def __call__(self, grid, interpolate_pos_encoding=False, length=None):
        heads = self.config.num_attention_heads
        old = (2 * self.window[0] - 1, 2 * self.window[1] - 1)
        table = self.param("relative_position_bias_table", nn.initializers.zeros, (old[0] * old[1] + 3, heads))
        new = (2 * grid[0] - 1, 2 * grid[1] - 1)
        pairs = resize_grid(table[:-3].reshape(old[1], old[0], heads), new[0], new[1], "bilinear")
        table = jnp.concatenate([pairs.reshape(-1, heads), table[-3:]], axis=0)
        area = grid[0] * grid[1] + 1
        index = window_relative_position_index(*grid, class_token=True).reshape(-1)
        bias = table[index].reshape(area, area, heads).transpose(2, 0, 1)
        if interpolate_pos_encoding and length is not None and length != area:
            matrix = bilinear_matrix(area, length)
            bias = jnp.einsum("qi,hij,kj->hqk", matrix, bias, matrix)
        return bias[None]


class ViTSelfAttention(nn.Module):
    config: Any
    window: tuple | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias=None, head_mask=None, grid=None, interpolate_pos_encoding=False,
                 deterministic=True):  # fmt: skip
        c = self.config
        if self.window is not None:
            own = RelativePositionBias(c, self.window, name="relative_position_bias")(grid, interpolate_pos_encoding,
                                                                                        hidden.shape[1])  # fmt: skip
            bias = own if bias is None else bias + own
        biases = c.projection_biases
        q, k, v = (split_heads(dense(c, c.hidden_size, name, b, self.dtype)(hidden), c.num_attention_heads)
                   for name, b in zip(("query", "key", "value"), biases))  # fmt: skip
        context, probs = attend(q, k, v, bias, head_mask, nn.Dropout(c.attention_probs_dropout_prob), deterministic)
        return merge_heads(context), probs


class DenseDropout(nn.Module):
    """`dense` then dropout (ViT's attention output and MLP output)."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, deterministic=True):
        hidden = dense(self.config, self.config.hidden_size, "dense", dtype=self.dtype)(hidden)
        return nn.Dropout(self.config.hidden_dropout_prob)(hidden, deterministic=deterministic)


class ViTAttention(nn.Module):
    config: Any
    window: tuple | None = None
    dtype: Any = jnp.float32
    self_attention_class = ViTSelfAttention  # a variant's attention with other parameters (VideoMAE's q/v biases)

    @nn.compact
    def __call__(self, hidden, deterministic=True, **kwargs):
        context, probs = self.self_attention_class(self.config, self.window, self.dtype, name="attention")(
            hidden, deterministic=deterministic, **kwargs)
        return DenseDropout(self.config, self.dtype, name="output")(context, deterministic), probs


class ViTIntermediate(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        return get_activation(c.hidden_act)(dense(c, c.intermediate_size, "dense", dtype=self.dtype)(hidden))


class ViTLayer(nn.Module):
    """layernorm_before -> attention (-> lambda_1) -> drop path -> +; layernorm_after -> MLP (-> lambda_2) ->
    drop path -> +."""

    config: Any
    index: int = 0
    window: tuple | None = None
    dtype: Any = jnp.float32
    attention_class = ViTAttention

    @nn.compact
    def __call__(self, hidden, deterministic=True, **kwargs):
        c = self.config
        drop = DropPath(c.drop_path_rates[self.index])
        norm = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="layernorm_before")
        attended, probs = self.attention_class(c, self.window, self.dtype, name="attention")(norm(hidden), deterministic,
                                                                                            **kwargs)  # fmt: skip
        scale = c.layer_scale_init
        if scale is not None:
            attended = self.param("lambda_1", nn.initializers.constant(scale), (c.hidden_size,)) * attended
        hidden = drop(attended, deterministic) + hidden
        mlp = ViTIntermediate(c, self.dtype, name="intermediate")(
            LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="layernorm_after")(hidden))
        mlp = DenseDropout(c, self.dtype, name="output")(mlp, deterministic)
        if scale is not None:
            mlp = self.param("lambda_2", nn.initializers.constant(scale), (c.hidden_size,)) * mlp
        return drop(mlp, deterministic) + hidden, probs


class ViTLayerCollection(nn.Module):
    """The layers `0`, `1`, … (of `layer_class`) under `encoder/layer`."""

    config: Any
    window: tuple | None = None
    dtype: Any = jnp.float32
    layer_class = ViTLayer

    @nn.compact
    def __call__(self, hidden, bias=None, head_mask=None, grid=None, interpolate_pos_encoding=False,
                 deterministic=True):  # fmt: skip
        states, attentions = (hidden,), ()
        masks = per_layer_head_mask(head_mask, self.config.num_hidden_layers)
        for i in range(self.config.num_hidden_layers):
            layer = self.layer_class(self.config, i, self.window, self.dtype, name=str(i))
            hidden, probs = layer(hidden, deterministic, bias=bias, head_mask=masks[i], grid=grid,
                                  interpolate_pos_encoding=interpolate_pos_encoding)  # fmt: skip
            states += (hidden,)
            attentions += (probs,)
        return hidden, states, attentions


class ViTEncoder(nn.Module):
    config: Any
    window: tuple | None = None
    dtype: Any = jnp.float32
    collection_class = ViTLayerCollection

    @nn.compact
    def __call__(self, hidden, head_mask=None, output_attentions=False, output_hidden_states=False, grid=None,
                 interpolate_pos_encoding=False, deterministic=True):  # fmt: skip
        c = self.config
        shared, in_layers = c.relative_position_bias
        bias = None
        if shared:
            bias = RelativePositionBias(c, self.window, name="relative_position_bias")(
                grid, interpolate_pos_encoding, hidden.shape[1])
        collection = self.collection_class(c, self.window if in_layers else None, self.dtype, name="layer")
        hidden, states, attentions = collection(hidden, bias, head_mask, grid, interpolate_pos_encoding, deterministic)
        return hidden, states if output_hidden_states else None, attentions if output_attentions else None


class ViTPooler(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        return get_activation(c.pooler_act)(dense(c, c.pooler_output_size, "dense", dtype=self.dtype)(hidden[:, 0]))


class ViTModule(nn.Module):
    """Embeddings, encoder, final norm and (optionally) the pooler; DeiT, BEiT and DINOv2 subclass it, overriding
    final_norm / pool."""

    config: Any
    dtype: Any = jnp.float32
    add_pooling_layer: bool = True
    use_mask_token: bool = False
    encoder_class = ViTEncoder
    output_class = out.BaseModelOutputWithPooling
    ignores_mask_without_token = False  # DINOv2 ignores bool_masked_pos without a mask token; others refuse it

    def has_mask_token(self) -> bool:
        return self.use_mask_token

    def final_norm(self, hidden):
        return LayerNorm(epsilon=self.config.layer_norm_eps, dtype=self.dtype, name="layernorm")(hidden)

    def pool(self, hidden):
        return ViTPooler(self.config, self.dtype, name="pooler")(hidden)

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, head_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        interpolate = bool(interpolate_pos_encoding)
        if self.ignores_mask_without_token and not self.has_mask_token():
            bool_masked_pos = None
        hidden, grid = ViTEmbeddings(c, self.has_mask_token(), self.dtype, name="embeddings")(
            pixel_values, bool_masked_pos, interpolate, deterministic)
        hidden, states, attentions = self.encoder_class(c, patch_window(c), self.dtype, name="encoder")(
            hidden, head_mask, output_attentions, output_hidden_states, grid, interpolate, deterministic)
        hidden = self.final_norm(hidden)
        pooled = self.pool(hidden) if self.add_pooling_layer else None
        result = self.output_class(last_hidden_state=hidden, pooler_output=pooled, hidden_states=states,
                                   attentions=attentions)  # fmt: skip
        return out.finish(result, return_dict)


# -- CLIP-style layer ------------------------------------------------------------------------------------------
class CLIPTextEmbeddings(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, input_ids, position_ids=None):
        c = self.config
        length = input_ids.shape[-1]
        if length > c.max_position_embeddings:
            raise ValueError(f"Sequence length {length} is longer than max_position_embeddings "
                             f"({c.max_position_embeddings}); truncate the text.")  # fmt: skip
        if position_ids is None:
            position_ids = jnp.arange(length)[None]
        tokens = nn.Embed(c.vocab_size, c.hidden_size, embedding_init=normal(c), name="token_embedding")
        positions = nn.Embed(c.max_position_embeddings, c.hidden_size, embedding_init=normal(c),
                             name="position_embedding")  # fmt: skip
        return tokens(jnp.asarray(input_ids).astype("i4")) + positions(jnp.asarray(position_ids).astype("i4"))


class CLIPAttention(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, hidden, bias=None, deterministic=True):
        c = self.config
        q, k, v = (split_heads(dense(c, c.hidden_size, name)(hidden), c.num_attention_heads)
                   for name in ("q_proj", "k_proj", "v_proj"))  # fmt: skip
        context, probs = attend(q, k, v, bias, None, nn.Dropout(c.attention_dropout), deterministic)
        return dense(c, c.hidden_size, "out_proj")(merge_heads(context)), probs


class CLIPMLP(nn.Module):
    config: Any
    width: int | None = None

    @nn.compact
    def __call__(self, x):
        c = self.config
        return dense(c, c.hidden_size, "fc2")(get_activation(c.hidden_act)(dense(c, self.width or c.intermediate_size,
                                                                                  "fc1")(x)))  # fmt: skip


class CLIPEncoderLayer(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, hidden, bias=None, deterministic=True):
        c = self.config
        attended, probs = CLIPAttention(c, name="self_attn")(
            LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm1")(hidden), bias, deterministic)
        hidden = hidden + attended
        return hidden + CLIPMLP(c, name="mlp")(LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm2")(hidden)), probs


class CLIPLayerCollection(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, hidden, bias=None, deterministic=True):
        states, attentions = (hidden,), ()
        count, layer_class = self.config.num_hidden_layers, checkpointed(CLIPEncoderLayer, static_argnums=(3,))
        for i in range(count):
            hidden, probs = layer_class(self.config, name=str(i))(hidden, bias, deterministic)
            states += (hidden,)
            attentions += (probs,)
            if i == 0 and tracing_shapes() and repeat_first_layer(self, [str(n) for n in range(count)], states[0], hidden):
                return hidden, *as_if_every_layer_ran(count, states, hidden, attentions)
        return hidden, states, attentions


class CLIPEncoder(nn.Module):
    """`layers/<i>`; returns (last hidden, every hidden state from the input on, attentions or None)."""

    config: Any

    @nn.compact
    def __call__(self, hidden, bias=None, output_attentions=False, deterministic=True):
        hidden, states, attentions = CLIPLayerCollection(self.config, name="layers")(hidden, bias, deterministic)
        return hidden, states, attentions if output_attentions else None


# -- DINOv2-style pieces -------------------------------------------------------------------------------------------
class LayerScale(nn.Module):
    hidden_size: int
    init: float

    @nn.compact
    def __call__(self, x):
        return x * self.param("lambda1", nn.initializers.constant(self.init), (self.hidden_size,))


class SwiGLUMLP(nn.Module):
    config: Any
    width: int

    @nn.compact
    def __call__(self, x):
        gate, value = jnp.split(dense(self.config, 2 * self.width, "weights_in")(x), 2, axis=-1)
        return dense(self.config, self.config.hidden_size, "weights_out")(nn.silu(gate) * value)


# -- model bases ------------------------------------------------------------------------------------------------
class FlaxVisionPreTrainedModel(FlaxPreTrainedModel):
    """Pixel inputs: dummy images at the config's size (its vision tower's, for two-tower configs)."""

    main_input_name = "pixel_values"

    def dummy_inputs(self) -> dict:
        vision = getattr(self.config, "vision_config", self.config)
        height, width = pair(getattr(vision, "image_size", None) or 32)
        return {"pixel_values": jnp.zeros((1, vision.num_channels, height, width), jnp.float32)}

    def __call__(self, pixel_values=None, **kwargs):
        if pixel_values is None:
            raise ValueError(f"{type(self).__name__} needs pixel_values.")
        return super().__call__(jnp.asarray(pixel_values), **kwargs)
