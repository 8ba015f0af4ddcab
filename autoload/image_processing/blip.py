"""BLIP image processor (also BLIP-2 and InstructBLIP checkpoints)."""

from __future__ import annotations

from . import transforms
from .base import BICUBIC, BaseImageProcessor
from .clip import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from .inputs import flat_image_list


class BlipImageProcessor(BaseImageProcessor):
    """Resize to size["height"] x size["width"] (384 x 384), rescale, normalise with CLIP's mean and std.

    An int size in the config is a square; an int given to a call is read as a shortest edge and refused, as
    transformers does."""

    defaults = {
        "do_resize": True, "size": {"height": 384, "width": 384}, "resample": BICUBIC, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": OPENAI_CLIP_MEAN, "image_std": OPENAI_CLIP_STD,
        "do_convert_rgb": True,
    }  # fmt: skip

    def settings_for_call(self, overrides: dict) -> dict:
        size = overrides.get("size")
        if size is not None and not isinstance(size, dict):
            overrides = {**overrides, "size": transforms.size_dict(size, default_to_square=False)}
        return super().settings_for_call(overrides)

    def process_images(self, images, settings: dict, input_data_format: str | None = None):
        return super().process_images(flat_image_list(images), settings, input_data_format)
