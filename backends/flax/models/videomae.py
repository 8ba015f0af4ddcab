"""VideoMAE in Flax (transformers never had one; parameter names follow the PyTorch module names, so the shared
converter maps them; see autoload/backends/torch/models/videomae.py for what each class does). Videos come in as
[batch, frames, channels, height, width]."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.videomae import IMAGENET_MEAN, IMAGENET_STD, VideoMAEConfig, sinusoid_table

from ..blocks.norms import LayerNorm
from ..blocks.vision import (
    ViTAttention,
    ViTEncoder,
    ViTLayer,
    ViTLayerCollection,
    attend,
    dense,
    merge_heads,
    normal,
    split_heads,
)
from ..heads import FlaxImageClassificationModel, FlaxTaskModel, HeadModule, ImageClassificationModule
from ..modeling import FlaxPreTrainedModel


class FlaxVideoMAESelfAttention(nn.Module):
    """query / key / value without biases of their own; with qkv_bias, `q_bias` and `v_bias` (the key has none)."""

    config: Any
    window: tuple | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias=None, head_mask=None, grid=None, interpolate_pos_encoding=False,
                 deterministic=True):  # fmt: skip
        c = self.config
        size = c.hidden_size
        q, k, v = (dense(c, size, name, False, self.dtype)(hidden) for name in ("query", "key", "value"))
        if c.qkv_bias:
            q = q + self.param("q_bias", nn.initializers.zeros, (size,))
            v = v + self.param("v_bias", nn.initializers.zeros, (size,))
        q, k, v = (split_heads(x, c.num_attention_heads) for x in (q, k, v))
        context, probs = attend(q, k, v, None, head_mask, nn.Dropout(c.attention_probs_dropout_prob), deterministic)
        return merge_heads(context), probs


class FlaxVideoMAEAttention(ViTAttention):
    self_attention_class = FlaxVideoMAESelfAttention


class FlaxVideoMAELayer(ViTLayer):
    attention_class = FlaxVideoMAEAttention


class FlaxVideoMAELayerCollection(ViTLayerCollection):
    layer_class = FlaxVideoMAELayer


class FlaxVideoMAEEncoder(ViTEncoder):
    collection_class = FlaxVideoMAELayerCollection


def check_video(pixel_values, config: VideoMAEConfig) -> None:
    if pixel_values is None or pixel_values.ndim != 5:
        shape = None if pixel_values is None else tuple(pixel_values.shape)
        raise ValueError(f"pixel_values must be a video batch [batch, frames, channels, height, width]; got {shape}.")
    _, frames, channels, height, width = pixel_values.shape
    if channels != config.num_channels:
        raise ValueError(
            "Make sure that the channel dimension of the pixel values match with the one set in the configuration."
        )
    size = config.image_size if isinstance(config.image_size, (list, tuple)) else (config.image_size,) * 2
    if (height, width) != tuple(size):
        raise ValueError(f"Input image size ({height}*{width}) doesn't match model ({size[0]}*{size[1]}).")
    if frames // config.tubelet_size != config.tubelet_grid[0]:
        raise ValueError(
            f"The video has {frames} frames; the model's positions cover num_frames={config.num_frames} (in tubelets "
            f"of {config.tubelet_size})."
        )


def split_by_mask(tokens, bool_masked_pos):
    """(visible, masked) tokens, each [batch, n, channels] in position order (every row hides as many). The mask
    must be concrete (not traced): it decides the shapes."""
    try:
        mask = np.asarray(bool_masked_pos).astype(bool)
    except jax.errors.TracerArrayConversionError as error:
        raise ValueError("bool_masked_pos must be a concrete array (it decides the output's shapes), not traced.") from error
    hidden = int(mask.sum(1)[0])
    if (mask.sum(1) != hidden).any():
        raise ValueError("Every video of the batch must mask the same number of tubelets (bool_masked_pos).")
    order = np.argsort(mask, axis=1, kind="stable")  # visible positions first, each part in position order
    visible = jnp.take_along_axis(tokens, jnp.asarray(order[:, : mask.shape[1] - hidden, None]), axis=1)
    masked = jnp.take_along_axis(tokens, jnp.asarray(order[:, mask.shape[1] - hidden :, None]), axis=1)
    return visible, masked


class FlaxVideoMAEPatchEmbeddings(nn.Module):
    """Non-overlapping tubelets projected by a 3-D convolution (`projection`, kernel [t, p, p, in, out])."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values):
        c = self.config
        kernel = (int(c.tubelet_size), c.patch_size, c.patch_size)
        x = nn.Conv(c.hidden_size, kernel, strides=kernel, padding="VALID", kernel_init=normal(c), dtype=self.dtype,
                    name="projection")(jnp.transpose(pixel_values, (0, 1, 3, 4, 2)))  # fmt: skip
        return x.reshape(x.shape[0], -1, x.shape[-1])


class FlaxVideoMAEEmbeddings(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None):
        c = self.config
        check_video(pixel_values, c)
        x = FlaxVideoMAEPatchEmbeddings(c, self.dtype, name="patch_embeddings")(pixel_values)
        x = x + jnp.asarray(sinusoid_table(c.num_patches, c.hidden_size), x.dtype)
        return x if bool_masked_pos is None else split_by_mask(x, bool_masked_pos)[0]


class FlaxVideoMAEModule(nn.Module):
    config: VideoMAEConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, head_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        hidden = FlaxVideoMAEEmbeddings(c, self.dtype, name="embeddings")(pixel_values, bool_masked_pos)
        hidden, states, attentions = FlaxVideoMAEEncoder(c, None, self.dtype, name="encoder")(
            hidden, head_mask, output_attentions, output_hidden_states, deterministic=deterministic)
        if not c.use_mean_pooling:
            hidden = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="layernorm")(hidden)
        result = out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states, attentions=attentions)
        return out.finish(result, return_dict)


class FlaxVideoMAEPreTrainedModel(FlaxPreTrainedModel):
    config_class = VideoMAEConfig
    base_model_prefix = "videomae"
    main_input_name = "pixel_values"
    base_module = FlaxVideoMAEModule

    def __init__(self, config, *args, **kwargs):
        config.videomae_options()
        super().__init__(config, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        c = self.config
        size = c.image_size if isinstance(c.image_size, (list, tuple)) else (c.image_size,) * 2
        return {"pixel_values": jnp.zeros((1, c.num_frames, c.num_channels, *size), jnp.float32)}

    def __call__(self, pixel_values=None, **kwargs):
        if pixel_values is None:
            raise ValueError(f"{type(self).__name__} needs pixel_values.")
        return super().__call__(jnp.asarray(pixel_values), **kwargs)


class FlaxVideoMAEModel(FlaxVideoMAEPreTrainedModel):
    module_class = FlaxVideoMAEModule


class FlaxVideoMAEForVideoClassificationModule(ImageClassificationModule):
    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        if not self.config.use_mean_pooling:
            return hidden[:, 0]
        return LayerNorm(epsilon=1e-5, dtype=self.dtype, name="fc_norm")(hidden.mean(1))


class FlaxVideoMAEForVideoClassification(FlaxImageClassificationModel, FlaxVideoMAEPreTrainedModel):
    module_class = FlaxVideoMAEForVideoClassificationModule


class FlaxVideoMAEDecoder(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, return_token_num: int, deterministic=True):
        c = self.config
        decoder = c.decoder_config()
        for i in range(decoder.num_hidden_layers):
            hidden, _ = FlaxVideoMAELayer(decoder, i, None, self.dtype, name=f"decoder_layers.{i}")(hidden,
                                                                                                  deterministic)  # fmt: skip
        if return_token_num > 0:
            hidden = hidden[:, -return_token_num:]
        hidden = LayerNorm(epsilon=1e-5, dtype=self.dtype, name="norm")(hidden)
        outputs = c.videomae_options()["decoder_outputs"]
        return dense(c, outputs, "head", dtype=self.dtype)(hidden) if outputs > 0 else hidden


def tubelet_pixels(pixel_values, config: VideoMAEConfig):
    """The reconstruction target per tubelet (see the PyTorch function)."""
    frames = jnp.asarray(pixel_values, jnp.float32)
    if config.num_channels == 3:
        mean = jnp.asarray(IMAGENET_MEAN, frames.dtype)[None, None, :, None, None]
        std = jnp.asarray(IMAGENET_STD, frames.dtype)[None, None, :, None, None]
        frames = frames * std + mean
    elif not config.norm_pix_loss:
        raise ValueError("Can't unnormalize non-RGB images. Consider setting config.norm_pix_loss to False.")
    batch, time, channels, height, width = frames.shape
    t, p = int(config.tubelet_size), config.patch_size
    frames = frames.reshape(batch, time // t, t, channels, height // p, p, width // p, p)
    frames = frames.transpose(0, 1, 4, 6, 2, 5, 7, 3).reshape(batch, -1, t * p * p, channels)
    if config.norm_pix_loss:
        mean = frames.mean(-2, keepdims=True)
        frames = (frames - mean) / (jnp.sqrt(frames.var(-2, ddof=1, keepdims=True)) + 1e-6)
    return frames.reshape(batch, frames.shape[1], -1)


class FlaxVideoMAEForPreTrainingModule(HeadModule):
    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, head_mask=None, deterministic=True, return_dict=True,
                 **kwargs):  # fmt: skip
        c = self.config
        if bool_masked_pos is None:
            raise ValueError("One must provided a boolean mask ")
        encoded = self.encode(pixel_values, bool_masked_pos=bool_masked_pos, head_mask=head_mask,
                              deterministic=deterministic, **kwargs)  # fmt: skip
        visible = dense(c, c.decoder_hidden_size, "encoder_to_decoder", False, self.dtype)(encoded.last_hidden_state)
        table = jnp.asarray(sinusoid_table(c.num_patches, c.decoder_hidden_size), visible.dtype)
        positions = jnp.broadcast_to(table, (visible.shape[0], *table.shape[1:]))
        visible_positions, masked_positions = split_by_mask(positions, bool_masked_pos)
        mask_token = self.param("mask_token", nn.initializers.zeros, (1, 1, c.decoder_hidden_size))
        tokens = jnp.concatenate([visible + visible_positions, mask_token + masked_positions], axis=1)
        logits = FlaxVideoMAEDecoder(c, self.dtype, name="decoder")(tokens, masked_positions.shape[1], deterministic)
        target = jax.lax.stop_gradient(tubelet_pixels(pixel_values, c))
        labels = split_by_mask(target, bool_masked_pos)[1]
        loss = jnp.mean((logits - labels) ** 2)
        result = out.from_encoded(out.VideoMAEForPreTrainingOutput, encoded, loss=loss, logits=logits)
        return out.finish(result, return_dict)


class FlaxVideoMAEForPreTraining(FlaxTaskModel, FlaxVideoMAEPreTrainedModel):
    module_class = FlaxVideoMAEForPreTrainingModule

    def dummy_inputs(self) -> dict:
        mask = np.zeros((1, self.config.num_patches), bool)
        mask[:, -1] = True
        return {**super().dummy_inputs(), "bool_masked_pos": mask}
