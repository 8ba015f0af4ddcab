"""DETR: a ResNet (or Swin) backbone, a transformer encoder over its last feature map, a decoder of learned
object queries, and class / box heads (plus a mask head for panoptic segmentation)."""

from __future__ import annotations

from ..configuration import PretrainedConfig
from ..detr import (
    BACKBONES,
    backbone_channels,
    check_transformer,
    mask_head_sizes,
    timm_resnet_config,
    timm_resnet_key,
)


def backbone_config_from(value, where: str):
    """A backbone config given as a config object or as a dict with its model_type."""
    from .. import registry

    if value is None or isinstance(value, PretrainedConfig):
        return value
    if not isinstance(value, dict):
        raise TypeError(f"{where}: backbone_config must be a dict or a config object, got {type(value).__name__}.")
    value = dict(value)
    model_type = value.pop("model_type", None)
    if model_type is None:
        raise ValueError(f"{where}: backbone_config has no model_type (e.g. \"resnet\").")
    return registry.config_class_for(model_type).from_dict(value)


def check_backbone_arguments(config, where: str) -> None:
    """The combinations transformers' verify_backbone_config_arguments refuses when a config is built."""
    if config.backbone_config is not None and config.backbone is not None:
        raise ValueError(f"{where}: you can't specify both `backbone` and `backbone_config`.")
    if config.backbone_config is not None and config.use_timm_backbone:
        raise ValueError(f"{where}: you can't specify both `backbone_config` and `use_timm_backbone`.")
    if config.backbone_kwargs and config.backbone_config is not None:
        raise ValueError(f"{where}: you can't specify both `backbone_kwargs` and `backbone_config`.")


def check_own_backbone(config, where: str, allowed=BACKBONES) -> None:
    """Refuse, when a model is built, a backbone autoload does not build itself (timm, or one fetched by name)."""
    if config.use_timm_backbone:
        raise NotImplementedError(
            f"{where}: use_timm_backbone=True asks for a timm backbone, which autoload does not use: it builds the "
            "backbone from its own classes. Set use_timm_backbone=False and backbone_config to the backbone's "
            "config, e.g. {\"model_type\": \"resnet\", \"depths\": [3, 4, 6, 3], \"hidden_sizes\": "
            "[256, 512, 1024, 2048], \"layer_type\": \"bottleneck\", \"out_features\": [\"stage1\", \"stage2\", "
            "\"stage3\", \"stage4\"]} for ResNet-50; the checkpoint's backbone weights must then carry our "
            "ResNetBackbone's names (backbone.conv_encoder.model.embedder..., as transformers writes them without timm)."
        )
    if config.backbone_config is None:
        raise NotImplementedError(
            f"{where}: backbone={config.backbone!r} names a checkpoint whose backbone would be downloaded; autoload "
            "builds the backbone only from backbone_config (a dict with the backbone's model_type and sizes)."
        )
    if config.use_pretrained_backbone:
        raise ValueError(
            f"{where}: use_pretrained_backbone=True needs a `backbone` checkpoint to load (transformers refuses this "
            "config too); set use_pretrained_backbone=False: the model's own checkpoint holds the backbone weights."
        )
    kind = config.backbone_config.model_type
    if kind not in allowed:
        raise NotImplementedError(
            f"{where}: a {kind!r} backbone is not supported; autoload builds this model on its own "
            f"{' or '.join(allowed)} backbones (backbone_config.model_type)."
        )


class DetrConfig(PretrainedConfig):
    model_type = "detr"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"hidden_size": "d_model", "num_attention_heads": "encoder_attention_heads"}

    def __init__(
        self,
        use_timm_backbone=True,
        backbone_config=None,
        num_channels=3,
        num_queries=100,
        encoder_layers=6,
        encoder_ffn_dim=2048,
        encoder_attention_heads=8,
        decoder_layers=6,
        decoder_ffn_dim=2048,
        decoder_attention_heads=8,
        encoder_layerdrop=0.0,
        decoder_layerdrop=0.0,
        is_encoder_decoder=True,
        activation_function="relu",
        d_model=256,
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        init_std=0.02,
        init_xavier_std=1.0,
        auxiliary_loss=False,
        position_embedding_type="sine",
        backbone="resnet50",
        use_pretrained_backbone=True,
        backbone_kwargs=None,
        dilation=False,
        class_cost=1,
        bbox_cost=5,
        giou_cost=2,
        mask_loss_coefficient=1,
        dice_loss_coefficient=1,
        bbox_loss_coefficient=5,
        giou_loss_coefficient=2,
        eos_coefficient=0.1,
        **kwargs,
    ):
        # As transformers normalises these: timm backbones get their default keyword arguments; without timm,
        # the default ResNet-50 name becomes a ResNet config returning its last stage.
        if use_timm_backbone and backbone_kwargs is None:
            backbone_kwargs = {"output_stride": 16} if dilation else {}
            backbone_kwargs.update(out_indices=[1, 2, 3, 4], in_chans=num_channels)
        elif not use_timm_backbone and backbone in (None, "resnet50"):
            if backbone_config is None:
                from .resnet import ResNetConfig

                backbone_config = ResNetConfig(out_features=["stage4"])
            backbone = None
            dilation = None
        self.use_timm_backbone = use_timm_backbone
        self.backbone_config = backbone_config_from(backbone_config, "DetrConfig")
        self.num_channels = num_channels
        self.num_queries = num_queries
        self.d_model = d_model
        self.encoder_ffn_dim = encoder_ffn_dim
        self.encoder_layers = encoder_layers
        self.encoder_attention_heads = encoder_attention_heads
        self.decoder_ffn_dim = decoder_ffn_dim
        self.decoder_layers = decoder_layers
        self.decoder_attention_heads = decoder_attention_heads
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation_dropout = activation_dropout
        self.activation_function = activation_function
        self.init_std = init_std
        self.init_xavier_std = init_xavier_std
        self.encoder_layerdrop = encoder_layerdrop
        self.decoder_layerdrop = decoder_layerdrop
        self.num_hidden_layers = encoder_layers
        self.auxiliary_loss = auxiliary_loss
        self.position_embedding_type = position_embedding_type
        self.backbone = backbone
        self.use_pretrained_backbone = use_pretrained_backbone
        self.backbone_kwargs = backbone_kwargs
        self.dilation = dilation
        self.class_cost = class_cost
        self.bbox_cost = bbox_cost
        self.giou_cost = giou_cost
        self.mask_loss_coefficient = mask_loss_coefficient
        self.dice_loss_coefficient = dice_loss_coefficient
        self.bbox_loss_coefficient = bbox_loss_coefficient
        self.giou_loss_coefficient = giou_loss_coefficient
        self.eos_coefficient = eos_coefficient
        super().__init__(is_encoder_decoder=is_encoder_decoder, **kwargs)
        check_backbone_arguments(self, "DetrConfig")

    def check_sizes(self) -> None:
        """The transformer's sizes (run when a checkpoint's config is read, also as MaskFormer's decoder_config)."""
        check_transformer(self, "DetrConfig", self.position_embedding_type)
        if not isinstance(self.num_queries, int) or self.num_queries < 1:
            raise ValueError(f"DetrConfig: num_queries must be a positive integer, got {self.num_queries!r}.")

    def check_supported(self) -> None:
        """Refuse, when a DETR model is built, what autoload does not build (called by the models)."""
        if self.use_timm_backbone:
            self.own_backbone_config  # noqa: B018 -- refuses a timm backbone autoload cannot build
        else:
            check_own_backbone(self, "DetrConfig")
        self.check_sizes()

    @property
    def own_backbone_config(self):
        """The config of the backbone the models build: backbone_config, or for use_timm_backbone=True our ResNet
        equal to the timm ResNet `backbone` names (its weights are translated when loading)."""
        if self.use_timm_backbone:
            return timm_resnet_config(self.backbone, self.backbone_kwargs, self.num_channels, self.dilation,
                                      "DetrConfig")  # fmt: skip
        return self.backbone_config

    def translate_checkpoint_key(self, key: str) -> str:
        """A checkpoint written with a timm backbone names its weights as timm does: read them as our ResNet's."""
        return timm_resnet_key(key) if self.use_timm_backbone else key

    @property
    def backbone_channels(self) -> list[int]:
        """Channels of the backbone's feature maps; the last is projected to d_model."""
        return backbone_channels(self.own_backbone_config)

    def backbone_parameter_trainable(self, name: str) -> bool:
        """Whether transformers 4.57.6 trains the backbone parameter `name` (our ResNet's names): with a timm
        ResNet only its layer2-4 (our stages 1-3); with its own ResNet none (it leaves parameters named like
        `stage.1` trainable, which no ResNet parameter is); other backbones all."""
        if self.use_timm_backbone:
            return name.startswith(("encoder.stages.1.", "encoder.stages.2.", "encoder.stages.3."))
        return "resnet" not in self.backbone_config.model_type

    @property
    def mask_head(self):
        return mask_head_sizes(self.d_model, self.encoder_attention_heads, self.backbone_channels)


CONFIG_CLASS = DetrConfig
ARCHITECTURES = {
    "MODEL": "DetrModel",
    "MODEL_FOR_OBJECT_DETECTION": "DetrForObjectDetection",
    "MODEL_FOR_IMAGE_SEGMENTATION": "DetrForSegmentation",
    "MODEL_FOR_UNIVERSAL_SEGMENTATION": "DetrForSegmentation",
}
BACKENDS = ("torch", "tf", "flax")
HEADS: dict = {}
