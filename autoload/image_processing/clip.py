"""CLIP image processor."""

from __future__ import annotations

from . import transforms
from .base import BICUBIC, BaseImageProcessor

OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


class CLIPImageProcessor(BaseImageProcessor):
    """Resize the short side to shortest_edge (or to height x width), center-crop, rescale, normalise."""

    defaults = {
        "do_resize": True, "size": {"shortest_edge": 224}, "resample": BICUBIC, "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": OPENAI_CLIP_MEAN, "image_std": OPENAI_CLIP_STD, "do_convert_rgb": True,
    }  # fmt: skip
    size_default_to_square = False

    def resize_image(self, image, size, resample, settings):
        if "shortest_edge" in size:
            height, width = transforms.shortest_edge_size(*image.shape[:2], size["shortest_edge"])
            return transforms.resize(image, height, width, resample)
        return super().resize_image(image, size, resample, settings)


CLIPFeatureExtractor = CLIPImageProcessor
