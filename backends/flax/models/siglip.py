"""SigLIP in Flax. transformers never had a Flax SigLIP, so parameter names mirror the PyTorch checkpoint names
(see autoload/backends/torch/models/siglip.py for what each class does)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.siglip import SiglipConfig, SiglipTextConfig, SiglipVisionConfig

from ..blocks.norms import LayerNorm
from ..blocks.vision import (
    CLIPMLP,
    CLIPEncoder,
    CLIPTextEmbeddings,
    FlaxVisionPreTrainedModel,
    attend,
    check_pixel_values,
    dense,
    merge_heads,
    nhwc,
    normal,
    resize_grid,
    split_heads,
)
from ..heads import FlaxImageClassificationModel
from ..modeling import FlaxPreTrainedModel


def layer_norm(config, name: str):
    return LayerNorm(epsilon=config.layer_norm_eps, name=name)


class FlaxSiglipVisionEmbeddings(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, pixel_values, interpolate_pos_encoding=False):
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        p = c.patch_size
        patches = nn.Conv(c.hidden_size, (p, p), strides=(p, p), padding="VALID", kernel_init=normal(c),
                          name="patch_embedding")(nhwc(pixel_values))  # fmt: skip
        rows, cols = patches.shape[1:3]
        patches = patches.reshape(patches.shape[0], -1, c.hidden_size)
        count = (c.image_size // p) ** 2
        table = nn.Embed(count, c.hidden_size, embedding_init=normal(c), name="position_embedding")(jnp.arange(count))
        grid = int(count**0.5)
        if interpolate_pos_encoding:
            table = resize_grid(table.reshape(grid, grid, -1), rows, cols).reshape(rows * cols, -1)
        elif rows * cols != count:
            raise ValueError(
                f"Input image size ({pixel_values.shape[-2]}*{pixel_values.shape[-1]}) doesn't match the model "
                f"({c.image_size}*{c.image_size}); resize it or pass interpolate_pos_encoding=True."
            )
        return patches + table[None]


class FlaxSiglipMultiheadAttention(nn.Module):
    """torch.nn.MultiheadAttention's weights: in_proj_weight / in_proj_bias (q, k, v stacked) and out_proj."""

    config: Any

    @nn.compact
    def __call__(self, query, source):
        c = self.config
        size, heads = c.hidden_size, c.num_attention_heads
        weight = self.param("in_proj_weight", normal(c), (3 * size, size))
        bias = self.param("in_proj_bias", nn.initializers.zeros, (3 * size,))
        (w_q, w_k, w_v), (b_q, b_k, b_v) = jnp.split(weight, 3), jnp.split(bias, 3)
        q = split_heads(query @ w_q.T + b_q, heads)
        k, v = split_heads(source @ w_k.T + b_k, heads), split_heads(source @ w_v.T + b_v, heads)
        context, _ = attend(q, k, v)
        return dense(c, size, "out_proj")(merge_heads(context))


class FlaxSiglipMultiheadAttentionPoolingHead(nn.Module):
    config: Any

    @nn.compact
    def __call__(self, hidden):
        c = self.config
        probe = self.param("probe", normal(c), (1, 1, c.hidden_size))
        pooled = FlaxSiglipMultiheadAttention(c, name="attention")(jnp.broadcast_to(probe, (hidden.shape[0], 1, c.hidden_size)),
                                                                   hidden)  # fmt: skip
        return (pooled + CLIPMLP(c, name="mlp")(layer_norm(c, "layernorm")(pooled)))[:, 0]


class FlaxSiglipTextTransformer(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, position_ids=None, deterministic=True, output_attentions=False,
                 output_hidden_states=False, return_dict=True, **kwargs):  # fmt: skip
        c = getattr(self.config, "text_config", self.config)
        hidden = CLIPTextEmbeddings(c, name="embeddings")(input_ids, position_ids)
        bias = None
        if attention_mask is not None:
            bias = jnp.where(jnp.asarray(attention_mask)[:, None, None, :] > 0, 0.0,
                             jnp.finfo(hidden.dtype).min).astype(hidden.dtype)  # fmt: skip
        hidden, states, attentions = CLIPEncoder(c, name="encoder")(hidden, bias, output_attentions, deterministic)
        hidden = layer_norm(c, "final_layer_norm")(hidden)
        pooled = dense(c, c.projection_size, "head")(hidden[:, -1])
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled,
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions)  # fmt: skip


class FlaxSiglipVisionTransformer(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        c = getattr(self.config, "vision_config", self.config)
        hidden = FlaxSiglipVisionEmbeddings(c, name="embeddings")(pixel_values, bool(interpolate_pos_encoding))
        hidden, states, attentions = CLIPEncoder(c, name="encoder")(hidden, None, output_attentions, deterministic)
        hidden = layer_norm(c, "post_layernorm")(hidden)
        pooled = FlaxSiglipMultiheadAttentionPoolingHead(c, name="head")(hidden) if c.use_head else None
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled,
                                              hidden_states=states if output_hidden_states else None,
                                              attentions=attentions)  # fmt: skip


def sigmoid_loss(logits_per_text):
    signs = 2 * jnp.eye(logits_per_text.shape[0], dtype=logits_per_text.dtype) - 1
    return -jax.nn.log_sigmoid(signs * logits_per_text).sum(-1).mean()


def _normalise(x):
    return x / jnp.linalg.norm(x, axis=-1, keepdims=True)


class FlaxSiglipModule(nn.Module):
    """As in transformers 4.57.6, the towers' outputs here carry no hidden states or attentions."""

    config: SiglipConfig
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        self.text_model = FlaxSiglipTextTransformer(c.text_config)
        self.vision_model = FlaxSiglipVisionTransformer(c.vision_config)
        self.logit_scale = self.param("logit_scale", nn.initializers.zeros, (1,))
        self.logit_bias = self.param("logit_bias", nn.initializers.zeros, (1,))

    def get_text_features(self, input_ids, attention_mask=None, position_ids=None):
        return self.text_model(input_ids, attention_mask, position_ids).pooler_output

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False):
        return self.vision_model(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding).pooler_output

    def __call__(self, input_ids, pixel_values, attention_mask=None, position_ids=None, return_loss=None,
                 deterministic=True, interpolate_pos_encoding=False, return_dict=True, **kwargs):  # fmt: skip
        vision = self.vision_model(pixel_values, deterministic, interpolate_pos_encoding=interpolate_pos_encoding)
        text = self.text_model(input_ids, attention_mask, position_ids, deterministic)
        image_embeds, text_embeds = _normalise(vision.pooler_output), _normalise(text.pooler_output)
        logits_per_text = text_embeds @ image_embeds.T * jnp.exp(self.logit_scale) + self.logit_bias
        result = out.SiglipOutput(loss=sigmoid_loss(logits_per_text) if return_loss else None,
                                  logits_per_image=logits_per_text.T, logits_per_text=logits_per_text,
                                  text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text,
                                  vision_model_output=vision)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSiglipTextModule(nn.Module):
    config: SiglipTextConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, position_ids=None, return_dict=True, **kwargs):
        result = FlaxSiglipTextTransformer(self.config, name="text_model")(input_ids, attention_mask, position_ids,
                                                                           **kwargs)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxSiglipVisionModule(nn.Module):
    config: SiglipVisionConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, return_dict=True, **kwargs):
        return out.finish(FlaxSiglipVisionTransformer(self.config, name="vision_model")(pixel_values, **kwargs), return_dict)


class FlaxSiglipPreTrainedModel(FlaxPreTrainedModel):
    config_class = SiglipConfig
    base_model_prefix = "siglip"
    base_module = FlaxSiglipVisionTransformer


class FlaxSiglipModel(FlaxSiglipPreTrainedModel):
    module_class = FlaxSiglipModule

    def dummy_inputs(self) -> dict:
        return {"input_ids": jnp.ones((1, 2), "i4"), **FlaxVisionPreTrainedModel.dummy_inputs(self)}

    def get_text_features(self, input_ids, attention_mask=None, position_ids=None, params=None):
        return self.module.apply({"params": params or self.params}, jnp.asarray(input_ids), attention_mask,
                                 position_ids, method=FlaxSiglipModule.get_text_features)  # fmt: skip

    def get_image_features(self, pixel_values, interpolate_pos_encoding=False, params=None):
        return self.module.apply({"params": params or self.params}, jnp.asarray(pixel_values), interpolate_pos_encoding,
                                 method=FlaxSiglipModule.get_image_features)  # fmt: skip


class FlaxSiglipTextModel(FlaxSiglipPreTrainedModel):
    config_class = SiglipTextConfig
    module_class = FlaxSiglipTextModule

    def dummy_inputs(self) -> dict:
        return {"input_ids": jnp.ones((1, 2), "i4")}


class FlaxSiglipVisionModel(FlaxSiglipPreTrainedModel, FlaxVisionPreTrainedModel):
    config_class = SiglipVisionConfig
    module_class = FlaxSiglipVisionModule


class FlaxSiglipForImageClassification(FlaxImageClassificationModel, FlaxSiglipPreTrainedModel,
                                       FlaxVisionPreTrainedModel):  # fmt: skip
    pass
