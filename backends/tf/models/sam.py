"""SAM (Segment Anything) in TensorFlow (Keras 3), named like transformers' TFSamModel: a ViT image encoder with
windowed attention and decomposed relative positions and a convolutional neck; a prompt encoder for points, boxes
and masks; a two-way transformer mask decoder that predicts masks and their IoU scores."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.sam import SamConfig, SamMaskDecoderConfig, SamVisionConfig

from .. import keras_layers
from ..activations import get_activation
from ..blocks.vision import check_pixel_values, conv, to_nchw, to_nhwc
from ..modeling import Dropout, Layer, TFPreTrainedModel, channels_last, dense, weights_init


def layer_norm(eps: float, name: str):
    return keras_layers.LayerNormalization(epsilon=eps, name=name)


class TFSamLayerNorm(Layer):
    """LayerNorm over the channels of a channels-last map, with SAM's weight / bias names."""

    def __init__(self, channels: int, eps: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.eps = channels, eps

    def build(self, input_shape=None):
        self.weight = self.add_weight(name="weight", shape=(self.channels,), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(self.channels,), initializer="zeros")
        self.built = True

    def call(self, x):
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(variance + self.eps) * self.weight + self.bias


class TFSamMLPBlock(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.lin1 = dense(config, config.mlp_dim, "lin1")
        self.lin2 = dense(config, config.hidden_size, "lin2")
        self.act = get_activation(config.hidden_act)

    def input_sizes(self):
        return {self.lin1: self.lin2.units, self.lin2: self.lin1.units}

    def call(self, x):
        return self.lin2(self.act(self.lin1(x)))


# -- image encoder ------------------------------------------------------------------------------------------------
class TFSamPatchEmbeddings(Layer):
    def __init__(self, config: SamVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.projection = conv(config, config.hidden_size, config.patch_size, "projection", strides=config.patch_size)

    def input_sizes(self):
        return {self.projection: channels_last(self.config.num_channels)}

    def call(self, pixel_values):
        check_pixel_values(pixel_values, self.config.num_channels)
        size = self.config.image_size
        if tuple(pixel_values.shape[-2:]) != (size, size):
            raise ValueError(f"Input image size ({pixel_values.shape[-2]}*{pixel_values.shape[-1]}) doesn't match the "
                             f"model ({size}*{size}); SamProcessor resizes and pads images to it.")  # fmt: skip
        return self.projection(to_nhwc(pixel_values))


def relative_table(rel_pos, size: int):
    """[size (query), size (key), dim]: the embedding of each query-key offset along one axis."""
    if rel_pos.shape[0] != 2 * size - 1:
        raise ValueError(f"relative position table of {rel_pos.shape[0]} rows for a window of {size}: the checkpoint "
                         f"needs {2 * size - 1} (2 * window - 1).")  # fmt: skip
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :] + (size - 1)
    return tf.gather(rel_pos, offsets)


class TFSamVisionAttention(Layer):
    def __init__(self, config: SamVisionConfig, window_size: int, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.num_attention_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.scale = self.head_dim**-0.5
        self.size = window_size or config.grid
        self.qkv = dense(config, config.hidden_size * 3, "qkv", use_bias=config.qkv_bias)
        self.proj = dense(config, config.hidden_size, "proj")
        self.dropout = Dropout(config.attention_dropout)

    def build(self, input_shape=None):
        if self.config.use_rel_pos:
            shape = (2 * self.size - 1, self.head_dim)
            self.rel_pos_h = self.add_weight(name="rel_pos_h", shape=shape, initializer="zeros")
            self.rel_pos_w = self.add_weight(name="rel_pos_w", shape=shape, initializer="zeros")
        super().build(input_shape)

    def input_sizes(self):
        return {self.qkv: self.config.hidden_size, self.proj: self.config.hidden_size}

    def call(self, hidden, output_attentions=False, training=False):
        height, width = hidden.shape[1], hidden.shape[2]
        heads = self.num_attention_heads
        qkv = tf.transpose(tf.reshape(self.qkv(hidden), (-1, height * width, 3, heads, self.head_dim)), (2, 0, 3, 1, 4))
        qkv = tf.reshape(qkv, (3, -1, height * width, self.head_dim))
        query, key, value = qkv[0], qkv[1], qkv[2]
        scores = tf.matmul(query * self.scale, key, transpose_b=True)
        if self.config.use_rel_pos:
            q = tf.reshape(query, (-1, height, width, self.head_dim))
            rel_h = tf.einsum("bhwc,hkc->bhwk", q, relative_table(self.rel_pos_h, height))
            rel_w = tf.einsum("bhwc,wkc->bhwk", q, relative_table(self.rel_pos_w, width))
            bias = rel_h[..., :, None] + rel_w[..., None, :]
            scores = scores + tf.reshape(bias, (-1, height * width, height * width))
        probs = tf.nn.softmax(scores, axis=-1)
        attended = tf.matmul(self.dropout(probs, training=training), value)
        attended = tf.transpose(tf.reshape(attended, (-1, heads, height, width, self.head_dim)), (0, 2, 3, 1, 4))
        attended = self.proj(tf.reshape(attended, (-1, height, width, heads * self.head_dim)))
        return attended, (probs if output_attentions else None)


def window_partition(x, window: int):
    """[batch * windows, window, window, C] (the map padded with zeros to a multiple of the window), padded size."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    pad_h, pad_w = (-height) % window, (-width) % window
    x = tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
    rows, cols = (height + pad_h) // window, (width + pad_w) // window
    x = tf.transpose(tf.reshape(x, (-1, rows, window, cols, window, channels)), (0, 1, 3, 2, 4, 5))
    return tf.reshape(x, (-1, window, window, channels)), (height + pad_h, width + pad_w)


def window_unpartition(windows, window: int, padded: tuple[int, int], size: tuple[int, int]):
    rows, cols, channels = padded[0] // window, padded[1] // window, windows.shape[-1]
    x = tf.transpose(tf.reshape(windows, (-1, rows, cols, window, window, channels)), (0, 1, 3, 2, 4, 5))
    return tf.reshape(x, (-1, padded[0], padded[1], channels))[:, : size[0], : size[1]]


class TFSamVisionLayer(Layer):
    def __init__(self, config: SamVisionConfig, window_size: int, **kwargs):
        super().__init__(**kwargs)
        self.layer_norm1 = layer_norm(config.layer_norm_eps, "layer_norm1")
        self.attn = TFSamVisionAttention(config, window_size, name="attn")
        self.layer_norm2 = layer_norm(config.layer_norm_eps, "layer_norm2")
        self.mlp = TFSamMLPBlock(config, name="mlp")
        self.window_size = window_size
        self.width = config.hidden_size

    def input_sizes(self):
        return {self.layer_norm1: self.width, self.attn: None, self.layer_norm2: self.width, self.mlp: None}

    def call(self, hidden, output_attentions=False, training=False):
        normed = self.layer_norm1(hidden)
        if self.window_size:
            size = (normed.shape[1], normed.shape[2])
            windows, padded = window_partition(normed, self.window_size)
            attended, probs = self.attn(windows, output_attentions=output_attentions, training=training)
            attended = window_unpartition(attended, self.window_size, padded, size)
        else:
            attended, probs = self.attn(normed, output_attentions=output_attentions, training=training)
        hidden = hidden + attended
        return hidden + self.mlp(self.layer_norm2(hidden)), probs


class TFSamVisionNeck(Layer):
    def __init__(self, config: SamVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = conv(config, config.output_channels, 1, "conv1", use_bias=False)
        self.layer_norm1 = TFSamLayerNorm(config.output_channels, name="layer_norm1")
        self.conv2 = conv(config, config.output_channels, 3, "conv2", padding="same", use_bias=False)
        self.layer_norm2 = TFSamLayerNorm(config.output_channels, name="layer_norm2")
        self.input_width = config.hidden_size

    def input_sizes(self):
        return {self.conv1: channels_last(self.input_width), self.layer_norm1: None,
                self.conv2: channels_last(self.conv1.filters), self.layer_norm2: None}  # fmt: skip

    def call(self, hidden):
        return to_nchw(self.layer_norm2(self.conv2(self.layer_norm1(self.conv1(hidden)))))


class TFSamVisionEncoder(Layer):
    def __init__(self, config: SamVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.patch_embed = TFSamPatchEmbeddings(config, name="patch_embed")
        self.layers = [TFSamVisionLayer(config, window, name=f"layers_._{i}")
                       for i, window in enumerate(config.layer_windows())]  # fmt: skip
        self.neck = TFSamVisionNeck(config, name="neck")

    def build(self, input_shape=None):
        if self.config.use_abs_pos:
            c = self.config
            self.pos_embed = self.add_weight(name="pos_embed", shape=(1, c.grid, c.grid, c.hidden_size),
                                             initializer="zeros")  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        return {self.patch_embed: None, **dict.fromkeys(self.layers), self.neck: None}

    def call(self, pixel_values, output_attentions=False, output_hidden_states=False, training=False):
        hidden = self.patch_embed(pixel_values)
        if self.config.use_abs_pos:
            hidden = hidden + self.pos_embed
        states, attentions = (hidden,), ()
        for layer in self.layers:
            hidden, probs = layer(hidden, output_attentions=output_attentions, training=training)
            states += (hidden,)
            attentions += (probs,)
        return out.SamVisionEncoderOutput(last_hidden_state=self.neck(hidden),
                                          hidden_states=states if output_hidden_states else None,
                                          attentions=attentions if output_attentions else None)  # fmt: skip


# -- prompt encoder -----------------------------------------------------------------------------------------------
def fourier_features(coords, table, input_shape=None):
    """Random Fourier features of (x, y) in [0, 1]: sin and cos of 2 pi (2 xy - 1) @ table."""
    if input_shape is not None:
        coords = coords / tf.constant([input_shape[1], input_shape[0]], coords.dtype)
    coords = 2 * math.pi * tf.einsum("...i,ij->...j", 2 * coords - 1, tf.convert_to_tensor(table))
    return tf.concat([tf.sin(coords), tf.cos(coords)], axis=-1)


class TFSamPositionalEmbedding(Layer):
    def __init__(self, config: SamVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config

    def build(self, input_shape=None):
        scale = self.config.hidden_size // 2
        self.positional_embedding = self.add_weight(
            name="positional_embedding", shape=(2, self.config.num_pos_feats), trainable=False,
            initializer=keras.initializers.RandomNormal(stddev=scale),
        )  # fmt: skip
        self.built = True

    def call(self, coords, input_shape=None):
        return fourier_features(coords, self.positional_embedding, input_shape)


class TFSamMaskEmbedding(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        quarter = config.mask_input_channels // 4
        self.activation = get_activation(config.hidden_act)
        self.conv1 = conv(config, quarter, 2, "conv1", strides=2)
        self.conv2 = conv(config, config.mask_input_channels, 2, "conv2", strides=2)
        self.conv3 = conv(config, config.hidden_size, 1, "conv3")
        self.layer_norm1 = TFSamLayerNorm(quarter, eps=config.layer_norm_eps, name="layer_norm1")
        self.layer_norm2 = TFSamLayerNorm(config.mask_input_channels, eps=config.layer_norm_eps, name="layer_norm2")

    def input_sizes(self):  # conv1: one mask per image
        return {self.conv1: channels_last(1), self.conv2: channels_last(self.conv1.filters),
                self.conv3: channels_last(self.conv2.filters), self.layer_norm1: None, self.layer_norm2: None}

    def call(self, masks):
        hidden = self.activation(self.layer_norm1(self.conv1(to_nhwc(masks))))
        hidden = self.activation(self.layer_norm2(self.conv2(hidden)))
        return to_nchw(self.conv3(hidden))


class TFSamPromptEncoder(Layer):
    """Sparse embeddings of points and box corners, dense embeddings of a mask prompt (or the no-mask embedding).
    The positional features' table is the model's shared_image_embedding's, handed to each call."""

    def __init__(self, config: SamConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config.prompt_encoder_config
        self.mask_embed = TFSamMaskEmbedding(self.config, name="mask_embed")

    def build(self, input_shape=None):
        c = self.config
        init = weights_init(c)
        self.no_mask_embed = self.add_weight(name="no_mask_embed.weight", shape=(1, c.hidden_size), initializer=init)
        self.point_embed = [self.add_weight(name=f"point_embed_._{i}.weight", shape=(1, c.hidden_size),
                                            initializer=init) for i in range(c.num_point_embeddings)]  # fmt: skip
        self.not_a_point_embed = self.add_weight(name="not_a_point_embed.weight", shape=(1, c.hidden_size),
                                                 initializer=init)  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        return {self.mask_embed: None}

    def _embed_points(self, table, points, labels, pad: bool):
        points = points + 0.5  # pixel centres
        labels = tf.cast(labels, points.dtype)
        if pad:  # without a box, a "not a point" closes every prompt
            shape = tf.shape(points)
            points = tf.concat([points, tf.zeros(tf.concat([shape[:2], [1, 2]], 0), points.dtype)], axis=2)
            labels = tf.concat([labels, -tf.ones(tf.concat([shape[:2], [1]], 0), labels.dtype)], axis=2)
        size = self.config.image_size
        embedded = fourier_features(points, table, (size, size))
        labels = labels[..., None]
        embedded = tf.where(labels == -1, self.not_a_point_embed, embedded)
        embedded = tf.where(labels != -10, embedded, tf.zeros_like(embedded))
        embedded = tf.where(labels == 0, embedded + self.point_embed[0], embedded)
        return tf.where(labels == 1, embedded + self.point_embed[1], embedded)

    def _embed_boxes(self, table, boxes):
        shape = tf.shape(boxes)
        corners = tf.reshape(boxes + 0.5, (shape[0], shape[1], 2, 2))
        size = self.config.image_size
        return fourier_features(corners, table, (size, size)) + tf.concat([self.point_embed[2], self.point_embed[3]], axis=0)

    def call(self, table, input_points=None, input_labels=None, input_boxes=None, input_masks=None):
        sparse, batch = None, 1
        if input_points is not None:
            if input_labels is None:
                raise ValueError("If points are provided, labels must also be provided.")
            batch = tf.shape(input_points)[0]
            sparse = self._embed_points(table, input_points, input_labels, pad=input_boxes is None)
        if input_boxes is not None:
            batch = tf.shape(input_boxes)[0]
            boxes = self._embed_boxes(table, input_boxes)
            sparse = boxes if sparse is None else tf.concat([sparse, boxes], axis=2)
        if input_masks is not None:
            dense = self.mask_embed(input_masks)
        else:
            size = self.config.image_embedding_size
            dense = tf.broadcast_to(tf.reshape(self.no_mask_embed, (1, -1, 1, 1)),
                                    (batch, self.config.hidden_size, size, size))  # fmt: skip
        return sparse, dense


# -- mask decoder -------------------------------------------------------------------------------------------------
class TFSamAttention(Layer):
    """Attention over prompt tokens / image positions, projected down by downsample_rate first."""

    def __init__(self, config: SamMaskDecoderConfig, downsample_rate: int | None = None, **kwargs):
        super().__init__(**kwargs)
        rate = config.attention_downsample_rate if downsample_rate is None else downsample_rate
        inner = config.hidden_size // rate
        self.num_attention_heads = config.num_attention_heads
        self.head_dim = inner // config.num_attention_heads
        self.scaling = self.head_dim**-0.5
        self.q_proj = dense(config, inner, "q_proj")
        self.k_proj = dense(config, inner, "k_proj")
        self.v_proj = dense(config, inner, "v_proj")
        self.out_proj = dense(config, config.hidden_size, "out_proj")

    def input_sizes(self):
        width = self.out_proj.units  # hidden_size: queries, keys and values all come at the decoder's width
        return {self.q_proj: width, self.k_proj: width, self.v_proj: width, self.out_proj: self.q_proj.units}

    def _heads(self, x):
        shape = tf.shape(x)
        x = tf.reshape(x, (shape[0] * shape[1], shape[2], self.num_attention_heads, self.head_dim))
        return tf.transpose(x, (0, 2, 1, 3))

    def call(self, query, key, value, attention_similarity=None):
        shape = tf.shape(query)
        q, k, v = self._heads(self.q_proj(query)), self._heads(self.k_proj(key)), self._heads(self.v_proj(value))
        scores = tf.matmul(q, k, transpose_b=True) * self.scaling
        if attention_similarity is not None:
            scores = scores + attention_similarity
        attended = tf.transpose(tf.matmul(tf.nn.softmax(scores, axis=-1), v), (0, 2, 1, 3))
        width = self.num_attention_heads * self.head_dim
        return self.out_proj(tf.reshape(attended, (shape[0], shape[1], tf.shape(attended)[1], width)))


class TFSamTwoWayAttentionBlock(Layer):
    """Prompt tokens attend to themselves and to the image; then the image attends to the tokens."""

    def __init__(self, config: SamMaskDecoderConfig, skip_first_layer_pe: bool = False, **kwargs):
        super().__init__(**kwargs)
        eps = config.layer_norm_eps
        self.self_attn = TFSamAttention(config, downsample_rate=1, name="self_attn")
        self.layer_norm1 = layer_norm(eps, "layer_norm1")
        # transformers builds the blocks' cross-attentions with its default rate 2, whatever the config says
        self.cross_attn_token_to_image = TFSamAttention(config, 2, name="cross_attn_token_to_image")
        self.layer_norm2 = layer_norm(eps, "layer_norm2")
        self.mlp = TFSamMLPBlock(config, name="mlp")
        self.layer_norm3 = layer_norm(eps, "layer_norm3")
        self.layer_norm4 = layer_norm(eps, "layer_norm4")
        self.cross_attn_image_to_token = TFSamAttention(config, 2, name="cross_attn_image_to_token")
        self.skip_first_layer_pe = skip_first_layer_pe
        self.width = config.hidden_size

    def input_sizes(self):
        norms = (self.layer_norm1, self.layer_norm2, self.layer_norm3, self.layer_norm4)
        return {self.self_attn: None, self.cross_attn_token_to_image: None, self.mlp: None,
                self.cross_attn_image_to_token: None, **dict.fromkeys(norms, self.width)}  # fmt: skip

    def call(self, queries, keys, query_pe, key_pe, attention_similarity=None):
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            query = queries + query_pe
            queries = queries + self.self_attn(query, query, queries)
        queries = self.layer_norm1(queries)
        queries = queries + self.cross_attn_token_to_image(queries + query_pe, keys + key_pe, keys,
                                                           attention_similarity=attention_similarity)  # fmt: skip
        queries = self.layer_norm2(queries)
        queries = self.layer_norm3(queries + self.mlp(queries))
        attended = self.cross_attn_image_to_token(keys + key_pe, queries + query_pe, queries)
        return queries, self.layer_norm4(keys + attended), attended


class TFSamTwoWayTransformer(Layer):
    def __init__(self, config: SamMaskDecoderConfig, **kwargs):
        super().__init__(**kwargs)
        self.layers = [TFSamTwoWayAttentionBlock(config, skip_first_layer_pe=i == 0, name=f"layers_._{i}")
                       for i in range(config.num_hidden_layers)]  # fmt: skip
        self.final_attn_token_to_image = TFSamAttention(config, name="final_attn_token_to_image")
        self.layer_norm_final_attn = layer_norm(1e-5, "layer_norm_final_attn")  # torch's default eps, as transformers
        self.width = config.hidden_size

    def input_sizes(self):
        return {**dict.fromkeys(self.layers), self.final_attn_token_to_image: None,
                self.layer_norm_final_attn: self.width}  # fmt: skip

    def call(self, point_embeddings, image_embeddings, image_pe, attention_similarity=None, target_embedding=None):
        def as_keys(x):  # [batch, C, H, W] -> [batch, 1, H * W, C]
            shape = tf.shape(x)
            return tf.transpose(tf.reshape(x, (shape[0], 1, shape[1], -1)), (0, 1, 3, 2))

        keys, key_pe = as_keys(image_embeddings), as_keys(image_pe)
        queries, attentions = point_embeddings, ()
        for layer in self.layers:
            if target_embedding is not None:
                queries = queries + target_embedding
            queries, keys, attended = layer(queries, keys, point_embeddings, key_pe,
                                            attention_similarity=attention_similarity)  # fmt: skip
            attentions += (attended,)
        attended = self.final_attn_token_to_image(queries + point_embeddings, keys + key_pe, keys)
        return self.layer_norm_final_attn(queries + attended), keys, attentions


class TFSamFeedForward(Layer):
    def __init__(self, config, hidden_dim: int, output_dim: int, num_layers: int, sigmoid_output: bool = False,
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.proj_in = dense(config, hidden_dim, "proj_in")
        self.proj_out = dense(config, output_dim, "proj_out")
        self.layers = [dense(config, hidden_dim, f"layers_._{i}") for i in range(num_layers - 2)]
        self.sigmoid_output = sigmoid_output
        # a token of the decoder's width in
        self.sizes = {self.proj_in: config.hidden_size, self.proj_out: hidden_dim, **dict.fromkeys(self.layers, hidden_dim)}

    def input_sizes(self):
        return self.sizes

    def call(self, x):
        x = tf.nn.relu(self.proj_in(x))
        for layer in self.layers:
            x = tf.nn.relu(layer(x))
        x = self.proj_out(x)
        return tf.sigmoid(x) if self.sigmoid_output else x


def conv_transpose(config, filters: int, name: str):
    return keras_layers.Conv2DTranspose(filters, 2, strides=2, name=name, kernel_initializer=weights_init(config))


class TFSamMaskDecoder(Layer):
    def __init__(self, config: SamMaskDecoderConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        width = config.hidden_size
        self.num_mask_tokens = config.num_multimask_outputs + 1
        self.transformer = TFSamTwoWayTransformer(config, name="transformer")
        self.upscale_conv1 = conv_transpose(config, width // 4, "upscale_conv1")
        self.upscale_conv2 = conv_transpose(config, width // 8, "upscale_conv2")
        self.upscale_layer_norm = TFSamLayerNorm(width // 4, name="upscale_layer_norm")
        self.output_hypernetworks_mlps = [TFSamFeedForward(config, width, width // 8, 3,
                                                           name=f"output_hypernetworks_mlps_._{i}")
                                          for i in range(self.num_mask_tokens)]  # fmt: skip
        self.iou_prediction_head = TFSamFeedForward(config, config.iou_head_hidden_dim, self.num_mask_tokens,
                                                    config.iou_head_depth, name="iou_prediction_head")  # fmt: skip

    def build(self, input_shape=None):
        width, init = self.config.hidden_size, weights_init(self.config)
        self.iou_token = self.add_weight(name="iou_token.weight", shape=(1, width), initializer=init)
        self.mask_tokens = self.add_weight(name="mask_tokens.weight", shape=(self.num_mask_tokens, width),
                                           initializer=init)  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        width = self.config.hidden_size
        return {self.transformer: None, self.upscale_conv1: channels_last(width),
                self.upscale_conv2: channels_last(self.upscale_conv1.filters), self.upscale_layer_norm: None,
                **dict.fromkeys(self.output_hypernetworks_mlps), self.iou_prediction_head: None}  # fmt: skip

    def call(self, image_embeddings, image_pe, dense_embeddings, sparse=None, multimask_output: bool = True,
             attention_similarity=None, target_embedding=None):  # fmt: skip
        shape = tf.shape(image_embeddings)
        batch, (channels, height, width) = shape[0], image_embeddings.shape[1:]
        points = tf.shape(sparse)[1] if sparse is not None else 1
        tokens = tf.concat([self.iou_token, self.mask_tokens], axis=0)
        tokens = tf.tile(tokens[None, None], (batch, points, 1, 1))
        if sparse is not None:
            tokens = tf.concat([tokens, tf.cast(sparse, tokens.dtype)], axis=2)
        image = tf.repeat(image_embeddings + dense_embeddings, points, axis=0)
        image_pe = tf.repeat(image_pe, points, axis=0)
        tokens_out, image, attentions = self.transformer(tokens, image, image_pe,
                                                         attention_similarity=attention_similarity,
                                                         target_embedding=target_embedding)  # fmt: skip
        iou_out, mask_out = tokens_out[:, :, 0], tokens_out[:, :, 1 : 1 + self.num_mask_tokens]
        image = tf.reshape(tf.transpose(image, (0, 1, 3, 2)), (-1, channels, height, width))
        gelu = keras.activations.gelu
        upscaled = self.upscale_conv1(to_nhwc(image))
        upscaled = gelu(self.upscale_conv2(gelu(self.upscale_layer_norm(upscaled), approximate=False)),
                        approximate=False)  # fmt: skip
        hyper = tf.stack([mlp(mask_out[:, :, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], axis=2)
        up_height, up_width, up_channels = upscaled.shape[1:]
        upscaled = tf.reshape(tf.transpose(upscaled, (0, 3, 1, 2)), (batch, points, up_channels, up_height * up_width))
        masks = tf.reshape(tf.matmul(hyper, upscaled), (batch, points, -1, up_height, up_width))
        iou = self.iou_prediction_head(iou_out)
        if multimask_output:
            return masks[:, :, 1:], iou[:, :, 1:], attentions
        return masks[:, :, :1], iou[:, :, :1], attentions


# -- models -------------------------------------------------------------------------------------------------------
class TFSamPreTrainedModel(TFPreTrainedModel):
    config_class = SamConfig
    base_model_prefix = "sam"
    main_input_name = "pixel_values"
    # transformers' SamModel ties the prompt encoder's copy of the positional features to shared_image_embedding
    _keys_to_ignore_on_load_unexpected = [r"prompt_encoder\.shared_embedding\.positional_embedding"]


def _as_tensor(value, dtype=None):
    return None if value is None else tf.convert_to_tensor(value, dtype=dtype)


class TFSamVisionModel(TFSamPreTrainedModel):
    config_class = SamVisionConfig

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.vision_encoder = TFSamVisionEncoder(config, name="vision_encoder")

    def input_sizes(self):
        return {self.vision_encoder: None}

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"pixel_values": np.zeros((1, c.num_channels, c.image_size, c.image_size), np.float32)}

    def call(self, pixel_values=None, output_attentions=None, output_hidden_states=None, return_dict=True,
             training=False, **kwargs):  # fmt: skip
        if pixel_values is None:
            raise ValueError("You have to specify pixel_values")
        result = self.vision_encoder(_as_tensor(pixel_values, tf.float32), output_attentions=bool(output_attentions),
                                     output_hidden_states=bool(output_hidden_states), training=training)  # fmt: skip
        return out.finish(result, return_dict)


def check_prompts(input_points, input_boxes, batch: int) -> None:
    """transformers' checks of the prompt shapes, with its messages."""
    if input_points is not None and len(input_points.shape) != 4:
        raise ValueError("The input_points must be a 4D tensor of shape (batch_size, point_batch_size, "
                         f"nb_points_per_image, 2); got {tuple(input_points.shape)}.")  # fmt: skip
    if input_boxes is not None and len(input_boxes.shape) != 3:
        raise ValueError(f"The input_boxes must be a 3D tensor of shape (batch_size, nb_boxes, 4); got "
                         f"{tuple(input_boxes.shape)}.")  # fmt: skip
    if input_points is not None and input_boxes is not None and input_points.shape[1] != input_boxes.shape[1]:
        raise ValueError("You should provide as many bounding boxes as input points per box. Got "
                         f"{input_points.shape[1]} and {input_boxes.shape[1]}.")  # fmt: skip
    if input_points is not None and batch is not None and input_points.shape[0] != batch:
        raise ValueError(f"The batch size of the image embeddings and the input points must be the same. Got {batch} "
                         f"and {input_points.shape[0]} respectively; pass several prompts for one image as "
                         "input_points of shape (batch_size, point_batch_size, num_points_per_image, 2).")  # fmt: skip


class TFSamModel(TFSamPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.shared_image_embedding = TFSamPositionalEmbedding(config.vision_config, name="shared_image_embedding")
        self.vision_encoder = TFSamVisionEncoder(config.vision_config, name="vision_encoder")
        self.prompt_encoder = TFSamPromptEncoder(config, name="prompt_encoder")
        self.mask_decoder = TFSamMaskDecoder(config.mask_decoder_config, name="mask_decoder")

    def input_sizes(self):
        return dict.fromkeys((self.shared_image_embedding, self.vision_encoder, self.prompt_encoder, self.mask_decoder))

    def dummy_inputs(self) -> dict:
        v, p = self.config.vision_config, self.config.prompt_encoder_config
        mask = 4 * p.image_embedding_size
        return {"pixel_values": np.zeros((1, v.num_channels, v.image_size, v.image_size), np.float32),
                "input_points": np.zeros((1, 1, 1, 2), np.float32), "input_labels": np.ones((1, 1, 1), np.int32),
                "input_boxes": np.zeros((1, 1, 4), np.float32),
                "input_masks": np.zeros((1, 1, mask, mask), np.float32)}  # fmt: skip

    def get_image_wide_positional_embeddings(self):
        size = self.config.prompt_encoder_config.image_embedding_size
        centres = (np.arange(size, dtype=np.float32) + np.float32(0.5)) / np.float32(size)
        grid = np.stack([np.broadcast_to(centres[None, :], (size, size)),
                         np.broadcast_to(centres[:, None], (size, size))], axis=-1)  # fmt: skip
        return tf.transpose(self.shared_image_embedding(tf.constant(grid)), (2, 0, 1))[None]

    def _positional_table(self):
        if not self.shared_image_embedding.built:
            self.shared_image_embedding.build()
        return self.shared_image_embedding.positional_embedding

    def get_image_embeddings(self, pixel_values, **kwargs):
        return self.vision_encoder(_as_tensor(pixel_values, tf.float32)).last_hidden_state

    def get_prompt_embeddings(self, input_points=None, input_labels=None, input_boxes=None, input_masks=None):
        return self.prompt_encoder(self._positional_table(), input_points=_as_tensor(input_points, tf.float32),
                                   input_labels=_as_tensor(input_labels),
                                   input_boxes=_as_tensor(input_boxes, tf.float32),
                                   input_masks=_as_tensor(input_masks, tf.float32))  # fmt: skip

    def call(self, pixel_values=None, input_points=None, input_labels=None, input_boxes=None, input_masks=None,
             image_embeddings=None, multimask_output=True, attention_similarity=None, target_embedding=None,
             output_attentions=None, output_hidden_states=None, return_dict=True, training=False, **kwargs):  # fmt: skip
        if (pixel_values is None) == (image_embeddings is None):
            raise ValueError("Give SamModel exactly one of pixel_values and image_embeddings (from "
                             "get_image_embeddings).")  # fmt: skip
        pixel_values, image_embeddings = _as_tensor(pixel_values, tf.float32), _as_tensor(image_embeddings, tf.float32)
        input_points, input_boxes = _as_tensor(input_points, tf.float32), _as_tensor(input_boxes, tf.float32)
        input_labels, input_masks = _as_tensor(input_labels), _as_tensor(input_masks, tf.float32)
        batch_tensor = pixel_values if pixel_values is not None else image_embeddings
        check_prompts(input_points, input_boxes, batch_tensor.shape[0])
        batch = tf.shape(batch_tensor)[0]
        image_pe = tf.tile(self.get_image_wide_positional_embeddings(), (batch, 1, 1, 1))
        vision = None
        if pixel_values is not None:
            vision = self.vision_encoder(pixel_values, output_attentions=bool(output_attentions),
                                         output_hidden_states=bool(output_hidden_states), training=training)  # fmt: skip
            image_embeddings = vision.last_hidden_state
        if input_points is not None and input_labels is None:
            input_labels = tf.ones(tf.shape(input_points)[:3], tf.int32)
        sparse, dense_embeddings = self.prompt_encoder(self._positional_table(), input_points=input_points,
                                                       input_labels=input_labels, input_boxes=input_boxes,
                                                       input_masks=input_masks)  # fmt: skip
        masks, iou, attentions = self.mask_decoder(image_embeddings, image_pe, dense_embeddings, sparse=sparse,
                                                   multimask_output=bool(multimask_output),
                                                   attention_similarity=_as_tensor(attention_similarity),
                                                   target_embedding=_as_tensor(target_embedding))  # fmt: skip
        result = out.SamImageSegmentationOutput(
            iou_scores=iou, pred_masks=masks,
            vision_hidden_states=vision.hidden_states if vision is not None else None,
            vision_attentions=vision.attentions if vision is not None else None,
            mask_decoder_attentions=attentions if output_attentions else None,
        )  # fmt: skip
        return out.finish(result, return_dict)
