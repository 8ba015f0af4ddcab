"""ViLT image processor: resize the short side (capping the long one), round down to a multiple of size_divisor,
and pad the batch to its largest image with a pixel_mask."""

from __future__ import annotations

from ..processing_utils import BatchFeature
from . import transforms
from .base import BICUBIC, IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, BaseImageProcessor, in_data_format
from .inputs import CHANNELS_FIRST, CHANNELS_LAST, flat_image_list

# The long side may reach 1333 / 800 times the short one (the detection-style limit ViLT was trained with).
LONG_TO_SHORT = 1333 / 800


def vilt_output_size(height: int, width: int, shorter: int, size_divisor: int) -> tuple[int, int]:
    """(height, width) ViLT resizes to: the short side to `shorter`, the pair scaled down again when the long side
    passes int(shorter * 1333 / 800), both rounded to the nearest pixel and then down to a multiple of size_divisor."""
    if not isinstance(size_divisor, int) or isinstance(size_divisor, bool) or size_divisor <= 0:
        raise ValueError(f"ViltImageProcessor needs size_divisor, a positive int; got {size_divisor!r}.")
    longer = int(LONG_TO_SHORT * shorter)
    scale = shorter / min(height, width)
    new_height, new_width = (shorter, scale * width) if height < width else (scale * height, shorter)
    if max(new_height, new_width) > longer:
        scale = longer / max(new_height, new_width)
        new_height, new_width = scale * new_height, scale * new_width
    new_height, new_width = int(new_height + 0.5), int(new_width + 0.5)
    new_height, new_width = new_height // size_divisor * size_divisor, new_width // size_divisor * size_divisor
    if new_height <= 0 or new_width <= 0:
        raise ValueError(
            f"ViltImageProcessor would resize a {height} x {width} image to {new_height} x {new_width}: with "
            f"shortest_edge={shorter} a side rounds down to 0 at size_divisor={size_divisor}. Use a larger "
            "shortest_edge or a smaller size_divisor."
        )
    return new_height, new_width


class ViltImageProcessor(BaseImageProcessor):
    """Resize (size["shortest_edge"], the long side at most 1333/800 of it, both multiples of size_divisor), rescale,
    normalise, and with do_pad pad every image below and to the right to the batch's largest, returning
    `pixel_mask` (1 on the image, 0 on the padding)."""

    model_input_names = ["pixel_values"]
    size_default_to_square = False
    defaults = {
        "do_resize": True, "size": {"shortest_edge": 384}, "size_divisor": 32, "resample": BICUBIC, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD, "do_pad": True,
    }  # fmt: skip

    def __init__(self, **kwargs):
        if "pad_and_return_pixel_mask" in kwargs:  # the older name of do_pad
            kwargs["do_pad"] = kwargs.pop("pad_and_return_pixel_mask")
        super().__init__(**kwargs)

    @classmethod
    def from_dict(cls, config: dict, **kwargs):
        if "pad_and_return_pixel_mask" in kwargs:
            config = {**config, "do_pad": kwargs.pop("pad_and_return_pixel_mask")}
        return super().from_dict(config, **kwargs)

    def process_images(self, images, settings: dict, input_data_format: str | None = None):
        return super().process_images(flat_image_list(images), settings, input_data_format)

    def resize_image(self, image, size, resample, settings):
        if "shortest_edge" not in size:
            raise ValueError(f"ViltImageProcessor needs size with shortest_edge, got {size}.")
        height, width = vilt_output_size(*image.shape[:2], size["shortest_edge"], settings.get("size_divisor"))
        return transforms.resize(image, height, width, resample)

    def preprocess(self, images, return_tensors=None, data_format: str = CHANNELS_FIRST,
                   input_data_format: str | None = None, **overrides) -> BatchFeature:  # fmt: skip
        if data_format not in (CHANNELS_FIRST, CHANNELS_LAST):
            raise ValueError(f"data_format must be {CHANNELS_FIRST!r} or {CHANNELS_LAST!r}, got {data_format!r}.")
        settings = self.settings_for_call(overrides)
        pixels = self.process_images(images, settings, input_data_format)
        if not settings.get("do_pad"):
            return BatchFeature({"pixel_values": in_data_format(pixels, data_format)}, tensor_type=return_tensors)
        padded_size = tuple(max(p.shape[i] for p in pixels) for i in (0, 1))
        data = {
            "pixel_values": in_data_format([transforms.pad_bottom_right(p, *padded_size) for p in pixels], data_format),
            "pixel_mask": [transforms.valid_region_mask(*p.shape[:2], *padded_size) for p in pixels],
        }
        return BatchFeature(data, tensor_type=return_tensors)


ViltFeatureExtractor = ViltImageProcessor
