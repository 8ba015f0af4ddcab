from ..backbone import BackboneConfigMixin
from ..configuration import PretrainedConfig
from ..heads import HeadSpec
from ..vision import TokenLayout, VisionTransformerConfigMixin, linear_drop_path_rates


class BeitConfig(BackboneConfigMixin, VisionTransformerConfigMixin, PretrainedConfig):
    model_type = "beit"

    def __init__(
        self,
        vocab_size=8192,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        image_size=224,
        patch_size=16,
        num_channels=3,
        use_mask_token=False,
        use_absolute_position_embeddings=False,
        use_relative_position_bias=False,
        use_shared_relative_position_bias=False,
        layer_scale_init_value=0.1,
        drop_path_rate=0.1,
        use_mean_pooling=True,
        pool_scales=(1, 2, 3, 6),
        use_auxiliary_head=True,
        auxiliary_loss_weight=0.4,
        auxiliary_channels=256,
        auxiliary_num_convs=1,
        auxiliary_concat_input=False,
        semantic_loss_ignore_index=255,
        out_features=None,
        out_indices=None,
        add_fpn=False,
        reshape_hidden_states=True,
        **kwargs,
    ):
        kwargs.pop("stage_names", None)
        if "segmentation_indices" in kwargs:  # the older name of out_indices
            out_indices = kwargs.pop("segmentation_indices")
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.set_vit_fields(locals())
        self.intermediate_size = intermediate_size
        self.use_mask_token = use_mask_token
        self.use_absolute_position_embeddings = use_absolute_position_embeddings
        self.use_relative_position_bias = use_relative_position_bias
        self.use_shared_relative_position_bias = use_shared_relative_position_bias
        self.layer_scale_init_value = layer_scale_init_value
        self.drop_path_rate = drop_path_rate
        self.use_mean_pooling = use_mean_pooling
        self.pool_scales = list(pool_scales)
        self.use_auxiliary_head = use_auxiliary_head
        self.auxiliary_loss_weight = auxiliary_loss_weight
        self.auxiliary_channels = auxiliary_channels
        self.auxiliary_num_convs = auxiliary_num_convs
        self.auxiliary_concat_input = auxiliary_concat_input
        self.semantic_loss_ignore_index = semantic_loss_ignore_index
        self.add_fpn = add_fpn
        self.reshape_hidden_states = reshape_hidden_states
        self.stage_names = ["stem"] + [f"stage{i}" for i in range(1, num_hidden_layers + 1)]
        self.set_backbone_outputs(out_features, out_indices)
        self.check_vision_transformer()

    # -- what the blocks read (see autoload.vision.VisionTransformerConfigMixin) ---------------------------
    @property
    def token_layout(self) -> TokenLayout:
        return TokenLayout(position_embeddings=bool(self.use_absolute_position_embeddings), interpolation="always")

    @property
    def projection_biases(self) -> tuple[bool, bool, bool]:
        return True, False, True  # BEiT's key has no bias

    @property
    def drop_path_rates(self) -> list[float]:
        return linear_drop_path_rates(self.drop_path_rate, self.num_hidden_layers)

    @property
    def layer_scale_init(self) -> float | None:
        return self.layer_scale_init_value if self.layer_scale_init_value > 0 else None

    @property
    def relative_position_bias(self) -> tuple[bool, bool]:
        return bool(self.use_shared_relative_position_bias), bool(self.use_relative_position_bias)

    def check_fpn(self, model_name: str) -> None:
        """BEiT's segmentation head and FPN backbone take exactly four feature maps."""
        if len(self.out_indices) != 4:
            raise ValueError(
                f"{model_name} needs config.out_indices to name 4 layers (for example [3, 5, 7, 11] for a base-sized "
                f"model); it is {self.out_indices}."
            )

    def check_auxiliary_head(self) -> None:
        """Without convolutions the auxiliary head's classifier (and conv_cat) read the feature map itself, so its
        width must be auxiliary_channels; transformers 4.57.6 fails inside the convolution otherwise."""
        if self.use_auxiliary_head and self.auxiliary_num_convs == 0 and self.auxiliary_channels != self.hidden_size:
            raise ValueError(
                f"BeitConfig: auxiliary_num_convs=0 needs auxiliary_channels == hidden_size ({self.hidden_size}); "
                f"it is {self.auxiliary_channels}. Set auxiliary_num_convs >= 1 or use_auxiliary_head=False."
            )

    @property
    def fpn_batch_norm_eps(self) -> float:
        """BeitBackbone's FPN reads batch_norm_eps, a field BeitConfig itself does not define."""
        value = getattr(self, "batch_norm_eps", None)
        if value is None:
            raise ValueError(
                "BeitBackbone with add_fpn=True reads config.batch_norm_eps (the FPN's BatchNorm epsilon), which "
                "this config does not set (transformers 4.57.6 fails on it too); add batch_norm_eps, e.g. 1e-5."
            )
        return float(value)


def _no_pooler(head: str) -> HeadSpec:
    return HeadSpec(pooling="none", attr=head, dropout=(), base_kwargs={"add_pooling_layer": False})


CONFIG_CLASS = BeitConfig
ARCHITECTURES = {
    "MODEL": "BeitModel",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "BeitForImageClassification",
    "MODEL_FOR_SEMANTIC_SEGMENTATION": "BeitForSemanticSegmentation",
    "MODEL_FOR_BACKBONE": "BeitBackbone",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {
    "BeitForImageClassification": HeadSpec(dropout=()),
    "BeitForMaskedImageModeling": _no_pooler("lm_head"),
    "BeitForSemanticSegmentation": _no_pooler("decode_head"),
}
