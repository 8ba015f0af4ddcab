"""DeiT in PyTorch: ViT with a distillation token after the class token, and a head per token."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.deit import DeiTConfig

from ..heads import ImageClassificationModel, TaskModel
from .vit import ViTForMaskedImageModeling, ViTModel, ViTPreTrainedModel


class DeiTPreTrainedModel(ViTPreTrainedModel):
    config_class = DeiTConfig
    base_model_prefix = "deit"


class DeiTModel(DeiTPreTrainedModel, ViTModel):
    pass


class DeiTForImageClassification(ImageClassificationModel, DeiTPreTrainedModel):
    base_class = DeiTModel


class DeiTForImageClassificationWithTeacher(TaskModel, DeiTPreTrainedModel):
    """One classifier on the class token, one on the distillation token; logits are their mean."""

    base_class = DeiTModel

    def __init__(self, config):
        super().__init__(config)
        self.cls_classifier = self.build_output_layer(config.num_labels)
        self.distillation_classifier = self.build_output_layer(config.num_labels)

    def forward(self, pixel_values=None, return_dict=None, **kwargs):
        encoded = self.encode(pixel_values, **kwargs)
        cls_logits = self.cls_classifier(encoded.last_hidden_state[:, 0])
        distillation_logits = self.distillation_classifier(encoded.last_hidden_state[:, 1])
        result = out.from_encoded(out.DeiTForImageClassificationWithTeacherOutput, encoded,
                                  logits=(cls_logits + distillation_logits) / 2, cls_logits=cls_logits,
                                  distillation_logits=distillation_logits)  # fmt: skip
        return self._finish(result, return_dict)


class DeiTForMaskedImageModeling(DeiTPreTrainedModel, ViTForMaskedImageModeling):
    base_class = DeiTModel
    # transformers drops the first and the last token (not the distillation token) before decoding.
    patch_tokens = slice(1, -1)
    check_stride = False
