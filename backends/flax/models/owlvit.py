"""OWL-ViT in Flax (transformers never had it, so the parameter tree carries the PyTorch module names): CLIP's
text and image towers, and per-patch box and class heads for detection queried by text or by an example image."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.owlvit import OwlViTConfig
from autoload.owlvit import box_bias, query_box_indices

from ..blocks.norms import LayerNorm
from ..blocks.vision import CLIPEncoder, dense, normal
from ..modeling import FlaxPreTrainedModel
from .clip import FlaxCLIPTextTransformer, FlaxCLIPVisionEmbeddings, contrastive_loss


def layer_norm(config):
    return LayerNorm(epsilon=config.layer_norm_eps)


class FlaxOwlViTVisionTransformer(nn.Module):
    """CLIP's image tower (with OWL-ViT's spelling pre_layernorm); the detection heads also apply its final norm
    to every token (`post_norm`)."""

    config: Any
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        self.embeddings = FlaxCLIPVisionEmbeddings(c)
        self.pre_layernorm = layer_norm(c)
        self.encoder = CLIPEncoder(c)
        self.post_layernorm = layer_norm(c)

    def post_norm(self, hidden):
        return self.post_layernorm(hidden)

    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 interpolate_pos_encoding=False, **kwargs):  # fmt: skip
        hidden = self.pre_layernorm(self.embeddings(pixel_values, interpolate_pos_encoding))
        hidden, states, attentions = self.encoder(hidden, None, output_attentions, deterministic)
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=self.post_layernorm(hidden[:, 0]),
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions)  # fmt: skip


def _normalise(x):
    return x / jnp.linalg.norm(x, axis=-1, keepdims=True)


class FlaxOwlViTModule(nn.Module):
    config: OwlViTConfig
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        self.text_model = FlaxCLIPTextTransformer(c.text_config)
        self.vision_model = FlaxOwlViTVisionTransformer(c.vision_config)
        self.visual_projection = nn.Dense(c.projection_dim, use_bias=False, kernel_init=normal(c))
        self.text_projection = nn.Dense(c.projection_dim, use_bias=False, kernel_init=normal(c))
        self.logit_scale = self.param("logit_scale", nn.initializers.constant(c.logit_scale_init_value), ())

    def get_text_features(self, input_ids, attention_mask=None):
        return self.text_projection(self.text_model(input_ids, attention_mask).pooler_output)

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False):
        encoded = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        return self.visual_projection(encoded.pooler_output)

    def __call__(self, input_ids, pixel_values, attention_mask=None, return_loss=None, deterministic=True,
                 output_attentions=False, output_hidden_states=False, interpolate_pos_encoding=False,
                 return_dict=True, **kwargs):  # fmt: skip
        flags = {"output_attentions": output_attentions, "output_hidden_states": output_hidden_states}
        vision = self.vision_model(pixel_values, deterministic, interpolate_pos_encoding=bool(interpolate_pos_encoding),
                                   **flags)  # fmt: skip
        input_ids = input_ids.reshape(-1, input_ids.shape[-1])
        text = self.text_model(input_ids, attention_mask, None, deterministic, **flags)
        image_embeds = _normalise(self.visual_projection(vision.pooler_output))
        text_embeds = _normalise(self.text_projection(text.pooler_output))
        logits_per_text = text_embeds @ image_embeds.T * jnp.exp(self.logit_scale)
        result = out.OwlViTOutput(loss=contrastive_loss(logits_per_text) if return_loss else None,
                                  logits_per_image=logits_per_text.T, logits_per_text=logits_per_text,
                                  text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text,
                                  vision_model_output=vision)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxOwlViTBoxPredictionHead(nn.Module):
    config: OwlViTConfig
    out_dim: int = 4

    @nn.compact
    def __call__(self, features):
        c, width = self.config, self.config.vision_config.hidden_size
        hidden = nn.gelu(dense(c, width, "dense0")(features), approximate=False)
        hidden = nn.gelu(dense(c, width, "dense1")(hidden), approximate=False)
        return dense(c, self.out_dim, "dense2")(hidden)


class FlaxOwlViTClassPredictionHead(nn.Module):
    config: OwlViTConfig

    @nn.compact
    def __call__(self, image_embeds, query_embeds=None, query_mask=None):
        """(logits [batch, patches, queries], the patches' class embeddings: normalised when queries are given)."""
        c = self.config
        query_dim = c.vision_config.hidden_size
        class_embeds = dense(c, c.text_config.hidden_size, "dense0")(image_embeds)
        shift = dense(c, 1, "logit_shift")
        scale = dense(c, 1, "logit_scale")
        if query_embeds is None:
            if self.is_initializing():  # reach every parameter when the tree is built
                shift(image_embeds), scale(image_embeds)
            return jnp.zeros(class_embeds.shape[:2] + (query_dim,), class_embeds.dtype), class_embeds
        class_embeds = class_embeds / (jnp.linalg.norm(class_embeds, axis=-1, keepdims=True) + 1e-6)
        query_unit = query_embeds / (jnp.linalg.norm(query_embeds, axis=-1, keepdims=True) + 1e-6)
        logits = class_embeds @ jnp.swapaxes(query_unit, -1, -2)
        logits = (logits + shift(image_embeds)) * (nn.elu(scale(image_embeds)) + 1)
        if query_mask is not None:
            if query_mask.ndim > 1:
                query_mask = query_mask[..., None, :]
            logits = jnp.where(query_mask, logits, jnp.finfo(logits.dtype).min).astype(jnp.float32)
        return logits, class_embeds


class FlaxOwlViTForObjectDetectionModule(nn.Module):
    config: OwlViTConfig
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        c.check_detection_sizes()
        self.owlvit = FlaxOwlViTModule(c)
        self.class_head = FlaxOwlViTClassPredictionHead(c)
        self.box_head = FlaxOwlViTBoxPredictionHead(c)
        self.layer_norm = layer_norm(c.vision_config)

    def _feature_map(self, vision, pixel_values):
        """Each patch token times the class token (both after the final norm), normalised: [batch, rows, cols, d]."""
        hidden = self.owlvit.vision_model.post_norm(vision.last_hidden_state)
        features = self.layer_norm(hidden[:, 1:] * hidden[:, :1])
        patch = self.config.vision_config.patch_size
        rows, cols = pixel_values.shape[-2] // patch, pixel_values.shape[-1] // patch
        return features.reshape(features.shape[0], rows, cols, features.shape[-1])

    def box_predictor(self, image_feats, feature_map):
        rows, cols = feature_map.shape[1:3]
        return nn.sigmoid(self.box_head(image_feats) + jnp.asarray(box_bias(rows, cols), image_feats.dtype))

    def image_embedder(self, pixel_values, interpolate_pos_encoding=False, deterministic=True):
        # transformers' image_embedder leaves the output flags to the vision config
        v = self.config.vision_config
        vision = self.owlvit.vision_model(pixel_values, deterministic, output_attentions=bool(v.output_attentions),
                                          output_hidden_states=bool(v.output_hidden_states),
                                          interpolate_pos_encoding=interpolate_pos_encoding)  # fmt: skip
        return self._feature_map(vision, pixel_values), vision

    def query_candidates(self, query_pixel_values, interpolate_pos_encoding=False):
        """The query images' feature maps, their boxes and their patches' class embeddings (to choose from)."""
        query_map = self.image_embedder(query_pixel_values, interpolate_pos_encoding)[0]
        feats = query_map.reshape(query_map.shape[0], -1, query_map.shape[-1])
        return query_map, self.box_predictor(feats, query_map), self.class_head(feats)[1]

    def guided(self, pixel_values, query_embeds=None, interpolate_pos_encoding=False, deterministic=True):
        feature_map, vision = self.image_embedder(pixel_values, interpolate_pos_encoding, deterministic)
        feats = feature_map.reshape(feature_map.shape[0], -1, feature_map.shape[-1])
        logits, class_embeds = self.class_head(feats, query_embeds)
        return feature_map, vision, logits, class_embeds, self.box_predictor(feats, feature_map)

    def __call__(self, input_ids, pixel_values, attention_mask=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        batch = pixel_values.shape[0]
        if input_ids.shape[0] % batch:
            raise ValueError(f"input_ids has {input_ids.shape[0]} rows for {batch} images: give every image the same "
                             "number of text queries (pad with empty queries).")  # fmt: skip
        encoded = self.owlvit(input_ids, pixel_values, attention_mask, deterministic=deterministic,
                              output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                              interpolate_pos_encoding=interpolate_pos_encoding)  # fmt: skip
        feature_map = self._feature_map(encoded.vision_model_output, pixel_values)
        feats = feature_map.reshape(batch, -1, feature_map.shape[-1])
        queries = input_ids.shape[0] // batch
        query_embeds = encoded.text_embeds.reshape(batch, queries, -1)
        query_mask = input_ids.reshape(batch, queries, -1)[..., 0] > 0  # a query starting with id 0 is padding
        logits, class_embeds = self.class_head(feats, query_embeds, query_mask)
        result = out.OwlViTObjectDetectionOutput(
            logits=logits, pred_boxes=self.box_predictor(feats, feature_map), text_embeds=query_embeds,
            image_embeds=feature_map, class_embeds=class_embeds, text_model_output=encoded.text_model_output,
            vision_model_output=encoded.vision_model_output,
        )  # fmt: skip
        return out.finish(result, return_dict)


class FlaxOwlViTPreTrainedModel(FlaxPreTrainedModel):
    config_class = OwlViTConfig
    base_model_prefix = "owlvit"
    main_input_name = "pixel_values"

    def dummy_inputs(self) -> dict:
        v = self.config.vision_config
        return {"input_ids": jnp.ones((1, 2), "i4"),
                "pixel_values": jnp.zeros((1, v.num_channels, v.image_size, v.image_size), jnp.float32)}  # fmt: skip


class FlaxOwlViTModel(FlaxOwlViTPreTrainedModel):
    module_class = FlaxOwlViTModule

    def get_text_features(self, input_ids, attention_mask=None, params=None):
        return self.module.apply({"params": params or self.params}, jnp.asarray(input_ids), attention_mask,
                                 method=FlaxOwlViTModule.get_text_features)  # fmt: skip

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False, params=None):
        return self.module.apply({"params": params or self.params}, jnp.asarray(pixel_values), interpolate_pos_encoding,
                                 method=FlaxOwlViTModule.get_image_features)  # fmt: skip


class FlaxOwlViTForObjectDetection(FlaxOwlViTPreTrainedModel):
    module_class = FlaxOwlViTForObjectDetectionModule

    def image_guided_detection(self, pixel_values, query_pixel_values=None, output_attentions=None,
                               output_hidden_states=None, interpolate_pos_encoding=False, return_dict=True,
                               params=None):  # fmt: skip
        if query_pixel_values is None:
            raise ValueError("image_guided_detection needs query_pixel_values: one query image per target image.")
        variables = {"params": params or self.params}
        module = FlaxOwlViTForObjectDetectionModule
        query_map, query_boxes, candidates = self.module.apply(
            variables, jnp.asarray(query_pixel_values), bool(interpolate_pos_encoding), method=module.query_candidates
        )
        chosen = query_box_indices(np.asarray(query_boxes), np.asarray(candidates))
        query_embeds = candidates[np.arange(len(chosen))[:, None], np.asarray(chosen)[:, None]] if chosen else None
        feature_map, vision, logits, class_embeds, target_boxes = self.module.apply(
            variables, jnp.asarray(pixel_values), query_embeds, bool(interpolate_pos_encoding), method=module.guided
        )
        result = out.OwlViTImageGuidedObjectDetectionOutput(
            logits=logits, image_embeds=feature_map, query_image_embeds=query_map, target_pred_boxes=target_boxes,
            query_pred_boxes=query_boxes, class_embeds=class_embeds, vision_model_output=vision,
        )  # fmt: skip
        return out.finish(result, return_dict)
