from ..backbone import BackboneConfigMixin
from ..configuration import PretrainedConfig
from ..heads import HeadSpec


class SwinConfig(BackboneConfigMixin, PretrainedConfig):
    model_type = "swin"
    attribute_map = {"num_attention_heads": "num_heads", "num_hidden_layers": "num_layers"}

    def __init__(
        self,
        image_size=224,
        patch_size=4,
        num_channels=3,
        embed_dim=96,
        depths=(2, 2, 6, 2),
        num_heads=(3, 6, 12, 24),
        window_size=7,
        mlp_ratio=4.0,
        qkv_bias=True,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        drop_path_rate=0.1,
        hidden_act="gelu",
        use_absolute_embeddings=False,
        initializer_range=0.02,
        layer_norm_eps=1e-5,
        encoder_stride=32,
        out_features=None,
        out_indices=None,
        **kwargs,
    ):
        kwargs.pop("stage_names", None)
        kwargs.pop("hidden_size", None)
        kwargs.pop("num_layers", None)
        super().__init__(**kwargs)
        if len(depths) != len(num_heads):
            raise ValueError(f"SwinConfig: depths {list(depths)} and num_heads {list(num_heads)} differ in length.")
        for i, heads in enumerate(num_heads):
            if int(embed_dim * 2**i) % heads:
                raise ValueError(f"SwinConfig: stage {i + 1} width {int(embed_dim * 2**i)} is not divisible by {heads} heads.")
        self.image_size = image_size
        self.patch_size = patch_size
        self.num_channels = num_channels
        self.embed_dim = embed_dim
        self.depths = list(depths)
        self.num_layers = len(self.depths)
        self.num_heads = list(num_heads)
        self.window_size = window_size
        self.mlp_ratio = mlp_ratio
        self.qkv_bias = qkv_bias
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.drop_path_rate = drop_path_rate
        self.hidden_act = hidden_act
        self.use_absolute_embeddings = use_absolute_embeddings
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        self.encoder_stride = encoder_stride
        # The width after the last stage, which the pooler and the heads see.
        self.hidden_size = int(embed_dim * 2 ** (len(self.depths) - 1))
        self.stage_names = ["stem"] + [f"stage{i}" for i in range(1, len(self.depths) + 1)]
        self.set_backbone_outputs(out_features, out_indices)

    def check_supported(self) -> None:
        """Refuse what autoload does not build (called when a model is constructed)."""
        if self.use_absolute_embeddings:
            raise NotImplementedError(
                "SwinConfig.use_absolute_embeddings=True is not supported: transformers 4.57.6 adds a table of "
                "patches + 1 positions to the patch tokens, which fails for every input. Use use_absolute_embeddings=False."
            )


CONFIG_CLASS = SwinConfig
ARCHITECTURES = {
    "MODEL": "SwinModel",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "SwinForImageClassification",
    "MODEL_FOR_MASKED_IMAGE_MODELING": "SwinForMaskedImageModeling",
    "MODEL_FOR_BACKBONE": "SwinBackbone",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {"SwinForImageClassification": HeadSpec(dropout=())}
