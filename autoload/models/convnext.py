from ..backbone import BackboneConfigMixin
from ..configuration import PretrainedConfig
from ..heads import HeadSpec


class ConvNextConfig(BackboneConfigMixin, PretrainedConfig):
    model_type = "convnext"

    def __init__(
        self,
        num_channels=3,
        patch_size=4,
        num_stages=4,
        hidden_sizes=None,
        depths=None,
        hidden_act="gelu",
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        layer_scale_init_value=1e-6,
        drop_path_rate=0.0,
        image_size=224,
        out_features=None,
        out_indices=None,
        **kwargs,
    ):
        kwargs.pop("stage_names", None)
        super().__init__(**kwargs)
        self.num_channels = num_channels
        self.patch_size = patch_size
        self.num_stages = num_stages
        self.hidden_sizes = list(hidden_sizes) if hidden_sizes is not None else [96, 192, 384, 768]
        self.depths = list(depths) if depths is not None else [3, 3, 9, 3]
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.layer_scale_init_value = layer_scale_init_value
        self.drop_path_rate = drop_path_rate
        self.image_size = image_size
        if not len(self.hidden_sizes) == len(self.depths) == num_stages:
            raise ValueError(
                f"ConvNextConfig: hidden_sizes ({len(self.hidden_sizes)}), depths ({len(self.depths)}) and "
                f"num_stages ({num_stages}) must have the same length."
            )
        self.stage_names = ["stem"] + [f"stage{i}" for i in range(1, len(self.depths) + 1)]
        self.set_backbone_outputs(out_features, out_indices)


CONFIG_CLASS = ConvNextConfig
ARCHITECTURES = {
    "MODEL": "ConvNextModel",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "ConvNextForImageClassification",
    "MODEL_FOR_BACKBONE": "ConvNextBackbone",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {"ConvNextForImageClassification": HeadSpec(dropout=(), width=lambda config: config.hidden_sizes[-1])}
