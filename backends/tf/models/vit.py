"""ViT in TensorFlow (Keras 3), named like transformers' TF ViT. Images are channels-first in and out."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.vit import ViTConfig
from autoload.vision import bicubic_matrix

from ..activations import get_activation
from ..losses import sequence_classification_loss
from ..modeling import Layer, TFPreTrainedModel, dense, weights_init


def check_pixel_values(pixel_values, num_channels: int) -> None:
    shape = tuple(pixel_values.shape)
    if len(shape) != 4 or (shape[1] is not None and shape[1] != num_channels):
        raise ValueError(
            f"pixel_values must have shape [batch, {num_channels}, height, width]; got {shape}. "
            "Images are channels-first (use the image processor's output)."
        )


def to_nhwc(x):
    return tf.transpose(x, (0, 2, 3, 1))


def to_nchw(x):
    return tf.transpose(x, (0, 3, 1, 2))


def conv(config, filters: int, kernel_size, name: str, strides=1, padding="valid", use_bias=True, groups=1):
    return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
                               groups=groups, name=name, kernel_initializer=weights_init(config))  # fmt: skip


def pixel_shuffle_nhwc(x, factor: int):
    """PyTorch's PixelShuffle on an NHWC tensor (channels grouped as c * r * r like torch)."""
    shape = tf.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    channels = x.shape[-1] // (factor * factor)
    x = tf.reshape(x, (batch, height, width, channels, factor, factor))
    x = tf.transpose(x, (0, 1, 4, 2, 5, 3))
    return tf.reshape(x, (batch, height * factor, width * factor, channels))


def masked_reconstruction_loss(pixel_values, reconstruction, bool_masked_pos, image_size, patch_size, channels):
    size = image_size // patch_size
    mask = tf.reshape(tf.cast(bool_masked_pos, reconstruction.dtype), (-1, size, size))
    mask = tf.repeat(tf.repeat(mask, patch_size, axis=1), patch_size, axis=2)[:, None]
    l1 = tf.abs(tf.cast(pixel_values, reconstruction.dtype) - reconstruction)
    return tf.reduce_sum(l1 * mask) / (tf.reduce_sum(mask) + 1e-5) / channels


class TFVisionPreTrainedModel(TFPreTrainedModel):
    """Shared by the TF vision models: pixel inputs and tuple outputs."""

    main_input_name = "pixel_values"

    def dummy_inputs(self) -> dict:
        size = getattr(self.config, "image_size", None) or 32
        return {"pixel_values": np.zeros((1, self.config.num_channels, size, size), np.float32)}


class TFViTPatchEmbeddings(Layer):
    def __init__(self, config: ViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.projection = conv(config, config.hidden_size, config.patch_size, "projection", strides=config.patch_size)

    def call(self, pixel_values):
        x = self.projection(to_nhwc(pixel_values))
        shape = tf.shape(x)
        return tf.reshape(x, (shape[0], shape[1] * shape[2], x.shape[-1]))


class TFViTEmbeddings(Layer):
    def __init__(self, config: ViTConfig, use_mask_token: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.use_mask_token = use_mask_token
        self.patch_embeddings = TFViTPatchEmbeddings(config, name="patch_embeddings")
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def build(self, input_shape=None):
        size, init = self.config.hidden_size, weights_init(self.config)
        patches = (self.config.image_size // self.config.patch_size) ** 2
        self.cls_token = self.add_weight(name="cls_token", shape=(1, 1, size), initializer=init)
        self.mask_token = (self.add_weight(name="mask_token", shape=(1, 1, size), initializer="zeros")
                           if self.use_mask_token else None)  # fmt: skip
        self.position_embeddings = self.add_weight(name="position_embeddings", shape=(1, patches + 1, size),
                                                   initializer=init)  # fmt: skip
        self.built = True

    def call(self, pixel_values, bool_masked_pos=None, interpolate_pos_encoding=False, training=False):
        check_pixel_values(pixel_values, self.config.num_channels)
        height, width = pixel_values.shape[-2:]
        if not interpolate_pos_encoding and (height, width) != (self.config.image_size, self.config.image_size):
            raise ValueError(
                f"Input image size ({height}*{width}) doesn't match the model ({self.config.image_size}*"
                f"{self.config.image_size}); resize it or pass interpolate_pos_encoding=True."
            )
        embeds = self.patch_embeddings(tf.cast(pixel_values, self.cls_token.dtype))
        if bool_masked_pos is not None and self.mask_token is not None:
            keep = 1.0 - tf.cast(bool_masked_pos, embeds.dtype)[..., None]
            embeds = embeds * keep + self.mask_token * (1.0 - keep)
        cls = tf.tile(tf.cast(self.cls_token, embeds.dtype), (tf.shape(embeds)[0], 1, 1))
        embeds = tf.concat([cls, embeds], axis=1)
        positions = self.interpolated_positions(height, width) if interpolate_pos_encoding else self.position_embeddings
        return self.dropout(embeds + positions, training=training)

    def interpolated_positions(self, height: int, width: int):
        """Resize the learned patch position grid (bicubic, as PyTorch computes it) for another image size."""
        positions = self.position_embeddings
        grid = int((positions.shape[1] - 1) ** 0.5)
        rows, cols = height // self.config.patch_size, width // self.config.patch_size
        if rows == grid and cols == grid:
            return positions
        patch = tf.reshape(positions[0, 1:], (grid, grid, -1))
        patch = tf.einsum("rh,hwc,sw->rsc", bicubic_matrix(grid, rows), patch, bicubic_matrix(grid, cols))
        return tf.concat([positions[:, :1], tf.reshape(patch, (1, rows * cols, -1))], axis=1)


class TFViTSelfAttention(Layer):
    def __init__(self, config: ViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        size, bias = config.hidden_size, config.qkv_bias
        self.query = dense(config, size, "query", use_bias=bias)
        self.key = dense(config, size, "key", use_bias=bias)
        self.value = dense(config, size, "value", use_bias=bias)
        self.dropout = keras.layers.Dropout(config.attention_probs_dropout_prob)

    def _heads(self, x):
        shape = tf.shape(x)
        return tf.transpose(tf.reshape(x, (shape[0], shape[1], self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def call(self, hidden, training=False):
        q, k, v = self._heads(self.query(hidden)), self._heads(self.key(hidden)), self._heads(self.value(hidden))
        scores = tf.matmul(q, k, transpose_b=True) / np.float32(np.sqrt(self.head_dim))
        probs = tf.nn.softmax(scores, axis=-1)
        context = tf.transpose(tf.matmul(self.dropout(probs, training=training), v), (0, 2, 1, 3))
        return tf.reshape(context, tf.shape(hidden)), probs


class TFViTSelfOutput(Layer):
    def __init__(self, config: ViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, hidden, training=False):
        return self.dropout(self.dense(hidden), training=training)


class TFViTAttention(Layer):
    def __init__(self, config: ViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = TFViTSelfAttention(config, name="attention")
        self.dense_output = TFViTSelfOutput(config, name="output")

    def call(self, hidden, training=False):
        context, probs = self.self_attention(hidden, training=training)
        return self.dense_output(context, training=training), probs


class TFViTIntermediate(Layer):
    def __init__(self, config: ViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.intermediate_size, "dense")
        self.activation = get_activation(config.hidden_act)

    def call(self, hidden):
        return self.activation(self.dense(hidden))


class TFViTOutput(Layer):
    def __init__(self, config: ViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.hidden_size, "dense")
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, hidden, residual, training=False):
        return self.dropout(self.dense(hidden), training=training) + residual


class TFViTLayer(Layer):
    def __init__(self, config: ViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.attention = TFViTAttention(config, name="attention")
        self.intermediate = TFViTIntermediate(config, name="intermediate")
        self.vit_output = TFViTOutput(config, name="output")
        eps = config.layer_norm_eps
        self.layernorm_before = keras.layers.LayerNormalization(epsilon=eps, name="layernorm_before")
        self.layernorm_after = keras.layers.LayerNormalization(epsilon=eps, name="layernorm_after")

    def call(self, hidden, training=False):
        attended, probs = self.attention(self.layernorm_before(hidden), training=training)
        hidden = attended + hidden
        return self.vit_output(self.intermediate(self.layernorm_after(hidden)), hidden, training=training), probs


class TFViTEncoder(Layer):
    def __init__(self, config: ViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.layer = [TFViTLayer(config, name=f"layer_._{i}") for i in range(config.num_hidden_layers)]

    def call(self, hidden, output_attentions=False, output_hidden_states=False, training=False):
        all_hidden, all_attn = (hidden,), ()
        for layer in self.layer:
            hidden, probs = layer(hidden, training=training)
            all_hidden += (hidden,)
            all_attn += (probs,)
        return hidden, all_hidden if output_hidden_states else None, all_attn if output_attentions else None


class TFViTPooler(Layer):
    def __init__(self, config: ViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense(config, config.pooler_output_size, "dense")
        self.activation = get_activation(config.pooler_act)

    def call(self, hidden):
        return self.activation(self.dense(hidden[:, 0]))


class TFViTMainLayer(Layer):
    def __init__(self, config: ViTConfig, add_pooling_layer: bool = True, use_mask_token: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = TFViTEmbeddings(config, use_mask_token, name="embeddings")
        self.encoder = TFViTEncoder(config, name="encoder")
        self.layernorm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm")
        self.pooler = TFViTPooler(config, name="pooler") if add_pooling_layer else None

    def call(self, pixel_values, bool_masked_pos=None, output_attentions=False, output_hidden_states=False,
             interpolate_pos_encoding=False, training=False):  # fmt: skip
        if pixel_values is None:
            raise ValueError("ViT needs pixel_values.")
        hidden = self.embeddings(pixel_values, bool_masked_pos=bool_masked_pos,
                                 interpolate_pos_encoding=interpolate_pos_encoding, training=training)  # fmt: skip
        hidden, all_hidden, all_attn = self.encoder(hidden, output_attentions=output_attentions,
                                                    output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        hidden = self.layernorm(hidden)
        pooled = self.pooler(hidden) if self.pooler is not None else None
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled,
                                              hidden_states=all_hidden, attentions=all_attn)  # fmt: skip


class TFViTPreTrainedModel(TFVisionPreTrainedModel):
    config_class = ViTConfig
    base_model_prefix = "vit"

    def _encode(self, pixel_values, kwargs, training, bool_masked_pos=None):
        return self.vit(pixel_values, bool_masked_pos=bool_masked_pos,
                        output_attentions=kwargs.get("output_attentions", False),
                        output_hidden_states=kwargs.get("output_hidden_states", False),
                        interpolate_pos_encoding=kwargs.get("interpolate_pos_encoding", False),
                        training=training)  # fmt: skip


class TFViTModel(TFViTPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, add_pooling_layer: bool = True, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.vit = TFViTMainLayer(config, add_pooling_layer=add_pooling_layer, name="vit")

    def call(self, pixel_values=None, training=False, return_dict=True, **kwargs):
        return out.finish(self._encode(pixel_values, kwargs, training, kwargs.get("bool_masked_pos")), return_dict)


class TFViTForImageClassification(TFViTPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.vit = TFViTMainLayer(config, add_pooling_layer=False, name="vit")
        self.classifier = dense(config, config.num_labels, "classifier") if config.num_labels else None

    def call(self, pixel_values=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(pixel_values, kwargs, training)
        logits = encoded.last_hidden_state[:, 0]
        if self.classifier is not None:
            logits = self.classifier(logits)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        return out.finish(out.ImageClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states,
                                                      attentions=encoded.attentions), return_dict)  # fmt: skip


class TFMaskedImageDecoder(Layer):
    """A 1x1 conv to stride**2 * channels, then a pixel shuffle: variables `decoder/0/{kernel,bias}`."""

    def __init__(self, config, in_channels_out: int, stride: int, **kwargs):
        super().__init__(**kwargs)
        self.stride = stride
        self.conv = conv(config, in_channels_out, 1, "0")

    def call(self, feature_map_nchw):
        return to_nchw(pixel_shuffle_nhwc(self.conv(to_nhwc(feature_map_nchw)), self.stride))


class TFViTForMaskedImageModeling(TFViTPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.vit = TFViTMainLayer(config, add_pooling_layer=False, use_mask_token=True, name="vit")
        stride = config.encoder_stride
        self.decoder = TFMaskedImageDecoder(config, stride**2 * config.num_channels, stride, name="decoder")

    def dummy_inputs(self) -> dict:
        inputs = super().dummy_inputs()
        patches = (self.config.image_size // self.config.patch_size) ** 2
        inputs["bool_masked_pos"] = np.zeros((1, patches), bool)
        return inputs

    def call(self, pixel_values=None, bool_masked_pos=None, training=False, return_dict=True, **kwargs):
        encoded = self._encode(pixel_values, kwargs, training, bool_masked_pos)
        patches = encoded.last_hidden_state[:, 1:]
        side = int(patches.shape[1] ** 0.5)
        grid = tf.reshape(tf.transpose(patches, (0, 2, 1)), (-1, patches.shape[-1], side, side))
        reconstruction = self.decoder(grid)
        loss = None
        if bool_masked_pos is not None:
            config = self.config
            loss = masked_reconstruction_loss(pixel_values, reconstruction, bool_masked_pos, config.image_size,
                                              config.patch_size, config.num_channels)  # fmt: skip
        return out.finish(out.MaskedImageModelingOutput(loss=loss, reconstruction=reconstruction,
                            hidden_states=encoded.hidden_states, attentions=encoded.attentions), return_dict)  # fmt: skip


class DropPath(keras.layers.Layer):
    """Stochastic depth: drop whole residual branches per sample while training; identity otherwise."""

    def __init__(self, rate: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)

    def call(self, x, training=False):
        if self.rate == 0.0 or not training:
            return x
        keep = 1.0 - self.rate
        shape = tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], axis=0)
        mask = tf.floor(keep + tf.random.uniform(shape, dtype=x.dtype))
        return x * mask / keep
