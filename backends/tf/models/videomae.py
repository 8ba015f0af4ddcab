"""VideoMAE in TensorFlow (Keras 3; transformers never had a TF VideoMAE, so the layer names mirror the PyTorch
checkpoint names; see autoload/backends/torch/models/videomae.py for what each class does). Videos come in as
[batch, frames, channels, height, width]."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.videomae import IMAGENET_MEAN, IMAGENET_STD, VideoMAEConfig, sinusoid_table

from .. import keras_layers
from ..blocks.vision import (
    TFVisionBaseModel,
    TFViTAttention,
    TFViTEncoder,
    TFViTLayer,
    TFViTSelfAttention,
    attend,
    channels_last,
    merge_heads,
    split_heads,
)
from ..heads import TFImageClassificationModel, TFTaskModel
from ..modeling import Layer, TFPreTrainedModel, dense, weights_init


class TFVideoMAESelfAttention(TFViTSelfAttention):
    """query / key / value without biases of their own; with qkv_bias, `q_bias` and `v_bias` (the key has none)."""

    def __init__(self, config, window=None, **kwargs):
        super().__init__(config, None, **kwargs)
        self.size, self.with_bias = config.hidden_size, bool(config.qkv_bias)
        self.q_bias = self.v_bias = None

    def build(self, input_shape=None):
        if self.with_bias:
            self.q_bias = self.add_weight(name="q_bias", shape=(self.size,), initializer="zeros")
            self.v_bias = self.add_weight(name="v_bias", shape=(self.size,), initializer="zeros")
        super().build(input_shape)

    def call(self, hidden, bias=None, head_mask=None, grid=None, interpolate_pos_encoding=False, training=False):
        q, k, v = self.query(hidden), self.key(hidden), self.value(hidden)
        if self.q_bias is not None:
            q, v = q + self.q_bias, v + self.v_bias
        q, k, v = (split_heads(x, self.heads) for x in (q, k, v))
        context, probs = attend(q, k, v, None, head_mask, self.dropout, training)
        return merge_heads(context), probs


class TFVideoMAEAttention(TFViTAttention):
    self_attention_class = TFVideoMAESelfAttention


class TFVideoMAELayer(TFViTLayer):
    attention_class = TFVideoMAEAttention


class TFVideoMAEEncoder(TFViTEncoder):
    layer_class = TFVideoMAELayer


def check_video(pixel_values, config: VideoMAEConfig) -> None:
    shape = None if pixel_values is None else tuple(pixel_values.shape)
    if shape is None or len(shape) != 5:
        raise ValueError(f"pixel_values must be a video batch [batch, frames, channels, height, width]; got {shape}.")
    _, frames, channels, height, width = shape
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


class TFVideoMAEPatchEmbeddings(Layer):
    """Non-overlapping tubelets projected by a 3-D convolution (`projection`, kernel [t, p, p, in, out])."""

    def __init__(self, config: VideoMAEConfig, **kwargs):
        super().__init__(**kwargs)
        kernel = (int(config.tubelet_size), config.patch_size, config.patch_size)
        self.projection = keras_layers.Conv3D(config.hidden_size, kernel, strides=kernel, name="projection",
                                              kernel_initializer=weights_init(config))  # fmt: skip
        self.num_channels = config.num_channels

    def input_sizes(self):  # frames, height, width: any
        return {self.projection: channels_last(self.num_channels, (None, None, None))}

    def call(self, pixel_values):
        x = self.projection(tf.transpose(pixel_values, (0, 1, 3, 4, 2)))
        shape = tf.shape(x)
        return tf.reshape(x, (shape[0], shape[1] * shape[2] * shape[3], x.shape[-1]))


def drop_masked(tokens, bool_masked_pos):
    """The tokens where bool_masked_pos is False, [batch, visible, channels] (every row hides as many)."""
    mask = tf.cast(bool_masked_pos, tf.bool)
    return tf.reshape(tf.boolean_mask(tokens, ~mask), (tf.shape(tokens)[0], -1, tokens.shape[-1]))


def keep_masked(tokens, bool_masked_pos):
    mask = tf.cast(bool_masked_pos, tf.bool)
    return tf.reshape(tf.boolean_mask(tokens, mask), (tf.shape(tokens)[0], -1, tokens.shape[-1]))


class TFVideoMAEEmbeddings(Layer):
    def __init__(self, config: VideoMAEConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.patch_embeddings = TFVideoMAEPatchEmbeddings(config, name="patch_embeddings")
        self.position_embeddings = tf.constant(sinusoid_table(config.num_patches, config.hidden_size))

    def input_sizes(self):
        return {self.patch_embeddings: None}

    def call(self, pixel_values, bool_masked_pos=None):
        check_video(pixel_values, self.config)
        embeds = self.patch_embeddings(pixel_values)
        embeds = embeds + tf.cast(self.position_embeddings, embeds.dtype)
        return embeds if bool_masked_pos is None else drop_masked(embeds, bool_masked_pos)


class TFVideoMAEMainLayer(Layer):
    def __init__(self, config: VideoMAEConfig, **kwargs):
        super().__init__(**kwargs)
        config.videomae_options()
        self.embeddings = TFVideoMAEEmbeddings(config, name="embeddings")
        self.encoder = TFVideoMAEEncoder(config, name="encoder")
        self.layernorm = (None if config.use_mean_pooling
                          else keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm"))  # fmt: skip
        self.hidden_size = config.hidden_size

    @property
    def output_width(self) -> int:
        return self.hidden_size

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.layernorm: self.hidden_size}

    def call(self, pixel_values=None, bool_masked_pos=None, head_mask=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        hidden = self.embeddings(pixel_values, bool_masked_pos=bool_masked_pos)
        hidden, states, attentions = self.encoder(hidden, head_mask=head_mask, output_attentions=output_attentions,
                                                  output_hidden_states=output_hidden_states, training=training)  # fmt: skip
        if self.layernorm is not None:
            hidden = self.layernorm(hidden)
        return out.BaseModelOutput(last_hidden_state=hidden, hidden_states=states, attentions=attentions)


class TFVideoMAEPreTrainedModel(TFPreTrainedModel):
    config_class = VideoMAEConfig
    base_model_prefix = "videomae"
    main_input_name = "pixel_values"
    main_layer_class = TFVideoMAEMainLayer

    def dummy_inputs(self) -> dict:
        c = self.config
        size = c.image_size if isinstance(c.image_size, (list, tuple)) else (c.image_size,) * 2
        return {"pixel_values": np.zeros((1, c.num_frames, c.num_channels, *size), np.float32)}


class TFVideoMAEModel(TFVisionBaseModel, TFVideoMAEPreTrainedModel):
    pass


class TFVideoMAEForVideoClassification(TFImageClassificationModel, TFVideoMAEPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.fc_norm = keras_layers.LayerNormalization(epsilon=1e-5, name="fc_norm") if config.use_mean_pooling else None

    def input_sizes(self):
        return {**super().input_sizes(), self.fc_norm: self.main_layer.output_width}

    def pool(self, encoded, input_ids=None, mask=None):
        hidden = encoded.last_hidden_state
        return self.fc_norm(tf.reduce_mean(hidden, axis=1)) if self.fc_norm is not None else hidden[:, 0]


class TFVideoMAEDecoder(Layer):
    def __init__(self, config: VideoMAEConfig, **kwargs):
        super().__init__(**kwargs)
        decoder = config.decoder_config()
        self.decoder_layers = [TFVideoMAELayer(decoder, i, name=f"decoder_layers.{i}")
                               for i in range(decoder.num_hidden_layers)]  # fmt: skip
        self.norm = keras_layers.LayerNormalization(epsilon=1e-5, name="norm")
        outputs = config.videomae_options()["decoder_outputs"]
        self.head = dense(config, outputs, "head") if outputs > 0 else None
        self.input_width = decoder.hidden_size

    def input_sizes(self):
        return {**dict.fromkeys(self.decoder_layers), self.norm: self.input_width, self.head: self.input_width}

    def call(self, hidden, return_token_num: int = 0, training=False):
        for layer in self.decoder_layers:
            hidden, _ = layer(hidden, training=training)
        if return_token_num > 0:
            hidden = hidden[:, -return_token_num:]
        hidden = self.norm(hidden)
        return hidden if self.head is None else self.head(hidden)


def tubelet_pixels(pixel_values, config: VideoMAEConfig):
    """The reconstruction target per tubelet (see the PyTorch function)."""
    frames = tf.convert_to_tensor(pixel_values, tf.float32)
    if config.num_channels == 3:
        mean = tf.constant(IMAGENET_MEAN, frames.dtype)[None, None, :, None, None]
        std = tf.constant(IMAGENET_STD, frames.dtype)[None, None, :, None, None]
        frames = frames * std + mean
    elif not config.norm_pix_loss:
        raise ValueError("Can't unnormalize non-RGB images. Consider setting config.norm_pix_loss to False.")
    batch, time, channels, height, width = frames.shape
    t, p = int(config.tubelet_size), config.patch_size
    frames = tf.reshape(frames, (-1, time // t, t, channels, height // p, p, width // p, p))
    frames = tf.reshape(tf.transpose(frames, (0, 1, 4, 6, 2, 5, 7, 3)), (-1, config.num_patches, t * p * p, channels))
    if config.norm_pix_loss:
        count = t * p * p
        mean = tf.reduce_mean(frames, axis=-2, keepdims=True)
        var = tf.reduce_sum(tf.square(frames - mean), axis=-2, keepdims=True) / (count - 1)
        frames = (frames - mean) / (tf.sqrt(var) + 1e-6)
    return tf.reshape(frames, (-1, config.num_patches, t * p * p * channels))


class TFVideoMAEForPreTraining(TFTaskModel, TFVideoMAEPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.encoder_to_decoder = dense(config, config.decoder_hidden_size, "encoder_to_decoder", use_bias=False)
        self.positions = tf.constant(sinusoid_table(config.num_patches, config.decoder_hidden_size))
        self.decoder = TFVideoMAEDecoder(config, name="decoder")
        self.mask_token = None

    def input_sizes(self):
        return {**super().input_sizes(), self.encoder_to_decoder: self.main_layer.output_width}

    def build(self, input_shape=None):
        if self.mask_token is None:
            self.mask_token = self.add_weight(name="mask_token", shape=(1, 1, self.config.decoder_hidden_size),
                                              initializer="zeros")  # fmt: skip
        super().build(input_shape)

    def dummy_inputs(self) -> dict:
        inputs = TFVideoMAEPreTrainedModel.dummy_inputs(self)
        mask = np.zeros((1, self.config.num_patches), bool)
        mask[:, -1] = True
        return {**inputs, "bool_masked_pos": mask}

    def call(self, pixel_values=None, bool_masked_pos=None, head_mask=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        if bool_masked_pos is None:
            raise ValueError("One must provided a boolean mask ")
        mask = tf.cast(bool_masked_pos, tf.bool)
        encoded = self.encode(pixel_values, training, bool_masked_pos=mask, head_mask=head_mask, **kwargs)
        visible = self.encoder_to_decoder(encoded.last_hidden_state)
        positions = tf.broadcast_to(tf.cast(self.positions, visible.dtype),
                                    (tf.shape(visible)[0], *self.positions.shape[1:]))  # fmt: skip
        masked_positions = keep_masked(positions, mask)
        tokens = tf.concat([visible + drop_masked(positions, mask), self.mask_token + masked_positions], axis=1)
        logits = self.decoder(tokens, return_token_num=masked_positions.shape[1], training=training)
        labels = keep_masked(tf.stop_gradient(tubelet_pixels(pixel_values, self.config)), mask)
        loss = tf.reduce_mean(tf.square(logits - labels))
        result = out.from_encoded(out.VideoMAEForPreTrainingOutput, encoded, loss=loss, logits=logits)
        return out.finish(result, return_dict)
