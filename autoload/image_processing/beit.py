"""BEiT image processor (also Data2Vec-Vision), with segmentation maps for semantic segmentation."""

from __future__ import annotations

from . import label_maps, transforms
from .base import BICUBIC, IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


class BeitImageProcessor(label_maps.LabelMapImageProcessor):
    """Resize to height x width, center-crop, rescale, normalise. Segmentation maps (`labels`) go through the
    same resize (with the same filter, bicubic by default) and crop; `do_reduce_labels` first turns class 0
    into 255 (ignored) and moves the others down by one."""

    defaults = {
        "do_resize": True, "size": {"height": 256, "width": 256}, "resample": BICUBIC, "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224}, "rescale_factor": 1 / 255, "do_rescale": True,
        "do_normalize": True, "image_mean": IMAGENET_STANDARD_MEAN, "image_std": IMAGENET_STANDARD_STD,
        "do_reduce_labels": False,
    }  # fmt: skip

    def process_label_map(self, label_map, settings):
        if settings.get("do_reduce_labels"):
            label_map = label_maps.reduce_labels(label_map)
        if settings.get("do_resize"):
            size = settings["size"]
            label_map = label_maps.resize_label_map(label_map, size["height"], size["width"], settings["resample"])
        if settings.get("do_center_crop"):
            crop = settings["crop_size"]
            label_map = transforms.center_crop(label_map, crop["height"], crop["width"])
        return label_map


BeitFeatureExtractor = BeitImageProcessor
