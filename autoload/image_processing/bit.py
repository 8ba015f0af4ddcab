"""BiT image processor (the one DINOv2, FocalNet and Hiera checkpoints name)."""

from __future__ import annotations

from .base import BICUBIC
from .clip import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, CLIPImageProcessor


class BitImageProcessor(CLIPImageProcessor):
    """CLIP's steps and defaults: resize the short side to shortest_edge (or to height x width),
    center-crop, rescale, normalise."""

    defaults = {
        "do_resize": True, "size": {"shortest_edge": 224}, "resample": BICUBIC, "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": OPENAI_CLIP_MEAN, "image_std": OPENAI_CLIP_STD, "do_convert_rgb": True,
    }  # fmt: skip
