"""CLIP in Flax, with transformers' Flax parameter tree: a causal text transformer and a ViT image encoder
projected into one space."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.clip import CLIPConfig

from ..activations import get_activation
from ..attention import attend, causal_bias
from ..modeling import FlaxPreTrainedModel
from .vit import check_pixel_values


class FlaxCLIPAttention(nn.Module):
    config: object

    @nn.compact
    def __call__(self, hidden, bias=None):
        c = self.config
        head_dim = c.hidden_size // c.num_attention_heads
        split = lambda x: x.reshape(x.shape[:2] + (c.num_attention_heads, head_dim))  # noqa: E731
        q, k, v = (split(nn.Dense(c.hidden_size, name=n)(hidden)) for n in ("q_proj", "k_proj", "v_proj"))
        return nn.Dense(c.hidden_size, name="out_proj")(attend(q, k, v, bias, head_dim**-0.5).reshape(hidden.shape))


class FlaxCLIPEncoderLayer(nn.Module):
    config: object

    @nn.compact
    def __call__(self, hidden, bias=None):
        c = self.config
        hidden = hidden + FlaxCLIPAttention(c, name="self_attn")(
            nn.LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm1")(hidden), bias
        )
        x = nn.LayerNorm(epsilon=c.layer_norm_eps, name="layer_norm2")(hidden)
        return hidden + FlaxCLIPMLP(c, name="mlp")(x)


class FlaxCLIPMLP(nn.Module):
    config: object

    @nn.compact
    def __call__(self, x):
        c = self.config
        return nn.Dense(c.hidden_size, name="fc2")(get_activation(c.hidden_act)(nn.Dense(c.intermediate_size, name="fc1")(x)))


class FlaxCLIPLayers(nn.Module):
    config: object

    @nn.compact
    def __call__(self, hidden, bias=None):
        states = (hidden,)
        for i in range(self.config.num_hidden_layers):
            hidden = FlaxCLIPEncoderLayer(self.config, name=str(i))(hidden, bias)
            states += (hidden,)
        return hidden, states


class FlaxCLIPEncoder(nn.Module):
    config: object

    @nn.compact
    def __call__(self, hidden, bias=None):
        return FlaxCLIPLayers(self.config, name="layers")(hidden, bias)


class FlaxCLIPTextTransformer(nn.Module):
    config: object

    @nn.compact
    def __call__(self, input_ids, attention_mask=None, output_hidden_states=False):
        c = self.config
        length = input_ids.shape[-1]
        if length > c.max_position_embeddings:
            raise ValueError(
                f"Sequence length {length} is longer than max_position_embeddings ({c.max_position_embeddings})."
            )
        embeddings = FlaxCLIPTextEmbeddings(c, name="embeddings")(input_ids)
        hidden, states = FlaxCLIPEncoder(c, name="encoder")(embeddings, causal_bias(length, 0, attention_mask, embeddings.dtype))
        hidden = nn.LayerNorm(epsilon=c.layer_norm_eps, name="final_layer_norm")(hidden)
        if c.eos_token_id == 2:
            ends = jnp.argmax(input_ids, axis=-1)
        else:
            ends = jnp.argmax((input_ids == c.eos_token_id).astype("i4"), axis=-1)
        pooled = hidden[jnp.arange(hidden.shape[0]), ends]
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled,
                                              hidden_states=states if output_hidden_states else None)  # fmt: skip


class FlaxCLIPTextEmbeddings(nn.Module):
    config: object

    @nn.compact
    def __call__(self, input_ids):
        c = self.config
        tokens = nn.Embed(c.vocab_size, c.hidden_size, name="token_embedding")(input_ids.astype("i4"))
        positions = nn.Embed(c.max_position_embeddings, c.hidden_size, name="position_embedding")(
            jnp.arange(input_ids.shape[-1])[None]
        )
        return tokens + positions


class FlaxCLIPVisionEmbeddings(nn.Module):
    config: object

    @nn.compact
    def __call__(self, pixel_values):
        c = self.config
        check_pixel_values(pixel_values, c.num_channels)
        if tuple(pixel_values.shape[-2:]) != (c.image_size, c.image_size):
            raise ValueError(
                f"Input image size {tuple(pixel_values.shape[-2:])} doesn't match the model "
                f"({c.image_size}x{c.image_size}); use the model's image processor."
            )
        p = c.patch_size
        patches = nn.Conv(c.hidden_size, (p, p), strides=(p, p), padding="VALID", use_bias=False, name="patch_embedding")(
            jnp.transpose(pixel_values, (0, 2, 3, 1))
        )
        patches = patches.reshape(patches.shape[0], -1, c.hidden_size)
        cls = self.param("class_embedding", nn.initializers.normal(0.02), (c.hidden_size,))
        embeds = jnp.concatenate([jnp.broadcast_to(cls, (patches.shape[0], 1, c.hidden_size)), patches], axis=1)
        positions = nn.Embed(embeds.shape[1], c.hidden_size, name="position_embedding")(jnp.arange(embeds.shape[1])[None])
        return embeds + positions


class FlaxCLIPVisionTransformer(nn.Module):
    config: object

    @nn.compact
    def __call__(self, pixel_values, output_hidden_states=False):
        c = self.config
        hidden = FlaxCLIPVisionEmbeddings(c, name="embeddings")(pixel_values)
        hidden = nn.LayerNorm(epsilon=c.layer_norm_eps, name="pre_layrnorm")(hidden)
        hidden, states = FlaxCLIPEncoder(c, name="encoder")(hidden)
        pooled = nn.LayerNorm(epsilon=c.layer_norm_eps, name="post_layernorm")(hidden[:, 0])
        return out.BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled,
                                              hidden_states=states if output_hidden_states else None)  # fmt: skip


def _normalise(x):
    return x / jnp.linalg.norm(x, axis=-1, keepdims=True)


class FlaxCLIPModule(nn.Module):
    config: CLIPConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        c = self.config
        self.text_model = FlaxCLIPTextTransformer(c.text_config)
        self.vision_model = FlaxCLIPVisionTransformer(c.vision_config)
        self.visual_projection = nn.Dense(c.projection_dim, use_bias=False)
        self.text_projection = nn.Dense(c.projection_dim, use_bias=False)
        self.logit_scale = self.param("logit_scale", nn.initializers.constant(c.logit_scale_init_value), ())

    def get_text_features(self, input_ids, attention_mask=None):
        return self.text_projection(self.text_model(input_ids, attention_mask).pooler_output)

    def get_image_features(self, pixel_values):
        return self.visual_projection(self.vision_model(pixel_values).pooler_output)

    def __call__(self, input_ids, pixel_values, attention_mask=None, deterministic=True, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        text = self.text_model(input_ids, attention_mask, output_hidden_states)
        vision = self.vision_model(pixel_values, output_hidden_states)
        image_embeds = _normalise(self.visual_projection(vision.pooler_output))
        text_embeds = _normalise(self.text_projection(text.pooler_output))
        logits_per_text = text_embeds @ image_embeds.T * jnp.exp(self.logit_scale)
        result = out.CLIPOutput(logits_per_image=logits_per_text.T, logits_per_text=logits_per_text,
                                text_embeds=text_embeds, image_embeds=image_embeds, text_model_output=text,
                                vision_model_output=vision)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxCLIPForImageClassificationModule(nn.Module):
    config: CLIPConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_hidden_states=False, return_dict=True, **kwargs):
        encoded = FlaxCLIPVisionTransformer(self.config.vision_config, name="vision_model")(pixel_values,
                                                                                            output_hidden_states)  # fmt: skip
        logits = nn.Dense(self.config.num_labels, name="classifier")(encoded.last_hidden_state[:, 1:].mean(axis=1))
        result = out.ImageClassifierOutput(logits=logits, hidden_states=encoded.hidden_states)
        return out.finish(result, return_dict)


class FlaxCLIPPreTrainedModel(FlaxPreTrainedModel):
    config_class = CLIPConfig
    base_model_prefix = "clip"

    def dummy_inputs(self) -> dict:
        v = self.config.vision_config
        pixels = jnp.zeros((1, v.num_channels, v.image_size, v.image_size), jnp.float32)
        if self.module_class is FlaxCLIPForImageClassificationModule:
            return {"pixel_values": pixels}
        return {"input_ids": jnp.zeros((1, 2), "i4"), "pixel_values": pixels}


class FlaxCLIPModel(FlaxCLIPPreTrainedModel):
    module_class = FlaxCLIPModule

    def get_text_features(self, input_ids, attention_mask=None, params=None):
        return self.module.apply({"params": params or self.params}, jnp.asarray(input_ids), attention_mask,
                                 method=FlaxCLIPModule.get_text_features)  # fmt: skip

    def get_image_features(self, pixel_values, params=None):
        return self.module.apply({"params": params or self.params}, jnp.asarray(pixel_values),
                                 method=FlaxCLIPModule.get_image_features)  # fmt: skip


class FlaxCLIPForImageClassification(FlaxCLIPPreTrainedModel):
    module_class = FlaxCLIPForImageClassificationModule
    main_input_name = "pixel_values"
