"""SAM image processor (Segment Anything): longest side to 1024, padded to 1024 x 1024, with the sizes the
prompt coordinates and the predicted masks are mapped through."""

from __future__ import annotations

import numpy as np

from ..postprocessing import sam_mask_generation
from ..postprocessing.sam_masks import upscale_masks
from ..processing_utils import BatchFeature
from . import label_maps, transforms
from .base import BILINEAR, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, in_data_format
from .inputs import CHANNELS_FIRST, CHANNELS_LAST, image_list, is_pil_image, to_rgb_array

NEAREST = 0


def longest_edge_size(height: int, width: int, longest: int) -> tuple[int, int]:
    """(height, width) keeping the aspect ratio with the longer side `longest`, each side rounded half up."""
    scale = longest * 1.0 / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def _longest_edge(size: dict) -> int:
    if "longest_edge" not in size:
        raise ValueError(f"SamImageProcessor resizes by the longest edge: size needs longest_edge, got {size}.")
    return size["longest_edge"]


def _image_size(image, input_data_format) -> tuple[int, int]:
    if is_pil_image(image):
        return image.height, image.width
    height, width = to_rgb_array(image, input_data_format).shape[:2]
    return height, width


class SamImageProcessor(label_maps.LabelMapImageProcessor):
    """Resize so the longest side is size["longest_edge"], rescale, normalise, zero-pad below and to the right
    to pad_size. Also returns `original_sizes` and `reshaped_input_sizes` (height, width before and after
    resizing), which SamProcessor and post_process_masks need. Segmentation maps go to mask_size /
    mask_pad_size (nearest-neighbour) as int64 `labels`.

    An int size / mask_size in a config is a longest edge; an int pad_size / mask_pad_size a square.
    """

    defaults = {
        "do_resize": True, "size": {"longest_edge": 1024}, "mask_size": {"longest_edge": 256}, "resample": BILINEAR,
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD, "do_pad": True, "pad_size": {"height": 1024, "width": 1024},
        "mask_pad_size": {"height": 256, "width": 256}, "do_convert_rgb": True,
    }  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(**self._size_dicts(kwargs))

    @staticmethod
    def _size_dicts(values: dict) -> dict:
        values = dict(values)
        for name in ("size", "mask_size"):
            if isinstance(values.get(name), (int, np.integer)) and not isinstance(values[name], bool):
                values[name] = {"longest_edge": int(values[name])}
        for name in ("pad_size", "mask_pad_size"):
            if values.get(name) is not None:
                values[name] = transforms.size_dict(values[name], param_name=name)
        return values

    def settings_for_call(self, overrides):
        return super().settings_for_call(self._size_dicts(overrides))

    def resize_image(self, image, size, resample, settings):
        return transforms.resize(image, *longest_edge_size(*image.shape[:2], _longest_edge(size)), resample)

    def process_image(self, image, settings):
        image = super().process_image(image, settings)
        if settings.get("do_pad"):
            image = transforms.pad_bottom_right(image, settings["pad_size"]["height"], settings["pad_size"]["width"])
        return image

    def process_label_map(self, label_map, settings):
        if settings.get("do_resize"):
            height, width = longest_edge_size(*label_map.shape[:2], _longest_edge(settings["mask_size"]))
            label_map = transforms.resize(label_map, height, width, NEAREST)
        if settings.get("do_pad"):
            pad = settings["mask_pad_size"]
            label_map = transforms.pad_bottom_right(label_map, pad["height"], pad["width"])
        return label_map

    def reshaped_size(self, height: int, width: int, settings: dict) -> tuple[int, int]:
        if settings.get("do_resize"):
            return longest_edge_size(height, width, _longest_edge(settings["size"]))
        return height, width

    def preprocess(self, images, segmentation_maps=None, return_tensors=None, data_format: str = CHANNELS_FIRST,
                   input_data_format: str | None = None, **overrides) -> BatchFeature:  # fmt: skip
        if data_format not in (CHANNELS_FIRST, CHANNELS_LAST):
            raise ValueError(f"data_format must be {CHANNELS_FIRST!r} or {CHANNELS_LAST!r}, got {data_format!r}.")
        settings = self.settings_for_call(overrides)
        images = image_list(images)
        original_sizes = [_image_size(image, input_data_format) for image in images]
        data = {
            "pixel_values": in_data_format(self.process_images(images, settings, input_data_format), data_format),
            "original_sizes": original_sizes,
            "reshaped_input_sizes": [self.reshaped_size(*size, settings) for size in original_sizes],
        }
        if segmentation_maps is not None:
            maps = label_maps.label_map_list(segmentation_maps)
            label_maps.check_count(images, maps)
            for label_map, size in zip(maps, original_sizes):
                if tuple(label_map.shape) != tuple(size):
                    raise ValueError(
                        f"A segmentation map of {label_map.shape[0]} x {label_map.shape[1]} came with an image of "
                        f"{size[0]} x {size[1]} (height x width): each map must be the size of its image."
                    )
            data["labels"] = [self.process_label_map(m, settings).astype(np.int64) for m in maps]
        return BatchFeature(data, tensor_type=return_tensors)

    def post_process_masks(self, masks, original_sizes, reshaped_input_sizes, mask_threshold: float = 0.0,
                           binarize: bool = True, pad_size=None, return_tensors=None) -> list:  # fmt: skip
        """Low-resolution masks (per image: (point_batch, masks, h, w)) -> masks of each original image: resized
        bilinearly to pad_size (the processor's by default), cropped to the resized image, resized to the
        original (height, width); with binarize, `> mask_threshold`. One numpy array per image, or a tensor
        of the framework return_tensors names ("pt", "tf", "jax")."""
        results = upscale_masks(masks, original_sizes, reshaped_input_sizes, mask_threshold, binarize,
                                self.pad_size if pad_size is None else pad_size)  # fmt: skip
        return sam_mask_generation.as_tensors(results, return_tensors)

    def generate_crop_boxes(self, image, target_size, crop_n_layers: int = 0, overlap_ratio: float = 512 / 1500,
                            points_per_crop: int = 32, crop_n_points_downscale_factor: int = 1, device=None,
                            input_data_format=None, return_tensors=None):  # fmt: skip
        """Crops for automatic mask generation and a grid of point prompts in each: (crop_boxes, points_per_crop,
        cropped_images, input_labels), as transformers' SamImageProcessor.generate_crop_boxes returns them."""
        if device is not None and return_tensors != "pt":
            raise ValueError("device is only supported with return_tensors='pt'.")
        boxes, points, crops, labels = sam_mask_generation.generate_crop_boxes(
            image, target_size, crop_n_layers, overlap_ratio, points_per_crop, crop_n_points_downscale_factor,
            input_data_format,
        )
        boxes, points, labels = sam_mask_generation.as_tensors([boxes, points, labels], return_tensors)
        if device is not None:
            boxes, points, labels = (t.to(device) for t in (boxes, points, labels))
        return boxes, points, crops, labels

    def filter_masks(self, masks, iou_scores, original_size, cropped_box_image, pred_iou_thresh: float = 0.88,
                     stability_score_thresh: float = 0.95, mask_threshold: float = 0, stability_score_offset: float = 1,
                     return_tensors=None):  # fmt: skip
        """Keep the masks with a predicted IoU above pred_iou_thresh and a stability score above
        stability_score_thresh that do not touch the crop's inner edges: (RLE masks, scores, boxes)."""
        rles, scores, boxes = sam_mask_generation.filter_masks(
            masks, iou_scores, original_size, cropped_box_image, pred_iou_thresh, stability_score_thresh,
            mask_threshold, stability_score_offset,
        )
        scores, boxes = sam_mask_generation.as_tensors([scores, boxes], return_tensors)
        return rles, scores, boxes

    def post_process_for_mask_generation(self, all_masks, all_scores, all_boxes, crops_nms_thresh,
                                         return_tensors=None):  # fmt: skip
        """Non-maximum suppression over the masks of all crops: (masks, iou_scores, rle_masks, boxes)."""
        masks, scores, rles, boxes = sam_mask_generation.suppress_overlapping_masks(
            all_masks, all_scores, all_boxes, crops_nms_thresh
        )
        scores, boxes = sam_mask_generation.as_tensors([scores, boxes], return_tensors)
        return masks, scores, rles, boxes
