"""BaseImageProcessor: the resize -> crop -> rescale -> normalize pipeline, steered by the config fields
transformers' image processors use (do_resize, size, resample, do_center_crop, crop_size, …)."""

from __future__ import annotations

import numpy as np

from ..processing_utils import BatchFeature, PreprocessorMixin
from . import transforms

IMAGENET_STANDARD = [0.5, 0.5, 0.5]


class BaseImageProcessor(PreprocessorMixin):
    type_key = "image_processor_type"
    defaults: dict = {
        "do_resize": True, "size": {"height": 224, "width": 224}, "resample": 2, "do_center_crop": False,
        "crop_size": None, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": IMAGENET_STANDARD, "image_std": IMAGENET_STANDARD, "do_convert_rgb": None,
    }  # fmt: skip
    model_input_names = ["pixel_values"]

    def __init__(self, **kwargs):
        super().__init__(**{**self.defaults, **kwargs})
        self.size = transforms.size_dict(self.size, default_to_square="shortest_edge" not in str(self.size))
        if self.crop_size is not None:
            self.crop_size = transforms.size_dict(self.crop_size)

    def __call__(self, images, **kwargs) -> BatchFeature:
        return self.preprocess(images, **kwargs)

    def resize_image(self, image: np.ndarray, size: dict, resample: int) -> np.ndarray:
        if "height" in size:
            return transforms.resize(image, size["height"], size["width"], resample)
        if "shortest_edge" in size:
            height, width = transforms.shortest_edge_size(*image.shape[:2], size["shortest_edge"])
            return transforms.resize(image, height, width, resample)
        raise ValueError(f"size needs height and width, or shortest_edge; got {size}.")

    def process_one(self, image: np.ndarray, options: dict) -> np.ndarray:
        if options["do_resize"]:
            image = self.resize_image(image, options["size"], options["resample"])
        if options["do_center_crop"] and options["crop_size"]:
            image = transforms.center_crop(image, options["crop_size"]["height"], options["crop_size"]["width"])
        if options["do_rescale"]:
            image = transforms.rescale(image, options["rescale_factor"])
        if options["do_normalize"]:
            image = transforms.normalize(image, options["image_mean"], options["image_std"])
        return image

    def preprocess(self, images, return_tensors=None, data_format="channels_first", **overrides) -> BatchFeature:
        unknown = set(overrides) - set(self.defaults) - set(vars(self))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(unknown)}.")
        options = {key: overrides.get(key, getattr(self, key, self.defaults.get(key))) for key in self.defaults}
        if "size" in overrides:
            options["size"] = transforms.size_dict(overrides["size"])
        if "crop_size" in overrides:
            options["crop_size"] = transforms.size_dict(overrides["crop_size"])
        batch = images if isinstance(images, (list, tuple)) else [images]
        if not batch:
            raise ValueError("No images were given.")
        pixels = [self.process_one(transforms.as_rgb_array(image), options) for image in batch]
        shapes = {p.shape for p in pixels}
        if len(shapes) > 1:
            raise ValueError(f"Processed images have different sizes {sorted(shapes)}; set do_resize or a crop.")
        stacked = np.stack(pixels)
        if data_format == "channels_first":
            stacked = np.transpose(stacked, (0, 3, 1, 2))
        elif data_format != "channels_last":
            raise ValueError(f"data_format must be 'channels_first' or 'channels_last', got {data_format!r}.")
        return BatchFeature({"pixel_values": stacked}, tensor_type=return_tensors)
