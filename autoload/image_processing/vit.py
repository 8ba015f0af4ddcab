from .base import BaseImageProcessor


class ViTImageProcessor(BaseImageProcessor):
    """Resize to a fixed height x width, rescale to [0, 1], normalise."""


ViTFeatureExtractor = ViTImageProcessor
