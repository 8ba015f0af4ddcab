from ..configuration import PretrainedConfig, as_config
from ..heads import HeadSpec
from .bert import check_heads


class CLIPTextConfig(PretrainedConfig):
    model_type = "clip_text_model"

    def __init__(self, vocab_size=49408, hidden_size=512, intermediate_size=2048, projection_dim=512,
                 num_hidden_layers=12, num_attention_heads=8, max_position_embeddings=77, hidden_act="quick_gelu",
                 layer_norm_eps=1e-5, attention_dropout=0.0, initializer_range=0.02, initializer_factor=1.0,
                 pad_token_id=1, bos_token_id=49406, eos_token_id=49407, **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.projection_dim = projection_dim
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
        """The text is pooled at the largest token id (old checkpoints, eos id 2) instead of the first eos token."""
        return self.eos_token_id == 2


class CLIPVisionConfig(PretrainedConfig):
    model_type = "clip_vision_model"

    def __init__(self, hidden_size=768, intermediate_size=3072, projection_dim=512, num_hidden_layers=12,
                 num_attention_heads=12, num_channels=3, image_size=224, patch_size=32, hidden_act="quick_gelu",
                 layer_norm_eps=1e-5, attention_dropout=0.0, initializer_range=0.02, initializer_factor=1.0,
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.projection_dim = projection_dim
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


class CLIPConfig(PretrainedConfig):
    model_type = "clip"
    sub_configs = {"text_config": CLIPTextConfig, "vision_config": CLIPVisionConfig}

    def __init__(self, text_config=None, vision_config=None, projection_dim=512, logit_scale_init_value=2.6592,
                 **kwargs):  # fmt: skip
        kwargs.pop("text_config_dict", None)
        kwargs.pop("vision_config_dict", None)
        super().__init__(**kwargs)
        self.text_config = as_config(CLIPTextConfig, text_config)
        self.vision_config = as_config(CLIPVisionConfig, vision_config)
        self.projection_dim = projection_dim
        self.logit_scale_init_value = logit_scale_init_value
        self.initializer_factor = 1.0

    @classmethod
    def from_text_vision_configs(cls, text_config, vision_config, **kwargs):
        return cls(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(), **kwargs)


CONFIG_CLASS = CLIPConfig
ARCHITECTURES = {
    "MODEL": "CLIPModel",
    "MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION": "CLIPModel",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "CLIPForImageClassification",
}
BACKENDS = ("torch", "tf", "flax")


def _vision_width(config) -> int:
    return config.vision_config.hidden_size


HEADS = {
    "CLIPForImageClassification": HeadSpec(pooling="patch_mean", prefix="vision_model", dropout=(), width=_vision_width)
}
