"""DPT in PyTorch: the ViT encoder of the vision blocks (positions resized bilinearly to every input), the
reassemble / fusion neck and the depth and segmentation heads of blocks/dense_prediction.py."""

from __future__ import annotations

from torch import nn

from autoload import outputs as out
from autoload.models.dpt import DPTConfig

from ..blocks.dense_prediction import AuxiliaryHead, DepthEstimationHead, DPTNeck, SemanticSegmentationHead
from ..blocks.segmentation import segmentation_loss
from ..heads import TaskModel
from .vit import ViTModel, ViTPreTrainedModel


class DPTPreTrainedModel(ViTPreTrainedModel):
    config_class = DPTConfig
    base_model_prefix = "dpt"

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.ConvTranspose2d):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            nn.init.zeros_(module.bias)


class DPTModel(DPTPreTrainedModel, ViTModel):
    output_class = out.BaseModelOutputWithPoolingAndIntermediateActivations

    def __init__(self, config: DPTConfig, add_pooling_layer: bool = True):
        config.dpt_options()
        super().__init__(config, add_pooling_layer)


class DPTDenseModel(TaskModel, DPTPreTrainedModel):
    """The encoder's chosen layers through the neck (shared by the depth and segmentation models, which name
    their base class)."""

    def __init__(self, config: DPTConfig):
        super().__init__(config)
        self.neck = DPTNeck(config)

    def fused_maps(self, pixel_values, head_mask=None, **kwargs):
        encoded = self.encode(pixel_values, head_mask=head_mask, output_hidden_states=True, **kwargs)
        chosen = [encoded.hidden_states[i + 1] for i in self.config.dpt_options().layers]
        return encoded, self.neck(chosen)


class DPTForDepthEstimation(DPTDenseModel):
    base_class = DPTModel

    def __init__(self, config: DPTConfig):
        super().__init__(config)
        self.head = DepthEstimationHead(config)

    def forward(self, pixel_values=None, head_mask=None, labels=None, output_hidden_states=None, return_dict=None,
                **kwargs):  # fmt: skip
        if labels is not None:
            raise NotImplementedError("Training is not implemented yet")
        encoded, maps = self.fused_maps(pixel_values, head_mask, **kwargs)
        keep = self._flag(output_hidden_states, "output_hidden_states")
        result = out.DepthEstimatorOutput(predicted_depth=self.head(maps), attentions=encoded.attentions,
                                          hidden_states=encoded.hidden_states if keep else None)  # fmt: skip
        return self._finish(result, return_dict)


class DPTForSemanticSegmentation(DPTDenseModel):
    base_class = DPTModel

    def __init__(self, config: DPTConfig):
        super().__init__(config)
        self.head = SemanticSegmentationHead(config)
        self.auxiliary_head = AuxiliaryHead(config) if config.use_auxiliary_head else None

    def forward(self, pixel_values=None, head_mask=None, labels=None, output_hidden_states=None, return_dict=None,
                **kwargs):  # fmt: skip
        if labels is not None and self.config.num_labels == 1:
            raise ValueError("The number of labels should be greater than one")
        if labels is not None and self.auxiliary_head is None:
            raise ValueError(
                "DPTForSemanticSegmentation computes its loss with the auxiliary head's (as transformers 4.57.6 does, "
                "which fails without one); set use_auxiliary_head=True to train."
            )
        encoded, maps = self.fused_maps(pixel_values, head_mask, **kwargs)
        logits = self.head(maps)
        auxiliary = self.auxiliary_head(maps[-1]) if self.auxiliary_head is not None else None
        loss = segmentation_loss(logits, auxiliary, labels, self.config) if labels is not None else None
        keep = self._flag(output_hidden_states, "output_hidden_states")
        result = out.SemanticSegmenterOutput(loss=loss, logits=logits, attentions=encoded.attentions,
                                             hidden_states=encoded.hidden_states if keep else None)  # fmt: skip
        return self._finish(result, return_dict)
