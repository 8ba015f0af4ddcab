"""SigLIP's image tower on its own (config.json model_type "siglip_vision_model"); see siglip.py."""

from .siglip import SiglipVisionConfig

CONFIG_CLASS = SiglipVisionConfig
ARCHITECTURES = {"MODEL": "SiglipVisionModel"}
BACKENDS = ("torch", "tf", "flax")
