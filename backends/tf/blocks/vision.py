"""Vision building blocks in TensorFlow (Keras 3); layer names are the checkpoint names, as in
autoload/backends/torch/blocks/vision.py (see there for what each block is). Images come in channels-first
like PyTorch's; convolutions run channels-last inside."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.vision import bicubic_matrix, bilinear_matrix, pair, window_relative_position_index

from .. import keras_layers
from ..activations import get_activation
from ..heads import TFMainLayerModel
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, channels_last, dense, weights_init


def to_nhwc(x):
    return tf.transpose(x, (0, 2, 3, 1))


def to_nchw(x):
    return tf.transpose(x, (0, 3, 1, 2))


def conv(config, filters: int, kernel_size, name: str, strides=1, padding="valid", use_bias=True, groups=1,
         dilation=1):  # fmt: skip
    return keras_layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
                               groups=groups, dilation_rate=dilation, name=name,
                               kernel_initializer=weights_init(config))  # fmt: skip


def check_pixel_values(pixel_values, num_channels: int) -> None:
    if pixel_values is None:
        raise ValueError("You have to specify pixel_values.")
    shape = tuple(pixel_values.shape)
    if len(shape) != 4 or (shape[1] is not None and shape[1] != num_channels):
        raise ValueError(
            f"pixel_values must have shape [batch, {num_channels}, height, width]; got {shape}. "
            "Images are channels-first (use the image processor's output)."
        )


def resize_grid(table, rows: int, cols: int, kind: str = "bicubic"):
    """Resize a [height, width, channels] grid exactly as PyTorch's interpolate (align_corners=False)."""
    make = bicubic_matrix if kind == "bicubic" else bilinear_matrix
    height, width = table.shape[:2]
    if (height, width) == (rows, cols):
        return table
    return tf.einsum("rh,hwc,sw->rsc", make(height, rows), table, make(width, cols))


def resize_maps_nhwc(x, size):
    """Bilinear resize of [batch, h, w, c] maps as PyTorch's interpolate (align_corners=False)."""
    height, width = x.shape[1:3]
    if (height, width) == tuple(size):
        return x
    return tf.einsum("rh,bhwc,sw->brsc", bilinear_matrix(height, size[0]), x, bilinear_matrix(width, size[1]))


def per_layer_head_mask(head_mask, layers: int):
    if head_mask is None:
        return [None] * layers
    head_mask = tf.convert_to_tensor(head_mask, tf.float32)
    if head_mask.shape.rank == 1:
        head_mask = tf.tile(head_mask[None], (layers, 1))
    return [head_mask[i][None, :, None, None] for i in range(layers)]


def tokens_to_map(tokens, rows: int, cols: int):
    """[batch, rows*cols, channels] -> channels-first [batch, channels, rows, cols]."""
    return tf.transpose(tf.reshape(tokens, (-1, rows, cols, tokens.shape[-1])), (0, 3, 1, 2))


def pixel_shuffle_nhwc(x, factor: int):
    """PyTorch's PixelShuffle on an NHWC tensor (channels grouped as c * r * r like torch)."""
    shape = tf.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    channels = x.shape[-1] // (factor * factor)
    x = tf.reshape(x, (batch, height, width, channels, factor, factor))
    x = tf.transpose(x, (0, 1, 4, 2, 5, 3))
    return tf.reshape(x, (batch, height * factor, width * factor, channels))


def masked_image_loss(pixel_values, reconstruction, bool_masked_pos, config):
    size, patch = config.image_size // config.patch_size, config.patch_size
    mask = tf.reshape(tf.cast(bool_masked_pos, reconstruction.dtype), (-1, size, size))
    mask = tf.repeat(tf.repeat(mask, patch, axis=1), patch, axis=2)[:, None]
    l1 = tf.abs(tf.cast(pixel_values, reconstruction.dtype) - reconstruction)
    return tf.reduce_sum(l1 * mask) / (tf.reduce_sum(mask) + 1e-5) / config.num_channels


def check_mim_stride(config, bool_masked_pos) -> None:
    if bool_masked_pos is not None and config.patch_size != config.encoder_stride:
        raise ValueError(
            "When bool_masked_pos is given, patch_size must equal encoder_stride so the reconstruction has the "
            f"input's size; got patch_size={config.patch_size} and encoder_stride={config.encoder_stride}."
        )


class DropPath(keras_layers.Layer):
    """Stochastic depth: drop whole residual branches per sample while training; identity otherwise."""

    def __init__(self, rate: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.built = True  # no weights (as Keras' Dropout)

    def call(self, x, training=False):
        if self.rate == 0.0 or not training:
            return x
        keep = 1.0 - self.rate
        shape = tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], axis=0)
        mask = tf.floor(keep + tf.random.uniform(shape, dtype=x.dtype))
        return x * mask / keep


def batch_norm(name: str, epsilon: float = 1e-5):
    """PyTorch's BatchNorm2d defaults (momentum 0.1 there is 0.9 here), channels-last."""
    return keras_layers.BatchNormalization(epsilon=epsilon, momentum=0.9, name=name)


class ConvBatchNormReLU(Layer):
    """conv (no bias) -> BatchNorm -> ReLU on NHWC maps, named conv / bn."""

    def __init__(self, config, out_channels: int, kernel_size: int, padding: int = 0, dilation: int = 1,
                 input_width: int | None = None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.padding, self.input_width = padding, input_width  # input_width: the maps' channels, None if unknown
        self.conv = conv(config, out_channels, kernel_size, "conv", use_bias=False, dilation=dilation)
        self.bn = batch_norm("bn")

    def input_sizes(self):
        return {self.conv: channels_last(self.input_width), self.bn: channels_last(self.conv.filters)}

    def call(self, x, training=False):
        if self.padding:
            p = self.padding
            x = tf.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        return tf.nn.relu(self.bn(self.conv(x), training=training))


class PixelDecoder(Layer):
    """A 1x1 conv to stride**2 * channels (`decoder/0`), then a pixel shuffle; channels-first in and out."""

    def __init__(self, config, stride: int, num_channels: int, input_width: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.stride, self.input_width = stride, input_width  # input_width: the maps' channels, None if unknown
        self.conv = conv(config, stride**2 * num_channels, 1, "0")

    def input_sizes(self):
        return {self.conv: channels_last(self.input_width)}

    def call(self, feature_map_nchw):
        return to_nchw(pixel_shuffle_nhwc(self.conv(to_nhwc(feature_map_nchw)), self.stride))


# -- ViT-style token embeddings ------------------------------------------------------------------------------
class TFPatchEmbeddings(Layer):
    def __init__(self, config, check_size: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_channels = config.num_channels
        self.image_size, self.patch_size = pair(config.image_size), pair(config.patch_size)
        self.num_patches = (self.image_size[0] // self.patch_size[0]) * (self.image_size[1] // self.patch_size[1])
        self.check_size = check_size
        self.projection = conv(config, config.hidden_size, self.patch_size, "projection", strides=self.patch_size)

    def input_sizes(self):
        return {self.projection: channels_last(self.num_channels, self.image_size)}  # the image, channels-last

    def call(self, pixel_values, interpolate_pos_encoding=False):
        check_pixel_values(pixel_values, self.num_channels)
        if self.check_size and not interpolate_pos_encoding and tuple(pixel_values.shape[-2:]) != self.image_size:
            raise ValueError(
                f"Input image size ({pixel_values.shape[-2]}*{pixel_values.shape[-1]}) doesn't match the model "
                f"({self.image_size[0]}*{self.image_size[1]}); resize it or pass interpolate_pos_encoding=True."
            )
        x = self.projection(to_nhwc(pixel_values))
        grid = (x.shape[1], x.shape[2])
        return tf.reshape(x, (-1, grid[0] * grid[1], x.shape[-1])), grid


class TFViTEmbeddings(Layer):
    """Learned tokens + patch embeddings (+ position embeddings), as the config's token_layout says."""

    def __init__(self, config, use_mask_token: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config, self.layout, self.use_mask_token = config, config.token_layout, use_mask_token
        self.patch_size = pair(config.patch_size)
        self.patch_embeddings = TFPatchEmbeddings(config, self.layout.interpolation == "on_request",
                                                  name="patch_embeddings")  # fmt: skip
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.mask_token = self.position_embeddings = None

    def input_sizes(self):
        return {self.patch_embeddings: None}

    def build(self, input_shape=None):
        size, init, layout = self.config.hidden_size, weights_init(self.config), self.layout
        self.tokens = [self.add_weight(name=name, shape=(1, 1, size), initializer=init) for name in layout.tokens]
        if self.use_mask_token:
            shape = (1, size) if layout.flat_mask_token else (1, 1, size)
            self.mask_token = self.add_weight(name="mask_token", shape=shape, initializer="zeros")
        if layout.position_embeddings:
            count = self.patch_embeddings.num_patches + len(layout.tokens)
            self.position_embeddings = self.add_weight(name="position_embeddings", shape=(1, count, size),
                                                       initializer=init)  # fmt: skip
        if layout.registers:
            self.register_tokens = self.add_weight(name="register_tokens", shape=(1, layout.registers, size),
                                                   initializer=init)  # fmt: skip
        super().build(input_shape)

    def positions_for(self, height: int, width: int):
        table, leading = self.position_embeddings, len(self.layout.tokens)
        grid = int((table.shape[1] - leading) ** 0.5)
        rows, cols = height // self.patch_size[0], width // self.patch_size[1]
        if (rows, cols) == (grid, grid):
            return table
        patches = resize_grid(tf.reshape(table[0, leading:], (grid, grid, -1)), rows, cols, self.layout.position_resize)
        return tf.concat([table[:, :leading], tf.reshape(patches, (1, rows * cols, -1))], axis=1)

    def call(self, pixel_values, bool_masked_pos=None, interpolate_pos_encoding=False, training=False):
        embeds, grid = self.patch_embeddings(tf.cast(pixel_values, self.compute_dtype),
                                             interpolate_pos_encoding=interpolate_pos_encoding)
        if bool_masked_pos is not None:
            if self.mask_token is None:
                raise ValueError("bool_masked_pos was given but this model has no mask token (use_mask_token).")
            mask = tf.cast(bool_masked_pos, embeds.dtype)[..., None]
            embeds = embeds * (1.0 - mask) + self.mask_token * mask
        batch = tf.shape(embeds)[0]
        leading = [tf.tile(token, (batch, 1, 1)) for token in self.tokens]
        embeds = tf.concat([*leading, embeds], axis=1)
        if self.position_embeddings is not None:
            resize = interpolate_pos_encoding or self.layout.interpolation == "always"
            embeds = embeds + (self.positions_for(*pixel_values.shape[-2:]) if resize else self.position_embeddings)
        if self.layout.registers:
            count = len(self.tokens)
            registers = tf.tile(self.register_tokens, (batch, 1, 1))
            embeds = tf.concat([embeds[:, :count], registers, embeds[:, count:]], axis=1)
        return self.dropout(embeds, training=training), grid


# -- attention ------------------------------------------------------------------------------------------------
def split_heads(x, heads: int):
    shape = tf.shape(x)
    return tf.transpose(tf.reshape(x, (shape[0], shape[1], heads, x.shape[-1] // heads)), (0, 2, 1, 3))


def merge_heads(x):
    x = tf.transpose(x, (0, 2, 1, 3))
    shape = tf.shape(x)
    return tf.reshape(x, (shape[0], shape[1], x.shape[2] * x.shape[3]))


def attend(q, k, v, bias=None, head_mask=None, dropout=None, training=False):
    """q/k/v [batch, heads, length, dim] -> (context [batch, heads, length, dim], probabilities)."""
    scores = tf.matmul(q, k, transpose_b=True) / np.float32(np.sqrt(q.shape[-1]))
    if bias is not None:
        scores = scores + bias
    probs = tf.nn.softmax(scores, axis=-1)
    if dropout is not None:
        probs = dropout(probs, training=training)
    if head_mask is not None:
        probs = probs * head_mask
    return tf.matmul(probs, v), probs


class TFRelativePositionBias(Layer):
    """BEiT's relative position bias (see the PyTorch block)."""

    def __init__(self, config, window: tuple[int, int], **kwargs):
        super().__init__(**kwargs)
        self.window, self.heads = window, config.num_attention_heads

    def build(self, input_shape=None):
        rows = (2 * self.window[0] - 1) * (2 * self.window[1] - 1) + 3
        self.relative_position_bias_table = self.add_weight(name="relative_position_bias_table",
                                                            shape=(rows, self.heads), initializer="zeros")  # fmt: skip
        self.built = True

    def call(self, hidden, grid=None, interpolate_pos_encoding=False):
        """The [1, heads, tokens, tokens] bias for a patch grid (`hidden` gives the token count)."""
        length = hidden.shape[1]
        table = self.relative_position_bias_table
        old = (2 * self.window[0] - 1, 2 * self.window[1] - 1)
        new = (2 * grid[0] - 1, 2 * grid[1] - 1)
        pairs = resize_grid(tf.reshape(table[:-3], (old[1], old[0], -1)), new[0], new[1], "bilinear")
        table = tf.concat([tf.reshape(pairs, (-1, self.heads)), table[-3:]], axis=0)
        area = grid[0] * grid[1] + 1
        index = window_relative_position_index(*grid, class_token=True).reshape(-1)
        bias = tf.transpose(tf.reshape(tf.gather(table, index), (area, area, -1)), (2, 0, 1))
        if interpolate_pos_encoding and length is not None and length != area:
            matrix = bilinear_matrix(area, length)
            bias = tf.einsum("qi,hij,kj->hqk", matrix, bias, matrix)
        return bias[None]


class TFViTSelfAttention(Layer):
    def __init__(self, config, window=None, **kwargs):
        super().__init__(**kwargs)
        size, self.heads = config.hidden_size, config.num_attention_heads
        query_bias, key_bias, value_bias = config.projection_biases
        self.query = dense(config, size, "query", use_bias=query_bias)
        self.key = dense(config, size, "key", use_bias=key_bias)
        self.value = dense(config, size, "value", use_bias=value_bias)
        self.dropout = Dropout(config.attention_probs_dropout_prob)
        self.relative_position_bias = (TFRelativePositionBias(config, window, name="relative_position_bias")
                                       if window is not None else None)  # fmt: skip
        self.input_width = size

    def input_sizes(self):
        return {self.query: self.input_width, self.key: self.input_width, self.value: self.input_width,
                self.relative_position_bias: None}

    def call(self, hidden, bias=None, head_mask=None, grid=None, interpolate_pos_encoding=False, training=False):
        if self.relative_position_bias is not None:
            own = self.relative_position_bias(hidden, grid=grid, interpolate_pos_encoding=interpolate_pos_encoding)
            bias = own if bias is None else bias + own
        q, k, v = (split_heads(p(hidden), self.heads) for p in (self.query, self.key, self.value))
        context, probs = attend(q, k, v, bias, head_mask, self.dropout, training)
        return merge_heads(context), probs


class TFViTSelfOutput(Layer):
    """dense -> dropout: the attention's output (from hidden_size merged heads) and the MLP's (from
    intermediate_size): `input_width` says which."""

    def __init__(self, config, input_width: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.input_width = input_width

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden, training=False):
        return self.dropout(self.dense(hidden), training=training)


class TFViTAttention(Layer):
    self_attention_class = TFViTSelfAttention  # a variant's attention with other parameters (VideoMAE's q/v biases)

    def __init__(self, config, window=None, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = self.self_attention_class(config, window, name="attention")
        self.dense_output = TFViTSelfOutput(config, config.hidden_size, name="output")  # merged heads: hidden_size

    def input_sizes(self):
        return {self.self_attention: None, self.dense_output: None}

    def call(self, hidden, bias=None, head_mask=None, grid=None, interpolate_pos_encoding=False, training=False):
        context, probs = self.self_attention(hidden, bias=bias, head_mask=head_mask, grid=grid,
                                             interpolate_pos_encoding=interpolate_pos_encoding, training=training)  # fmt: skip
        return self.dense_output(context, training=training), probs


class TFViTIntermediate(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.intermediate_size, "dense")
        self.act = get_activation(config.hidden_act)
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden):
        return self.act(self.dense(hidden))


class TFViTLayer(Layer):
    """layernorm_before -> attention (-> lambda_1) -> drop path -> +; layernorm_after -> MLP (-> lambda_2) ->
    drop path -> +."""

    attention_class = TFViTAttention

    def __init__(self, config, index: int = 0, window=None, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.attention = self.attention_class(config, window, name="attention")
        self.intermediate = TFViTIntermediate(config, name="intermediate")
        self.mlp_output = TFViTSelfOutput(config, config.intermediate_size, name="output")
        eps = config.layer_norm_eps
        self.layernorm_before = keras_layers.LayerNormalization(epsilon=eps, name="layernorm_before")
        self.layernorm_after = keras_layers.LayerNormalization(epsilon=eps, name="layernorm_after")
        self.drop_path = DropPath(config.drop_path_rates[index])
        self.lambda_1 = self.lambda_2 = None

    def input_sizes(self):
        width = self.config.hidden_size
        return {self.attention: None, self.intermediate: None, self.mlp_output: None, self.layernorm_before: width,
                self.layernorm_after: width}

    def build(self, input_shape=None):
        scale = self.config.layer_scale_init
        if scale is not None:
            init = keras.initializers.Constant(scale)
            size = (self.config.hidden_size,)
            self.lambda_1 = self.add_weight(name="lambda_1", shape=size, initializer=init)
            self.lambda_2 = self.add_weight(name="lambda_2", shape=size, initializer=init)
        super().build(input_shape)

    def call(self, hidden, bias=None, head_mask=None, grid=None, interpolate_pos_encoding=False, training=False):
        attended, probs = self.attention(self.layernorm_before(hidden), bias=bias, head_mask=head_mask, grid=grid,
                                         interpolate_pos_encoding=interpolate_pos_encoding, training=training)  # fmt: skip
        if self.lambda_1 is not None:
            attended = self.lambda_1 * attended
        hidden = self.drop_path(attended, training=training) + hidden
        mlp = self.mlp_output(self.intermediate(self.layernorm_after(hidden)), training=training)
        if self.lambda_2 is not None:
            mlp = self.lambda_2 * mlp
        return self.drop_path(mlp, training=training) + hidden, probs


class TFViTEncoder(Layer):
    """`layer_._<i>` of `layer_class`; BEiT's shared relative position bias sits beside them."""

    layer_class = TFViTLayer

    def __init__(self, config, window=None, **kwargs):
        super().__init__(**kwargs)
        shared, in_layers = config.relative_position_bias
        self.relative_position_bias = TFRelativePositionBias(config, window, name="relative_position_bias") \
            if shared else None  # fmt: skip
        per_layer = window if in_layers else None
        self.layer = [self.layer_class(config, i, per_layer, name=f"layer_._{i}") for i in range(config.num_hidden_layers)]

    def input_sizes(self):
        return {self.relative_position_bias: None, **dict.fromkeys(self.layer)}

    def call(self, hidden, head_mask=None, output_attentions=False, output_hidden_states=False, grid=None,
             interpolate_pos_encoding=False, training=False):  # fmt: skip
        bias = None
        if self.relative_position_bias is not None:
            bias = self.relative_position_bias(hidden, grid=grid, interpolate_pos_encoding=interpolate_pos_encoding)
        all_hidden, all_attn = (hidden,), ()
        for layer, mask in zip(self.layer, per_layer_head_mask(head_mask, len(self.layer))):
            hidden, probs = layer(hidden, bias=bias, head_mask=mask, grid=grid,
                                  interpolate_pos_encoding=interpolate_pos_encoding, training=training)  # fmt: skip
            all_hidden += (hidden,)
            all_attn += (probs,)
        return hidden, all_hidden if output_hidden_states else None, all_attn if output_attentions else None


class TFViTPooler(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.pooler_output_size, "dense")
        self.activation = get_activation(config.pooler_act)
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.dense: self.input_width}

    def call(self, hidden):
        return self.activation(self.dense(hidden[:, 0]))


class TFFirstToken(Layer):
    def call(self, hidden):
        return hidden[:, 0]


class TFViTMainLayer(Layer):
    """Embeddings, encoder, final norm and (optionally) the pooler; DeiT, BEiT and DINOv2 subclass it."""

    encoder_class = TFViTEncoder
    output_class = out.BaseModelOutputWithPooling
    ignores_mask_without_token = False  # DINOv2 ignores bool_masked_pos without a mask token; others refuse it

    def __init__(self, config, add_pooling_layer: bool = True, use_mask_token: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = TFViTEmbeddings(config, use_mask_token, name="embeddings")
        patches = self.embeddings.patch_embeddings
        window = (patches.image_size[0] // patches.patch_size[0], patches.image_size[1] // patches.patch_size[1])
        self.encoder = self.encoder_class(config, window, name="encoder")
        self.layernorm = self.build_final_norm(config)
        self.pooler = self.build_pooler(config) if add_pooling_layer else None
        self.hidden_size = config.hidden_size

    @property
    def output_width(self) -> int:
        """The size of the last axis of last_hidden_state."""
        return self.hidden_size

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.layernorm: self.hidden_size, self.pooler: None}

    def build_final_norm(self, config):
        return keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm")

    def build_pooler(self, config):
        return TFViTPooler(config, name="pooler")

    def call(self, pixel_values=None, bool_masked_pos=None, head_mask=None, output_attentions=False,
             output_hidden_states=False, interpolate_pos_encoding=False, training=False):  # fmt: skip
        interpolate = bool(interpolate_pos_encoding)
        if self.ignores_mask_without_token and not self.embeddings.use_mask_token:
            bool_masked_pos = None
        hidden, grid = self.embeddings(pixel_values, bool_masked_pos=bool_masked_pos,
                                       interpolate_pos_encoding=interpolate, training=training)  # fmt: skip
        hidden, all_hidden, all_attn = self.encoder(hidden, head_mask=head_mask, output_attentions=output_attentions,
                                                    output_hidden_states=output_hidden_states, grid=grid,
                                                    interpolate_pos_encoding=interpolate, training=training)  # fmt: skip
        hidden = self.layernorm(hidden)
        pooled = self.pooler(hidden) if self.pooler is not None else None
        return self.output_class(last_hidden_state=hidden, pooler_output=pooled, hidden_states=all_hidden,
                                 attentions=all_attn)  # fmt: skip


# -- CLIP-style layer ------------------------------------------------------------------------------------------
class TFCLIPTextEmbeddings(Layer):
    """token_embedding/weight + position_embedding/embeddings (transformers' TF CLIP names)."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        init = weights_init(config)
        self.max_positions = config.max_position_embeddings
        self.token_embedding = NamedWeight((config.vocab_size, config.hidden_size), "weight", init, name="token_embedding")
        self.position_embedding = NamedWeight((config.max_position_embeddings, config.hidden_size), "embeddings", init,
                                              name="position_embedding")  # fmt: skip

    def input_sizes(self):
        return {self.token_embedding: None, self.position_embedding: None}

    def call(self, input_ids, position_ids=None):
        length = input_ids.shape[-1]
        if length is not None and length > self.max_positions:
            raise ValueError(f"Sequence length {length} is longer than max_position_embeddings ({self.max_positions}); "
                             "truncate the text.")  # fmt: skip
        if position_ids is None:
            position_ids = tf.range(tf.shape(input_ids)[-1])[None]
        return self.token_embedding(input_ids) + self.position_embedding(position_ids)


class TFCLIPAttention(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        size, self.heads = config.hidden_size, config.num_attention_heads
        self.q_proj, self.k_proj = dense(config, size, "q_proj"), dense(config, size, "k_proj")
        self.v_proj, self.out_proj = dense(config, size, "v_proj"), dense(config, size, "out_proj")
        self.dropout = Dropout(config.attention_dropout)

    def input_sizes(self):
        return dict.fromkeys((self.q_proj, self.k_proj, self.v_proj, self.out_proj), self.q_proj.units)

    def call(self, hidden, bias=None, training=False):
        q, k, v = (split_heads(p(hidden), self.heads) for p in (self.q_proj, self.k_proj, self.v_proj))
        context, probs = attend(q, k, v, bias, None, self.dropout, training)
        return self.out_proj(merge_heads(context)), probs


class TFCLIPMLP(Layer):
    def __init__(self, config, width: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.fc1 = dense(config, width or config.intermediate_size, "fc1")
        self.fc2 = dense(config, config.hidden_size, "fc2")
        self.act = get_activation(config.hidden_act)
        self.sizes = {self.fc1: config.hidden_size, self.fc2: self.fc1.units}

    def input_sizes(self):
        return self.sizes

    def call(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TFCLIPEncoderLayer(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.self_attn = TFCLIPAttention(config, name="self_attn")
        self.layer_norm1 = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layer_norm1")
        self.mlp = TFCLIPMLP(config, name="mlp")
        self.layer_norm2 = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layer_norm2")

    def input_sizes(self):
        width = self.self_attn.q_proj.units
        return {self.self_attn: None, self.layer_norm1: width, self.mlp: None, self.layer_norm2: width}

    def call(self, hidden, bias=None, training=False):
        attended, probs = self.self_attn(self.layer_norm1(hidden), bias=bias, training=training)
        hidden = hidden + attended
        return hidden + self.mlp(self.layer_norm2(hidden)), probs


class TFCLIPEncoder(Layer):
    """`layers_._<i>`; returns (last hidden, every hidden state from the input on, attentions or None)."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.layers = [TFCLIPEncoderLayer(config, name=f"layers_._{i}") for i in range(config.num_hidden_layers)]

    def input_sizes(self):
        return dict.fromkeys(self.layers)

    def call(self, hidden, bias=None, output_attentions=False, training=False):
        """`bias`: an additive attention mask (not Keras' `mask`, which Keras would treat as its own)."""
        states, attentions = (hidden,), ()
        for layer in self.layers:
            hidden, probs = layer(hidden, bias=bias, training=training)
            states += (hidden,)
            attentions += (probs,)
        return hidden, states, attentions if output_attentions else None


# -- DINOv2-style pieces -------------------------------------------------------------------------------------------
class TFLayerScale(Layer):
    def __init__(self, hidden_size: int, init: float, **kwargs):
        super().__init__(**kwargs)
        self.size, self.init = hidden_size, float(init)

    def build(self, input_shape=None):
        self.lambda1 = self.add_weight(name="lambda1", shape=(self.size,),
                                       initializer=keras.initializers.Constant(self.init))  # fmt: skip
        self.built = True

    def call(self, x):
        return x * self.lambda1


class TFSwiGLUMLP(Layer):
    def __init__(self, config, width: int, **kwargs):
        super().__init__(**kwargs)
        self.weights_in = dense(config, 2 * width, "weights_in")
        self.weights_out = dense(config, config.hidden_size, "weights_out")
        self.sizes = {self.weights_in: config.hidden_size, self.weights_out: width}  # gate * value: width

    def input_sizes(self):
        return self.sizes

    def call(self, x):
        gate, value = tf.split(self.weights_in(x), 2, axis=-1)
        return self.weights_out(tf.nn.silu(gate) * value)


# -- model bases ------------------------------------------------------------------------------------------------
class TFVisionPreTrainedModel(TFPreTrainedModel):
    """Pixel inputs: dummy images at the config's size (its vision tower's, for two-tower configs)."""

    main_input_name = "pixel_values"

    def vision_config(self):
        return getattr(self.config, "vision_config", self.config)

    def dummy_inputs(self) -> dict:
        vision = self.vision_config()
        height, width = pair(getattr(vision, "image_size", None) or 32)
        return {"pixel_values": np.zeros((1, vision.num_channels, height, width), np.float32)}


class TFVisionBaseModel(TFMainLayerModel):
    """A base model whose main layer takes pixel_values (returned as the main layer returns them)."""

    is_base_model = True

    def call(self, pixel_values=None, training=False, return_dict=True, **kwargs):
        return out.finish(self.encode(pixel_values, training, **kwargs), return_dict)
