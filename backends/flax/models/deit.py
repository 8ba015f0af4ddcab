"""DeiT in Flax (transformers had no Flax DeiT: names mirror the PyTorch checkpoints): ViT with a
distillation token after the class token."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.deit import DeiTConfig

from ..blocks.vision import FlaxVisionPreTrainedModel, ViTModule, dense
from ..heads import FlaxImageClassificationModel, FlaxTaskModel, HeadModule
from .vit import FlaxViTForMaskedImageModelingModule


class FlaxDeiTModule(ViTModule):
    pass


class FlaxDeiTForImageClassificationWithTeacherModule(HeadModule):
    """One classifier on the class token, one on the distillation token; logits are their mean."""

    @nn.compact
    def __call__(self, pixel_values, deterministic=True, return_dict=True, **kwargs):
        encoded = self.encode(pixel_values, deterministic=deterministic, **kwargs)
        c = self.config
        cls_logits = dense(c, c.num_labels, "cls_classifier", dtype=self.dtype)(encoded.last_hidden_state[:, 0])
        distillation_logits = dense(c, c.num_labels, "distillation_classifier",
                                    dtype=self.dtype)(encoded.last_hidden_state[:, 1])  # fmt: skip
        result = out.from_encoded(out.DeiTForImageClassificationWithTeacherOutput, encoded,
                                  logits=(cls_logits + distillation_logits) / 2, cls_logits=cls_logits,
                                  distillation_logits=distillation_logits)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxDeiTForMaskedImageModelingModule(FlaxViTForMaskedImageModelingModule):
    config: Any
    dtype: Any = jnp.float32
    base_module = FlaxDeiTModule
    prefix = "deit"
    # transformers drops the first and the last token (not the distillation token) before decoding.
    patch_tokens = slice(1, -1)
    check_stride = False


class FlaxDeiTPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = DeiTConfig
    base_model_prefix = "deit"
    base_module = FlaxDeiTModule


class FlaxDeiTModel(FlaxDeiTPreTrainedModel):
    module_class = FlaxDeiTModule


class FlaxDeiTForImageClassification(FlaxImageClassificationModel, FlaxDeiTPreTrainedModel):
    pass


class FlaxDeiTForImageClassificationWithTeacher(FlaxTaskModel, FlaxDeiTPreTrainedModel):
    module_class = FlaxDeiTForImageClassificationWithTeacherModule


class FlaxDeiTForMaskedImageModeling(FlaxDeiTPreTrainedModel):
    module_class = FlaxDeiTForMaskedImageModelingModule
