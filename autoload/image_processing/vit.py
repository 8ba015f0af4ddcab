"""ViT (also Swin and other ViT-family checkpoints) and DeiT image processors."""

from __future__ import annotations

from .base import BICUBIC, BILINEAR, BaseImageProcessor
from .base import IMAGENET_DEFAULT_MEAN as DEFAULT_MEAN
from .base import IMAGENET_DEFAULT_STD as DEFAULT_STD
from .base import IMAGENET_STANDARD_MEAN as STANDARD_MEAN
from .base import IMAGENET_STANDARD_STD as STANDARD_STD


class ViTImageProcessor(BaseImageProcessor):
    """Resize to a fixed height x width, rescale to [0, 1], normalise."""

    defaults = {
        "do_resize": True, "size": {"height": 224, "width": 224}, "resample": BILINEAR, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": STANDARD_MEAN,
        "image_std": STANDARD_STD, "do_convert_rgb": None,
    }  # fmt: skip


class DeiTImageProcessor(BaseImageProcessor):
    """Resize to a fixed size (256 x 256), center-crop (224 x 224), rescale, normalise."""

    defaults = {
        "do_resize": True, "size": {"height": 256, "width": 256}, "resample": BICUBIC, "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": DEFAULT_MEAN, "image_std": DEFAULT_STD,
    }  # fmt: skip


ViTFeatureExtractor = ViTImageProcessor
DeiTFeatureExtractor = DeiTImageProcessor
