"""OWL-ViT: CLIP's two towers with open-vocabulary box and class heads on the image patches."""

from __future__ import annotations

from ..configuration import PretrainedConfig, as_config
from .bert import check_heads


class OwlViTTextConfig(PretrainedConfig):
    model_type = "owlvit_text_model"

    def __init__(self, vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                 num_attention_heads=8, max_position_embeddings=16, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                 attention_dropout=0.0, initializer_range=0.02, initializer_factor=1.0, pad_token_id=0,
                 bos_token_id=49406, eos_token_id=49407, **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.max_position_embeddings = max_position_embeddings
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.attention_dropout = attention_dropout
        self.initializer_range = initializer_range
        self.initializer_factor = initializer_factor
        check_heads(self)

    @property
    def pools_largest_id(self) -> bool:
        """OWL-ViT always pools each query at its largest token id (the end token), whatever eos_token_id says."""
        return True


class OwlViTVisionConfig(PretrainedConfig):
    model_type = "owlvit_vision_model"

    def __init__(self, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                 num_channels=3, image_size=768, patch_size=32, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                 attention_dropout=0.0, initializer_range=0.02, initializer_factor=1.0, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_channels = num_channels
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.attention_dropout = attention_dropout
        self.initializer_range = initializer_range
        self.initializer_factor = initializer_factor
        check_heads(self)
        if not isinstance(image_size, int) or not isinstance(patch_size, int):
            raise ValueError(f"OwlViTVisionConfig: image_size ({image_size!r}) and patch_size ({patch_size!r}) must "
                             "be integers (the patches lie on a square grid).")  # fmt: skip

    @property
    def patch_grid(self) -> int:
        """Patches per side of a config-sized image: the detection heads' feature map is this square."""
        return self.image_size // self.patch_size


class OwlViTConfig(PretrainedConfig):
    model_type = "owlvit"
    sub_configs = {"text_config": OwlViTTextConfig, "vision_config": OwlViTVisionConfig}

    def __init__(self, text_config=None, vision_config=None, projection_dim=512, logit_scale_init_value=2.6592,
                 return_dict=True, **kwargs):  # fmt: skip
        super().__init__(return_dict=return_dict, **kwargs)
        self.text_config = as_config(OwlViTTextConfig, text_config)
        self.vision_config = as_config(OwlViTVisionConfig, vision_config)
        self.projection_dim = projection_dim
        self.logit_scale_init_value = logit_scale_init_value
        self.initializer_factor = 1.0

    def check_detection_sizes(self) -> None:
        """The detection head compares the patches' class embeddings (text_config.hidden_size wide) with the
        projected text queries (projection_dim wide): the two must agree."""
        if self.projection_dim != self.text_config.hidden_size:
            raise ValueError(f"OwlViTForObjectDetection needs projection_dim ({self.projection_dim}) equal to "
                             f"text_config.hidden_size ({self.text_config.hidden_size}): its class head compares "
                             "embeddings of those two widths.")  # fmt: skip

    @classmethod
    def from_text_vision_configs(cls, text_config, vision_config, **kwargs):
        return cls(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(), **kwargs)


CONFIG_CLASS = OwlViTConfig
ARCHITECTURES = {
    "MODEL": "OwlViTModel",
    "MODEL_FOR_ZERO_SHOT_OBJECT_DETECTION": "OwlViTForObjectDetection",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {}
