"""BEiT in Flax, with transformers' Flax parameter tree for the classes transformers had (the others mirror the
PyTorch names; see autoload/backends/torch/models/beit.py for what each class does)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.beit import BeitConfig

from ..blocks.norms import LayerNorm
from ..blocks.segmentation import FCNHead, FeaturePyramidLevel, UperHead, segmentation_loss
from ..blocks.vision import (
    FlaxVisionPreTrainedModel,
    ViTEmbeddings,
    ViTEncoder,
    ViTModule,
    dense,
    nchw,
    nhwc,
    patch_window,
    tokens_to_map,
)
from ..heads import FlaxImageClassificationModel, FlaxTaskModel, HeadModule


class FlaxBeitPooler(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, hidden):
        if not self.config.use_mean_pooling:
            return hidden[:, 0]
        norm = LayerNorm(epsilon=self.config.layer_norm_eps, dtype=self.dtype, name="layernorm")
        return norm(hidden[:, 1:].mean(1))


class FlaxBeitModule(ViTModule):
    """BEiT's mask token comes from the config (use_mask_token), not from the head."""

    output_class = out.BeitModelOutputWithPooling

    def has_mask_token(self) -> bool:
        return bool(self.config.use_mask_token)

    def final_norm(self, hidden):
        if self.config.use_mean_pooling:
            return hidden
        return super().final_norm(hidden)

    def pool(self, hidden):
        return FlaxBeitPooler(self.config, self.dtype, name="pooler")(hidden)


def pyramid(config, maps, batch_norm_eps: float = 1e-5, dtype=jnp.float32):
    return [FeaturePyramidLevel(config, level, batch_norm_eps, dtype, name=f"fpn{level}")(m)
            for level, m in zip((1, 2, 3, 4), maps)]  # fmt: skip


class FlaxBeitForMaskedImageModelingModule(HeadModule):
    @nn.compact
    def __call__(self, pixel_values, bool_masked_pos=None, deterministic=True, return_dict=True, **kwargs):
        c = self.config
        encoded = self.encode(pixel_values, bool_masked_pos=bool_masked_pos, deterministic=deterministic, **kwargs)
        hidden = LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="layernorm")(encoded.last_hidden_state)
        logits = dense(c, c.vocab_size, "lm_head", dtype=self.dtype)(hidden[:, 1:])
        return out.finish(out.from_encoded(out.MaskedLMOutput, encoded, logits=logits), return_dict)


class FlaxBeitForSemanticSegmentationModule(HeadModule):
    @nn.compact
    def __call__(self, pixel_values, labels=None, deterministic=True, output_hidden_states=False, return_dict=True,
                 **kwargs):  # fmt: skip
        c = self.config
        c.check_fpn("BeitForSemanticSegmentation")
        c.check_auxiliary_head()
        encoded = self.encode(pixel_values, deterministic=deterministic, output_hidden_states=True, **kwargs)
        chosen = [h for i, h in enumerate(encoded.hidden_states) if i + 1 in c.out_indices]
        side = c.image_size // c.patch_size
        features = [nhwc(f) for f in pyramid(c, [tokens_to_map(h[:, 1:], side, side) for h in chosen],
                                             dtype=self.dtype)]  # fmt: skip
        logits = nchw(UperHead(c, c.hidden_size, dtype=self.dtype, name="decode_head")(features))
        auxiliary = None
        if c.use_auxiliary_head:
            auxiliary = nchw(FCNHead(c, dtype=self.dtype, name="auxiliary_head")(features))
        loss = segmentation_loss(logits, auxiliary, labels, c) if labels is not None else None
        result = out.SemanticSegmenterOutput(loss=loss, logits=logits, attentions=encoded.attentions,
                                             hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxBeitBackboneModule(nn.Module):
    config: Any
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, output_attentions=False, output_hidden_states=False,
                 return_dict=True, **kwargs):  # fmt: skip
        c = self.config
        hidden, grid = ViTEmbeddings(c, c.use_mask_token, self.dtype, name="embeddings")(pixel_values,
                                                                                        deterministic=deterministic)  # fmt: skip
        _, states, attentions = ViTEncoder(c, patch_window(c), self.dtype, name="encoder")(
            hidden, None, output_attentions, True, grid, False, deterministic)
        maps = [tokens_to_map(s[:, 1:], *grid) if c.reshape_hidden_states else s
                for stage, s in zip(c.stage_names, states) if stage in c.out_features]  # fmt: skip
        if c.add_fpn:
            c.check_fpn("BeitBackbone")
            maps = pyramid(c, maps, c.fpn_batch_norm_eps, self.dtype)
        result = out.BackboneOutput(feature_maps=tuple(maps), hidden_states=states if output_hidden_states else None,
                                    attentions=attentions)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxBeitPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = BeitConfig
    base_model_prefix = "beit"
    base_module = FlaxBeitModule
    _keys_to_ignore_on_load_unexpected = [r"relative_position_index"]


class FlaxBeitModel(FlaxBeitPreTrainedModel):
    module_class = FlaxBeitModule


class FlaxBeitForImageClassification(FlaxImageClassificationModel, FlaxBeitPreTrainedModel):
    pass


class FlaxBeitForMaskedImageModeling(FlaxTaskModel, FlaxBeitPreTrainedModel):
    module_class = FlaxBeitForMaskedImageModelingModule


class FlaxBeitForSemanticSegmentation(FlaxTaskModel, FlaxBeitPreTrainedModel):
    module_class = FlaxBeitForSemanticSegmentationModule


class FlaxBeitBackbone(FlaxBeitPreTrainedModel):
    module_class = FlaxBeitBackboneModule
