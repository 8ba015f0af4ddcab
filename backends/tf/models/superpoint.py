"""SuperPoint in TensorFlow (Keras 3; transformers never had a TF SuperPoint, so the layer names mirror the PyTorch
checkpoint names; see autoload/backends/torch/models/superpoint.py). The convolutions run here; picking the
keypoints (NMS, threshold, border, top-k) and sampling their descriptors depend on the values and run eagerly in
numpy (autoload/superpoint.py), so the model is called eagerly, not inside a traced function."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.superpoint import CELL, SuperPointConfig
from autoload.superpoint import keypoint_outputs

from ..blocks.vision import TFVisionPreTrainedModel, channels_last, conv, to_nchw, to_nhwc
from ..modeling import Layer


def conv3x3(config, features: int, name: str):
    return conv(config, features, 3, name, padding="same")


class TFSuperPointConvBlock(Layer):
    def __init__(self, config, in_channels: int, out_channels: int, add_pooling: bool, **kwargs):
        super().__init__(**kwargs)
        self.conv_a = conv3x3(config, out_channels, "conv_a")
        self.conv_b = conv3x3(config, out_channels, "conv_b")
        self.add_pooling, self.in_channels = add_pooling, in_channels

    def input_sizes(self):
        return {self.conv_a: channels_last(self.in_channels), self.conv_b: channels_last(self.conv_a.filters)}

    def call(self, x):
        x = tf.nn.relu(self.conv_b(tf.nn.relu(self.conv_a(x))))
        return keras.ops.max_pool(x, 2, 2) if self.add_pooling else x


class TFSuperPointEncoder(Layer):
    def __init__(self, config: SuperPointConfig, **kwargs):
        super().__init__(**kwargs)
        sizes = config.encoder_hidden_sizes
        inputs = [1, *sizes[:-1]]  # the grey image, then the previous block's maps
        self.conv_blocks = [TFSuperPointConvBlock(config, inputs[i], size, i < len(sizes) - 1, name=f"conv_blocks.{i}")
                            for i, size in enumerate(sizes)]  # fmt: skip

    def input_sizes(self):
        return dict.fromkeys(self.conv_blocks)

    def call(self, x):
        states = ()
        for block in self.conv_blocks:
            x = block(x)
            states += (x,)
        return x, states


class TFSuperPointInterestPointDecoder(Layer):
    """conv_score_a -> ReLU -> conv_score_b -> softmax over the 65 classes; the 64 pixel classes laid out as each
    cell's pixels: [batch, height, width] scores."""

    def __init__(self, config: SuperPointConfig, **kwargs):
        super().__init__(**kwargs)
        self.conv_score_a = conv3x3(config, config.decoder_hidden_size, "conv_score_a")
        self.conv_score_b = conv(config, config.keypoint_decoder_dim, 1, "conv_score_b")
        self.input_width = config.encoder_hidden_sizes[-1]

    def input_sizes(self):
        return {self.conv_score_a: channels_last(self.input_width),
                self.conv_score_b: channels_last(self.conv_score_a.filters)}  # fmt: skip

    def call(self, encoded):
        scores = tf.nn.softmax(self.conv_score_b(tf.nn.relu(self.conv_score_a(encoded))), axis=-1)[..., :-1]
        height, width = scores.shape[1:3]
        scores = tf.reshape(scores, (-1, height, width, CELL, CELL))
        return tf.reshape(tf.transpose(scores, (0, 1, 3, 2, 4)), (-1, height * CELL, width * CELL))


class TFSuperPointDescriptorDecoder(Layer):
    def __init__(self, config: SuperPointConfig, **kwargs):
        super().__init__(**kwargs)
        self.conv_descriptor_a = conv3x3(config, config.decoder_hidden_size, "conv_descriptor_a")
        self.conv_descriptor_b = conv(config, config.descriptor_decoder_dim, 1, "conv_descriptor_b")
        self.input_width = config.encoder_hidden_sizes[-1]

    def input_sizes(self):
        return {self.conv_descriptor_a: channels_last(self.input_width),
                self.conv_descriptor_b: channels_last(self.conv_descriptor_a.filters)}  # fmt: skip

    def call(self, encoded):
        maps = self.conv_descriptor_b(tf.nn.relu(self.conv_descriptor_a(encoded)))
        return maps / tf.maximum(tf.norm(maps, axis=-1, keepdims=True), 1e-12)


class TFSuperPointPreTrainedModel(TFVisionPreTrainedModel):
    config_class = SuperPointConfig
    base_model_prefix = "superpoint"

    def dummy_inputs(self) -> dict:
        return {"pixel_values": np.zeros((1, 1, 2 * CELL, 2 * CELL), np.float32)}


class TFSuperPointForKeypointDetection(TFSuperPointPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        config.check_sizes()
        self.encoder = TFSuperPointEncoder(config, name="encoder")
        self.keypoint_decoder = TFSuperPointInterestPointDecoder(config, name="keypoint_decoder")
        self.descriptor_decoder = TFSuperPointDescriptorDecoder(config, name="descriptor_decoder")

    def input_sizes(self):
        return {self.encoder: None, self.keypoint_decoder: None, self.descriptor_decoder: None}

    def call(self, pixel_values=None, labels=None, output_hidden_states=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        if labels is not None:
            raise ValueError("SuperPoint does not support training for now.")
        if pixel_values is None or len(pixel_values.shape) != 4:
            raise ValueError("pixel_values must have shape [batch, channels, height, width] (channel 0 is read).")
        grey = to_nhwc(tf.convert_to_tensor(pixel_values)[:, :1])  # the processor repeats the grey image thrice
        height, width = grey.shape[1:3]
        encoded, states = self.encoder(grey)
        scores = self.keypoint_decoder(encoded)
        maps = self.descriptor_decoder(encoded)
        if not tf.executing_eagerly():
            raise RuntimeError(
                "TFSuperPointForKeypointDetection picks its keypoints eagerly (their number depends on the values); "
                "call it outside tf.function."
            )
        keypoints, scores, descriptors, mask = keypoint_outputs(scores.numpy(), maps.numpy(), self.config, height, width)
        result = out.SuperPointKeypointDescriptionOutput(
            keypoints=tf.constant(keypoints), scores=tf.constant(scores), descriptors=tf.constant(descriptors),
            mask=tf.constant(mask), hidden_states=tuple(to_nchw(s) for s in states) if output_hidden_states else None,
        )  # fmt: skip
        return out.finish(result, return_dict)
