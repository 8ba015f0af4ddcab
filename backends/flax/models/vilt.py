"""ViLT in Flax (linen; transformers never had one, so the parameter tree mirrors the PyTorch names); mirrors the
PyTorch classes. The image patches are chosen from pixel_mask in numpy (autoload.models.vilt.plan_patches), so
pixel_mask must be concrete: the model runs outside jax.jit (a traced pixel_mask is refused clearly)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from autoload import outputs as out
from autoload.models.vilt import VQA_NORM_EPS, ViltConfig, plan_patches

from ..activations import get_activation
from ..blocks.encoder import Embeddings, Pooler, dense, padding_bias
from ..blocks.norms import LayerNorm
from ..blocks.vision import ViTLayerCollection
from ..heads import FlaxTaskModel, HeadModule
from ..modeling import FlaxPreTrainedModel


def concrete(value, name: str) -> np.ndarray:
    if isinstance(value, jax.core.Tracer):
        raise NotImplementedError(f"ViLT picks its image tokens from {name} in numpy, so Flax ViLT cannot run under "
                                  "jax.jit; call the model directly.")  # fmt: skip
    return np.asarray(value)


class FlaxViltPatchEmbeddings(nn.Module):
    config: ViltConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values):
        c = self.config
        if pixel_values.shape[1] != c.num_channels:
            raise ValueError("Make sure that the channel dimension of the pixel values match with the one set in the "
                             "configuration.")  # fmt: skip
        proj = nn.Conv(c.hidden_size, (c.patch_size, c.patch_size), strides=c.patch_size, padding="VALID",
                       dtype=self.dtype, kernel_init=nn.initializers.normal(c.initializer_range), name="projection")
        return proj(jnp.transpose(jnp.asarray(pixel_values, self.dtype), (0, 2, 3, 1)))  # [batch, rows, cols, width]


class FlaxViltEmbeddings(nn.Module):
    config: ViltConfig
    dtype: Any = jnp.float32

    def setup(self):
        c = self.config
        width = c.hidden_size
        self.text_embeddings = Embeddings(c.text_options(), dtype=self.dtype)
        self.cls_token = self.param("cls_token", nn.initializers.zeros, (1, 1, width))
        self.patch_embeddings = FlaxViltPatchEmbeddings(c, dtype=self.dtype)
        self.position_embeddings = self.param("position_embeddings", nn.initializers.zeros,
                                              (1, c.patches_per_side**2 + 1, width))  # fmt: skip
        self.token_type_embeddings = nn.Embed(c.modality_type_vocab_size, width, dtype=self.dtype,
                                              embedding_init=nn.initializers.normal(c.initializer_range))  # fmt: skip
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def visual_embed(self, pixel_values, pixel_mask, deterministic):
        c = self.config
        patches = self.patch_embeddings(pixel_values)
        batch, rows, cols, width = patches.shape
        plan = plan_patches(concrete(pixel_mask, "pixel_mask"), (rows, cols), c)
        side = c.patches_per_side
        table = self.position_embeddings[0, 1:].reshape(side, side, width).astype(self.dtype)
        resized = jnp.einsum("bip,pqc,bjq->bijc", plan.row_resize, table, plan.col_resize)
        select = jnp.asarray(plan.select)[..., None]
        tokens = jnp.take_along_axis(patches.reshape(batch, rows * cols, width), select, axis=1)
        positions = jnp.take_along_axis(resized.reshape(batch, rows * cols, width), select, axis=1)
        tokens = jnp.concatenate([jnp.broadcast_to(self.cls_token, (batch, 1, width)).astype(self.dtype), tokens], 1)
        first = jnp.broadcast_to(self.position_embeddings[:, :1], (batch, 1, width)).astype(self.dtype)
        positions = jnp.concatenate([first, positions], axis=1)
        mask = np.concatenate([np.ones((batch, 1), np.int32), plan.mask], axis=1)
        return self.dropout(tokens + positions, deterministic=deterministic), jnp.asarray(mask)

    def __call__(self, input_ids, attention_mask, token_type_ids, pixel_values, pixel_mask, inputs_embeds,
                 image_embeds, image_token_type_idx=1, deterministic=True):  # fmt: skip
        text = self.text_embeddings(input_ids, token_type_ids, None, inputs_embeds, deterministic)
        if image_embeds is None:
            image, image_mask = self.visual_embed(pixel_values, pixel_mask, deterministic)
        else:
            image = jnp.asarray(image_embeds, self.dtype)
            image_mask = jnp.asarray(pixel_mask).reshape(image.shape[0], -1).astype("i4")
        image_token_type_idx = 1 if image_token_type_idx is None else image_token_type_idx
        text = text + self.token_type_embeddings(jnp.zeros(attention_mask.shape, "i4"))
        image = image + self.token_type_embeddings(jnp.full(image_mask.shape, image_token_type_idx, "i4"))
        return jnp.concatenate([text, image], axis=1), jnp.concatenate([attention_mask.astype("i4"), image_mask], 1)


class FlaxViltEncoder(nn.Module):
    config: ViltConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden, bias=None, head_mask=None, deterministic=True):
        return ViTLayerCollection(self.config, None, self.dtype, name="layer")(hidden, bias, head_mask,
                                                                                deterministic=deterministic)


class FlaxViltModule(nn.Module):
    config: ViltConfig
    dtype: Any = jnp.float32
    add_pooling_layer: bool = True

    @nn.compact
    def __call__(self, input_ids=None, attention_mask=None, token_type_ids=None, pixel_values=None, pixel_mask=None,
                 head_mask=None, inputs_embeds=None, image_embeds=None, image_token_type_idx=None, deterministic=True,
                 output_attentions=False, output_hidden_states=False, return_dict=True):  # fmt: skip
        c = self.config
        if input_ids is not None and inputs_embeds is not None:
            raise ValueError("You cannot specify both input_ids and inputs_embeds at the same time")
        text = input_ids if input_ids is not None else inputs_embeds
        if text is None:
            raise ValueError("You have to specify either input_ids or inputs_embeds")
        if (pixel_values is None) == (image_embeds is None):
            raise ValueError("You have to specify exactly one of pixel_values and image_embeds")
        batch, length = text.shape[:2]
        attention_mask = jnp.ones((batch, length), "i4") if attention_mask is None else jnp.asarray(attention_mask)
        if pixel_mask is None:
            if image_embeds is not None:
                raise ValueError("image_embeds need their pixel_mask (one value per image token).")
            pixel_mask = np.ones((batch, c.image_size, c.image_size), np.int32)
        hidden, mask = FlaxViltEmbeddings(c, dtype=self.dtype, name="embeddings")(
            input_ids, attention_mask, token_type_ids, pixel_values, pixel_mask, inputs_embeds, image_embeds,
            image_token_type_idx, deterministic)  # fmt: skip
        hidden, states, attentions = FlaxViltEncoder(c, dtype=self.dtype, name="encoder")(
            hidden, padding_bias(mask, hidden.dtype), head_mask, deterministic)  # fmt: skip
        last = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="layernorm")(hidden)
        pooled = Pooler(c.hidden_size, c.initializer_range, self.dtype, name="pooler")(last) \
            if self.add_pooling_layer else None  # fmt: skip
        result = out.BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled,
                                                hidden_states=states if output_hidden_states else None,
                                                attentions=attentions if output_attentions else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxViltPreTrainedModel(FlaxPreTrainedModel):
    config_class = ViltConfig
    base_model_prefix = "vilt"
    base_module = FlaxViltModule
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"token_type_ids$"]

    def dummy_inputs(self) -> dict:
        size = self.config.image_size
        return {"input_ids": jnp.ones((1, 2), "i4"),
                "pixel_values": jnp.zeros((1, self.config.num_channels, size, size))}  # fmt: skip


class FlaxViltModel(FlaxViltPreTrainedModel):
    module_class = FlaxViltModule


class FlaxViltClassifier(nn.Module):
    """classifier.0 (2 x hidden) -> classifier.1 LayerNorm -> exact GELU -> classifier.3."""

    config: ViltConfig
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pooled):
        c = self.config
        hidden = dense(2 * c.hidden_size, c.initializer_range, self.dtype, "0")(pooled)
        hidden = get_activation("gelu")(LayerNorm(epsilon=VQA_NORM_EPS, dtype=self.dtype, name="1")(hidden))
        return dense(c.num_labels, c.initializer_range, self.dtype, "3")(hidden)


class ViltQuestionAnsweringModule(HeadModule):
    """Answer scores from the pooled output (FlaxViltClassifier)."""

    @nn.compact
    def __call__(self, input_ids=None, deterministic=True, return_dict=True, **kwargs):
        encoded = self.encode(input_ids, deterministic=deterministic, **kwargs)
        logits = FlaxViltClassifier(self.config, self.dtype, name="classifier")(encoded.pooler_output)
        return out.finish(out.from_encoded(out.SequenceClassifierOutput, encoded, logits=logits), return_dict)


class FlaxViltForQuestionAnswering(FlaxTaskModel, FlaxViltPreTrainedModel):
    module_class = ViltQuestionAnsweringModule
