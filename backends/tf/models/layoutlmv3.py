"""LayoutLMv3 in TensorFlow (Keras 3), named like transformers' TF LayoutLMv3 (`layoutlmv3/encoder/layer.0/…`,
`layoutlmv3/embeddings/x_position_embeddings/embeddings`, `layoutlmv3/cls_token`) so tf_model.h5 files
interchange; mirrors the PyTorch classes."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.layoutlmv3 import (
    LayoutLMv3Config,
    patch_boxes,
    relative_bucket_table,
    token_head_is_projection,
)

from .. import keras_layers
from ..blocks.encoder import TFLayer, padding_bias, positions_after_padding, run_layers
from ..blocks.vision import channels_last, conv, to_nhwc
from ..heads import (
    TFBaseModel,
    TFClassificationHead,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTokenClassificationModel,
)
from ..losses import token_loss
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


class TFLayoutLMv3TextEmbeddings(Layer):
    def __init__(self, config: LayoutLMv3Config, **kwargs):
        super().__init__(**kwargs)
        self.config, self.options = config, config.encoder_options()
        init, width, rows = weights_init(config), config.hidden_size, config.max_2d_position_embeddings

        def table(shape, name):
            return NamedWeight(shape, "embeddings", init, name=name)

        self.word_embeddings = table((config.vocab_size, width), "word_embeddings")
        self.token_type_embeddings = table((config.type_vocab_size, width), "token_type_embeddings")
        self.position_embeddings = table((config.max_position_embeddings, width), "position_embeddings")
        self.x_position_embeddings = table((rows, config.coordinate_size), "x_position_embeddings")
        self.y_position_embeddings = table((rows, config.coordinate_size), "y_position_embeddings")
        self.h_position_embeddings = table((rows, config.shape_size), "h_position_embeddings")
        self.w_position_embeddings = table((rows, config.shape_size), "w_position_embeddings")
        self.LayerNorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
        self.dropout = Dropout(config.hidden_dropout_prob)

    def input_sizes(self):  # the sum the LayerNorm takes is hidden_size wide (the box parts concatenated too)
        tables = [self.word_embeddings, self.token_type_embeddings, self.position_embeddings,
                  self.x_position_embeddings, self.y_position_embeddings, self.h_position_embeddings,
                  self.w_position_embeddings]  # fmt: skip
        return {**dict.fromkeys(tables), self.LayerNorm: self.config.hidden_size}

    def box_embeddings(self, bbox):
        if tf.executing_eagerly() and (int(tf.reduce_max(bbox)) >= self.config.max_2d_position_embeddings
                                       or int(tf.reduce_min(bbox)) < 0):  # fmt: skip
            raise IndexError("The `bbox` coordinate values should be within 0-1000 range.")
        x0, y0, x1, y1 = (bbox[..., i] for i in range(4))
        height, width = tf.clip_by_value(y1 - y0, 0, 1023), tf.clip_by_value(x1 - x0, 0, 1023)
        return tf.concat([self.x_position_embeddings(x0), self.y_position_embeddings(y0), self.x_position_embeddings(x1),
                          self.y_position_embeddings(y1), self.h_position_embeddings(height),
                          self.w_position_embeddings(width)], axis=-1)  # fmt: skip

    def call(self, input_ids=None, bbox=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
             training=False):  # fmt: skip
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else tf.convert_to_tensor(inputs_embeds)
        if inputs_embeds is not None and not self.word_embeddings.built:
            self.word_embeddings.build()
        shape = tf.shape(embeds)
        if token_type_ids is None:
            token_type_ids = tf.zeros(shape[:2], tf.int32)
        embeds = embeds + self.token_type_embeddings(token_type_ids)
        if position_ids is None:
            padding = self.config.pad_token_id
            position_ids = positions_after_padding(input_ids, padding) if input_ids is not None else \
                tf.range(padding + 1, shape[1] + padding + 1)[None]  # fmt: skip
        embeds = embeds + self.position_embeddings(position_ids) + self.box_embeddings(tf.cast(bbox, tf.int32))
        return self.dropout(self.LayerNorm(embeds), training=training)


class TFBucketBias(Layer):
    """A bias-free projection of one-hot distance buckets to one score per head, applied as a table lookup
    (transformers' rel_pos_bias Dense: `kernel` [bins, heads])."""

    def __init__(self, config, bins: int, max_distance: int, **kwargs):
        super().__init__(**kwargs)
        self.config, self.bins, self.table = config, bins, relative_bucket_table(bins, max_distance)

    def build(self, input_shape=None):
        self.kernel = self.add_weight(name="kernel", shape=(self.bins, self.config.num_attention_heads),
                                      initializer=weights_init(self.config))  # fmt: skip
        self.built = True

    def call(self, distance):
        """[batch, q, k] signed distances (key minus query) -> [batch, heads, q, k]."""
        table = tf.constant(self.table)
        bucket = tf.cast(distance > 0, tf.int32) * (self.bins // 2) + tf.gather(
            table, tf.minimum(tf.abs(distance), len(self.table) - 1))  # fmt: skip
        return tf.transpose(tf.gather(self.kernel, bucket), (0, 3, 1, 2))


class TFLayoutLMv3Encoder(Layer):
    def __init__(self, config: LayoutLMv3Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        options = config.encoder_options()
        self.layer = [TFLayer(options, name=f"layer.{i}") for i in range(config.num_hidden_layers)]
        if config.has_relative_attention_bias:
            self.rel_pos_bias = TFBucketBias(config, config.rel_pos_bins, config.max_rel_pos, name="rel_pos_bias")
        if config.has_spatial_attention_bias:
            self.rel_pos_x_bias = TFBucketBias(config, config.rel_2d_pos_bins, config.max_rel_2d_pos,
                                               name="rel_pos_x_bias")  # fmt: skip
            self.rel_pos_y_bias = TFBucketBias(config, config.rel_2d_pos_bins, config.max_rel_2d_pos,
                                               name="rel_pos_y_bias")  # fmt: skip

    def input_sizes(self):  # every bias table the config has (the call builds the unused ones too)
        tables = [getattr(self, name, None) for name in ("rel_pos_bias", "rel_pos_x_bias", "rel_pos_y_bias")]
        return {**dict.fromkeys(self.layer), **dict.fromkeys(tables)}

    def position_bias(self, position_ids, bbox):
        config = self.config
        one_d, two_d = config.attention_bias_kinds
        if config.has_spatial_attention_bias and not two_d:  # the checkpoint's tables exist all the same
            x = bbox[..., 0]
            self.rel_pos_x_bias(x[:, None, :] - x[:, :, None])
            self.rel_pos_y_bias(x[:, None, :] - x[:, :, None])
        if config.has_relative_attention_bias and not one_d:
            self.rel_pos_bias(position_ids[:, None, :] - position_ids[:, :, None])
        if not one_d:
            return None
        bias = self.rel_pos_bias(position_ids[:, None, :] - position_ids[:, :, None])
        if two_d:
            x, y = bbox[..., 0], bbox[..., 3]
            bias = bias + (self.rel_pos_x_bias(x[:, None, :] - x[:, :, None])
                           + self.rel_pos_y_bias(y[:, None, :] - y[:, :, None]))  # fmt: skip
        return bias / np.float32(math.sqrt(config.hidden_size // config.num_attention_heads))

    def call(self, hidden, bias=None, position_ids=None, bbox=None, output_attentions=False,
             output_hidden_states=False, head_mask=None, training=False):  # fmt: skip
        # The bias tables are built here, inside the encoder's scope, so their paths are encoder/rel_pos_bias/….
        position_bias = self.position_bias(position_ids, bbox)
        return run_layers(self.layer, hidden, bias, output_attentions, output_hidden_states, head_mask, training,
                          position_bias=position_bias)  # fmt: skip


class TFLayoutLMv3PatchEmbeddings(Layer):
    def __init__(self, config: LayoutLMv3Config, **kwargs):
        super().__init__(**kwargs)
        self.proj = conv(config, config.hidden_size, config.patch_size, "proj", strides=config.patch_size)
        self.image_shape = (config.input_size, config.input_size, config.num_channels)

    def input_sizes(self):
        return {self.proj: channels_last(self.image_shape[-1], self.image_shape[:2])}

    def call(self, pixel_values):
        patches = self.proj(to_nhwc(tf.convert_to_tensor(pixel_values, tf.float32)))
        shape = tf.shape(patches)
        return tf.reshape(patches, (shape[0], shape[1] * shape[2], patches.shape[-1]))


class TFLayoutLMv3MainLayer(Layer):
    def __init__(self, config: LayoutLMv3Config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embeddings = TFLayoutLMv3TextEmbeddings(config, name="embeddings")
        if config.visual_embed:
            self.patch_embed = TFLayoutLMv3PatchEmbeddings(config, name="patch_embed")
            self.LayerNorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
            self.dropout = Dropout(config.hidden_dropout_prob)
            self.norm = keras_layers.LayerNormalization(epsilon=1e-6, name="norm")
        self.encoder = TFLayoutLMv3Encoder(config, name="encoder")

    @property
    def output_width(self) -> int:
        return self.config.hidden_size

    def input_sizes(self):
        sizes = {self.embeddings: None, self.encoder: None}
        if self.config.visual_embed:
            sizes.update({self.patch_embed: None, self.LayerNorm: self.config.hidden_size,
                          self.norm: self.config.hidden_size})  # fmt: skip
        return sizes

    def build(self, input_shape=None):
        if self.config.visual_embed:
            width = self.config.hidden_size
            self.cls_token = self.add_weight(name="cls_token", shape=(1, 1, width), initializer="zeros")
            self.pos_embed = self.add_weight(name="pos_embed", shape=(1, self.config.patches_per_side**2 + 1, width),
                                             initializer="zeros")  # fmt: skip
        super().build(input_shape)

    def embed_image(self, pixel_values):
        config = self.config
        if not config.visual_embed:
            raise ValueError("pixel_values were given but the config has visual_embed=False.")
        patches = self.patch_embed(pixel_values)
        if patches.shape[1] is not None and patches.shape[1] != config.patches_per_side**2:
            raise ValueError(f"LayoutLMv3 takes {config.input_size}x{config.input_size} images (config.input_size); "
                             f"got {tuple(pixel_values.shape[2:])}.")  # fmt: skip
        cls = tf.tile(self.cls_token, (tf.shape(patches)[0], 1, 1))
        return self.norm(tf.concat([cls, patches], axis=1) + self.pos_embed)

    def call(self, input_ids=None, bbox=None, attention_mask=None, token_type_ids=None, position_ids=None,
             head_mask=None, inputs_embeds=None, pixel_values=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        text = input_ids if input_ids is not None else inputs_embeds
        if text is None and pixel_values is None:
            raise ValueError("You have to specify either input_ids or inputs_embeds or pixel_values")
        parts, masks, positions, boxes = [], [], [], []
        if text is not None:
            shape = tf.shape(text)
            batch, length = shape[0], shape[1]
            if attention_mask is None:
                attention_mask = tf.ones((batch, length), tf.int32)
            bbox = tf.zeros((batch, length, 4), tf.int32) if bbox is None else tf.cast(bbox, tf.int32)
            parts.append(self.embeddings(input_ids, bbox, token_type_ids, position_ids, inputs_embeds,
                                         training=training))  # fmt: skip
            masks.append(tf.cast(attention_mask, tf.float32))
            positions.append(tf.tile(tf.range(length)[None], (batch, 1)))
            boxes.append(bbox)
        if pixel_values is not None:
            image = self.embed_image(pixel_values)
            batch, count = tf.shape(image)[0], tf.shape(image)[1]
            parts.append(image)
            masks.append(tf.ones((batch, count)))
            positions.append(tf.tile(tf.range(count)[None], (batch, 1)))
            boxes.append(tf.tile(tf.constant(patch_boxes(self.config.patches_per_side))[None], (batch, 1, 1)))
        hidden = tf.concat(parts, axis=1)
        if pixel_values is not None:
            hidden = self.dropout(self.LayerNorm(hidden), training=training)
        bias = padding_bias(tf.concat(masks, axis=1), hidden.dtype)
        encoded = self.encoder(hidden, bias=bias, position_ids=tf.concat(positions, axis=1), bbox=tf.concat(boxes, axis=1),
                               output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, head_mask=head_mask, training=training)
        return out.BaseModelOutput(last_hidden_state=encoded.last_hidden_state, hidden_states=encoded.hidden_states,
                                   attentions=encoded.attentions)  # fmt: skip


class TFLayoutLMv3PreTrainedModel(TFPreTrainedModel):
    config_class = LayoutLMv3Config
    base_model_prefix = "layoutlmv3"
    main_layer_class = TFLayoutLMv3MainLayer
    _keys_to_ignore_on_load_unexpected = [r"position_ids$"]

    def dummy_inputs(self) -> dict:
        size, inputs = self.config.input_size, {"input_ids": np.full((1, 2), 3, np.int32),
                                                "bbox": np.zeros((1, 2, 4), np.int32)}  # fmt: skip
        if self.config.visual_embed:
            inputs["pixel_values"] = np.zeros((1, self.config.num_channels, size, size), np.float32)
        return inputs


class TFLayoutLMv3Model(TFBaseModel, TFLayoutLMv3PreTrainedModel):
    pass


class TFLayoutLMv3ForSequenceClassification(TFSequenceClassificationModel, TFLayoutLMv3PreTrainedModel):
    pass


class TFLayoutLMv3ForQuestionAnswering(TFQuestionAnsweringModel, TFLayoutLMv3PreTrainedModel):
    pass


class TFLayoutLMv3ForTokenClassification(TFTokenClassificationModel, TFLayoutLMv3PreTrainedModel):
    """Scores for the text positions only (the image patches follow them in the sequence)."""

    def add_output_layer(self, out_features: int) -> None:
        config = self.config
        if token_head_is_projection(config):
            rate = config.hidden_dropout_prob if config.classifier_dropout is None else config.classifier_dropout
            self.classifier = TFClassificationHead(config, out_features, "tanh", rate, input_width=self.pooled_width(),
                                                   name="classifier")  # fmt: skip
        else:
            self.classifier = dense(config, out_features, "classifier")

    def output_layer(self, features, training=False):
        features = self.dropout(features, training=training)
        if token_head_is_projection(self.config):
            return self.classifier(features, training=training)
        return self.classifier(features)

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        text = input_ids if input_ids is not None else kwargs["inputs_embeds"]
        logits = self.output_layer(encoded.last_hidden_state[:, : tf.shape(text)[1]], training)
        loss = token_loss(logits, labels) if labels is not None else None
        return out.finish(out.from_encoded(out.TokenClassifierOutput, encoded, loss=loss, logits=logits), return_dict)
