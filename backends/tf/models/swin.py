"""Swin Transformer in TensorFlow (Keras 3), named like transformers' TF Swin: windowed attention with a
relative position bias, shifted windows, patch merging, and padding for sizes that are not window or patch
multiples. Channels-first images in, channels-first reshaped hidden states / feature maps out."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.swin import SwinConfig
from autoload.vision import window_relative_position_index

from .. import keras_layers
from ..activations import get_activation
from ..blocks.vision import (
    DropPath,
    PixelDecoder,
    TFVisionPreTrainedModel,
    channels_last,
    check_pixel_values,
    conv,
    masked_image_loss,
    to_nhwc,
    tokens_to_map,
)
from ..heads import TFImageClassificationModel
from ..modeling import Dropout, Layer, dense


def window_partition(x, size: int):
    """[batch, H, W, C] (static H, W, C) -> [batch * windows, size, size, C]."""
    _, height, width, channels = x.shape
    x = tf.reshape(x, (-1, height // size, size, width // size, size, channels))
    return tf.reshape(tf.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, size, size, channels))


def window_reverse(windows, size: int, height: int, width: int):
    channels = windows.shape[-1]
    x = tf.reshape(windows, (-1, height // size, width // size, size, size, channels))
    return tf.reshape(tf.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, height, width, channels))


def shifted_window_mask(height: int, width: int, size: int, shift: int) -> np.ndarray:
    """[windows, size*size, size*size] additive mask keeping attention inside the regions a shift joined."""
    regions = np.zeros((height, width), np.float32)
    bounds = (slice(0, -size), slice(-size, -shift), slice(-shift, None))
    label = 0
    for rows in bounds:
        for cols in bounds:
            regions[rows, cols] = label
            label += 1
    labels = regions.reshape(height // size, size, width // size, size).transpose(0, 2, 1, 3).reshape(-1, size * size)
    return np.where(labels[:, None, :] != labels[:, :, None], np.float32(-100.0), np.float32(0.0))


class TFSwinPatchEmbeddings(Layer):
    def __init__(self, config: SwinConfig, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = config.patch_size
        self.num_channels = config.num_channels
        self.projection = conv(config, config.embed_dim, config.patch_size, "projection", strides=config.patch_size)

    def input_sizes(self):
        return {self.projection: channels_last(self.num_channels)}

    def call(self, pixel_values):
        check_pixel_values(pixel_values, self.num_channels)
        height, width = pixel_values.shape[-2:]
        pad_w, pad_h = (-width) % self.patch_size, (-height) % self.patch_size
        x = to_nhwc(pixel_values)
        if pad_w or pad_h:
            x = tf.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
        embeds = self.projection(x)
        grid = tuple(embeds.shape[1:3])
        return tf.reshape(embeds, (-1, grid[0] * grid[1], embeds.shape[-1])), grid


class TFSwinEmbeddings(Layer):
    def __init__(self, config: SwinConfig, use_mask_token: bool = False, **kwargs):
        super().__init__(**kwargs)
        config.check_supported()
        self.embed_dim, self.use_mask_token = config.embed_dim, use_mask_token
        self.patch_embeddings = TFSwinPatchEmbeddings(config, name="patch_embeddings")
        self.norm = keras_layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.mask_token = None

    def build(self, input_shape=None):
        if self.use_mask_token:
            self.mask_token = self.add_weight(name="mask_token", shape=(1, 1, self.embed_dim), initializer="zeros")
        super().build(input_shape)

    def input_sizes(self):
        return {self.patch_embeddings: None, self.norm: self.embed_dim}

    def call(self, pixel_values, bool_masked_pos=None, training=False):
        embeds, grid = self.patch_embeddings(tf.cast(pixel_values, self.compute_dtype))
        embeds = self.norm(embeds)
        if bool_masked_pos is not None and self.mask_token is not None:
            mask = tf.cast(bool_masked_pos, embeds.dtype)[..., None]
            embeds = embeds * (1.0 - mask) + self.mask_token * mask
        return self.dropout(embeds, training=training), grid


class TFSwinPatchMerging(Layer):
    """Halve the resolution: concatenate each 2x2 neighbourhood, normalise, project 4C -> 2C."""

    def __init__(self, config, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.reduction = dense(config, 2 * dim, "reduction", use_bias=False)
        self.norm = keras_layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.dim = dim

    def input_sizes(self):
        return {self.reduction: 4 * self.dim, self.norm: 4 * self.dim}  # a 2x2 neighbourhood's channels

    def call(self, hidden, grid=None):
        height, width = grid
        channels = hidden.shape[-1]
        hidden = tf.reshape(hidden, (-1, height, width, channels))
        if height % 2 or width % 2:
            hidden = tf.pad(hidden, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)))
        quads = [hidden[:, 0::2, 0::2], hidden[:, 1::2, 0::2], hidden[:, 0::2, 1::2], hidden[:, 1::2, 1::2]]
        hidden = tf.concat(quads, -1)
        hidden = tf.reshape(hidden, (-1, hidden.shape[1] * hidden.shape[2], 4 * channels))
        return self.reduction(self.norm(hidden))


class TFSwinSelfAttention(Layer):
    def __init__(self, config: SwinConfig, dim: int, num_heads: int, **kwargs):
        super().__init__(**kwargs)
        self.window_size = config.window_size
        self.num_heads, self.head_dim, self.dim = num_heads, dim // num_heads, dim
        self.query = dense(config, dim, "query", use_bias=config.qkv_bias)
        self.key = dense(config, dim, "key", use_bias=config.qkv_bias)
        self.value = dense(config, dim, "value", use_bias=config.qkv_bias)
        self.dropout = Dropout(config.attention_probs_dropout_prob)
        # A PyTorch buffer derived from the window size; computed here rather than read from checkpoints.
        self.position_index = window_relative_position_index(config.window_size, config.window_size)

    def build(self, input_shape=None):
        rows = (2 * self.window_size - 1) ** 2
        self.relative_position_bias_table = self.add_weight(name="relative_position_bias_table",
                                                            shape=(rows, self.num_heads), initializer="zeros")  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        return dict.fromkeys((self.query, self.key, self.value), self.dim)

    def _heads(self, x):
        return tf.transpose(tf.reshape(x, (-1, x.shape[1], self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def call(self, hidden, window_mask=None, training=False):
        length = hidden.shape[1]
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(hidden)), self._heads(self.value(hidden))
        scores = tf.matmul(q, k, transpose_b=True) / np.float32(np.sqrt(self.head_dim))
        if self.position_index.shape[0] != length:
            raise ValueError(
                f"Swin windows of {length} positions need window_size**2 = {self.position_index.shape[0]}; "
                "the feature map is smaller than one window."
            )
        bias = tf.gather(self.relative_position_bias_table, self.position_index.reshape(-1))
        scores = scores + tf.transpose(tf.reshape(bias, (length, length, -1)), (2, 0, 1))[None]
        if window_mask is not None:  # Keras reserves the keyword `mask` for its own masking
            count = window_mask.shape[0]
            scores = tf.reshape(scores, (-1, count, self.num_heads, length, length)) + window_mask[None, :, None]
            scores = tf.reshape(scores, (-1, self.num_heads, length, length))
        probs = tf.nn.softmax(scores, axis=-1)
        context = tf.matmul(self.dropout(probs, training=training), v)
        return tf.reshape(tf.transpose(context, (0, 2, 1, 3)), (-1, length, hidden.shape[-1])), probs


class TFSwinSelfOutput(Layer):
    def __init__(self, config: SwinConfig, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, dim, "dense")
        self.dropout = Dropout(config.attention_probs_dropout_prob)

    def input_sizes(self):
        return {self.dense: self.dense.units}  # the merged heads: dim

    def call(self, hidden, training=False):
        return self.dropout(self.dense(hidden), training=training)


class TFSwinAttention(Layer):
    def __init__(self, config: SwinConfig, dim: int, num_heads: int, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = TFSwinSelfAttention(config, dim, num_heads, name="self")
        self.self_output = TFSwinSelfOutput(config, dim, name="output")

    def input_sizes(self):
        return {self.self_attention: None, self.self_output: None}

    def call(self, hidden, window_mask=None, training=False):
        context, probs = self.self_attention(hidden, window_mask=window_mask, training=training)
        return self.self_output(context, training=training), probs


class TFSwinIntermediate(Layer):
    def __init__(self, config: SwinConfig, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, int(config.mlp_ratio * dim), "dense")
        self.act = get_activation(config.hidden_act)
        self.dim = dim

    def input_sizes(self):
        return {self.dense: self.dim}

    def call(self, hidden):
        return self.act(self.dense(hidden))


class TFSwinOutput(Layer):
    def __init__(self, config: SwinConfig, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, dim, "dense")
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.input_width = int(config.mlp_ratio * dim)  # the intermediate's width

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden, training=False):
        return self.dropout(self.dense(hidden), training=training)


class TFSwinLayer(Layer):
    def __init__(self, config: SwinConfig, dim: int, num_heads: int, drop_path: float, shift_size: int, **kwargs):
        super().__init__(**kwargs)
        self.window_size, self.shift_size = config.window_size, shift_size
        eps = config.layer_norm_eps
        self.layernorm_before = keras_layers.LayerNormalization(epsilon=eps, name="layernorm_before")
        self.attention = TFSwinAttention(config, dim, num_heads, name="attention")
        self.drop_path = DropPath(drop_path)
        self.layernorm_after = keras_layers.LayerNormalization(epsilon=eps, name="layernorm_after")
        self.intermediate = TFSwinIntermediate(config, dim, name="intermediate")
        self.swin_output = TFSwinOutput(config, dim, name="output")
        self.dim = dim

    def input_sizes(self):
        return {self.layernorm_before: self.dim, self.attention: None, self.layernorm_after: self.dim,
                self.intermediate: None, self.swin_output: None}  # fmt: skip

    def call(self, hidden, grid=None, always_partition=False, training=False):
        height, width = grid
        size, shift = self.window_size, self.shift_size
        if not always_partition and min(grid) <= size:  # the whole map fits in one window: no shift
            size, shift = min(grid), 0
            if size < self.window_size:
                raise ValueError(
                    f"Swin: a {height}x{width} map is smaller than window_size ({self.window_size}), so the relative "
                    "position table does not fit (transformers 4.57.6 fails here too); use larger images or a smaller "
                    "window_size."
                )
        channels = hidden.shape[-1]
        shortcut = hidden
        hidden = tf.reshape(self.layernorm_before(hidden), (-1, height, width, channels))
        pad_w, pad_h = (-width) % size, (-height) % size
        if pad_w or pad_h:
            hidden = tf.pad(hidden, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
        padded_h, padded_w = height + pad_h, width + pad_w
        mask = None
        if shift:
            hidden = tf.roll(hidden, (-shift, -shift), axis=(1, 2))
            mask = tf.constant(shifted_window_mask(padded_h, padded_w, size, shift), hidden.dtype)
        windows = tf.reshape(window_partition(hidden, size), (-1, size * size, channels))
        attended, probs = self.attention(windows, window_mask=mask, training=training)
        hidden = window_reverse(tf.reshape(attended, (-1, size, size, channels)), size, padded_h, padded_w)
        if shift:
            hidden = tf.roll(hidden, (shift, shift), axis=(1, 2))
        hidden = tf.reshape(hidden[:, :height, :width], (-1, height * width, channels))
        hidden = shortcut + self.drop_path(hidden, training=training)
        ffn = self.swin_output(self.intermediate(self.layernorm_after(hidden)), training=training)
        return hidden + ffn, probs


class TFSwinStage(Layer):
    def __init__(self, config: SwinConfig, dim: int, depth: int, num_heads: int, drop_path: list[float],
                 downsample: bool, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        shifts = [0 if i % 2 == 0 else config.window_size // 2 for i in range(depth)]
        self.blocks = [TFSwinLayer(config, dim, num_heads, drop_path[i], shifts[i], name=f"blocks.{i}")
                       for i in range(depth)]  # fmt: skip
        self.downsample = TFSwinPatchMerging(config, dim, name="downsample") if downsample else None

    def input_sizes(self):
        return {**dict.fromkeys(self.blocks), self.downsample: None}

    def call(self, hidden, grid=None, always_partition=False, training=False):
        """(output, output before patch merging, next grid, the last block's attention probabilities)."""
        for block in self.blocks:
            hidden, probs = block(hidden, grid=grid, always_partition=always_partition, training=training)
        before = hidden
        if self.downsample is None:
            return hidden, before, grid, probs
        return self.downsample(before, grid=grid), before, ((grid[0] + 1) // 2, (grid[1] + 1) // 2), probs


class TFSwinEncoder(Layer):
    def __init__(self, config: SwinConfig, **kwargs):
        super().__init__(**kwargs)
        rates = np.linspace(0, config.drop_path_rate, sum(config.depths)).tolist()
        self.stages, start = [], 0
        for i, depth in enumerate(config.depths):
            self.stages.append(TFSwinStage(config, int(config.embed_dim * 2**i), depth, config.num_heads[i],
                                           rates[start : start + depth], downsample=i < len(config.depths) - 1,
                                           name=f"layers.{i}"))  # fmt: skip
            start += depth

    def input_sizes(self):
        return dict.fromkeys(self.stages)

    def call(self, hidden, grid=None, before_downsampling=False, always_partition=False, training=False):
        """(last hidden, hidden states, reshaped [batch, C, H, W] hidden states, attentions: per stage, its last
        block's)."""
        states, maps, attentions = (hidden,), (tokens_to_map(hidden, *grid),), ()
        for stage in self.stages:
            hidden, before, next_grid, probs = stage(hidden, grid=grid, always_partition=always_partition,
                                                     training=training)  # fmt: skip
            if before_downsampling:
                states, maps = states + (before,), maps + (tokens_to_map(before, *grid),)
            else:
                states, maps = states + (hidden,), maps + (tokens_to_map(hidden, *next_grid),)
            attentions += (probs,)
            grid = next_grid
        return hidden, states, maps, attentions


class TFSwinMainLayer(Layer):
    def __init__(self, config: SwinConfig, add_pooling_layer: bool = True, use_mask_token: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.add_pooling_layer = add_pooling_layer
        self.embeddings = TFSwinEmbeddings(config, use_mask_token, name="embeddings")
        self.encoder = TFSwinEncoder(config, name="encoder")
        self.layernorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm")
        self.output_width = int(config.embed_dim * 2 ** (len(config.depths) - 1))  # the last stage's width

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.layernorm: self.output_width}

    def call(self, pixel_values, bool_masked_pos=None, output_attentions=False, output_hidden_states=False,
             training=False):  # fmt: skip
        if pixel_values is None:
            raise ValueError("Swin needs pixel_values.")
        embeds, grid = self.embeddings(pixel_values, bool_masked_pos=bool_masked_pos, training=training)
        hidden, states, maps, attentions = self.encoder(embeds, grid=grid, training=training)
        hidden = self.layernorm(hidden)
        pooled = tf.reduce_mean(hidden, axis=1) if self.add_pooling_layer else None
        return out.SwinModelOutput(
            last_hidden_state=hidden, pooler_output=pooled, hidden_states=states if output_hidden_states else None,
            attentions=attentions if output_attentions else None,
            reshaped_hidden_states=maps if output_hidden_states else None,
        )  # fmt: skip


class TFSwinPreTrainedModel(TFVisionPreTrainedModel):
    config_class = SwinConfig
    base_model_prefix = "swin"
    main_layer_class = TFSwinMainLayer


class TFSwinModel(TFSwinPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, add_pooling_layer: bool = True, use_mask_token: bool = False, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.swin = TFSwinMainLayer(config, add_pooling_layer, use_mask_token, name="swin")

    def input_sizes(self):
        return {self.swin: None}

    def call(self, pixel_values=None, bool_masked_pos=None, training=False, return_dict=True,
             output_attentions=False, output_hidden_states=False, **kwargs):  # fmt: skip
        result = self.swin(pixel_values, bool_masked_pos=bool_masked_pos, output_attentions=output_attentions,
                           output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        return out.finish(result, return_dict)


class TFSwinForImageClassification(TFImageClassificationModel, TFSwinPreTrainedModel):
    output_class = out.SwinImageClassifierOutput


class TFSwinForMaskedImageModeling(TFSwinPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.swin = TFSwinMainLayer(config, add_pooling_layer=False, use_mask_token=True, name="swin")
        stride = config.encoder_stride
        self.decoder = PixelDecoder(config, stride, config.num_channels, self.swin.output_width, name="decoder")

    def input_sizes(self):
        return {self.swin: None, self.decoder: None}

    def call(self, pixel_values=None, bool_masked_pos=None, training=False, return_dict=True,
             output_attentions=False, output_hidden_states=False, **kwargs):  # fmt: skip
        encoded = self.swin(pixel_values, bool_masked_pos=bool_masked_pos, output_attentions=output_attentions,
                            output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        hidden = encoded.last_hidden_state
        side = int(hidden.shape[1] ** 0.5)
        reconstruction = self.decoder(tokens_to_map(hidden, side, side))
        loss = None
        if bool_masked_pos is not None:
            loss = masked_image_loss(pixel_values, reconstruction, bool_masked_pos, self.config)
        result = out.from_encoded(out.SwinMaskedImageModelingOutput, encoded, loss=loss, reconstruction=reconstruction)
        return out.finish(result, return_dict)


class TFSwinBackbone(TFSwinPreTrainedModel):
    """Feature maps (channels-first, layer-normalised) of the stages named by out_features, taken before
    each stage's patch merging."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.num_features = [config.embed_dim] + [int(config.embed_dim * 2**i) for i in range(len(config.depths))]
        self.embeddings = TFSwinEmbeddings(config, name="embeddings")
        self.encoder = TFSwinEncoder(config, name="encoder")
        self.hidden_states_norms = {
            stage: keras_layers.LayerNormalization(epsilon=1e-5, name=f"hidden_states_norms.{stage}")
            for stage in config.out_features
        }

    def input_sizes(self):
        norms = {self.hidden_states_norms[s]: self.num_features[i]
                 for s, i in zip(self.config.out_features, self.config.out_indices)}  # fmt: skip
        return {self.embeddings: None, self.encoder: None, **norms}

    @property
    def channels(self) -> list[int]:
        return [self.num_features[i] for i in self.config.out_indices]

    def call(self, pixel_values=None, training=False, return_dict=True, output_attentions=False,
             output_hidden_states=False, **kwargs):  # fmt: skip
        embeds, grid = self.embeddings(pixel_values, training=training)
        _, states, maps, attentions = self.encoder(embeds, grid=grid, before_downsampling=True, always_partition=True,
                                                   training=training)  # fmt: skip
        features = []
        for stage, i in zip(self.config.out_features, self.config.out_indices):
            normed = self.hidden_states_norms[stage](tf.transpose(maps[i], (0, 2, 3, 1)))
            features.append(tf.transpose(normed, (0, 3, 1, 2)))
        result = out.BackboneOutput(feature_maps=tuple(features), hidden_states=states if output_hidden_states else None,
                                    attentions=attentions if output_attentions else None)  # fmt: skip
        return out.finish(result, return_dict)
