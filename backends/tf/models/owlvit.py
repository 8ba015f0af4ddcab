"""OWL-ViT in TensorFlow (Keras 3; transformers never had it, so layers carry the PyTorch module names): CLIP's
text and image towers, and per-patch box and class heads for detection queried by text or by an example image."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.owlvit import OwlViTConfig
from autoload.owlvit import box_bias, query_box_indices

from ..modeling import Layer, TFPreTrainedModel, dense
from .clip import TFCLIPTextTransformer, TFCLIPVisionTransformer, contrastive_loss, layer_norm


class TFOwlViTTextTransformer(TFCLIPTextTransformer):
    """CLIP's text tower; the config's pools_largest_id makes it pool every query at its end token."""


class TFOwlViTVisionTransformer(TFCLIPVisionTransformer):
    pre_norm_name = "pre_layernorm"


def _normalise(x):
    return x / tf.norm(x, ord=2, axis=-1, keepdims=True)


class TFOwlViTMainLayer(Layer):
    def __init__(self, config: OwlViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.text_model = TFOwlViTTextTransformer(config.text_config, name="text_model")
        self.vision_model = TFOwlViTVisionTransformer(config.vision_config, name="vision_model")
        self.visual_projection = dense(config, config.projection_dim, "visual_projection", use_bias=False)
        self.text_projection = dense(config, config.projection_dim, "text_projection", use_bias=False)

    def build(self, input_shape=None):
        self.logit_scale = self.add_weight(name="logit_scale", shape=(),
                                           initializer=keras.initializers.Constant(self.config.logit_scale_init_value))  # fmt: skip
        super().build(input_shape)

    def input_sizes(self):
        return {self.text_model: None, self.vision_model: None, self.text_projection: self.text_model.output_width,
                self.visual_projection: self.vision_model.output_width}  # fmt: skip

    def call(self, input_ids, pixel_values=None, attention_mask=None, return_loss=False, output_attentions=False,
             output_hidden_states=False, interpolate_pos_encoding=False, training=False):  # fmt: skip
        flags = {"output_attentions": output_attentions, "output_hidden_states": output_hidden_states}
        vision = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, training=training,
                                   **flags)  # fmt: skip
        input_ids = tf.reshape(input_ids, (-1, tf.shape(input_ids)[-1]))
        text = self.text_model(input_ids, attention_mask=attention_mask, training=training, **flags)
        image_embeds = _normalise(self.visual_projection(vision.pooler_output))
        text_embeds = _normalise(self.text_projection(text.pooler_output))
        logits_per_text = tf.matmul(text_embeds, image_embeds, transpose_b=True) * tf.exp(self.logit_scale)
        return out.OwlViTOutput(loss=contrastive_loss(logits_per_text) if return_loss else None,
                                logits_per_image=tf.transpose(logits_per_text), logits_per_text=logits_per_text,
                                text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text,
                                vision_model_output=vision)  # fmt: skip


class TFOwlViTPreTrainedModel(TFPreTrainedModel):
    config_class = OwlViTConfig
    base_model_prefix = "owlvit"
    main_input_name = "pixel_values"

    def dummy_inputs(self) -> dict:
        v = self.config.vision_config
        return {"input_ids": np.ones((1, 2), np.int32),
                "pixel_values": np.zeros((1, v.num_channels, v.image_size, v.image_size), np.float32)}  # fmt: skip


class TFOwlViTModel(TFOwlViTPreTrainedModel):
    is_base_model = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.owlvit = TFOwlViTMainLayer(config, name="owlvit")

    def input_sizes(self):
        return {self.owlvit: None}

    def call(self, input_ids=None, pixel_values=None, attention_mask=None, return_loss=None, output_attentions=None,
             output_hidden_states=None, interpolate_pos_encoding=None, return_base_image_embeds=None, training=False,
             return_dict=True, **kwargs):  # fmt: skip
        if input_ids is None or pixel_values is None:
            raise ValueError("TFOwlViTModel needs both input_ids and pixel_values (or get_text/image_features).")
        result = self.owlvit(input_ids, pixel_values=pixel_values, attention_mask=attention_mask,
                             return_loss=bool(return_loss), output_attentions=output_attentions,
                             output_hidden_states=output_hidden_states,
                             interpolate_pos_encoding=bool(interpolate_pos_encoding), training=training)  # fmt: skip
        return out.finish(result, return_dict)

    def get_text_features(self, input_ids, attention_mask=None):
        text = self.owlvit.text_model(tf.convert_to_tensor(input_ids), attention_mask=attention_mask)
        return self.owlvit.text_projection(text.pooler_output)

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False):
        vision = self.owlvit.vision_model(tf.convert_to_tensor(pixel_values),
                                          interpolate_pos_encoding=interpolate_pos_encoding)  # fmt: skip
        return self.owlvit.visual_projection(vision.pooler_output)


class TFOwlViTBoxPredictionHead(Layer):
    def __init__(self, config: OwlViTConfig, out_dim: int = 4, **kwargs):
        super().__init__(**kwargs)
        width = config.vision_config.hidden_size
        self.dense0 = dense(config, width, "dense0")
        self.dense1 = dense(config, width, "dense1")
        self.dense2 = dense(config, out_dim, "dense2")
        self.sizes = {self.dense0: width, self.dense1: width, self.dense2: width}  # reads the patches' features

    def input_sizes(self):
        return self.sizes

    def call(self, features):
        gelu = keras.activations.gelu
        return self.dense2(gelu(self.dense1(gelu(self.dense0(features), approximate=False)), approximate=False))


class TFOwlViTClassPredictionHead(Layer):
    def __init__(self, config: OwlViTConfig, **kwargs):
        super().__init__(**kwargs)
        self.query_dim = config.vision_config.hidden_size
        self.dense0 = dense(config, config.text_config.hidden_size, "dense0")
        self.logit_shift = dense(config, 1, "logit_shift")
        self.logit_scale = dense(config, 1, "logit_scale")

    def input_sizes(self):  # each reads the patches' features
        return dict.fromkeys((self.dense0, self.logit_shift, self.logit_scale), self.query_dim)

    def call(self, image_embeds, query_embeds=None, query_mask=None):
        """(logits [batch, patches, queries], the patches' class embeddings: normalised when queries are given)."""
        class_embeds = self.dense0(image_embeds)
        if query_embeds is None:
            shape = tf.shape(class_embeds)
            return tf.zeros((shape[0], shape[1], self.query_dim), class_embeds.dtype), class_embeds
        class_embeds = class_embeds / (tf.norm(class_embeds, axis=-1, keepdims=True) + 1e-6)
        query_unit = query_embeds / (tf.norm(query_embeds, axis=-1, keepdims=True) + 1e-6)
        logits = tf.matmul(class_embeds, query_unit, transpose_b=True)
        scale = tf.nn.elu(self.logit_scale(image_embeds)) + 1
        logits = (logits + self.logit_shift(image_embeds)) * scale
        if query_mask is not None:
            if len(query_mask.shape) > 1:
                query_mask = query_mask[..., None, :]
            logits = tf.where(tf.cast(query_mask, tf.bool), logits, tf.cast(logits.dtype.min, logits.dtype))
            logits = tf.cast(logits, tf.float32)
        return logits, class_embeds


class TFOwlViTForObjectDetection(TFOwlViTPreTrainedModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        config.check_detection_sizes()
        vision = config.vision_config
        self.owlvit = TFOwlViTMainLayer(config, name="owlvit")
        self.class_head = TFOwlViTClassPredictionHead(config, name="class_head")
        self.box_head = TFOwlViTBoxPredictionHead(config, name="box_head")
        self.layer_norm = layer_norm(vision, "layer_norm")
        self.num_patches_height = self.num_patches_width = vision.patch_grid

    def input_sizes(self):
        return {self.owlvit: None, self.class_head: None, self.box_head: None,
                self.layer_norm: self.config.vision_config.hidden_size}  # fmt: skip

    def _feature_map(self, vision, pixel_values):
        """Each patch token times the class token (both after the final norm), normalised: [batch, rows, cols, d]."""
        hidden = self.owlvit.vision_model.post_layernorm(vision.last_hidden_state)
        features = self.layer_norm(hidden[:, 1:] * hidden[:, :1])
        patch = self.config.vision_config.patch_size
        rows, cols = pixel_values.shape[-2] // patch, pixel_values.shape[-1] // patch
        return tf.reshape(features, (-1, rows, cols, features.shape[-1]))

    def box_predictor(self, image_feats, feature_map, interpolate_pos_encoding=False):
        rows, cols = feature_map.shape[1:3]
        return tf.sigmoid(self.box_head(image_feats) + tf.constant(box_bias(rows, cols), image_feats.dtype))

    def class_predictor(self, image_feats, query_embeds=None, query_mask=None):
        return self.class_head(image_feats, query_embeds, query_mask)

    def image_embedder(self, pixel_values, output_attentions=None, output_hidden_states=None,
                       interpolate_pos_encoding=False, training=False):  # fmt: skip
        # transformers' image_embedder takes the output flags but leaves them to the vision config
        pixel_values = tf.convert_to_tensor(pixel_values)
        vision = self.owlvit.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding,
                                          output_attentions=bool(self.config.vision_config.output_attentions),
                                          output_hidden_states=bool(self.config.vision_config.output_hidden_states),
                                          training=training)  # fmt: skip
        return self._feature_map(vision, pixel_values), vision

    def embed_image_query(self, query_image_features, query_feature_map, interpolate_pos_encoding=False):
        """(the chosen box's class embedding per query image [n, 1, d] or None, the chosen box indices [n, 1],
        the query images' boxes)."""
        _, class_embeds = self.class_predictor(query_image_features)
        pred_boxes = self.box_predictor(query_image_features, query_feature_map, interpolate_pos_encoding)
        chosen = query_box_indices(np.asarray(pred_boxes), np.asarray(class_embeds))
        if not chosen:
            return None, None, pred_boxes
        indices = tf.constant(chosen, tf.int32)[:, None]
        return tf.gather(class_embeds[: len(chosen)], indices, batch_dims=1), indices, pred_boxes

    def image_guided_detection(self, pixel_values, query_pixel_values=None, output_attentions=None,
                               output_hidden_states=None, interpolate_pos_encoding=False, return_dict=True,
                               training=False):  # fmt: skip
        if query_pixel_values is None:
            raise ValueError("image_guided_detection needs query_pixel_values: one query image per target image.")
        query_map = self.image_embedder(query_pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)[0]
        feature_map, vision = self.image_embedder(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        image_feats = tf.reshape(feature_map, (feature_map.shape[0], -1, feature_map.shape[-1]))
        query_feats = tf.reshape(query_map, (query_map.shape[0], -1, query_map.shape[-1]))
        query_embeds, _, query_boxes = self.embed_image_query(query_feats, query_map, interpolate_pos_encoding)
        logits, class_embeds = self.class_predictor(image_feats, query_embeds)
        target_boxes = self.box_predictor(image_feats, feature_map, interpolate_pos_encoding)
        result = out.OwlViTImageGuidedObjectDetectionOutput(
            logits=logits, image_embeds=feature_map, query_image_embeds=query_map, target_pred_boxes=target_boxes,
            query_pred_boxes=query_boxes, class_embeds=class_embeds, vision_model_output=vision,
        )  # fmt: skip
        return out.finish(result, return_dict)

    def call(self, input_ids=None, pixel_values=None, attention_mask=None, output_attentions=None,
             output_hidden_states=None, interpolate_pos_encoding=None, training=False, return_dict=True, **kwargs):  # fmt: skip
        if input_ids is None or pixel_values is None:
            raise ValueError("TFOwlViTForObjectDetection needs input_ids (the text queries, [batch * queries, "
                             "length]) and pixel_values; for queries by example image use image_guided_detection.")  # fmt: skip
        input_ids, pixel_values = tf.convert_to_tensor(input_ids), tf.convert_to_tensor(pixel_values)
        batch = pixel_values.shape[0]
        if batch and input_ids.shape[0] is not None and input_ids.shape[0] % batch:
            raise ValueError(f"input_ids has {input_ids.shape[0]} rows for {batch} images: give every image the same "
                             "number of text queries (pad with empty queries).")  # fmt: skip
        encoded = self.owlvit(input_ids, pixel_values=pixel_values, attention_mask=attention_mask,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              interpolate_pos_encoding=bool(interpolate_pos_encoding), training=training)  # fmt: skip
        feature_map = self._feature_map(encoded.vision_model_output, pixel_values)
        image_feats = tf.reshape(feature_map, (tf.shape(feature_map)[0], -1, feature_map.shape[-1]))
        batch = tf.shape(feature_map)[0]
        query_embeds = tf.reshape(encoded.text_embeds, (batch, -1, encoded.text_embeds.shape[-1]))
        query_mask = tf.reshape(input_ids, (batch, tf.shape(query_embeds)[1], -1))[..., 0] > 0
        logits, class_embeds = self.class_predictor(image_feats, query_embeds, query_mask)
        pred_boxes = self.box_predictor(image_feats, feature_map, interpolate_pos_encoding)
        result = out.OwlViTObjectDetectionOutput(
            logits=logits, pred_boxes=pred_boxes, text_embeds=query_embeds, image_embeds=feature_map,
            class_embeds=class_embeds, text_model_output=encoded.text_model_output,
            vision_model_output=encoded.vision_model_output,
        )  # fmt: skip
        return out.finish(result, return_dict)
