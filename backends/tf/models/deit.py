"""DeiT in TensorFlow (Keras 3), named like transformers' TF DeiT: ViT with a distillation token."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.deit import DeiTConfig

from ..blocks.vision import TFVisionBaseModel, TFVisionPreTrainedModel, TFViTMainLayer
from ..heads import TFImageClassificationModel, TFTaskModel
from ..modeling import dense
from .vit import TFViTForMaskedImageModeling


class TFDeiTPreTrainedModel(TFVisionPreTrainedModel):
    config_class = DeiTConfig
    base_model_prefix = "deit"
    main_layer_class = TFViTMainLayer


class TFDeiTModel(TFVisionBaseModel, TFDeiTPreTrainedModel):
    pass


class TFDeiTForImageClassification(TFImageClassificationModel, TFDeiTPreTrainedModel):
    pass


class TFDeiTForImageClassificationWithTeacher(TFTaskModel, TFDeiTPreTrainedModel):
    """One classifier on the class token, one on the distillation token; logits are their mean."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.cls_classifier = dense(config, config.num_labels, "cls_classifier")
        self.distillation_classifier = dense(config, config.num_labels, "distillation_classifier")

    def input_sizes(self):
        width = self.main_layer.output_width  # each classifier takes one token
        return {**super().input_sizes(), self.cls_classifier: width, self.distillation_classifier: width}

    def call(self, pixel_values=None, training=False, return_dict=True, **kwargs):
        encoded = self.encode(pixel_values, training, **kwargs)
        cls_logits = self.cls_classifier(encoded.last_hidden_state[:, 0])
        distillation_logits = self.distillation_classifier(encoded.last_hidden_state[:, 1])
        result = out.from_encoded(out.DeiTForImageClassificationWithTeacherOutput, encoded,
                                  logits=(cls_logits + distillation_logits) / 2, cls_logits=cls_logits,
                                  distillation_logits=distillation_logits)  # fmt: skip
        return out.finish(result, return_dict)


class TFDeiTForMaskedImageModeling(TFDeiTPreTrainedModel, TFViTForMaskedImageModeling):
    # transformers drops the first and the last token (not the distillation token) before decoding.
    patch_tokens = slice(1, -1)
    check_stride = False
