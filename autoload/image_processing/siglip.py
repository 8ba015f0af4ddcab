"""SigLIP image processor."""

from __future__ import annotations

from .base import BICUBIC, IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, BaseImageProcessor


class SiglipImageProcessor(BaseImageProcessor):
    """Resize to a fixed height x width (bicubic), rescale to [0, 1], normalise to [-1, 1]; no crop."""

    defaults = {
        "do_resize": True, "size": {"height": 224, "width": 224}, "resample": BICUBIC, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD, "do_convert_rgb": None,
    }  # fmt: skip
