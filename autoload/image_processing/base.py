"""BaseImageProcessor: resize -> center-crop -> rescale -> normalize, steered by the config fields
transformers' image processors use (do_resize, size, resample, do_center_crop, crop_size, …)."""

from __future__ import annotations

import warnings

import numpy as np

from ..processing_utils import BatchFeature, PreprocessorMixin
from . import transforms
from .inputs import CHANNELS_FIRST, CHANNELS_LAST, image_list, is_scaled, to_rgb_array

BILINEAR, BICUBIC = 2, 3
IMAGENET_STANDARD_MEAN = IMAGENET_STANDARD_STD = [0.5, 0.5, 0.5]
IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

# A step that is switched on needs its parameters.
_REQUIRED_WITH = {"do_resize": ("size",), "do_center_crop": ("crop_size",), "do_rescale": ("rescale_factor",),
                  "do_normalize": ("image_mean", "image_std")}  # fmt: skip


def in_data_format(pixels: list[np.ndarray], data_format: str) -> list[np.ndarray]:
    """HWC arrays as `data_format` asks (channels first: CHW)."""
    if data_format == CHANNELS_FIRST:
        return [np.ascontiguousarray(p.transpose(2, 0, 1)) for p in pixels]
    return pixels


class BaseImageProcessor(PreprocessorMixin):
    """Subclasses set `defaults` (their config fields) and override `resize_image` or `process_image`.

    Calling it returns a BatchFeature with `pixel_values`: one array per image (channels first unless
    data_format="channels_last"), or one batch tensor when `return_tensors` is "np", "pt", "tf" or "jax".
    Any config field can be overridden per call (`processor(images, do_normalize=False)`).

    Images may be PIL images of any mode, or arrays (HW, HWC or CHW; 1, 3 or 4 channels; uint8, integral
    floats in 0-255 or floats in [0, 1]). They are always made RGB first, whatever do_convert_rgb says: where
    transformers refuses a gray or RGBA image, the result equals its output for the image converted to RGB.
    """

    type_key = "image_processor_type"
    model_input_names = ["pixel_values"]
    size_default_to_square = True  # how an int `size` in an older config is read

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if getattr(self, "size", None) is not None:
            self.size = transforms.size_dict(self.size, self.size_default_to_square)
        if getattr(self, "crop_size", None) is not None:
            self.crop_size = transforms.size_dict(self.crop_size, param_name="crop_size")

    def __call__(self, images, **kwargs) -> BatchFeature:
        return self.preprocess(images, **kwargs)

    def preprocess(self, images, return_tensors=None, data_format: str = CHANNELS_FIRST,
                   input_data_format: str | None = None, **overrides) -> BatchFeature:  # fmt: skip
        if data_format not in (CHANNELS_FIRST, CHANNELS_LAST):
            raise ValueError(f"data_format must be {CHANNELS_FIRST!r} or {CHANNELS_LAST!r}, got {data_format!r}.")
        settings = self.settings_for_call(overrides)
        pixels = self.process_images(images, settings, input_data_format)
        return BatchFeature({"pixel_values": in_data_format(pixels, data_format)}, tensor_type=return_tensors)

    def process_images(self, images, settings: dict, input_data_format: str | None = None) -> list[np.ndarray]:
        """What callers pass as images -> HWC arrays through `process_image`."""
        arrays = [to_rgb_array(image, input_data_format) for image in image_list(images)]
        if settings.get("do_rescale") and any(is_scaled(a) for a in arrays):
            warnings.warn(
                "The images are floats already in [0, 1] and do_rescale=True scales them again by rescale_factor. "
                "Pass do_rescale=False if they are already rescaled.",
                stacklevel=4,
            )
        return [self.process_image(array, settings) for array in arrays]

    def settings_for_call(self, overrides: dict) -> dict:
        """The config fields with this call's overrides (None means "the configured value")."""
        settings = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        unknown = sorted(set(overrides) - set(settings))
        if unknown:
            warnings.warn(f"{type(self).__name__} ignores the unknown arguments {unknown}.", stacklevel=4)
        settings.update({k: v for k, v in overrides.items() if k in settings and v is not None})
        if "size" in overrides and settings.get("size") is not None:
            settings["size"] = transforms.size_dict(settings["size"], self.size_default_to_square)
        if "crop_size" in overrides and settings.get("crop_size") is not None:
            settings["crop_size"] = transforms.size_dict(settings["crop_size"], param_name="crop_size")
        for switch, needed in _REQUIRED_WITH.items():
            missing = [name for name in needed if settings.get(switch) and settings.get(name) is None]
            if missing:
                raise ValueError(f"{switch}=True needs {' and '.join(missing)}, which is not set.")
        return settings

    def process_image(self, image: np.ndarray, settings: dict) -> np.ndarray:
        """One HWC RGB image through the enabled steps, in transformers' order."""
        if settings.get("do_resize"):
            image = self.resize_image(image, settings["size"], settings.get("resample"), settings)
        if settings.get("do_center_crop"):
            image = transforms.center_crop(image, settings["crop_size"]["height"], settings["crop_size"]["width"])
        if settings.get("do_rescale"):
            image = transforms.rescale(image, settings["rescale_factor"])
        if settings.get("do_normalize"):
            image = transforms.normalize(image, settings["image_mean"], settings["image_std"])
        return image

    def resize_image(self, image: np.ndarray, size: dict, resample, settings: dict) -> np.ndarray:
        """Resize to size["height"] x size["width"]."""
        if "height" not in size or "width" not in size:
            raise ValueError(f"{type(self).__name__} needs size with height and width, got {size}.")
        return transforms.resize(image, size["height"], size["width"], resample)
