from ..configuration import PretrainedConfig
from ..heads import HeadSpec
from ..vision import VisionTransformerConfigMixin


class ViTConfig(VisionTransformerConfigMixin, PretrainedConfig):
    model_type = "vit"

    def __init__(
        self,
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
        qkv_bias=True,
        encoder_stride=16,
        pooler_output_size=None,
        pooler_act="tanh",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.set_vit_fields(locals())
        self.intermediate_size = intermediate_size
        self.qkv_bias = qkv_bias
        self.encoder_stride = encoder_stride
        self.pooler_output_size = pooler_output_size if pooler_output_size else hidden_size
        self.pooler_act = pooler_act
        self.check_vision_transformer()


CONFIG_CLASS = ViTConfig
ARCHITECTURES = {
    "MODEL": "ViTModel",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "ViTForImageClassification",
    "MODEL_FOR_MASKED_IMAGE_MODELING": "ViTForMaskedImageModeling",
}
BACKENDS = ("torch", "tf", "flax")

HEADS = {
    "ViTForImageClassification": HeadSpec(pooling="first", dropout=(), base_kwargs={"add_pooling_layer": False}),
}
