"""BLIP: a ViT image encoder (fused qkv attention, pre-norm layers) and a BERT-style text transformer whose layers
cross-attend to the image (BlipTextModel / BlipTextLMHeadModel); contrastive BlipModel, captioning
BlipForConditionalGeneration and visual question answering BlipForQuestionAnswering."""

from __future__ import annotations

from ..composite import diff_dict_with_parts
from ..configuration import PretrainedConfig
from ..encoder import check_activation


class BlipTextConfig(PretrainedConfig):
    model_type = "blip_text_model"

    def __init__(self, vocab_size=30524, hidden_size=768, encoder_hidden_size=768, intermediate_size=3072,
                 projection_dim=768, num_hidden_layers=12, num_attention_heads=8, max_position_embeddings=512,
                 hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                 initializer_range=0.02, bos_token_id=30522, eos_token_id=2, pad_token_id=0, sep_token_id=102,
                 is_decoder=True, use_cache=True, label_smoothing=0.0, **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         sep_token_id=sep_token_id, **kwargs)  # fmt: skip
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.encoder_hidden_size = encoder_hidden_size
        self.intermediate_size = intermediate_size
        self.projection_dim = projection_dim
        self.hidden_dropout_prob = hidden_dropout_prob
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.max_position_embeddings = max_position_embeddings
        self.layer_norm_eps = layer_norm_eps
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.is_decoder = is_decoder
        self.use_cache = use_cache
        self.label_smoothing = label_smoothing

    def blip_text_options(self) -> None:
        """What the text transformer supports, checked once: absolute positions only, heads that divide the width."""
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BlipTextConfig: hidden_size ({self.hidden_size}) is not a multiple of "
                             f"num_attention_heads ({self.num_attention_heads}).")  # fmt: skip
        kind = getattr(self, "position_embedding_type", "absolute")
        if kind != "absolute":
            raise NotImplementedError(f"BlipTextConfig.position_embedding_type={kind!r}: autoload's BLIP implements "
                                      "'absolute' positions only.")  # fmt: skip
        check_activation(self.hidden_act, "hidden_act", "BlipTextConfig")
        if self.pruned_heads:
            raise NotImplementedError("BlipTextConfig.pruned_heads: pruned attention heads are not implemented.")


class BlipVisionConfig(PretrainedConfig):
    model_type = "blip_vision_model"

    def __init__(self, hidden_size=768, intermediate_size=3072, projection_dim=512, num_hidden_layers=12,
                 num_attention_heads=12, image_size=384, patch_size=16, hidden_act="gelu", layer_norm_eps=1e-5,
                 attention_dropout=0.0, initializer_range=1e-10, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.projection_dim = projection_dim
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.patch_size = patch_size
        self.image_size = image_size
        self.initializer_range = initializer_range
        self.attention_dropout = attention_dropout
        self.layer_norm_eps = layer_norm_eps
        self.hidden_act = hidden_act

    def blip_vision_options(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BlipVisionConfig: hidden_size ({self.hidden_size}) is not a multiple of "
                             f"num_attention_heads ({self.num_attention_heads}).")  # fmt: skip
        check_activation(self.hidden_act, "hidden_act", "BlipVisionConfig")

    @property
    def num_positions(self) -> int:
        return (self.image_size // self.patch_size) ** 2 + 1


class BlipConfig(PretrainedConfig):
    model_type = "blip"
    sub_configs = {"text_config": BlipTextConfig, "vision_config": BlipVisionConfig}

    def __init__(self, text_config=None, vision_config=None, projection_dim=512, logit_scale_init_value=2.6592,
                 image_text_hidden_size=256, label_smoothing=0.0, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.text_config = _part(BlipTextConfig, text_config)
        self.vision_config = _part(BlipVisionConfig, vision_config)
        self.text_config.encoder_hidden_size = self.vision_config.hidden_size
        self.projection_dim = projection_dim
        self.logit_scale_init_value = logit_scale_init_value
        self.initializer_factor = 1.0
        self.initializer_range = 0.02
        self.image_text_hidden_size = image_text_hidden_size
        self.label_smoothing = label_smoothing

    @classmethod
    def from_text_vision_configs(cls, text_config, vision_config, **kwargs):
        return cls(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(), **kwargs)

    def to_diff_dict(self) -> dict:
        return diff_dict_with_parts(self, ("text_config", "vision_config"))

    def blip_options(self) -> None:
        self.text_config.blip_text_options()
        self.vision_config.blip_vision_options()


def _part(config_class, value):
    if isinstance(value, config_class):
        return value
    value = dict(value or {})
    value.pop("model_type", None)
    return config_class(**value)


CONFIG_CLASS = BlipConfig
ARCHITECTURES = {
    "MODEL": "BlipModel",
    "MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION": "BlipModel",
    "MODEL_FOR_VISION_2_SEQ": "BlipForConditionalGeneration",
    "MODEL_FOR_IMAGE_TEXT_TO_TEXT": "BlipForConditionalGeneration",
    "MODEL_FOR_VISUAL_QUESTION_ANSWERING": "BlipForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {}
