"""Swin2SR in TensorFlow (Keras 3; transformers never had a TF Swin2SR, so the layer names mirror the PyTorch
checkpoint names; see autoload/backends/torch/models/swin2sr.py for what each class does). Channels-first images
in and out; the convolutions run NHWC inside, and a NHWC map read row by row is PyTorch's token order."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.swin2sr import Swin2SRConfig, continuous_position_coords
from autoload.vision import bicubic_matrix, window_relative_position_index

from .. import keras_layers
from ..activations import get_activation
from ..blocks.vision import (
    TFVisionPreTrainedModel,
    channels_last,
    check_pixel_values,
    conv,
    pixel_shuffle_nhwc,
    to_nchw,
    to_nhwc,
)
from ..modeling import Dropout, Layer, dense
from .swin import shifted_window_mask, window_partition, window_reverse

_MAX_LOGIT_SCALE = math.log(1.0 / 0.01)


def conv3x3(config, features: int, name: str):
    return conv(config, features, 3, name, padding="same")


def check_window_multiple(height: int, width: int, config: Swin2SRConfig) -> None:
    size = config.window_size
    if height % size or width % size:
        raise ValueError(
            f"Swin2SR needs an image whose height and width are multiples of window_size ({size}); got {height}x{width} "
            "(transformers 4.57.6 fails on others too). Swin2SRImageProcessor pads images (do_pad, size_divisor)."
        )


def stage_head_masks(head_mask, config: Swin2SRConfig):
    """One [1, heads, 1, 1] mask per stage, read by the stage's first layer (see the PyTorch function)."""
    stages = len(config.depths)
    if head_mask is None:
        return [None] * stages
    if any(depth > 1 for depth in config.depths):
        raise ValueError(
            "Swin2SR applies a head_mask only in stages of one layer (transformers 4.57.6 indexes each stage's mask "
            f"by layer and fails on the second); this config has depths {config.depths}."
        )
    head_mask = tf.convert_to_tensor(head_mask, tf.float32)
    if head_mask.shape.rank == 1:
        head_mask = tf.tile(head_mask[None], (stages, 1))
    return [head_mask[i][None, :, None, None] for i in range(stages)]


def l2_normalize(x):
    """PyTorch's F.normalize: x / max(||x||, 1e-12) over the last axis."""
    return x / tf.maximum(tf.norm(x, axis=-1, keepdims=True), 1e-12)


def as_tokens(x):
    return tf.reshape(x, (-1, x.shape[1] * x.shape[2], x.shape[3]))


class TFSwin2SRPatchEmbeddings(Layer):
    def __init__(self, config: Swin2SRConfig, normalize_patches: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.projection = conv(config, config.embed_dim, config.patch_size, "projection", strides=config.patch_size)
        self.layernorm = keras_layers.LayerNormalization(epsilon=1e-5, name="layernorm") if normalize_patches else None
        self.width = config.embed_dim  # in (the shallow features, or a stage's conv output) and out

    def input_sizes(self):
        return {self.projection: channels_last(self.width), self.layernorm: self.width}

    def call(self, x):
        tokens = as_tokens(self.projection(x))
        return self.layernorm(tokens) if self.layernorm is not None else tokens


class TFSwin2SREmbeddings(Layer):
    def __init__(self, config: Swin2SRConfig, **kwargs):
        super().__init__(**kwargs)
        self.patch_embeddings = TFSwin2SRPatchEmbeddings(config, name="patch_embeddings")
        self.dropout = Dropout(config.hidden_dropout_prob)

    def input_sizes(self):
        return {self.patch_embeddings: None}

    def call(self, x, training=False):
        return self.dropout(self.patch_embeddings(x), training=training)


class TFPositionBiasMLP(Layer):
    """`0` Linear(2, 512), ReLU, `2` Linear(512, heads, no bias)."""

    def __init__(self, config, heads: int, **kwargs):
        super().__init__(**kwargs)
        self.first = dense(config, 512, "0")
        self.second = dense(config, heads, "2", use_bias=False)

    def input_sizes(self):
        return {self.first: 2, self.second: self.first.units}  # (row, column) coordinates in

    def call(self, x):
        return self.second(tf.nn.relu(self.first(x)))


class TFSwin2SRSelfAttention(Layer):
    def __init__(self, config: Swin2SRConfig, heads: int, window: int, **kwargs):
        super().__init__(**kwargs)
        dim = config.embed_dim
        self.heads, self.window = heads, window
        self.continuous_position_bias_mlp = TFPositionBiasMLP(config, heads, name="continuous_position_bias_mlp")
        self.coords = continuous_position_coords(window)
        self.index = window_relative_position_index(window, window).reshape(-1)
        self.query = dense(config, dim, "query", use_bias=config.qkv_bias)
        self.key = dense(config, dim, "key", use_bias=False)
        self.value = dense(config, dim, "value", use_bias=config.qkv_bias)
        self.dropout = Dropout(config.attention_probs_dropout_prob)
        self.dim = dim

    def build(self, input_shape=None):
        init = keras.initializers.Constant(math.log(10.0))
        self.logit_scale = self.add_weight(name="logit_scale", shape=(self.heads, 1, 1), initializer=init)
        super().build(input_shape)

    def input_sizes(self):
        return {self.continuous_position_bias_mlp: None, **dict.fromkeys((self.query, self.key, self.value), self.dim)}

    def _heads(self, x):
        return tf.transpose(tf.reshape(x, (-1, x.shape[1], self.heads, x.shape[-1] // self.heads)), (0, 2, 1, 3))

    def call(self, hidden, window_mask=None, head_mask=None, training=False):
        length = hidden.shape[1]
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(hidden)), self._heads(self.value(hidden))
        scores = tf.matmul(l2_normalize(q), l2_normalize(k), transpose_b=True)
        scores = scores * tf.exp(tf.minimum(self.logit_scale, _MAX_LOGIT_SCALE))
        table = self.continuous_position_bias_mlp(tf.constant(self.coords))
        bias = tf.transpose(tf.reshape(tf.gather(table, self.index), (length, length, -1)), (2, 0, 1))
        scores = scores + 16 * tf.sigmoid(bias)[None]
        if window_mask is not None:  # transformers adds the shifted-window mask twice
            count = window_mask.shape[0]
            scores = tf.reshape(scores, (-1, count, self.heads, length, length)) + 2 * window_mask[None, :, None]
            scores = tf.reshape(scores, (-1, self.heads, length, length))
        probs = self.dropout(tf.nn.softmax(scores, axis=-1), training=training)
        if head_mask is not None:
            probs = probs * head_mask
        context = tf.transpose(tf.matmul(probs, v), (0, 2, 1, 3))
        return tf.reshape(context, (-1, length, context.shape[2] * context.shape[3])), probs


class TFSwin2SRDenseDropout(Layer):
    def __init__(self, config, width: int, rate: float, input_width: int, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, width, "dense")
        self.dropout = Dropout(rate)
        self.input_width = input_width

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden, training=False):
        return self.dropout(self.dense(hidden), training=training)


class TFSwin2SRAttention(Layer):
    def __init__(self, config: Swin2SRConfig, heads: int, window: int, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = TFSwin2SRSelfAttention(config, heads, window, name="self")
        self.dense_output = TFSwin2SRDenseDropout(config, config.embed_dim, config.attention_probs_dropout_prob,
                                                  config.embed_dim, name="output")  # fmt: skip

    def input_sizes(self):
        return {self.self_attention: None, self.dense_output: None}

    def call(self, hidden, window_mask=None, head_mask=None, training=False):
        context, probs = self.self_attention(hidden, window_mask=window_mask, head_mask=head_mask, training=training)
        return self.dense_output(context, training=training), probs


class TFSwin2SRIntermediate(Layer):
    def __init__(self, config: Swin2SRConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, int(config.mlp_ratio * config.embed_dim), "dense")
        self.act = get_activation(config.hidden_act)
        self.input_width = config.embed_dim

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden):
        return self.act(self.dense(hidden))


class TFSwin2SRLayer(Layer):
    def __init__(self, config: Swin2SRConfig, heads: int, shift: int, **kwargs):
        super().__init__(**kwargs)
        self.window, self.shift = config.swin2sr_options().window, shift
        eps = config.layer_norm_eps
        self.attention = TFSwin2SRAttention(config, heads, self.window, name="attention")
        self.layernorm_before = keras_layers.LayerNormalization(epsilon=eps, name="layernorm_before")
        self.intermediate = TFSwin2SRIntermediate(config, name="intermediate")
        self.mlp_output = TFSwin2SRDenseDropout(config, config.embed_dim, config.hidden_dropout_prob,
                                                self.intermediate.dense.units, name="output")  # fmt: skip
        self.layernorm_after = keras_layers.LayerNormalization(epsilon=eps, name="layernorm_after")
        self.width = config.embed_dim

    def input_sizes(self):
        return {self.attention: None, self.layernorm_before: self.width, self.intermediate: None, self.mlp_output: None,
                self.layernorm_after: self.width}  # fmt: skip

    def call(self, hidden, grid, head_mask=None, training=False):
        height, width = grid
        size, shift = self.window, self.shift
        channels = hidden.shape[-1]
        x = tf.reshape(hidden, (-1, height, width, channels))
        x = tf.pad(x, ((0, 0), (0, (-height) % size), (0, (-width) % size), (0, 0)))
        padded_h, padded_w = x.shape[1:3]
        if shift:
            x = tf.roll(x, (-shift, -shift), axis=(1, 2))
        mask = tf.constant(shifted_window_mask(padded_h, padded_w, size, shift)) if shift else None
        windows = tf.reshape(window_partition(x, size), (-1, size * size, channels))
        attended, probs = self.attention(windows, window_mask=mask, head_mask=head_mask, training=training)
        x = window_reverse(tf.reshape(attended, (-1, size, size, channels)), size, padded_h, padded_w)
        if shift:
            x = tf.roll(x, (shift, shift), axis=(1, 2))
        x = tf.reshape(x[:, :height, :width], (-1, height * width, channels))
        hidden = hidden + self.layernorm_before(x)
        mlp = self.mlp_output(self.intermediate(hidden), training=training)
        return hidden + self.layernorm_after(mlp), probs


class TFResidualConvs(Layer):
    """resi_connection "3conv": `0` 3x3 to dim/4, LeakyReLU(0.2), `2` 1x1, LeakyReLU(0.2), `4` 3x3 back to dim."""

    def __init__(self, config: Swin2SRConfig, **kwargs):
        super().__init__(**kwargs)
        dim = config.embed_dim
        self.first = conv3x3(config, dim // 4, "0")
        self.middle = conv(config, dim // 4, 1, "2")
        self.last = conv3x3(config, dim, "4")
        self.dim = dim

    def input_sizes(self):
        return {self.first: channels_last(self.dim), self.middle: channels_last(self.first.filters),
                self.last: channels_last(self.middle.filters)}  # fmt: skip

    def call(self, x):
        x = tf.nn.leaky_relu(self.first(x), 0.2)
        return self.last(tf.nn.leaky_relu(self.middle(x), 0.2))


class TFSwin2SRStage(Layer):
    def __init__(self, config: Swin2SRConfig, depth: int, heads: int, **kwargs):
        super().__init__(**kwargs)
        shift = config.swin2sr_options().shift
        self.stage_layers = [TFSwin2SRLayer(config, heads, 0 if i % 2 == 0 else shift, name=f"layers.{i}")
                             for i in range(depth)]  # fmt: skip
        self.conv = conv3x3(config, config.embed_dim, "conv") if config.resi_connection == "1conv" \
            else TFResidualConvs(config, name="conv")  # fmt: skip
        self.patch_embed = TFSwin2SRPatchEmbeddings(config, normalize_patches=False, name="patch_embed")
        self.width = config.embed_dim

    def input_sizes(self):  # conv: our TFResidualConvs, or a single 3x3 conv on the stage's map
        conv_input = None if isinstance(self.conv, Layer) else channels_last(self.width)
        return {**dict.fromkeys(self.stage_layers), self.conv: conv_input, self.patch_embed: None}

    def call(self, hidden, grid, head_mask=None, training=False):
        residual, probs = hidden, None
        for i, layer in enumerate(self.stage_layers):
            hidden, probs = layer(hidden, grid=grid, head_mask=head_mask if i == 0 else None, training=training)
        x = self.conv(tf.reshape(hidden, (-1, *grid, hidden.shape[-1])))
        return self.patch_embed(x) + residual, probs


class TFSwin2SREncoder(Layer):
    def __init__(self, config: Swin2SRConfig, **kwargs):
        super().__init__(**kwargs)
        self.stages = [TFSwin2SRStage(config, depth, heads, name=f"stages.{i}")
                       for i, (depth, heads) in enumerate(zip(config.depths, config.num_heads))]  # fmt: skip

    def input_sizes(self):
        return dict.fromkeys(self.stages)

    def call(self, hidden, grid, head_masks, training=False):
        states, attentions = (hidden,), ()
        for stage, mask in zip(self.stages, head_masks):
            hidden, probs = stage(hidden, grid=grid, head_mask=mask, training=training)
            states += (hidden,)
            attentions += (probs,)
        return hidden, states, attentions


class TFSwin2SRMainLayer(Layer):
    def __init__(self, config: Swin2SRConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.mean = np.asarray(config.swin2sr_options().mean, np.float32)
        self.first_convolution = conv3x3(config, config.embed_dim, "first_convolution")
        self.embeddings = TFSwin2SREmbeddings(config, name="embeddings")
        self.encoder = TFSwin2SREncoder(config, name="encoder")
        self.layernorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm")
        self.conv_after_body = conv3x3(config, config.embed_dim, "conv_after_body")

    def input_sizes(self):
        c = self.config
        return {self.first_convolution: channels_last(c.num_channels), self.embeddings: None, self.encoder: None,
                self.layernorm: c.embed_dim, self.conv_after_body: channels_last(c.embed_dim)}  # fmt: skip

    def call(self, pixel_values=None, head_mask=None, output_attentions=False, output_hidden_states=False,
             training=False):  # fmt: skip
        check_pixel_values(pixel_values, self.config.num_channels)
        height, width = pixel_values.shape[-2:]
        check_window_multiple(height, width, self.config)
        x = (to_nhwc(pixel_values) - self.mean) * self.config.img_range
        shallow = self.first_convolution(x)
        hidden = self.embeddings(shallow, training=training)
        masks = stage_head_masks(head_mask, self.config)
        hidden, states, attentions = self.encoder(hidden, grid=(height, width), head_masks=masks, training=training)
        hidden = tf.reshape(self.layernorm(hidden), (-1, height, width, hidden.shape[-1]))
        deep = self.conv_after_body(hidden) + shallow
        return out.BaseModelOutput(last_hidden_state=to_nchw(deep), hidden_states=states if output_hidden_states else None,
                                   attentions=attentions if output_attentions else None)  # fmt: skip


class TFSwin2SRPreTrainedModel(TFVisionPreTrainedModel):
    config_class = Swin2SRConfig
    base_model_prefix = "swin2sr"

    def dummy_inputs(self) -> dict:
        size = self.config.window_size
        return {"pixel_values": np.zeros((1, self.config.num_channels, size, size), np.float32)}


class TFSwin2SRModel(TFSwin2SRPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.swin2sr = TFSwin2SRMainLayer(config, name="swin2sr")

    def input_sizes(self):
        return {self.swin2sr: None}

    def call(self, pixel_values=None, head_mask=None, output_attentions=None, output_hidden_states=None,
             training=False, return_dict=True, **kwargs):  # fmt: skip
        result = self.swin2sr(pixel_values, head_mask=head_mask, output_attentions=output_attentions,
                              output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        return out.finish(result, return_dict)


def leaky_relu(x, slope: float = 0.01):
    return tf.nn.leaky_relu(x, slope)


def nearest_twice(x):
    return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)


class TFUpsample(Layer):
    """Pixel-shuffle steps: `convolution_<i>` (x4) + shuffle by 2 per factor of 2, or `convolution` (x9) + shuffle
    by 3."""

    def __init__(self, config, steps: tuple[str, ...], features: int, **kwargs):
        super().__init__(**kwargs)
        self.steps = steps
        if steps == ("x3",):
            self.convs = [conv3x3(config, 9 * features, "convolution")]
        else:
            self.convs = [conv3x3(config, 4 * features, f"convolution_{i}") for i in range(len(steps))]
        self.features = features

    def input_sizes(self):  # each shuffle brings the channels back to `features`
        return dict.fromkeys(self.convs, channels_last(self.features))

    def call(self, x):
        factor = 3 if self.steps == ("x3",) else 2
        for layer in self.convs:
            x = pixel_shuffle_nhwc(layer(x), factor)
        return x


class TFUpsampleOneStep(Layer):
    def __init__(self, config: Swin2SRConfig, **kwargs):
        super().__init__(**kwargs)
        self.scale = config.upscale
        self.conv = conv3x3(config, self.scale**2 * config.num_channels_out, "conv")
        self.input_width = config.embed_dim

    def input_sizes(self):
        return {self.conv: channels_last(self.input_width)}

    def call(self, x):
        return pixel_shuffle_nhwc(self.conv(x), self.scale)


class TFPixelShuffleUpsampler(Layer):
    def __init__(self, config: Swin2SRConfig, features: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.conv_before_upsample = conv3x3(config, features, "conv_before_upsample")
        self.upsample = TFUpsample(config, config.swin2sr_options().upsample_steps, features, name="upsample")
        self.final_convolution = conv3x3(config, config.num_channels_out, "final_convolution")
        self.input_width = config.embed_dim

    def input_sizes(self):
        return {self.conv_before_upsample: channels_last(self.input_width), self.upsample: None,
                self.final_convolution: channels_last(self.conv_before_upsample.filters)}  # fmt: skip

    def call(self, x):
        return self.final_convolution(self.upsample(leaky_relu(self.conv_before_upsample(x))))


class TFNearestConvUpsampler(Layer):
    def __init__(self, config: Swin2SRConfig, features: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.conv_before_upsample = conv3x3(config, features, "conv_before_upsample")
        self.conv_up1 = conv3x3(config, features, "conv_up1")
        self.conv_up2 = conv3x3(config, features, "conv_up2")
        self.conv_hr = conv3x3(config, features, "conv_hr")
        self.final_convolution = conv3x3(config, config.num_channels_out, "final_convolution")
        self.input_width = config.embed_dim

    def input_sizes(self):
        features = channels_last(self.conv_before_upsample.filters)
        return {self.conv_before_upsample: channels_last(self.input_width),
                **dict.fromkeys((self.conv_up1, self.conv_up2, self.conv_hr, self.final_convolution), features)}

    def call(self, x):
        x = leaky_relu(self.conv_before_upsample(x))
        x = leaky_relu(self.conv_up1(nearest_twice(x)), 0.2)
        x = leaky_relu(self.conv_up2(nearest_twice(x)), 0.2)
        return self.final_convolution(leaky_relu(self.conv_hr(x), 0.2))


class TFConvLeakyReLU(Layer):
    """`0` 3x3 conv, then LeakyReLU (slope 0.01): PyTorch's Sequential(Conv2d, LeakyReLU)."""

    def __init__(self, config, features: int, input_width: int, **kwargs):
        super().__init__(**kwargs)
        self.conv = conv3x3(config, features, "0")
        self.input_width = input_width

    def input_sizes(self):
        return {self.conv: channels_last(self.input_width)}

    def call(self, x):
        return leaky_relu(self.conv(x))


class TFPixelShuffleAuxUpsampler(Layer):
    def __init__(self, config: Swin2SRConfig, features: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.upscale = config.upscale
        self.conv_bicubic = conv3x3(config, features, "conv_bicubic")
        self.conv_before_upsample = conv3x3(config, features, "conv_before_upsample")
        self.conv_aux = conv3x3(config, config.num_channels, "conv_aux")
        self.conv_after_aux = TFConvLeakyReLU(config, features, config.num_channels, name="conv_after_aux")
        self.upsample = TFUpsample(config, config.swin2sr_options().upsample_steps, features, name="upsample")
        self.final_convolution = conv3x3(config, config.num_channels_out, "final_convolution")
        self.sizes = {self.conv_bicubic: config.num_channels, self.conv_before_upsample: config.embed_dim,
                      self.conv_aux: features, self.final_convolution: features}  # fmt: skip

    def input_sizes(self):
        return {**{layer: channels_last(channels) for layer, channels in self.sizes.items()},
                self.conv_after_aux: None, self.upsample: None}  # fmt: skip

    def call(self, x, bicubic, height: int, width: int):
        bicubic = self.conv_bicubic(bicubic)
        x = self.conv_after_aux(self.conv_aux(leaky_relu(self.conv_before_upsample(x))))
        rows, cols = height * self.upscale, width * self.upscale
        return self.final_convolution(self.upsample(x)[:, :rows, :cols] + bicubic[:, :rows, :cols])


class TFSwin2SRForImageSuperResolution(TFSwin2SRPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.swin2sr = TFSwin2SRMainLayer(config, name="swin2sr")
        self.upsampler = config.swin2sr_options().upsampler
        self.upscale = config.upscale
        kinds = {"pixelshuffle": TFPixelShuffleUpsampler, "pixelshuffle_aux": TFPixelShuffleAuxUpsampler,
                 "pixelshuffledirect": TFUpsampleOneStep, "nearest+conv": TFNearestConvUpsampler}  # fmt: skip
        if self.upsampler in kinds:
            self.upsample = kinds[self.upsampler](config, name="upsample")
        else:
            self.final_convolution = conv3x3(config, config.num_channels_out, "final_convolution")

    def input_sizes(self):  # "residual": final_convolution, one conv on the deep features
        return {self.swin2sr: None, getattr(self, "upsample", None): None,
                getattr(self, "final_convolution", None): channels_last(self.config.embed_dim)}  # fmt: skip

    def call(self, pixel_values=None, head_mask=None, labels=None, output_attentions=None, output_hidden_states=None,
             training=False, return_dict=True, **kwargs):  # fmt: skip
        if labels is not None:
            raise NotImplementedError("Training is not supported at the moment")
        encoded = self.swin2sr(pixel_values, head_mask=head_mask, output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        height, width = pixel_values.shape[-2:]
        hidden = to_nhwc(encoded.last_hidden_state)
        if self.upsampler == "pixelshuffle_aux":
            rows, cols = height * self.upscale, width * self.upscale
            bicubic = tf.einsum("rh,bhwc,sw->brsc", bicubic_matrix(height, rows), to_nhwc(pixel_values),
                                bicubic_matrix(width, cols))  # fmt: skip
            reconstruction = self.upsample(hidden, bicubic, height=height, width=width)
        elif self.upsampler == "residual":
            reconstruction = to_nhwc(pixel_values) + self.final_convolution(hidden)
        else:
            reconstruction = self.upsample(hidden)
        reconstruction = reconstruction / self.config.img_range + self.swin2sr.mean
        reconstruction = to_nchw(reconstruction[:, : height * self.upscale, : width * self.upscale])
        result = out.ImageSuperResolutionOutput(reconstruction=reconstruction, hidden_states=encoded.hidden_states,
                                                attentions=encoded.attentions)  # fmt: skip
        return out.finish(result, return_dict)

