"""DPT in Flax (transformers never had one; parameter names follow the PyTorch module names, so the shared
converter maps them): the ViT module of the vision blocks and the neck and heads of blocks/dense_prediction.py
(see autoload/backends/torch/models/dpt.py)."""

from __future__ import annotations

import flax.linen as nn

from autoload import outputs as out
from autoload.models.dpt import DPTConfig

from ..blocks.dense_prediction import AuxiliaryHead, DepthEstimationHead, DPTNeck, SemanticSegmentationHead
from ..blocks.segmentation import segmentation_loss
from ..blocks.vision import FlaxVisionPreTrainedModel, ViTModule
from ..heads import FlaxTaskModel, HeadModule


class FlaxDPTModule(ViTModule):
    output_class = out.BaseModelOutputWithPoolingAndIntermediateActivations


def _fused_maps(module: HeadModule, pixel_values, deterministic, kwargs):
    encoded = module.encode(pixel_values, deterministic=deterministic, output_hidden_states=True, **kwargs)
    chosen = [encoded.hidden_states[i + 1] for i in module.config.dpt_options().layers]
    return encoded, DPTNeck(module.config, module.dtype, name="neck")(chosen)


class FlaxDPTForDepthEstimationModule(HeadModule):
    @nn.compact
    def __call__(self, pixel_values, labels=None, deterministic=True, output_hidden_states=False, return_dict=True,
                 **kwargs):  # fmt: skip
        if labels is not None:
            raise NotImplementedError("Training is not implemented yet")
        encoded, maps = _fused_maps(self, pixel_values, deterministic, kwargs)
        depth = DepthEstimationHead(self.config, self.dtype, name="head")(maps)
        result = out.DepthEstimatorOutput(predicted_depth=depth, attentions=encoded.attentions,
                                          hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxDPTForSemanticSegmentationModule(HeadModule):
    @nn.compact
    def __call__(self, pixel_values, labels=None, deterministic=True, output_hidden_states=False, return_dict=True,
                 **kwargs):  # fmt: skip
        c = self.config
        if labels is not None and c.num_labels == 1:
            raise ValueError("The number of labels should be greater than one")
        if labels is not None and not c.use_auxiliary_head:
            raise ValueError(
                "DPTForSemanticSegmentation computes its loss with the auxiliary head's (as transformers 4.57.6 does, "
                "which fails without one); set use_auxiliary_head=True to train."
            )
        encoded, maps = _fused_maps(self, pixel_values, deterministic, kwargs)
        logits = SemanticSegmentationHead(c, self.dtype, name="head")(maps, deterministic)
        auxiliary = None
        if c.use_auxiliary_head:
            auxiliary = AuxiliaryHead(c, self.dtype, name="auxiliary_head")(maps[-1], deterministic)
        loss = segmentation_loss(logits, auxiliary, labels, c) if labels is not None else None
        result = out.SemanticSegmenterOutput(loss=loss, logits=logits, attentions=encoded.attentions,
                                             hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxDPTPreTrainedModel(FlaxVisionPreTrainedModel):
    config_class = DPTConfig
    base_model_prefix = "dpt"
    base_module = FlaxDPTModule

    def __init__(self, config, *args, **kwargs):
        config.dpt_options()
        super().__init__(config, *args, **kwargs)


class FlaxDPTModel(FlaxDPTPreTrainedModel):
    module_class = FlaxDPTModule


class FlaxDPTForDepthEstimation(FlaxTaskModel, FlaxDPTPreTrainedModel):
    module_class = FlaxDPTForDepthEstimationModule


class FlaxDPTForSemanticSegmentation(FlaxTaskModel, FlaxDPTPreTrainedModel):
    module_class = FlaxDPTForSemanticSegmentationModule
