"""ViLT in TensorFlow (Keras 3; transformers never had one, so weights carry the PyTorch names); mirrors the
PyTorch classes. The image patches are chosen from pixel_mask in numpy (autoload.models.vilt.plan_patches), so
the model runs eagerly; a traced call (tf.function, SavedModel export) is refused with a clear error."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.vilt import VQA_NORM_EPS, ViltConfig, plan_patches

from .. import keras_layers
from ..activations import get_activation
from ..blocks.encoder import TFEmbeddings, TFPooler, padding_bias
from ..blocks.vision import TFViTLayer, channels_last, conv, per_layer_head_mask, to_nhwc
from ..heads import TFBaseModel, TFTaskModel
from ..modeling import Dropout, Layer, NamedWeight, TFPreTrainedModel, dense, weights_init


def concrete(tensor, name: str) -> np.ndarray:
    if not tf.executing_eagerly():
        raise NotImplementedError(f"ViLT picks its image tokens from {name} in numpy, so TF ViLT runs eagerly only; "
                                  "call it outside tf.function (SavedModel export is not supported).")  # fmt: skip
    return np.asarray(tensor)


class TFViltPatchEmbeddings(Layer):
    def __init__(self, config: ViltConfig, **kwargs):
        super().__init__(**kwargs)
        self.projection = conv(config, config.hidden_size, config.patch_size, "projection", strides=config.patch_size)
        self.num_channels = config.num_channels

    def input_sizes(self):  # the image, channels-last
        return {self.projection: channels_last(self.num_channels)}

    def call(self, pixel_values):
        return self.projection(to_nhwc(tf.cast(pixel_values, tf.float32)))


class TFViltEncoder(Layer):
    def __init__(self, config: ViltConfig, **kwargs):
        super().__init__(**kwargs)
        self.layer = [TFViTLayer(config, i, name=f"layer_._{i}") for i in range(config.num_hidden_layers)]

    def input_sizes(self):
        return dict.fromkeys(self.layer)

    def call(self, hidden, bias=None, head_mask=None, training=False):
        states, attentions = (hidden,), ()
        for layer, layer_mask in zip(self.layer, per_layer_head_mask(head_mask, len(self.layer))):
            hidden, probs = layer(hidden, bias=bias, head_mask=layer_mask, training=training)
            states, attentions = states + (hidden,), attentions + (probs,)
        return hidden, states, attentions


class TFViltEmbeddings(Layer):
    def __init__(self, config: ViltConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.text_embeddings = TFEmbeddings(config.text_options(), name="text_embeddings")
        self.patch_embeddings = TFViltPatchEmbeddings(config, name="patch_embeddings")
        self.token_type_embeddings = NamedWeight((config.modality_type_vocab_size, config.hidden_size), "embeddings",
                                                 weights_init(config), name="token_type_embeddings")  # fmt: skip
        self.dropout = Dropout(config.hidden_dropout_prob)

    def build(self, input_shape=None):
        width = self.config.hidden_size
        self.cls_token = self.add_weight(name="cls_token", shape=(1, 1, width), initializer="zeros")
        self.position_embeddings = self.add_weight(name="position_embeddings", initializer="zeros",
                                                   shape=(1, self.config.patches_per_side**2 + 1, width))  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        return {self.text_embeddings: None, self.patch_embeddings: None, self.token_type_embeddings: None}

    def visual_embed(self, pixel_values, pixel_mask, training=False):
        config = self.config
        if pixel_values.shape[1] != config.num_channels:
            raise ValueError("Make sure that the channel dimension of the pixel values match with the one set in the "
                             "configuration.")  # fmt: skip
        patches = self.patch_embeddings(pixel_values)  # [batch, rows, cols, width]
        batch, rows, cols, width = patches.shape
        plan = plan_patches(concrete(pixel_mask, "pixel_mask"), (rows, cols), config)
        side = config.patches_per_side
        table = tf.reshape(self.position_embeddings[0, 1:], (side, side, width))
        resized = tf.einsum("bip,pqc,bjq->bijc", plan.row_resize, table, plan.col_resize)
        tokens = tf.gather(tf.reshape(patches, (batch, rows * cols, width)), plan.select, batch_dims=1)
        positions = tf.gather(tf.reshape(resized, (batch, rows * cols, width)), plan.select, batch_dims=1)
        tokens = tf.concat([tf.tile(self.cls_token, (batch, 1, 1)), tokens], axis=1)
        positions = tf.concat([tf.tile(self.position_embeddings[:, :1], (batch, 1, 1)), positions], axis=1)
        mask = np.concatenate([np.ones((batch, 1), np.int32), plan.mask], axis=1)
        return self.dropout(tokens + positions, training=training), tf.constant(mask)

    def call(self, input_ids, attention_mask, token_type_ids, pixel_values, pixel_mask, inputs_embeds, image_embeds,
             image_token_type_idx=1, training=False):  # fmt: skip
        text = self.text_embeddings(input_ids, token_type_ids=token_type_ids, inputs_embeds=inputs_embeds,
                                    training=training)  # fmt: skip
        if image_embeds is None:
            image, image_mask = self.visual_embed(pixel_values, pixel_mask, training)
        else:
            image = tf.convert_to_tensor(image_embeds)
            image_mask = tf.reshape(tf.cast(pixel_mask, tf.int32), (tf.shape(image)[0], -1))
        image_token_type_idx = 1 if image_token_type_idx is None else image_token_type_idx
        text = text + self.token_type_embeddings(tf.zeros(tf.shape(attention_mask), tf.int32))
        image = image + self.token_type_embeddings(tf.fill(tf.shape(image_mask), image_token_type_idx))
        return tf.concat([text, image], axis=1), tf.concat([tf.cast(attention_mask, tf.int32), image_mask], axis=1)


class TFViltMainLayer(Layer):
    def __init__(self, config: ViltConfig, add_pooling_layer: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embeddings = TFViltEmbeddings(config, name="embeddings")
        self.encoder = TFViltEncoder(config, name="encoder")
        self.layernorm = keras_layers.LayerNormalization(epsilon=config.layer_norm_eps, name="layernorm")
        self.pooler = TFPooler(config.text_options(), name="pooler") if add_pooling_layer else None
        self.output_width = config.hidden_size

    def input_sizes(self):
        return {self.embeddings: None, self.encoder: None, self.layernorm: self.output_width, self.pooler: None}

    def call(self, input_ids=None, attention_mask=None, token_type_ids=None, pixel_values=None, pixel_mask=None,
             head_mask=None, inputs_embeds=None, image_embeds=None, image_token_type_idx=None,
             output_attentions=False, output_hidden_states=False, training=False):  # fmt: skip
        if input_ids is not None and inputs_embeds is not None:
            raise ValueError("You cannot specify both input_ids and inputs_embeds at the same time")
        text = input_ids if input_ids is not None else inputs_embeds
        if text is None:
            raise ValueError("You have to specify either input_ids or inputs_embeds")
        if (pixel_values is None) == (image_embeds is None):
            raise ValueError("You have to specify exactly one of pixel_values and image_embeds")
        shape = tf.shape(text)
        if attention_mask is None:
            attention_mask = tf.ones(shape[:2], tf.int32)
        if pixel_mask is None:
            if image_embeds is not None:
                raise ValueError("image_embeds need their pixel_mask (one value per image token).")
            size = self.config.image_size
            pixel_mask = np.ones((int(pixel_values.shape[0]), size, size), np.int32)
        hidden, mask = self.embeddings(input_ids, attention_mask, token_type_ids, pixel_values, pixel_mask,
                                       inputs_embeds, image_embeds, image_token_type_idx, training=training)  # fmt: skip
        bias = padding_bias(mask, hidden.dtype)
        hidden, states, attentions = self.encoder(hidden, bias=bias, head_mask=head_mask, training=training)
        last = self.layernorm(hidden)
        pooled = self.pooler(last) if self.pooler is not None else None
        return out.BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled,
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions if output_attentions else None)  # fmt: skip


class TFViltPreTrainedModel(TFPreTrainedModel):
    config_class = ViltConfig
    base_model_prefix = "vilt"
    main_layer_class = TFViltMainLayer
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"token_type_ids$"]

    def dummy_inputs(self) -> dict:
        size = self.config.image_size
        return {"input_ids": np.full((1, 2), 1, np.int32),
                "pixel_values": np.zeros((1, self.config.num_channels, size, size), np.float32)}  # fmt: skip


class TFViltModel(TFBaseModel, TFViltPreTrainedModel):
    pass


class TFViltClassifier(Layer):
    """classifier.0 (2 x hidden) -> classifier.1 LayerNorm -> exact GELU -> classifier.3."""

    def __init__(self, config: ViltConfig, **kwargs):
        super().__init__(**kwargs)
        self.first = dense(config, 2 * config.hidden_size, "0")
        self.norm = keras_layers.LayerNormalization(epsilon=VQA_NORM_EPS, name="1")
        self.act = get_activation("gelu")
        self.last = dense(config, config.num_labels, "3")
        width = config.hidden_size
        self.sizes = {self.first: width, self.norm: 2 * width, self.last: 2 * width}

    def input_sizes(self):
        return self.sizes

    def call(self, pooled):
        return self.last(self.act(self.norm(self.first(pooled))))


class TFViltForQuestionAnswering(TFTaskModel, TFViltPreTrainedModel):
    output_class = out.SequenceClassifierOutput

    def __init__(self, config: ViltConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.classifier = TFViltClassifier(config, name="classifier")

    def call(self, input_ids=None, labels=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, training, **kwargs)
        logits = self.classifier(encoded.pooler_output)
        loss = None
        if labels is not None:
            labels = tf.cast(labels, logits.dtype)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits)) * labels.shape[1]
        return out.finish(out.from_encoded(self.output_class, encoded, loss=loss, logits=logits), return_dict)
