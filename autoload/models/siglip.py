from ..configuration import PretrainedConfig, as_config
from ..heads import HeadSpec
from ..vision import pair


class _SiglipTowerConfig(PretrainedConfig):
    """A tower's config; loaded from a full SigLIP config.json it takes that file's part for this tower."""

    part = ""

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path, **kwargs):
        config_dict, kwargs = super().get_config_dict(pretrained_model_name_or_path, **kwargs)
        if config_dict.get("model_type") == "siglip":
            config_dict = config_dict.get(cls.part) or {}
        return config_dict, kwargs

    def check_heads(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"{type(self).__name__}: hidden_size ({self.hidden_size}) is not a multiple of "
                f"num_attention_heads ({self.num_attention_heads})."
            )


class SiglipTextConfig(_SiglipTowerConfig):
    model_type = "siglip_text_model"
    part = "text_config"

    def __init__(self, vocab_size=32000, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                 num_attention_heads=12, max_position_embeddings=64, hidden_act="gelu_pytorch_tanh",
                 layer_norm_eps=1e-6, attention_dropout=0.0, pad_token_id=1, bos_token_id=49406, eos_token_id=49407,
                 projection_size=None, **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.max_position_embeddings = max_position_embeddings
        self.layer_norm_eps = layer_norm_eps
        self.hidden_act = hidden_act
        self.attention_dropout = attention_dropout
        self.projection_size = projection_size if projection_size is not None else hidden_size
        self.check_heads()


class SiglipVisionConfig(_SiglipTowerConfig):
    model_type = "siglip_vision_model"
    part = "vision_config"

    def __init__(self, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                 num_channels=3, image_size=224, patch_size=16, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
                 attention_dropout=0.0, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_channels = num_channels
        self.patch_size = patch_size
        self.image_size = image_size
        self.attention_dropout = attention_dropout
        self.layer_norm_eps = layer_norm_eps
        self.hidden_act = hidden_act
        self.check_heads()
        if pair(image_size)[0] != pair(image_size)[1] or pair(patch_size)[0] != pair(patch_size)[1]:
            raise ValueError(f"SiglipVisionConfig: image_size ({image_size}) and patch_size ({patch_size}) must be "
                             "square (the model lays its positions out on a square grid).")  # fmt: skip

    @property
    def use_head(self) -> bool:
        """The attention-pooling head; transformers reads the optional field vision_use_head (default True)."""
        return bool(getattr(self, "vision_use_head", True))


class SiglipConfig(PretrainedConfig):
    model_type = "siglip"
    sub_configs = {"text_config": SiglipTextConfig, "vision_config": SiglipVisionConfig}

    def __init__(self, text_config=None, vision_config=None, **kwargs):
        super().__init__(**kwargs)
        self.text_config = as_config(SiglipTextConfig, text_config)
        self.vision_config = as_config(SiglipVisionConfig, vision_config)
        self.initializer_factor = 1.0

    @classmethod
    def from_text_vision_configs(cls, text_config, vision_config, **kwargs):
        return cls(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(), **kwargs)


def vision_width(config) -> int:
    return config.vision_config.hidden_size


CONFIG_CLASS = SiglipConfig
ARCHITECTURES = {
    "MODEL": "SiglipModel",
    "MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION": "SiglipModel",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "SiglipForImageClassification",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {"SiglipForImageClassification": HeadSpec(pooling="mean", prefix="vision_model", dropout=(), width=vision_width)}
