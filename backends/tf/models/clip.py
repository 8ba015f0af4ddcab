"""CLIP in TensorFlow (Keras 3), named like transformers' TF CLIP: a causal text transformer and a ViT image
encoder (CLIP-style pre-norm layers) projected into one space."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.clip import CLIPConfig

from .. import keras_layers
from ..attention import causal_bias
from ..blocks.vision import (
    TFCLIPEncoder,
    TFCLIPTextEmbeddings,
    TFVisionPreTrainedModel,
    channels_last,
    check_pixel_values,
    resize_grid,
    to_nhwc,
)
from ..heads import TFImageClassificationModel
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


def layer_norm(config, name: str):
    return keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name)


class TFCLIPTextTransformer(Layer):
    """Takes the text config, or a CLIPConfig (then its text part)."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        text = getattr(config, "text_config", config)
        self.eos_token_id = text.eos_token_id
        self.pools_largest_id = text.pools_largest_id
        self.embeddings = TFCLIPTextEmbeddings(text, name="embeddings")
        self.encoder = TFCLIPEncoder(text, name="encoder")
        self.final_layer_norm = layer_norm(text, "final_layer_norm")
        self.output_width = text.hidden_size

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.final_layer_norm: self.output_width}

    def call(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        if input_ids is None:
            raise ValueError("You have to specify input_ids.")
        hidden = self.embeddings(input_ids, position_ids=position_ids)
        bias = causal_bias(tf.shape(input_ids)[-1], 0, attention_mask, hidden.dtype)
        hidden, states, attentions = self.encoder(hidden, bias=bias, output_attentions=output_attentions,
                                                  training=training)  # fmt: skip
        hidden = self.final_layer_norm(hidden)
        if self.pools_largest_id:
            ends = tf.argmax(input_ids, axis=-1, output_type=tf.int32)
        else:
            ends = tf.argmax(tf.cast(input_ids == self.eos_token_id, tf.int32), axis=-1, output_type=tf.int32)
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=tf.gather(hidden, ends, batch_dims=1),
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions)  # fmt: skip


class TFCLIPVisionEmbeddings(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        p = config.patch_size
        self.patch_embedding = keras_layers.Conv2D(config.hidden_size, p, strides=p, use_bias=False,
                                                   kernel_initializer=weights_init(config), name="patch_embedding")  # fmt: skip
        patches = (config.image_size // p) ** 2
        self.position_embedding = NamedWeight((patches + 1, config.hidden_size), "embeddings", weights_init(config),
                                              name="position_embedding")  # fmt: skip

    def input_sizes(self):  # the patches: of the image, channels-last
        c = self.config
        return {self.patch_embedding: channels_last(c.num_channels, (c.image_size, c.image_size)),
                self.position_embedding: None}  # fmt: skip

    def build(self, input_shape=None):
        self.class_embedding = self.add_weight(name="class_embedding", shape=(self.config.hidden_size,),
                                               initializer=weights_init(self.config))  # fmt: skip
        super().build(input_shape)

    def call(self, pixel_values, interpolate_pos_encoding=False):
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        height, width = pixel_values.shape[-2:]
        if not interpolate_pos_encoding and (height, width) != (c.image_size, c.image_size):
            raise ValueError(f"Input image size ({height}*{width}) doesn't match the model ({c.image_size}*"
                             f"{c.image_size}); resize it or pass interpolate_pos_encoding=True.")  # fmt: skip
        patches = self.patch_embedding(to_nhwc(pixel_values))
        patches = tf.reshape(patches, (tf.shape(patches)[0], -1, c.hidden_size))
        cls = tf.broadcast_to(self.class_embedding, (tf.shape(patches)[0], 1, c.hidden_size))
        table = self.position_embedding(tf.range(self.position_embedding._spec[1][0]))
        grid = int((table.shape[0] - 1) ** 0.5)
        rows, cols = height // c.patch_size, width // c.patch_size
        if interpolate_pos_encoding and (rows, cols) != (grid, grid):
            resized = resize_grid(tf.reshape(table[1:], (grid, grid, -1)), rows, cols)
            table = tf.concat([table[:1], tf.reshape(resized, (rows * cols, -1))], axis=0)
        return tf.concat([cls, patches], axis=1) + table[None]


class TFCLIPVisionTransformer(Layer):
    """Takes the vision config, or a CLIPConfig (then its vision part)."""

    pre_norm_name = "pre_layrnorm"  # the checkpoint's name of the norm before the encoder (CLIP's spelling)

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        vision = getattr(config, "vision_config", config)
        self.embeddings = TFCLIPVisionEmbeddings(vision, name="embeddings")
        self.pre_norm = layer_norm(vision, self.pre_norm_name)
        self.encoder = TFCLIPEncoder(vision, name="encoder")
        self.post_layernorm = layer_norm(vision, "post_layernorm")
        self.output_width = vision.hidden_size

    def input_sizes(self):
        width = self.output_width
        return {self.embeddings: None, self.pre_norm: width, self.encoder: None, self.post_layernorm: width}

    def call(self, pixel_values=None, output_attentions=False, output_hidden_states=False,
             interpolate_pos_encoding=False, training=False):  # fmt: skip
        hidden = self.pre_norm(self.embeddings(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding))
        hidden, states, attentions = self.encoder(hidden, output_attentions=output_attentions, training=training)
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=self.post_layernorm(hidden[:, 0]),
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions)  # fmt: skip


def contrastive_loss(logits_per_text):
    targets = tf.range(tf.shape(logits_per_text)[0])
    per_text = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits_per_text)
    per_image = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, tf.transpose(logits_per_text))
    return (tf.reduce_mean(per_text) + tf.reduce_mean(per_image)) / 2


class TFCLIPMainLayer(Layer):
    def __init__(self, config: CLIPConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.text_model = TFCLIPTextTransformer(config.text_config, name="text_model")
        self.vision_model = TFCLIPVisionTransformer(config.vision_config, name="vision_model")
        self.visual_projection = dense(config, config.projection_dim, "visual_projection", use_bias=False)
        self.text_projection = dense(config, config.projection_dim, "text_projection", use_bias=False)

    def input_sizes(self):
        return {self.text_model: None, self.vision_model: None, self.text_projection: self.text_model.output_width,
                self.visual_projection: self.vision_model.output_width}  # fmt: skip

    def build(self, input_shape=None):
        self.logit_scale = self.add_weight(name="logit_scale", shape=(1,),
                                           initializer=keras.initializers.Constant(self.config.logit_scale_init_value))  # fmt: skip
        super().build(input_shape)

    def call(self, input_ids, pixel_values=None, attention_mask=None, position_ids=None, return_loss=False,
             output_attentions=False, output_hidden_states=False, interpolate_pos_encoding=False, training=False):  # fmt: skip
        flags = {"output_attentions": output_attentions, "output_hidden_states": output_hidden_states}
        vision = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, training=training,
                                   **flags)  # fmt: skip
        text = self.text_model(input_ids, attention_mask=attention_mask, position_ids=position_ids, training=training,
                               **flags)  # fmt: skip
        image_embeds = tf.math.l2_normalize(self.visual_projection(vision.pooler_output), axis=-1)
        text_embeds = tf.math.l2_normalize(self.text_projection(text.pooler_output), axis=-1)
        logits_per_text = tf.matmul(text_embeds, image_embeds, transpose_b=True) * tf.exp(self.logit_scale)
        return out.CLIPOutput(loss=contrastive_loss(logits_per_text) if return_loss else None,
                              logits_per_image=tf.transpose(logits_per_text), logits_per_text=logits_per_text,
                              text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text,
                              vision_model_output=vision)  # fmt: skip


class TFCLIPPreTrainedModel(TFPreTrainedModel):
    config_class = CLIPConfig
    base_model_prefix = "clip"


class TFCLIPModel(TFCLIPPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.clip = TFCLIPMainLayer(config, name="clip")

    def input_sizes(self):
        return {self.clip: None}

    def dummy_inputs(self) -> dict:
        v = self.config.vision_config
        return {"input_ids": np.zeros((1, 2), np.int32),
                "pixel_values": np.zeros((1, v.num_channels, v.image_size, v.image_size), np.float32)}  # fmt: skip

    def call(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
             output_attentions=None, output_hidden_states=None, interpolate_pos_encoding=None, training=False,
             return_dict=True, **kwargs):  # fmt: skip
        if input_ids is None or pixel_values is None:
            raise ValueError("TFCLIPModel needs both input_ids and pixel_values (or get_text/image_features).")
        result = self.clip(input_ids, pixel_values=pixel_values, attention_mask=attention_mask,
                           position_ids=position_ids, return_loss=bool(return_loss),
                           output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                           interpolate_pos_encoding=bool(interpolate_pos_encoding), training=training)  # fmt: skip
        return out.finish(result, return_dict)

    def get_text_features(self, input_ids, attention_mask=None, position_ids=None):
        text = self.clip.text_model(tf.convert_to_tensor(input_ids), attention_mask=attention_mask,
                                    position_ids=position_ids)  # fmt: skip
        return self.clip.text_projection(text.pooler_output)

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False):
        vision = self.clip.vision_model(tf.convert_to_tensor(pixel_values), interpolate_pos_encoding=interpolate_pos_encoding)
        return self.clip.visual_projection(vision.pooler_output)


class TFCLIPForImageClassification(TFImageClassificationModel, TFCLIPPreTrainedModel, TFVisionPreTrainedModel):
    main_layer_class = TFCLIPVisionTransformer
