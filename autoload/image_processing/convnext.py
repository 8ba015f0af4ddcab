from . import transforms
from .base import BaseImageProcessor


class ConvNextImageProcessor(BaseImageProcessor):
    """Below 384 pixels: resize the short side to shortest_edge / crop_pct, then center-crop to
    shortest_edge; at 384 and above: resize straight to a square (no crop)."""

    defaults = {**BaseImageProcessor.defaults, "size": {"shortest_edge": 384}, "crop_pct": 224 / 256,
                "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}  # fmt: skip

    def resize_image(self, image, size, resample):
        shortest = size["shortest_edge"]
        if shortest >= 384:
            return transforms.resize(image, shortest, shortest, resample)
        crop_pct = getattr(self, "crop_pct", None) or 224 / 256
        height, width = transforms.shortest_edge_size(*image.shape[:2], int(shortest / crop_pct))
        return transforms.center_crop(transforms.resize(image, height, width, resample), shortest, shortest)


ConvNextFeatureExtractor = ConvNextImageProcessor
