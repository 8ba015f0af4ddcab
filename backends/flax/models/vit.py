"""ViT in Flax, with transformers' Flax parameter tree. Inputs and outputs are channels-first like the
PyTorch model; convolutions run channels-last inside."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.vit import ViTConfig
from autoload.vision import bicubic_matrix

from ..activations import get_activation
from ..attention import attend
from ..modeling import FlaxPreTrainedModel


def check_pixel_values(pixel_values, num_channels: int) -> None:
    if pixel_values.ndim != 4 or pixel_values.shape[1] != num_channels:
        raise ValueError(
            f"pixel_values must have shape [batch, {num_channels}, height, width]; got {tuple(pixel_values.shape)}. "
            "Images are channels-first (use the image processor's output)."
        )


def _dense(config, features, dtype, name=None, bias=True):
    return nn.Dense(features, use_bias=bias, dtype=dtype, name=name,
                    kernel_init=nn.initializers.normal(config.initializer_range))  # fmt: skip


class FlaxViTPatchEmbeddings(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        p = self.config.patch_size
        self.projection = nn.Conv(self.config.hidden_size, (p, p), strides=(p, p), padding="VALID", dtype=self.dtype)

    def __call__(self, pixel_values):
        patches = self.projection(jnp.transpose(pixel_values, (0, 2, 3, 1)))
        return patches.reshape(patches.shape[0], -1, patches.shape[-1])


class FlaxViTEmbeddings(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32
    use_mask_token: bool = False

    def setup(self):
        c = self.config
        patches = (c.image_size // c.patch_size) ** 2
        init = nn.initializers.normal(c.initializer_range)
        self.cls_token = self.param("cls_token", init, (1, 1, c.hidden_size))
        if self.use_mask_token:
            self.mask_token = self.param("mask_token", nn.initializers.zeros, (1, 1, c.hidden_size))
        self.patch_embeddings = FlaxViTPatchEmbeddings(c, dtype=self.dtype)
        self.position_embeddings = self.param("position_embeddings", init, (1, patches + 1, c.hidden_size))
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def positions_for(self, height: int, width: int):
        """The learned position grid resized (bicubic, as PyTorch does) for another image size."""
        c, positions = self.config, self.position_embeddings
        grid = int((positions.shape[1] - 1) ** 0.5)
        rows, cols = height // c.patch_size, width // c.patch_size
        if (rows, cols) == (grid, grid):
            return positions
        patch = positions[0, 1:].reshape(grid, grid, -1)
        patch = jnp.einsum("ri,ijc,sj->rsc", bicubic_matrix(grid, rows), patch, bicubic_matrix(grid, cols))
        return jnp.concatenate([positions[:, :1], patch.reshape(1, rows * cols, -1)], axis=1)

    def __call__(self, pixel_values, bool_masked_pos=None, deterministic=True, interpolate_pos_encoding=False):
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        height, width = pixel_values.shape[-2:]
        if not interpolate_pos_encoding and (height, width) != (c.image_size, c.image_size):
            raise ValueError(
                f"Input image size ({height}*{width}) doesn't match the model ({c.image_size}*{c.image_size}); "
                "resize it or pass interpolate_pos_encoding=True."
            )
        embeds = self.patch_embeddings(pixel_values.astype(self.dtype))
        if bool_masked_pos is not None and self.use_mask_token:
            mask = bool_masked_pos[..., None].astype(embeds.dtype)
            embeds = embeds * (1.0 - mask) + self.mask_token * mask
        cls = jnp.broadcast_to(self.cls_token, (embeds.shape[0], 1, embeds.shape[-1]))
        positions = self.positions_for(height, width) if interpolate_pos_encoding else self.position_embeddings
        return self.dropout(jnp.concatenate([cls, embeds], axis=1) + positions, deterministic=deterministic)


class FlaxViTSelfAttention(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.query = _dense(c, c.hidden_size, self.dtype, bias=c.qkv_bias)
        self.key = _dense(c, c.hidden_size, self.dtype, bias=c.qkv_bias)
        self.value = _dense(c, c.hidden_size, self.dtype, bias=c.qkv_bias)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def __call__(self, hidden, deterministic=True):
        c = self.config
        head_dim = c.hidden_size // c.num_attention_heads
        split = lambda x: x.reshape(x.shape[:2] + (c.num_attention_heads, head_dim))  # noqa: E731
        context = attend(split(self.query(hidden)), split(self.key(hidden)), split(self.value(hidden)), None,
                         head_dim**-0.5, self.dropout, deterministic)  # fmt: skip
        return context.reshape(hidden.shape)


class FlaxViTSelfOutput(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.dense = _dense(self.config, self.config.hidden_size, self.dtype)
        self.dropout = nn.Dropout(self.config.hidden_dropout_prob)

    def __call__(self, hidden, deterministic=True):
        return self.dropout(self.dense(hidden), deterministic=deterministic)


class FlaxViTAttention(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.attention = FlaxViTSelfAttention(self.config, dtype=self.dtype)
        self.output = FlaxViTSelfOutput(self.config, dtype=self.dtype)

    def __call__(self, hidden, deterministic=True):
        return self.output(self.attention(hidden, deterministic), deterministic)


class FlaxViTIntermediate(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.dense = _dense(self.config, self.config.intermediate_size, self.dtype)
        self.act = get_activation(self.config.hidden_act)

    def __call__(self, hidden):
        return self.act(self.dense(hidden))


class FlaxViTLayer(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.attention = FlaxViTAttention(c, dtype=self.dtype)
        self.intermediate = FlaxViTIntermediate(c, dtype=self.dtype)
        self.output = FlaxViTSelfOutput(c, dtype=self.dtype)
        self.layernorm_before = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype)
        self.layernorm_after = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype)

    def __call__(self, hidden, deterministic=True):
        hidden = self.attention(self.layernorm_before(hidden), deterministic) + hidden
        return self.output(self.intermediate(self.layernorm_after(hidden)), deterministic) + hidden


class FlaxViTLayerCollection(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.layers = [FlaxViTLayer(self.config, dtype=self.dtype, name=str(i)) for i in range(self.config.num_hidden_layers)]

    def __call__(self, hidden, deterministic=True):
        states = (hidden,)
        for layer in self.layers:
            hidden = layer(hidden, deterministic)
            states += (hidden,)
        return hidden, states


class FlaxViTEncoder(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.layer = FlaxViTLayerCollection(self.config, dtype=self.dtype)

    def __call__(self, hidden, deterministic=True):
        return self.layer(hidden, deterministic)


class FlaxViTPooler(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.dense = _dense(self.config, self.config.pooler_output_size, self.dtype)
        self.act = get_activation(self.config.pooler_act)

    def __call__(self, hidden):
        return self.act(self.dense(hidden[:, 0]))


class FlaxViTModule(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32
    add_pooling_layer: bool = True
    use_mask_token: bool = False

    def setup(self):
        c = self.config
        self.embeddings = FlaxViTEmbeddings(c, dtype=self.dtype, use_mask_token=self.use_mask_token)
        self.encoder = FlaxViTEncoder(c, dtype=self.dtype)
        self.layernorm = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype)
        self.pooler = FlaxViTPooler(c, dtype=self.dtype) if self.add_pooling_layer else None

    def __call__(self, pixel_values, bool_masked_pos=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, interpolate_pos_encoding=False, **kwargs):  # fmt: skip
        hidden = self.embeddings(pixel_values, bool_masked_pos, deterministic, interpolate_pos_encoding)
        hidden, states = self.encoder(hidden, deterministic)
        hidden = self.layernorm(hidden)
        result = out.BaseModelOutputWithPooling(
            last_hidden_state=hidden, pooler_output=self.pooler(hidden) if self.pooler is not None else None,
            hidden_states=states if output_hidden_states else None,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxViTForImageClassificationModule(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.vit = FlaxViTModule(self.config, dtype=self.dtype, add_pooling_layer=False)
        self.classifier = nn.Dense(self.config.num_labels, dtype=self.dtype)

    def __call__(self, pixel_values, return_dict=True, **kwargs):
        encoded = self.vit(pixel_values, **kwargs)
        result = out.ImageClassifierOutput(logits=self.classifier(encoded.last_hidden_state[:, 0]),
                                           hidden_states=encoded.hidden_states)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxViTDecoder(nn.Module):
    """1x1 conv to stride**2 * channels values per patch, then a pixel shuffle back to the image grid."""

    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, patches_nhwc):
        c = self.config
        stride = c.encoder_stride
        x = nn.Conv(stride**2 * c.num_channels, (1, 1), dtype=self.dtype, name="0")(patches_nhwc)
        batch, h, w, _ = x.shape
        # PyTorch's PixelShuffle orders the conv channels as (C, r, r).
        x = x.reshape(batch, h, w, c.num_channels, stride, stride).transpose(0, 3, 1, 4, 2, 5)
        return x.reshape(batch, c.num_channels, h * stride, w * stride)


class FlaxViTForMaskedImageModelingModule(nn.Module):
    config: ViTConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.vit = FlaxViTModule(self.config, dtype=self.dtype, add_pooling_layer=False, use_mask_token=True)
        self.decoder = FlaxViTDecoder(self.config, dtype=self.dtype)

    def __call__(self, pixel_values, bool_masked_pos=None, return_dict=True, **kwargs):
        c = self.config
        encoded = self.vit(pixel_values, bool_masked_pos, **kwargs)
        patches = encoded.last_hidden_state[:, 1:]
        side = int(patches.shape[1] ** 0.5)
        reconstruction = self.decoder(patches.reshape(patches.shape[0], side, side, -1))
        loss = None
        if bool_masked_pos is not None:
            size = c.image_size // c.patch_size
            mask = bool_masked_pos.reshape(-1, size, size)
            mask = jnp.repeat(jnp.repeat(mask, c.patch_size, 1), c.patch_size, 2)[:, None].astype(reconstruction.dtype)
            l1 = jnp.abs(pixel_values - reconstruction)
            loss = (l1 * mask).sum() / (mask.sum() + 1e-5) / c.num_channels
        result = out.MaskedImageModelingOutput(loss=loss, reconstruction=reconstruction,
                                               hidden_states=encoded.hidden_states)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxViTPreTrainedModel(FlaxPreTrainedModel):
    config_class = ViTConfig
    base_model_prefix = "vit"
    main_input_name = "pixel_values"

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"pixel_values": jnp.zeros((1, c.num_channels, c.image_size, c.image_size), jnp.float32)}

    def __call__(self, pixel_values=None, **kwargs):
        if pixel_values is None:
            raise ValueError(f"{type(self).__name__} needs pixel_values.")
        return super().__call__(jnp.asarray(pixel_values), **kwargs)


def _model(name, module_class):
    return type(name, (FlaxViTPreTrainedModel,), {"module_class": module_class, "__module__": __name__})


FlaxViTModel = _model("FlaxViTModel", FlaxViTModule)
FlaxViTForImageClassification = _model("FlaxViTForImageClassification", FlaxViTForImageClassificationModule)
FlaxViTForMaskedImageModeling = _model("FlaxViTForMaskedImageModeling", FlaxViTForMaskedImageModelingModule)
