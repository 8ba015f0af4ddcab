from ..backbone import BackboneConfigMixin
from ..configuration import PretrainedConfig
from ..heads import HeadSpec
from ..vision import TokenLayout, VisionTransformerConfigMixin


class Dinov2Config(BackboneConfigMixin, VisionTransformerConfigMixin, PretrainedConfig):
    model_type = "dinov2"
    token_layout = TokenLayout(interpolation="always", flat_mask_token=True)

    def __init__(
        self,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        mlp_ratio=4,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        initializer_range=0.02,
        layer_norm_eps=1e-6,
        image_size=224,
        patch_size=14,
        num_channels=3,
        qkv_bias=True,
        layerscale_value=1.0,
        drop_path_rate=0.0,
        use_swiglu_ffn=False,
        out_features=None,
        out_indices=None,
        apply_layernorm=True,
        reshape_hidden_states=True,
        use_mask_token=True,
        **kwargs,
    ):
        kwargs.pop("stage_names", None)
        super().__init__(**kwargs)
        self.set_vit_fields(locals())
        self.mlp_ratio = mlp_ratio
        self.qkv_bias = qkv_bias
        self.layerscale_value = layerscale_value
        self.drop_path_rate = drop_path_rate
        self.use_swiglu_ffn = use_swiglu_ffn
        self.apply_layernorm = apply_layernorm
        self.reshape_hidden_states = reshape_hidden_states
        self.use_mask_token = use_mask_token
        self.stage_names = ["stem"] + [f"stage{i}" for i in range(1, num_hidden_layers + 1)]
        self.set_backbone_outputs(out_features, out_indices)
        self.check_vision_transformer()

    @property
    def drop_path_rates(self) -> list[float]:
        return [float(self.drop_path_rate)] * self.num_hidden_layers  # the same rate in every layer

    @property
    def mlp_width(self) -> int:
        """The MLP's hidden width; SwiGLU's is 2/3 of it rounded up to a multiple of 8 (its input layer is twice
        as wide, for the gate)."""
        width = int(self.hidden_size * self.mlp_ratio)
        return (int(width * 2 / 3) + 7) // 8 * 8 if self.use_swiglu_ffn else width


CONFIG_CLASS = Dinov2Config
ARCHITECTURES = {
    "MODEL": "Dinov2Model",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "Dinov2ForImageClassification",
    "MODEL_FOR_BACKBONE": "Dinov2Backbone",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {"Dinov2ForImageClassification": HeadSpec(pooling="first_and_patch_mean", dropout=())}
