"""MaskFormer: a Swin or ResNet backbone, a feature-pyramid pixel decoder, DETR's transformer decoder over
learned queries, and per-query class logits and mask embeddings (masks = embeddings x pixel embeddings)."""

from __future__ import annotations

from ..configuration import PretrainedConfig
from ..detr import backbone_channels, check_transformer
from .detr import DetrConfig, backbone_config_from, check_backbone_arguments, check_own_backbone
from .maskformer_swin import MaskFormerSwinConfig
from .swin import SwinConfig

_STAGES = ["stage1", "stage2", "stage3", "stage4"]


class MaskFormerConfig(PretrainedConfig):
    model_type = "maskformer"
    attribute_map = {"hidden_size": "mask_feature_size"}
    backbones_supported = ["resnet", "swin"]
    decoders_supported = ["detr"]

    def __init__(
        self,
        fpn_feature_size: int = 256,
        mask_feature_size: int = 256,
        no_object_weight: float = 0.1,
        use_auxiliary_loss: bool = False,
        backbone_config=None,
        decoder_config=None,
        init_std: float = 0.02,
        init_xavier_std: float = 1.0,
        dice_weight: float = 1.0,
        cross_entropy_weight: float = 1.0,
        mask_weight: float = 20.0,
        output_auxiliary_logits=None,
        backbone=None,
        use_pretrained_backbone: bool = False,
        use_timm_backbone: bool = False,
        backbone_kwargs=None,
        **kwargs,
    ):
        if backbone_config is None and backbone is None:  # transformers' default: Swin-B (window 12, 384 pixels)
            backbone_config = SwinConfig(image_size=384, num_channels=3, patch_size=4, embed_dim=128,
                                         depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32], window_size=12,
                                         drop_path_rate=0.3, out_features=_STAGES)  # fmt: skip
        if decoder_config is None:
            decoder_config = DetrConfig()
        elif isinstance(decoder_config, dict):
            decoder_config = dict(decoder_config)
            kind = decoder_config.pop("model_type", "detr")
            if kind not in self.decoders_supported:
                raise ValueError(f"Transformer Decoder {kind} not supported, please use one of "
                                 f"{','.join(self.decoders_supported)}")  # fmt: skip
            decoder_config = DetrConfig.from_dict(decoder_config)
        elif decoder_config.model_type not in self.decoders_supported:
            raise ValueError(f"Transformer Decoder {decoder_config.model_type} not supported, please use one of "
                             f"{','.join(self.decoders_supported)}")  # fmt: skip
        self.backbone_config = backbone_config_from(backbone_config, "MaskFormerConfig")
        self.decoder_config = decoder_config
        self.fpn_feature_size = fpn_feature_size
        self.mask_feature_size = mask_feature_size
        self.init_std = init_std
        self.init_xavier_std = init_xavier_std
        self.cross_entropy_weight = cross_entropy_weight
        self.dice_weight = dice_weight
        self.mask_weight = mask_weight
        self.use_auxiliary_loss = use_auxiliary_loss
        self.no_object_weight = no_object_weight
        self.output_auxiliary_logits = output_auxiliary_logits
        self.num_attention_heads = self.decoder_config.encoder_attention_heads
        self.num_hidden_layers = self.decoder_config.num_hidden_layers
        self.backbone = backbone
        self.use_pretrained_backbone = use_pretrained_backbone
        self.use_timm_backbone = use_timm_backbone
        self.backbone_kwargs = backbone_kwargs
        super().__init__(**kwargs)
        check_backbone_arguments(self, "MaskFormerConfig")

    @property
    def pixel_backbone_config(self):
        """The backbone the pixel-level module builds: a Swin config becomes MaskFormer's own Swin (returning all
        four stages), as transformers converts it; other backbones as configured."""
        config = self.backbone_config
        if config is not None and config.model_type == "swin":
            values = config.to_dict()
            values.pop("out_features", None)
            values.pop("out_indices", None)
            return MaskFormerSwinConfig.from_dict(values, out_features=list(_STAGES))
        return config

    @property
    def backbone_channels(self) -> list[int]:
        return backbone_channels(self.pixel_backbone_config)

    def check_sizes(self) -> None:
        # The pixel decoder's GroupNorms have 32 groups; its transformer decoder has sine positions.
        if not isinstance(self.fpn_feature_size, int) or self.fpn_feature_size < 32 or self.fpn_feature_size % 32:
            raise ValueError(
                f"MaskFormerConfig: fpn_feature_size must be a positive multiple of 32 (the feature pyramid's "
                f"GroupNorm has 32 groups), got {self.fpn_feature_size!r}."
            )
        check_transformer(self.decoder_config, "MaskFormerConfig.decoder_config", "sine")
        if self.decoder_config.num_queries < 1:
            raise ValueError("MaskFormerConfig.decoder_config: num_queries must be at least 1.")

    def check_supported(self) -> None:
        """Refuse, when a MaskFormer model is built, what autoload does not build (called by the models)."""
        check_own_backbone(self, "MaskFormerConfig")
        self.check_sizes()
        if len(self.backbone_channels) < 2:
            raise ValueError(
                "MaskFormerConfig: the backbone must return at least two feature maps for the pixel decoder (set "
                "backbone_config.out_features to e.g. ['stage1', 'stage2', 'stage3', 'stage4'])."
            )
        pixel = self.pixel_backbone_config
        if pixel.model_type != "resnet":
            pixel.check_supported()


CONFIG_CLASS = MaskFormerConfig
ARCHITECTURES = {
    "MODEL": "MaskFormerModel",
    "MODEL_FOR_INSTANCE_SEGMENTATION": "MaskFormerForInstanceSegmentation",
    "MODEL_FOR_UNIVERSAL_SEGMENTATION": "MaskFormerForInstanceSegmentation",
}
BACKENDS = ("torch", "tf", "flax")
HEADS: dict = {}
