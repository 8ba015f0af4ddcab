"""SigLIP's image tower as its own model type (config model_type "siglip_vision_model")."""

from .siglip import SiglipVisionModel

__all__ = ["SiglipVisionModel"]
