"""SuperPoint in Flax (transformers never had one; parameter names follow the PyTorch module names; see
autoload/backends/torch/models/superpoint.py). The module computes the per-pixel keypoint scores and the descriptor
maps; picking the keypoints (NMS, threshold, border, top-k) and sampling their descriptors depend on the values and
run eagerly in numpy (autoload/superpoint.py) in the model's __call__, so it is not jitted as a whole."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.superpoint import CELL, SuperPointConfig
from autoload.superpoint import keypoint_outputs

from ..blocks.dense_prediction import conv
from ..blocks.vision import FlaxVisionPreTrainedModel, nchw, nhwc


class FlaxSuperPointConvBlock(nn.Module):
    config: Any
    features: int
    add_pooling: bool
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        c, f = self.config, self.features
        x = nn.relu(conv(c, f, 3, "conv_a", padding=1, dtype=self.dtype)(x))
        x = nn.relu(conv(c, f, 3, "conv_b", padding=1, dtype=self.dtype)(x))
        return nn.max_pool(x, (2, 2), strides=(2, 2)) if self.add_pooling else x


class FlaxSuperPointEncoder(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        sizes, states = self.config.encoder_hidden_sizes, ()
        for i, size in enumerate(sizes):
            x = FlaxSuperPointConvBlock(self.config, size, i < len(sizes) - 1, self.dtype, name=f"conv_blocks.{i}")(x)
            states += (nchw(x),)
        return x, states


class FlaxSuperPointModule(nn.Module):
    """(per-pixel scores [batch, H, W], normalised descriptor maps [batch, h, w, channels], channels-first states)."""

    config: SuperPointConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, **kwargs):
        c = self.config
        # the processor repeats the grey image thrice
        x, states = FlaxSuperPointEncoder(c, self.dtype, name="encoder")(nhwc(pixel_values[:, :1]))
        scores = KeypointScores(c, self.dtype, name="keypoint_decoder")(x)
        maps = DescriptorMaps(c, self.dtype, name="descriptor_decoder")(x)
        return scores, maps, states


class KeypointScores(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, encoded):
        c = self.config
        hidden = nn.relu(conv(c, c.decoder_hidden_size, 3, "conv_score_a", padding=1, dtype=self.dtype)(encoded))
        scores = jax.nn.softmax(conv(c, c.keypoint_decoder_dim, 1, "conv_score_b", dtype=self.dtype)(hidden), axis=-1)
        batch, height, width = scores.shape[:3]
        scores = scores[..., :-1].reshape(batch, height, width, CELL, CELL).transpose(0, 1, 3, 2, 4)
        return scores.reshape(batch, height * CELL, width * CELL)


class DescriptorMaps(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, encoded):
        c = self.config
        hidden = nn.relu(conv(c, c.decoder_hidden_size, 3, "conv_descriptor_a", padding=1, dtype=self.dtype)(encoded))
        maps = conv(c, c.descriptor_decoder_dim, 1, "conv_descriptor_b", dtype=self.dtype)(hidden)
        return maps / jnp.maximum(jnp.linalg.norm(maps, axis=-1, keepdims=True), 1e-12)


class FlaxSuperPointPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = SuperPointConfig
    base_model_prefix = "superpoint"
    base_module = FlaxSuperPointModule

    def __init__(self, config, *args, **kwargs):
        config.check_sizes()
        super().__init__(config, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        return {"pixel_values": jnp.zeros((1, 1, 2 * CELL, 2 * CELL), jnp.float32)}


class FlaxSuperPointForKeypointDetection(FlaxSuperPointPreTrainedModel):
    module_class = FlaxSuperPointModule

    def __call__(self, pixel_values=None, labels=None, output_hidden_states=None, return_dict=None, **kwargs):
        if labels is not None:
            raise ValueError("SuperPoint does not support training for now.")
        if pixel_values is None or np.ndim(pixel_values) != 4:
            raise ValueError("pixel_values must have shape [batch, channels, height, width] (channel 0 is read).")
        scores, maps, states = super().__call__(pixel_values, **kwargs)
        height, width = np.shape(pixel_values)[-2:]
        keypoints, scores, descriptors, mask = keypoint_outputs(np.asarray(scores), np.asarray(maps), self.config,
                                                                height, width)  # fmt: skip
        keep = self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        result = out.SuperPointKeypointDescriptionOutput(
            keypoints=jnp.asarray(keypoints), scores=jnp.asarray(scores), descriptors=jnp.asarray(descriptors),
            mask=jnp.asarray(mask), hidden_states=states if keep else None,
        )  # fmt: skip
        return out.finish(result, self.config.return_dict if return_dict is None else return_dict)
