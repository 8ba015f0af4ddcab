from ..heads import HeadSpec
from ..vision import TokenLayout
from .vit import ViTConfig


class DeiTConfig(ViTConfig):
    """ViT's fields; the model adds a distillation token after the class token."""

    model_type = "deit"
    token_layout = TokenLayout(tokens=("cls_token", "distillation_token"))


CONFIG_CLASS = DeiTConfig
ARCHITECTURES = {
    "MODEL": "DeiTModel",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "DeiTForImageClassification",
    "MODEL_FOR_MASKED_IMAGE_MODELING": "DeiTForMaskedImageModeling",
}
# transformers maps image classification to both heads and builds the one config.architectures names.
ARCHITECTURE_VARIANTS = {"MODEL_FOR_IMAGE_CLASSIFICATION": ("DeiTForImageClassificationWithTeacher",)}
BACKENDS = ("torch", "tf", "flax")

HEADS = {
    "DeiTForImageClassification": HeadSpec(pooling="first", dropout=(), base_kwargs={"add_pooling_layer": False}),
    "DeiTForImageClassificationWithTeacher": HeadSpec(pooling="none", attr="cls_classifier", dropout=(),
                                                      base_kwargs={"add_pooling_layer": False}),  # fmt: skip
}
