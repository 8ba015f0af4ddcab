"""TFCLIPVisionModel (Keras 3): CLIP's image tower alone, named as transformers' TF class (`clip/vision_model/…`)."""

from __future__ import annotations

import numpy as np

from autoload import outputs as out
from autoload.models.clip import CLIPVisionConfig

from ..modeling import Layer, TFPreTrainedModel
from .clip import TFCLIPVisionTransformer


class TFCLIPVisionMainLayer(Layer):
    def __init__(self, config: CLIPVisionConfig, **kwargs):
        super().__init__(**kwargs)
        self.vision_model = TFCLIPVisionTransformer(config, name="vision_model")

    def input_sizes(self):
        return {self.vision_model: None}

    def call(self, pixel_values, **kwargs):
        return self.vision_model(pixel_values, **kwargs)


class TFCLIPVisionModel(TFPreTrainedModel):
    config_class = CLIPVisionConfig
    base_model_prefix = "clip"
    main_input_name = "pixel_values"
    is_base_model = True

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.clip = TFCLIPVisionMainLayer(config, name="clip")

    def input_sizes(self):
        return {self.clip: None}

    def dummy_inputs(self) -> dict:
        c = self.config
        return {"pixel_values": np.zeros((1, c.num_channels, c.image_size, c.image_size), np.float32)}

    def call(self, pixel_values=None, output_attentions=None, output_hidden_states=None, interpolate_pos_encoding=None,
             training=False, return_dict=True, **kwargs):  # fmt: skip
        result = self.clip(pixel_values, output_attentions=bool(output_attentions),
                           output_hidden_states=bool(output_hidden_states),
                           interpolate_pos_encoding=bool(interpolate_pos_encoding), training=training)  # fmt: skip
        return out.finish(result, return_dict)
