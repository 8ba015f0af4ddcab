"""ConvNeXt image processor (also used for ResNet checkpoints)."""

from __future__ import annotations

from . import transforms
from .base import BILINEAR, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, BaseImageProcessor

DEFAULT_CROP_PCT = 224 / 256
# From this size up, images are resized straight to a square: the model was trained that way at 384.
WARP_FROM = 384


class ConvNextImageProcessor(BaseImageProcessor):
    """Below 384 pixels: resize the short side to shortest_edge / crop_pct, then center-crop a
    shortest_edge square; from 384 on: resize straight to a shortest_edge square (no crop)."""

    defaults = {
        "do_resize": True, "size": {"shortest_edge": 384}, "crop_pct": DEFAULT_CROP_PCT, "resample": BILINEAR,
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
    }  # fmt: skip
    size_default_to_square = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.crop_pct is None:
            self.crop_pct = DEFAULT_CROP_PCT

    def resize_image(self, image, size, resample, settings):
        if "shortest_edge" not in size:
            raise ValueError(f"ConvNextImageProcessor needs size with shortest_edge, got {size}.")
        shortest = size["shortest_edge"]
        if shortest >= WARP_FROM:
            return transforms.resize(image, shortest, shortest, resample)
        crop_pct = settings.get("crop_pct") or DEFAULT_CROP_PCT
        height, width = transforms.shortest_edge_size(*image.shape[:2], int(shortest / crop_pct))
        resized = transforms.resize(image, height, width, resample)
        return transforms.center_crop(resized, shortest, shortest)


ConvNextFeatureExtractor = ConvNextImageProcessor
