from ..backbone import BackboneConfigMixin
from ..configuration import PretrainedConfig
from ..heads import HeadSpec


class ResNetConfig(BackboneConfigMixin, PretrainedConfig):
    model_type = "resnet"

    def __init__(
        self,
        num_channels=3,
        embedding_size=64,
        hidden_sizes=(256, 512, 1024, 2048),
        depths=(3, 4, 6, 3),
        layer_type="bottleneck",
        hidden_act="relu",
        downsample_in_first_stage=False,
        downsample_in_bottleneck=False,
        out_features=None,
        out_indices=None,
        **kwargs,
    ):
        kwargs.pop("stage_names", None)
        super().__init__(**kwargs)
        if layer_type not in ("basic", "bottleneck"):
            raise ValueError(f"layer_type must be 'basic' or 'bottleneck', got {layer_type!r}.")
        self.num_channels = num_channels
        self.embedding_size = embedding_size
        self.hidden_sizes = list(hidden_sizes)
        self.depths = list(depths)
        self.layer_type = layer_type
        self.hidden_act = hidden_act
        self.downsample_in_first_stage = downsample_in_first_stage
        self.downsample_in_bottleneck = downsample_in_bottleneck
        self.stage_names = ["stem"] + [f"stage{i}" for i in range(1, len(self.depths) + 1)]
        self.set_backbone_outputs(out_features, out_indices)

    @property
    def block_conv_activation(self) -> str:
        """The activation after a residual block's inner convolutions: transformers 4.57.6 uses ReLU there
        whatever hidden_act says (hidden_act applies to the stem and to each block's output)."""
        return "relu"


CONFIG_CLASS = ResNetConfig
ARCHITECTURES = {
    "MODEL": "ResNetModel",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "ResNetForImageClassification",
    "MODEL_FOR_BACKBONE": "ResNetBackbone",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {"ResNetForImageClassification": HeadSpec(dropout=(), width=lambda config: config.hidden_sizes[-1])}
