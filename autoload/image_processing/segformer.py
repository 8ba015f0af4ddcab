"""SegFormer image processor (also UperNet), with segmentation maps for semantic segmentation."""

from __future__ import annotations

from . import label_maps
from .base import BILINEAR, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

NEAREST = 0


class SegformerImageProcessor(label_maps.LabelMapImageProcessor):
    """Resize to height x width, rescale, normalise; no crop. Segmentation maps (`labels`) are resized with
    nearest-neighbour sampling; `do_reduce_labels` first turns class 0 into 255 (ignored) and moves the
    others down by one."""

    defaults = {
        "do_resize": True, "size": {"height": 512, "width": 512}, "resample": BILINEAR, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD, "do_reduce_labels": False,
    }  # fmt: skip

    def process_label_map(self, label_map, settings):
        if settings.get("do_reduce_labels"):
            label_map = label_maps.reduce_labels(label_map)
        if settings.get("do_resize"):
            size = settings["size"]
            label_map = label_maps.resize_label_map(label_map, size["height"], size["width"], NEAREST)
        return label_map


SegformerFeatureExtractor = SegformerImageProcessor
