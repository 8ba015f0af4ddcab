"""LLaVA: an image tower (CLIP's vision model, or any AutoModel of `vision_config`), a two-layer projector, and a
causal language model (Llama, Mistral, Qwen2, … of `text_config`); the projected image features replace the
embeddings of the image tokens in the text. Checkpoints name the parts `vision_tower.…`,
`multi_modal_projector.…` and `language_model.model.…` / `language_model.lm_head.…`."""

from __future__ import annotations

from ..composite import diff_dict_with_parts, sub_config
from ..configuration import PretrainedConfig
from ..encoder import check_activation

# transformers' vision tower when a config gives none (LLaVA-1.5's CLIP ViT-L/14 at 336 pixels)
DEFAULT_VISION = {"intermediate_size": 4096, "hidden_size": 1024, "patch_size": 14, "image_size": 336,
                  "num_hidden_layers": 24, "num_attention_heads": 16, "vocab_size": 32000, "projection_dim": 768}  # fmt: skip
STRATEGIES = ("default", "full")


class LlavaConfig(PretrainedConfig):
    model_type = "llava"
    attribute_map = {"image_token_id": "image_token_index"}

    def __init__(self, vision_config=None, text_config=None, image_token_index=32000, projector_hidden_act="gelu",
                 vision_feature_select_strategy="default", vision_feature_layer=-2, image_seq_length=576,
                 multimodal_projector_bias=True, **kwargs):  # fmt: skip
        check_strategy(vision_feature_select_strategy, "vision_feature_select_strategy")
        self.image_token_index = image_token_index
        self.projector_hidden_act = projector_hidden_act
        self.image_seq_length = image_seq_length
        self.vision_feature_select_strategy = vision_feature_select_strategy
        self.vision_feature_layer = vision_feature_layer
        self.vision_config = sub_config(vision_config, "LlavaConfig", "vision_config", "clip_vision_model",
                                        **(DEFAULT_VISION if vision_config is None else {}))  # fmt: skip
        self.text_config = sub_config(text_config, "LlavaConfig", "text_config", "llama")
        self.multimodal_projector_bias = multimodal_projector_bias
        super().__init__(**kwargs)

    def to_diff_dict(self) -> dict:
        return diff_dict_with_parts(self, ("vision_config", "text_config"))

    def get_text_config(self, decoder=None, encoder=None):
        return self.text_config

    def llava_options(self) -> tuple[list[int], str]:
        """(the vision tower's hidden-state indices whose features are joined, the selection strategy), checked."""
        layers = feature_layers(self.vision_feature_layer, "vision_feature_layer")
        check_strategy(self.vision_feature_select_strategy, "vision_feature_select_strategy")
        check_activation(self.projector_hidden_act, "projector_hidden_act", "LlavaConfig")
        return layers, self.vision_feature_select_strategy


def features_per_image(config: LlavaConfig) -> int:
    """How many features (image tokens) one image gives at the tower's configured size: its patches, plus CLIP's
    class token, less the first state under the 'default' strategy."""
    vision = config.vision_config
    size = vision.image_size if isinstance(vision.image_size, int) else vision.image_size[0]
    tokens = (size // vision.patch_size) ** 2 + (1 if vision.model_type == "clip_vision_model" else 0)
    return tokens - (1 if config.vision_feature_select_strategy == "default" else 0)


def feature_layers(value, field: str) -> list[int]:
    """An int or a list of ints (negative ones count from the last hidden state), as a list."""
    layers = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(layers, (list, tuple)) or not layers or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in layers):  # fmt: skip
        raise ValueError(f"LlavaConfig.{field} must be a layer index or a list of them, got {value!r}.")
    return list(layers)


def check_strategy(value, field: str) -> None:
    if value not in STRATEGIES:
        raise ValueError(f"LlavaConfig.{field} should be one of 'default', 'full'; got {value!r}.")


def select_image_features(hidden_states, layers: list[int], strategy: str, concat):
    """The hidden states the projector sees: each chosen layer's states (without the CLS token under 'default'),
    joined along the feature axis by `concat` (the framework's concatenate)."""
    chosen = [hidden_states[i] for i in layers]
    if strategy == "default":
        chosen = [h[:, 1:] for h in chosen]
    return chosen[0] if len(chosen) == 1 else concat(chosen)


def refuse_image_sizes(image_sizes, config: LlavaConfig) -> None:
    """transformers hands image_sizes to the vision tower, and only Pixtral's tower takes them (it splits its
    features per image by size); every tower autoload builds for LLaVA (CLIP's, SigLIP's, …) is refused them, as
    transformers' forward refuses them with a TypeError. None is accepted and ignored."""
    if image_sizes is not None:
        raise TypeError(f"LLaVA passes image_sizes on to its vision tower, and this checkpoint's "
                        f"{config.vision_config.model_type} tower does not take them (only Pixtral's does, which "
                        "autoload does not build); call without image_sizes.")  # fmt: skip


def image_token_mismatch(tokens: int, features: int) -> ValueError:
    return ValueError(f"Image features and image tokens do not match: tokens: {tokens}, features {features}. Each "
                      "image needs as many image tokens in the text as it has features (the processor inserts them).")


CONFIG_CLASS = LlavaConfig
ARCHITECTURES = {
    "MODEL": "LlavaModel",
    "MODEL_FOR_PRETRAINING": "LlavaForConditionalGeneration",
    "MODEL_FOR_VISION_2_SEQ": "LlavaForConditionalGeneration",
    "MODEL_FOR_IMAGE_TEXT_TO_TEXT": "LlavaForConditionalGeneration",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {}
