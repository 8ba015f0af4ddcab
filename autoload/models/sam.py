"""SAM (Segment Anything): a ViT image encoder with windowed attention and decomposed relative positions, a
prompt encoder for points, boxes and masks, and a two-way transformer mask decoder."""

from __future__ import annotations

from ..configuration import PretrainedConfig, as_config
from ..encoder import check_activation


def _check_activation(config, field: str = "hidden_act") -> None:
    check_activation(getattr(config, field), field, type(config).__name__)


def _check_divides(config, width: int, what: str) -> None:
    if width % config.num_attention_heads:
        raise ValueError(f"{type(config).__name__}: {what} ({width}) is not a multiple of num_attention_heads "
                         f"({config.num_attention_heads}).")  # fmt: skip


class SamVisionConfig(PretrainedConfig):
    model_type = "sam_vision_model"

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path, **kwargs):
        """Loaded from a full SAM config.json, it takes that file's vision_config (as transformers does)."""
        config_dict, kwargs = super().get_config_dict(pretrained_model_name_or_path, **kwargs)
        if config_dict.get("model_type") == "sam":
            config_dict = config_dict.get("vision_config") or {}
        return config_dict, kwargs

    def __init__(self, hidden_size=768, output_channels=256, num_hidden_layers=12, num_attention_heads=12,
                 num_channels=3, image_size=1024, patch_size=16, hidden_act="gelu", layer_norm_eps=1e-06,
                 attention_dropout=0.0, initializer_range=1e-10, qkv_bias=True, mlp_ratio=4.0, use_abs_pos=True,
                 use_rel_pos=True, window_size=14, global_attn_indexes=(2, 5, 8, 11), num_pos_feats=128, mlp_dim=None,
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.output_channels = output_channels
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_channels = num_channels
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.attention_dropout = attention_dropout
        self.initializer_range = initializer_range
        self.qkv_bias = qkv_bias
        self.mlp_ratio = mlp_ratio
        self.use_abs_pos = use_abs_pos
        self.use_rel_pos = use_rel_pos
        self.window_size = window_size
        self.global_attn_indexes = list(global_attn_indexes)
        self.num_pos_feats = num_pos_feats
        self.mlp_dim = int(hidden_size * mlp_ratio) if mlp_dim is None else mlp_dim
        _check_activation(self)
        _check_divides(self, hidden_size, "hidden_size")
        if not isinstance(image_size, int) or not isinstance(patch_size, int) or image_size % patch_size:
            raise ValueError(f"SamVisionConfig: image_size ({image_size!r}) must be an integer multiple of patch_size "
                             f"({patch_size!r}).")  # fmt: skip
        if not isinstance(window_size, int) or window_size < 0:
            raise ValueError(f"SamVisionConfig: window_size must be a non-negative integer, got {window_size!r}.")

    @property
    def grid(self) -> int:
        """Patches per side: the image embedding's height and width."""
        return self.image_size // self.patch_size

    def layer_windows(self) -> list[int]:
        """Each layer's attention window (0: global attention over the whole grid)."""
        return [0 if i in self.global_attn_indexes else self.window_size for i in range(self.num_hidden_layers)]


class SamPromptEncoderConfig(PretrainedConfig):
    model_type = ""

    def __init__(self, hidden_size=256, image_size=1024, patch_size=16, mask_input_channels=16, num_point_embeddings=4,
                 hidden_act="gelu", layer_norm_eps=1e-6, **kwargs):  # fmt: skip
        kwargs.pop("image_embedding_size", None)  # derived, as transformers does
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.image_size = image_size
        self.patch_size = patch_size
        self.image_embedding_size = image_size // patch_size
        self.mask_input_channels = mask_input_channels
        self.num_point_embeddings = num_point_embeddings
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        _check_activation(self)
        if num_point_embeddings < 4:
            raise ValueError(f"SamPromptEncoderConfig: num_point_embeddings must be at least 4 (negative and positive "
                             f"points, two box corners), got {num_point_embeddings}.")  # fmt: skip
        if mask_input_channels % 4:
            raise ValueError(f"SamPromptEncoderConfig: mask_input_channels ({mask_input_channels}) must be a multiple "
                             "of 4 (the mask embedding's first stage has a quarter of them).")  # fmt: skip


class SamMaskDecoderConfig(PretrainedConfig):
    model_type = ""

    def __init__(self, hidden_size=256, hidden_act="relu", mlp_dim=2048, num_hidden_layers=2, num_attention_heads=8,
                 attention_downsample_rate=2, num_multimask_outputs=3, iou_head_depth=3, iou_head_hidden_dim=256,
                 layer_norm_eps=1e-6, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.mlp_dim = mlp_dim
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.attention_downsample_rate = attention_downsample_rate
        self.num_multimask_outputs = num_multimask_outputs
        self.iou_head_depth = iou_head_depth
        self.iou_head_hidden_dim = iou_head_hidden_dim
        self.layer_norm_eps = layer_norm_eps
        _check_activation(self)
        _check_divides(self, hidden_size, "hidden_size")
        _check_divides(self, hidden_size // attention_downsample_rate, "hidden_size // attention_downsample_rate")
        # the two-way blocks' cross-attentions always halve the width (transformers' default rate 2)
        _check_divides(self, hidden_size // 2, "hidden_size // 2")
        if hidden_size % 8:
            raise ValueError(f"SamMaskDecoderConfig: hidden_size ({hidden_size}) must be a multiple of 8 (the mask "
                             "upscaling has hidden_size / 4 and / 8 channels).")  # fmt: skip
        if iou_head_depth < 2:
            raise ValueError(f"SamMaskDecoderConfig: iou_head_depth must be at least 2, got {iou_head_depth}.")


class SamConfig(PretrainedConfig):
    model_type = "sam"
    sub_configs = {"vision_config": SamVisionConfig, "prompt_encoder_config": SamPromptEncoderConfig,
                   "mask_decoder_config": SamMaskDecoderConfig}  # fmt: skip

    def __init__(self, vision_config=None, prompt_encoder_config=None, mask_decoder_config=None,
                 initializer_range=0.02, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.vision_config = as_config(SamVisionConfig, vision_config)
        self.prompt_encoder_config = as_config(SamPromptEncoderConfig, prompt_encoder_config)
        self.mask_decoder_config = as_config(SamMaskDecoderConfig, mask_decoder_config)
        self.initializer_range = initializer_range
        vision, prompt = self.vision_config, self.prompt_encoder_config
        if 2 * vision.num_pos_feats != prompt.hidden_size or prompt.hidden_size != self.mask_decoder_config.hidden_size:
            raise ValueError(f"SamConfig: the prompt encoder's hidden_size ({prompt.hidden_size}) must equal the mask "
                             f"decoder's ({self.mask_decoder_config.hidden_size}) and twice the vision config's "
                             f"num_pos_feats ({vision.num_pos_feats}).")  # fmt: skip
        if vision.output_channels != prompt.hidden_size:
            raise ValueError(f"SamConfig: the vision encoder's output_channels ({vision.output_channels}) must equal the "
                             f"prompt encoder's hidden_size ({prompt.hidden_size}).")  # fmt: skip


CONFIG_CLASS = SamConfig
ARCHITECTURES = {"MODEL": "SamModel", "MODEL_FOR_MASK_GENERATION": "SamModel"}
BACKENDS = ("torch", "tf", "flax")
HEADS = {}
