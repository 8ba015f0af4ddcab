"""CLIP's image tower on its own (config.json model_type "clip_vision_model"), as LLaVA's vision tower uses it;
see clip.py."""

from .clip import CLIPVisionConfig

CONFIG_CLASS = CLIPVisionConfig
ARCHITECTURES = {"MODEL": "CLIPVisionModel"}
BACKENDS = ("torch", "tf", "flax")
