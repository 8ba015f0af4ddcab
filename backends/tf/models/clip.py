"""CLIP in TensorFlow (Keras 3), named like transformers' TF CLIP: a causal text transformer and a ViT
image encoder projected into one space."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.clip import CLIPConfig

from ..activations import get_activation
from ..attention import attend, causal_bias, merge_heads, split_heads
from ..modeling import Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


class TFCLIPAttention(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        size = config.hidden_size
        self.q_proj, self.k_proj = dense(config, size, "q_proj"), dense(config, size, "k_proj")
        self.v_proj, self.out_proj = dense(config, size, "v_proj"), dense(config, size, "out_proj")

    def call(self, hidden, bias=None):
        c = self.config
        heads, dim = c.num_attention_heads, c.hidden_size // c.num_attention_heads
        q, k, v = (split_heads(p(hidden), heads, dim) for p in (self.q_proj, self.k_proj, self.v_proj))
        return self.out_proj(merge_heads(attend(q, k, v, bias, dim**-0.5)))


class TFCLIPMLP(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.fc1 = dense(config, config.intermediate_size, "fc1")
        self.fc2 = dense(config, config.hidden_size, "fc2")
        self.act = get_activation(config.hidden_act)

    def call(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TFCLIPEncoderLayer(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.self_attn = TFCLIPAttention(config, name="self_attn")
        self.layer_norm1 = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layer_norm1")
        self.mlp = TFCLIPMLP(config, name="mlp")
        self.layer_norm2 = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layer_norm2")

    def call(self, hidden, bias=None):
        hidden = hidden + self.self_attn(self.layer_norm1(hidden), bias=bias)
        return hidden + self.mlp(self.layer_norm2(hidden))


class TFCLIPEncoder(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.layers = [TFCLIPEncoderLayer(config, name=f"layers_._{i}") for i in range(config.num_hidden_layers)]

    def call(self, hidden, bias=None):
        states = (hidden,)
        for layer in self.layers:
            hidden = layer(hidden, bias=bias)
            states += (hidden,)
        return hidden, states


class TFCLIPTextEmbeddings(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        init = weights_init(config)
        self.token_embedding = NamedWeight((config.vocab_size, config.hidden_size), "weight", init, name="token_embedding")
        self.position_embedding = NamedWeight((config.max_position_embeddings, config.hidden_size), "embeddings", init,
                                              name="position_embedding")  # fmt: skip

    def call(self, input_ids):
        return self.token_embedding(input_ids) + self.position_embedding(tf.range(tf.shape(input_ids)[-1])[None])


class TFCLIPTextTransformer(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embeddings = TFCLIPTextEmbeddings(config, name="embeddings")
        self.encoder = TFCLIPEncoder(config, name="encoder")
        self.final_layer_norm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="final_layer_norm")

    def call(self, input_ids, attention_mask=None, output_hidden_states=False):
        c = self.config
        length = input_ids.shape[-1]
        if length is not None and length > c.max_position_embeddings:
            raise ValueError(f"Sequence length {length} is longer than max_position_embeddings ({c.max_position_embeddings}).")
        hidden = self.embeddings(input_ids)
        hidden, states = self.encoder(hidden, bias=causal_bias(tf.shape(input_ids)[-1], 0, attention_mask, hidden.dtype))
        hidden = self.final_layer_norm(hidden)
        if c.eos_token_id == 2:
            ends = tf.argmax(input_ids, axis=-1, output_type=tf.int32)
        else:
            ends = tf.argmax(tf.cast(input_ids == c.eos_token_id, tf.int32), axis=-1, output_type=tf.int32)
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=tf.gather(hidden, ends, batch_dims=1),
                                              hidden_states=states if output_hidden_states else None)  # fmt: skip


class TFCLIPVisionEmbeddings(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        p = config.patch_size
        self.patch_embedding = keras.layers.Conv2D(config.hidden_size, p, strides=p, use_bias=False,
                                                   kernel_initializer=weights_init(config), name="patch_embedding")  # fmt: skip
        patches = (config.image_size // p) ** 2
        self.position_embedding = NamedWeight((patches + 1, config.hidden_size), "embeddings", weights_init(config),
                                              name="position_embedding")  # fmt: skip

    def build(self, input_shape=None):
        self.class_embedding = self.add_weight(name="class_embedding", shape=(self.config.hidden_size,),
                                               initializer=weights_init(self.config))  # fmt: skip
        self.built = True

    def call(self, pixel_values):
        c = self.config
        if pixel_values.shape[1] != c.num_channels:
            raise ValueError(f"pixel_values must have shape [batch, {c.num_channels}, height, width]; "
                             f"got {tuple(pixel_values.shape)}.")  # fmt: skip
        patches = self.patch_embedding(tf.transpose(pixel_values, (0, 2, 3, 1)))
        patches = tf.reshape(patches, (tf.shape(patches)[0], -1, c.hidden_size))
        cls = tf.broadcast_to(self.class_embedding, (tf.shape(patches)[0], 1, c.hidden_size))
        embeds = tf.concat([cls, patches], axis=1)
        return embeds + self.position_embedding(tf.range(tf.shape(embeds)[1])[None])


class TFCLIPVisionTransformer(Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.embeddings = TFCLIPVisionEmbeddings(config, name="embeddings")
        self.pre_layrnorm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="pre_layrnorm")
        self.encoder = TFCLIPEncoder(config, name="encoder")
        self.post_layernorm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="post_layernorm")

    def call(self, pixel_values, output_hidden_states=False):
        hidden, states = self.encoder(self.pre_layrnorm(self.embeddings(pixel_values)))
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=self.post_layernorm(hidden[:, 0]),
                                              hidden_states=states if output_hidden_states else None)  # fmt: skip


class TFCLIPMainLayer(Layer):
    def __init__(self, config: CLIPConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.text_model = TFCLIPTextTransformer(config.text_config, name="text_model")
        self.vision_model = TFCLIPVisionTransformer(config.vision_config, name="vision_model")
        self.visual_projection = dense(config, config.projection_dim, "visual_projection", use_bias=False)
        self.text_projection = dense(config, config.projection_dim, "text_projection", use_bias=False)

    def build(self, input_shape=None):
        self.logit_scale = self.add_weight(name="logit_scale", shape=(1,),
                                           initializer=keras.initializers.Constant(self.config.logit_scale_init_value))  # fmt: skip
        self.built = True

    def call(self, input_ids, pixel_values, attention_mask=None, output_hidden_states=False):
        text = self.text_model(input_ids, attention_mask=attention_mask, output_hidden_states=output_hidden_states)
        vision = self.vision_model(pixel_values, output_hidden_states=output_hidden_states)
        image_embeds = tf.math.l2_normalize(self.visual_projection(vision.pooler_output), axis=-1)
        text_embeds = tf.math.l2_normalize(self.text_projection(text.pooler_output), axis=-1)
        logits_per_text = tf.matmul(text_embeds, image_embeds, transpose_b=True) * tf.exp(self.logit_scale)
        return out.CLIPOutput(logits_per_image=tf.transpose(logits_per_text), logits_per_text=logits_per_text,
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

    def dummy_inputs(self) -> dict:
        v = self.config.vision_config
        return {"input_ids": np.zeros((1, 2), np.int32),
                "pixel_values": np.zeros((1, v.num_channels, v.image_size, v.image_size), np.float32)}  # fmt: skip

    def call(self, input_ids=None, pixel_values=None, attention_mask=None, training=False, return_dict=True,
                output_hidden_states=False, **kwargs):  # fmt: skip
        if input_ids is None or pixel_values is None:
            raise ValueError("TFCLIPModel needs both input_ids and pixel_values (or get_text/image_features).")
        result = self.clip(input_ids, pixel_values, attention_mask=attention_mask, output_hidden_states=output_hidden_states)
        return out.finish(result, return_dict)

    def get_text_features(self, input_ids, attention_mask=None):
        pooled = self.clip.text_model(tf.convert_to_tensor(input_ids), attention_mask=attention_mask).pooler_output
        return self.clip.text_projection(pooled)

    def get_image_features(self, pixel_values):
        return self.clip.visual_projection(self.clip.vision_model(tf.convert_to_tensor(pixel_values)).pooler_output)


class TFCLIPForImageClassification(TFCLIPPreTrainedModel):
    main_input_name = "pixel_values"

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.vision_model = TFCLIPVisionTransformer(config.vision_config, name="vision_model")
        self.classifier = dense(config, config.num_labels, "classifier")

    def dummy_inputs(self) -> dict:
        v = self.config.vision_config
        return {"pixel_values": np.zeros((1, v.num_channels, v.image_size, v.image_size), np.float32)}

    def call(self, pixel_values=None, training=False, return_dict=True, output_hidden_states=False, **kwargs):
        encoded = self.vision_model(pixel_values, output_hidden_states=output_hidden_states)
        logits = self.classifier(tf.reduce_mean(encoded.last_hidden_state[:, 1:], axis=1))
        return out.finish(out.ImageClassifierOutput(logits=logits, hidden_states=encoded.hidden_states), return_dict)
