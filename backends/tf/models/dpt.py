"""DPT in TensorFlow (Keras 3; transformers never had a TF DPT, so the layer names mirror the PyTorch checkpoint
names): the ViT main layer of the vision blocks and the neck and heads of blocks/dense_prediction.py (see
autoload/backends/torch/models/dpt.py)."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.dpt import DENSE_HEAD, DPTConfig

from ..blocks.dense_prediction import AuxiliaryHead, DepthEstimationHead, DPTNeck, SemanticSegmentationHead
from ..blocks.segmentation import segmentation_loss
from ..blocks.vision import TFVisionBaseModel, TFVisionPreTrainedModel, TFViTMainLayer
from ..heads import TFTaskModel


class TFDPTMainLayer(TFViTMainLayer):
    output_class = out.BaseModelOutputWithPoolingAndIntermediateActivations

    def __init__(self, config: DPTConfig, add_pooling_layer: bool = True, **kwargs):
        config.dpt_options()
        super().__init__(config, add_pooling_layer, **kwargs)


class TFDPTPreTrainedModel(TFVisionPreTrainedModel):
    config_class = DPTConfig
    base_model_prefix = "dpt"
    main_layer_class = TFDPTMainLayer


class TFDPTModel(TFVisionBaseModel, TFDPTPreTrainedModel):
    pass


class TFDPTDenseModel(TFTaskModel, TFDPTPreTrainedModel):
    """The encoder's chosen layers through the neck (shared by the depth and segmentation heads)."""

    spec = DENSE_HEAD

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.neck = DPTNeck(config, name="neck")

    def input_sizes(self):
        return {**super().input_sizes(), self.neck: None}

    def fused_maps(self, pixel_values, training=False, **kwargs):
        encoded = self.encode(pixel_values, training, output_hidden_states=True, **kwargs)
        chosen = [encoded.hidden_states[i + 1] for i in self.config.dpt_options().layers]
        return encoded, self.neck(chosen, training=training)


class TFDPTForDepthEstimation(TFDPTDenseModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.head = DepthEstimationHead(config, name="head")

    def input_sizes(self):
        return {**super().input_sizes(), self.head: None}

    def call(self, pixel_values=None, labels=None, output_hidden_states=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        if labels is not None:
            raise NotImplementedError("Training is not implemented yet")
        encoded, maps = self.fused_maps(pixel_values, training, **kwargs)
        result = out.DepthEstimatorOutput(predicted_depth=self.head(maps), attentions=encoded.attentions,
                                          hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)


class TFDPTForSemanticSegmentation(TFDPTDenseModel):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.head = SemanticSegmentationHead(config, name="head")
        self.auxiliary_head = AuxiliaryHead(config, name="auxiliary_head") if config.use_auxiliary_head else None

    def input_sizes(self):
        return {**super().input_sizes(), self.head: None, self.auxiliary_head: None}

    def call(self, pixel_values=None, labels=None, output_hidden_states=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        if labels is not None and self.config.num_labels == 1:
            raise ValueError("The number of labels should be greater than one")
        if labels is not None and self.auxiliary_head is None:
            raise ValueError(
                "DPTForSemanticSegmentation computes its loss with the auxiliary head's (as transformers 4.57.6 does, "
                "which fails without one); set use_auxiliary_head=True to train."
            )
        encoded, maps = self.fused_maps(pixel_values, training, **kwargs)
        logits = self.head(maps, training=training)
        auxiliary = self.auxiliary_head(maps[-1], training=training) if self.auxiliary_head is not None else None
        loss = segmentation_loss(logits, auxiliary, labels, self.config) if labels is not None else None
        result = out.SemanticSegmenterOutput(loss=loss, logits=logits, attentions=encoded.attentions,
                                             hidden_states=encoded.hidden_states if output_hidden_states else None)  # fmt: skip
        return out.finish(result, return_dict)
