"""SigLIP in TensorFlow (Keras 3). transformers never had a TF SigLIP, so the layer names mirror the PyTorch
checkpoint names (see autoload/backends/torch/models/siglip.py for what each class does)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.siglip import SiglipConfig, SiglipTextConfig, SiglipVisionConfig

from .. import keras_layers
from ..blocks.vision import (
    TFCLIPMLP,
    TFCLIPEncoder,
    TFCLIPTextEmbeddings,
    TFVisionPreTrainedModel,
    channels_last,
    check_pixel_values,
    conv,
    resize_grid,
    to_nhwc,
)
from ..heads import TFImageClassificationModel
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


def layer_norm(config, name: str):
    return keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name)


class TFSiglipVisionEmbeddings(Layer):
    def __init__(self, config: SiglipVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.patch_embedding = conv(config, config.hidden_size, config.patch_size, "patch_embedding",
                                    strides=config.patch_size)  # fmt: skip
        self.count = (config.image_size // config.patch_size) ** 2
        self.position_embedding = NamedWeight((self.count, config.hidden_size), "embeddings", weights_init(config),
                                              name="position_embedding")  # fmt: skip

    def input_sizes(self):  # the patches: of the image, channels-last
        c = self.config
        return {self.patch_embedding: channels_last(c.num_channels, (c.image_size, c.image_size)),
                self.position_embedding: None}  # fmt: skip

    def call(self, pixel_values, interpolate_pos_encoding=False):
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        patches = self.patch_embedding(to_nhwc(pixel_values))
        rows, cols = patches.shape[1:3]
        patches = tf.reshape(patches, (-1, rows * cols, c.hidden_size))
        table = self.position_embedding(tf.range(self.count))
        grid = int(self.count**0.5)
        if interpolate_pos_encoding:
            table = tf.reshape(resize_grid(tf.reshape(table, (grid, grid, -1)), rows, cols), (rows * cols, -1))
        elif rows * cols != self.count:
            raise ValueError(
                f"Input image size ({pixel_values.shape[-2]}*{pixel_values.shape[-1]}) doesn't match the model "
                f"({c.image_size}*{c.image_size}); resize it or pass interpolate_pos_encoding=True."
            )
        return patches + table[None]


class TFSiglipMultiheadAttention(Layer):
    """torch.nn.MultiheadAttention's weights: in_proj_weight / in_proj_bias (q, k, v stacked) and out_proj."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config, self.heads = config, config.num_attention_heads
        self.out_proj = dense(config, config.hidden_size, "out_proj")

    def build(self, input_shape=None):
        size = self.config.hidden_size
        self.in_proj_weight = self.add_weight(name="in_proj_weight", shape=(3 * size, size),
                                              initializer=weights_init(self.config))  # fmt: skip
        self.in_proj_bias = self.add_weight(name="in_proj_bias", shape=(3 * size,), initializer="zeros")
        super().build(input_shape)

    def input_sizes(self):
        return {self.out_proj: self.config.hidden_size}

    def call(self, query, source):
        w_q, w_k, w_v = tf.split(self.in_proj_weight, 3, axis=0)
        b_q, b_k, b_v = tf.split(self.in_proj_bias, 3, axis=0)
        dim = self.config.hidden_size // self.heads

        def heads(x, w, b):
            x = tf.matmul(x, w, transpose_b=True) + b
            return tf.transpose(tf.reshape(x, (tf.shape(x)[0], -1, self.heads, dim)), (0, 2, 1, 3))

        q, k, v = heads(query, w_q, b_q), heads(source, w_k, b_k), heads(source, w_v, b_v)
        probs = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) / np.float32(np.sqrt(dim)), axis=-1)
        context = tf.transpose(tf.matmul(probs, v), (0, 2, 1, 3))
        return self.out_proj(tf.reshape(context, (tf.shape(context)[0], -1, self.config.hidden_size)))


class TFSiglipMultiheadAttentionPoolingHead(Layer):
    def __init__(self, config: SiglipVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.attention = TFSiglipMultiheadAttention(config, name="attention")
        self.layernorm = layer_norm(config, "layernorm")
        self.mlp = TFCLIPMLP(config, name="mlp")

    def build(self, input_shape=None):
        self.probe = self.add_weight(name="probe", shape=(1, 1, self.config.hidden_size),
                                     initializer=weights_init(self.config))  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        return {self.attention: None, self.layernorm: self.config.hidden_size, self.mlp: None}

    def call(self, hidden):
        probe = tf.tile(self.probe, (tf.shape(hidden)[0], 1, 1))
        pooled = self.attention(probe, hidden)
        return (pooled + self.mlp(self.layernorm(pooled)))[:, 0]


class TFSiglipTextTransformer(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        text = getattr(config, "text_config", config)
        self.embeddings = TFCLIPTextEmbeddings(text, name="embeddings")
        self.encoder = TFCLIPEncoder(text, name="encoder")
        self.final_layer_norm = layer_norm(text, "final_layer_norm")
        self.head = dense(text, text.projection_size, "head")
        self.width = text.hidden_size

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.final_layer_norm: self.width, self.head: self.width}

    def call(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        if input_ids is None:
            raise ValueError("You have to specify input_ids.")
        hidden = self.embeddings(input_ids, position_ids=position_ids)
        bias = None
        if attention_mask is not None:
            bias = (1.0 - tf.cast(attention_mask[:, None, None, :], hidden.dtype)) * hidden.dtype.min
        hidden, states, attentions = self.encoder(hidden, bias=bias, output_attentions=output_attentions,
                                                  training=training)  # fmt: skip
        hidden = self.final_layer_norm(hidden)
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=self.head(hidden[:, -1]),
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions)  # fmt: skip


class TFSiglipVisionTransformer(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        vision = getattr(config, "vision_config", config)
        self.embeddings = TFSiglipVisionEmbeddings(vision, name="embeddings")
        self.encoder = TFCLIPEncoder(vision, name="encoder")
        self.post_layernorm = layer_norm(vision, "post_layernorm")
        self.head = TFSiglipMultiheadAttentionPoolingHead(vision, name="head") if vision.use_head else None
        self.output_width = vision.hidden_size

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.post_layernorm: self.output_width, self.head: None}

    def call(self, pixel_values=None, interpolate_pos_encoding=False, output_attentions=False,
             output_hidden_states=False, training=False):  # fmt: skip
        hidden = self.embeddings(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        hidden, states, attentions = self.encoder(hidden, output_attentions=output_attentions, training=training)
        hidden = self.post_layernorm(hidden)
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden,
                                              pooler_output=self.head(hidden) if self.head is not None else None,
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions)  # fmt: skip


def sigmoid_loss(logits_per_text):
    signs = 2 * tf.eye(tf.shape(logits_per_text)[0], dtype=logits_per_text.dtype) - 1
    return -tf.reduce_mean(tf.reduce_sum(tf.math.log_sigmoid(signs * logits_per_text), axis=-1))


class TFSiglipMainLayer(Layer):
    """The two towers and the logit scale and bias (as in transformers 4.57.6, the towers' outputs carry no
    hidden states or attentions here)."""

    def __init__(self, config: SiglipConfig, **kwargs):
        super().__init__(**kwargs)
        self.text_model = TFSiglipTextTransformer(config.text_config, name="text_model")
        self.vision_model = TFSiglipVisionTransformer(config.vision_config, name="vision_model")

    def build(self, input_shape=None):
        self.logit_scale = self.add_weight(name="logit_scale", shape=(1,), initializer="zeros")
        self.logit_bias = self.add_weight(name="logit_bias", shape=(1,), initializer="zeros")
        super().build(input_shape)

    def input_sizes(self):
        return {self.text_model: None, self.vision_model: None}

    def call(self, input_ids, pixel_values=None, attention_mask=None, position_ids=None, return_loss=False,
             interpolate_pos_encoding=False, training=False):  # fmt: skip
        vision = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, training=training)
        text = self.text_model(input_ids, attention_mask=attention_mask, position_ids=position_ids, training=training)
        image_embeds = vision.pooler_output / tf.norm(vision.pooler_output, axis=-1, keepdims=True)
        text_embeds = text.pooler_output / tf.norm(text.pooler_output, axis=-1, keepdims=True)
        logits_per_text = tf.matmul(text_embeds, image_embeds, transpose_b=True) * tf.exp(self.logit_scale)
        logits_per_text = logits_per_text + self.logit_bias
        return out.SiglipOutput(loss=sigmoid_loss(logits_per_text) if return_loss else None,
                                logits_per_image=tf.transpose(logits_per_text), logits_per_text=logits_per_text,
                                text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text,
                                vision_model_output=vision)  # fmt: skip


class TFSiglipPreTrainedModel(TFPreTrainedModel):
    config_class = SiglipConfig
    base_model_prefix = "siglip"


def _text_dummy() -> np.ndarray:
    return np.ones((1, 2), np.int32)


class TFSiglipModel(TFSiglipPreTrainedModel, TFVisionPreTrainedModel):
    is_base_model = True
    main_input_name = "input_ids"

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.siglip = TFSiglipMainLayer(config, name="siglip")

    def input_sizes(self):
        return {self.siglip: None}

    def dummy_inputs(self) -> dict:
        return {"input_ids": _text_dummy(), **TFVisionPreTrainedModel.dummy_inputs(self)}

    def call(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, return_loss=None,
             interpolate_pos_encoding=None, training=False, return_dict=True, **kwargs):  # fmt: skip
        result = self.siglip(input_ids, pixel_values=pixel_values, attention_mask=attention_mask,
                             position_ids=position_ids, return_loss=bool(return_loss),
                             interpolate_pos_encoding=bool(interpolate_pos_encoding), training=training)  # fmt: skip
        return out.finish(result, return_dict)

    def get_text_features(self, input_ids, attention_mask=None, position_ids=None):
        return self.siglip.text_model(tf.convert_to_tensor(input_ids), attention_mask=attention_mask,
                                      position_ids=position_ids).pooler_output  # fmt: skip

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False):
        return self.siglip.vision_model(tf.convert_to_tensor(pixel_values),
                                        interpolate_pos_encoding=interpolate_pos_encoding).pooler_output  # fmt: skip


class TFSiglipTextModel(TFSiglipPreTrainedModel):
    config_class = SiglipTextConfig

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.text_model = TFSiglipTextTransformer(config, name="text_model")

    def input_sizes(self):
        return {self.text_model: None}

    def dummy_inputs(self) -> dict:
        return {"input_ids": _text_dummy()}

    def call(self, input_ids=None, attention_mask=None, position_ids=None, output_attentions=None,
             output_hidden_states=None, training=False, return_dict=True, **kwargs):  # fmt: skip
        result = self.text_model(input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                 output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                 training=training)  # fmt: skip
        return out.finish(result, return_dict)


class TFSiglipVisionModel(TFSiglipPreTrainedModel, TFVisionPreTrainedModel):
    config_class = SiglipVisionConfig

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.vision_model = TFSiglipVisionTransformer(config, name="vision_model")

    def input_sizes(self):
        return {self.vision_model: None}

    def call(self, pixel_values=None, interpolate_pos_encoding=None, output_attentions=None,
             output_hidden_states=None, training=False, return_dict=True, **kwargs):  # fmt: skip
        result = self.vision_model(pixel_values, interpolate_pos_encoding=bool(interpolate_pos_encoding),
                                   output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                   training=training)  # fmt: skip
        return out.finish(result, return_dict)


class TFSiglipForImageClassification(TFImageClassificationModel, TFSiglipPreTrainedModel, TFVisionPreTrainedModel):
    main_layer_class = TFSiglipVisionTransformer
