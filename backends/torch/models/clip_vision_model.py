"""CLIPVisionModel in PyTorch: CLIP's image tower alone (`vision_model.…`), as LLaVA's vision tower."""

from __future__ import annotations

from autoload.models.clip import CLIPVisionConfig

from .clip import CLIPPreTrainedModel, CLIPVisionTransformer


class CLIPVisionModel(CLIPPreTrainedModel):
    config_class = CLIPVisionConfig
    main_input_name = "pixel_values"

    def __init__(self, config: CLIPVisionConfig):
        super().__init__(config)
        self.vision_model = CLIPVisionTransformer(config)

    def get_input_embeddings(self):
        return self.vision_model.embeddings.patch_embedding

    def forward(self, pixel_values=None, output_attentions=None, output_hidden_states=None,
                interpolate_pos_encoding=False, return_dict=None, **kwargs):  # fmt: skip
        result = self.vision_model(pixel_values, output_attentions=self._flag(output_attentions, "output_attentions"),
                                   output_hidden_states=self._flag(output_hidden_states, "output_hidden_states"),
                                   interpolate_pos_encoding=interpolate_pos_encoding)  # fmt: skip
        return self._finish(result, return_dict)
