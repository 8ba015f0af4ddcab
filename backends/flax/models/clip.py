"""CLIP in Flax, with transformers' Flax parameter tree: a causal text transformer and a ViT image encoder
(CLIP-style pre-norm layers) projected into one space."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.clip import CLIPConfig

from ..attention import causal_bias
from ..blocks.norms import LayerNorm
from ..blocks.vision import (
    CLIPEncoder,
    CLIPTextEmbeddings,
    FlaxVisionPreTrainedModel,
    check_pixel_values,
    dense,
    nhwc,
    normal,
    resize_grid,
)
from ..heads import FlaxImageClassificationModel
from ..modeling import FlaxPreTrainedModel


def layer_norm(config, name: str):
    return LayerNorm(epsilon=config.layer_norm_eps, name=name)


class FlaxCLIPTextTransformer(nn.Module):
    """Takes the text config, or a CLIPConfig (then its text part)."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, position_ids=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = getattr(self.config, "text_config", self.config)
        hidden = CLIPTextEmbeddings(c, name="embeddings")(input_ids, position_ids)
        bias = causal_bias(input_ids.shape[-1], 0, attention_mask, hidden.dtype)
        hidden, states, attentions = CLIPEncoder(c, name="encoder")(hidden, bias, output_attentions, deterministic)
        hidden = layer_norm(c, "final_layer_norm")(hidden)
        if c.pools_largest_id:
            ends = jnp.argmax(input_ids, axis=-1)
        else:
            ends = jnp.argmax((input_ids == c.eos_token_id).astype("i4"), axis=-1)
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=hidden[jnp.arange(hidden.shape[0]), ends],
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions)  # fmt: skip


class FlaxCLIPVisionEmbeddings(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, pixel_values, interpolate_pos_encoding=False):
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        height, width = pixel_values.shape[-2:]
        if not interpolate_pos_encoding and (height, width) != (c.image_size, c.image_size):
            raise ValueError(f"Input image size ({height}*{width}) doesn't match the model ({c.image_size}*"
                             f"{c.image_size}); resize it or pass interpolate_pos_encoding=True.")  # fmt: skip
        p = c.patch_size
        patches = nn.Conv(c.hidden_size, (p, p), strides=(p, p), padding="VALID", use_bias=False,
                          kernel_init=normal(c), name="patch_embedding")(nhwc(pixel_values))  # fmt: skip
        rows, cols = patches.shape[1:3]
        patches = patches.reshape(patches.shape[0], -1, c.hidden_size)
        cls = self.param("class_embedding", normal(c), (c.hidden_size,))
        count = (c.image_size // p) ** 2 + 1
        table = nn.Embed(count, c.hidden_size, embedding_init=normal(c), name="position_embedding")(jnp.arange(count))
        grid = int((count - 1) ** 0.5)
        if interpolate_pos_encoding and (rows, cols) != (grid, grid):
            resized = resize_grid(table[1:].reshape(grid, grid, -1), rows, cols).reshape(rows * cols, -1)
            table = jnp.concatenate([table[:1], resized])
        embeds = jnp.concatenate([jnp.broadcast_to(cls, (patches.shape[0], 1, c.hidden_size)), patches], axis=1)
        return embeds + table[None]


class FlaxCLIPVisionTransformer(nn.Module):
    """Takes the vision config, or a CLIPConfig (then its vision part)."""

    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        c = getattr(self.config, "vision_config", self.config)
        hidden = FlaxCLIPVisionEmbeddings(c, name="embeddings")(pixel_values, interpolate_pos_encoding)
        hidden = layer_norm(c, "pre_layrnorm")(hidden)
        hidden, states, attentions = CLIPEncoder(c, name="encoder")(hidden, None, output_attentions, deterministic)
        pooled = layer_norm(c, "post_layernorm")(hidden[:, 0])
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled,
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions)  # fmt: skip


def _normalise(x):
    return x / jnp.linalg.norm(x, axis=-1, keepdims=True)


def contrastive_loss(logits_per_text):
    targets = jnp.arange(logits_per_text.shape[0])

    def cross_entropy(logits):
        return -jnp.take_along_axis(jax.nn.log_softmax(logits, -1), targets[:, None], axis=-1).mean()

    return (cross_entropy(logits_per_text) + cross_entropy(logits_per_text.T)) / 2


class FlaxCLIPModule(nn.Module):
    config: CLIPConfig
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        self.text_model = FlaxCLIPTextTransformer(c.text_config)
        self.vision_model = FlaxCLIPVisionTransformer(c.vision_config)
        self.visual_projection = dense(c, c.projection_dim, "visual_projection", use_bias=False)
        self.text_projection = dense(c, c.projection_dim, "text_projection", use_bias=False)
        self.logit_scale = self.param("logit_scale", nn.initializers.constant(c.logit_scale_init_value), ())

    def get_text_features(self, input_ids, attention_mask=None, position_ids=None):
        return self.text_projection(self.text_model(input_ids, attention_mask, position_ids).pooler_output)

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False):
        encoded = self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        return self.visual_projection(encoded.pooler_output)

    def __call__(self, input_ids, pixel_values, attention_mask=None, position_ids=None, return_loss=None,
                 deterministic=True, output_attentions=False, output_hidden_states=False,
                 interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        flags = {"output_attentions": output_attentions, "output_hidden_states": output_hidden_states}
        vision = self.vision_model(pixel_values, deterministic, interpolate_pos_encoding=bool(interpolate_pos_encoding),
                                   **flags)  # fmt: skip
        text = self.text_model(input_ids, attention_mask, position_ids, deterministic, **flags)
        image_embeds = _normalise(self.visual_projection(vision.pooler_output))
        text_embeds = _normalise(self.text_projection(text.pooler_output))
        logits_per_text = text_embeds @ image_embeds.T * jnp.exp(self.logit_scale)
        result = out.CLIPOutput(loss=contrastive_loss(logits_per_text) if return_loss else None,
                                logits_per_image=logits_per_text.T, logits_per_text=logits_per_text,
                                text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text,
                                vision_model_output=vision)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxCLIPPreTrainedModel(FlaxPreTrainedModel):
    config_class = CLIPConfig
    base_model_prefix = "clip"
    base_module = FlaxCLIPVisionTransformer


class FlaxCLIPModel(FlaxCLIPPreTrainedModel):
    module_class = FlaxCLIPModule

    def dummy_inputs(self) -> dict:
        return {"input_ids": jnp.zeros((1, 2), "i4"), **FlaxVisionPreTrainedModel.dummy_inputs(self)}

    def get_text_features(self, input_ids, attention_mask=None, position_ids=None, params=None):
        return self.module.apply({"params": params or self.params}, jnp.asarray(input_ids), attention_mask,
                                 position_ids, method=FlaxCLIPModule.get_text_features)  # fmt: skip

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False, params=None):
        return self.module.apply({"params": params or self.params}, jnp.asarray(pixel_values), interpolate_pos_encoding,
                                 method=FlaxCLIPModule.get_image_features)  # fmt: skip


class FlaxCLIPForImageClassification(FlaxImageClassificationModel, FlaxCLIPPreTrainedModel, FlaxVisionPreTrainedModel):
    pass
