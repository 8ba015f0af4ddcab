"""SAM's image encoder on its own (config.json model_type "sam_vision_model"); see sam.py."""

from .sam import SamVisionConfig

CONFIG_CLASS = SamVisionConfig
ARCHITECTURES = {"MODEL": "SamVisionModel"}
BACKENDS = ("torch", "tf", "flax")
