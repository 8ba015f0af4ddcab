"""DETR image processor (also Table Transformer): resize keeping the aspect ratio, normalise, pad the batch
to its largest image with a pixel_mask; COCO annotations -> labels; post-processing of the predictions."""

from __future__ import annotations

import numpy as np

from ..postprocessing import object_detection, output_field, query_segmentation, semantic_segmentation_from_queries
from ..processing_utils import BatchFeature
from . import coco_annotations, transforms
from .base import BILINEAR, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, BaseImageProcessor, in_data_format
from .inputs import CHANNELS_FIRST, CHANNELS_LAST, image_list, to_rgb_array

DEFAULT_LONGEST_EDGE = 1333


def aspect_ratio_size(height: int, width: int, shortest: int, longest: int | None) -> tuple[int, int]:
    """DETR's rule: the short side becomes `shortest` unless the long side would pass `longest`, in which
    case the long side becomes about `longest` (sizes computed from the unrounded scale, then truncated)."""
    raw = None
    if longest is not None:
        short_side, long_side = float(min(height, width)), float(max(height, width))
        if long_side / short_side * shortest > longest:
            raw = longest * short_side / long_side
            shortest = int(round(raw))
    if (height <= width and height == shortest) or (width <= height and width == shortest):
        return height, width
    scale_from = raw if raw is not None else shortest
    if width < height:
        return int(scale_from * height / width), shortest
    return shortest, int(scale_from * width / height)


def max_height_width_size(height: int, width: int, max_height: int, max_width: int) -> tuple[int, int]:
    scale = min(max_height / height, max_width / width)
    return int(height * scale), int(width * scale)


class DetrImageProcessor(BaseImageProcessor):
    """Resize (shortest_edge / longest_edge keeping the aspect ratio, max_height / max_width, or height x
    width), rescale, normalise, then pad every image below and to the right to the batch's largest (or to
    pad_size) and return `pixel_mask` (1 on the image, 0 on the padding).

    With `annotations` (COCO detection: {"image_id", "annotations": [{"bbox", "category_id", "area", …}]};
    COCO panoptic: {"image_id", "file_name", "segments_info"} with the PNGs in `masks_path`) it also returns
    `labels`, one dict per image (class_labels, boxes, area, iscrowd, image_id, size, orig_size, masks),
    boxes as relative (center_x, center_y, width, height) when do_convert_annotations.
    """

    model_input_names = ["pixel_values", "pixel_mask"]
    size_default_to_square = False
    defaults = {
        "format": coco_annotations.COCO_DETECTION, "do_resize": True,
        "size": {"shortest_edge": 800, "longest_edge": DEFAULT_LONGEST_EDGE}, "resample": BILINEAR,
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD, "do_convert_annotations": None, "do_pad": True, "pad_size": None,
    }  # fmt: skip

    def __init__(self, **kwargs):
        if "pad_and_return_pixel_mask" in kwargs:  # the older name of do_pad
            kwargs["do_pad"] = kwargs.pop("pad_and_return_pixel_mask")
        max_size = kwargs.pop("max_size", None)  # the older place of longest_edge, for an int size
        if isinstance(kwargs.get("size"), int):
            kwargs["size"] = {"shortest_edge": kwargs["size"], "longest_edge": max_size or DEFAULT_LONGEST_EDGE}
        super().__init__(**kwargs)
        if self.do_convert_annotations is None:
            self.do_convert_annotations = self.do_normalize

    def resize_image(self, image, size, resample, settings):
        height, width = image.shape[:2]
        if "shortest_edge" in size and "longest_edge" in size:
            new_size = aspect_ratio_size(height, width, size["shortest_edge"], size["longest_edge"])
        elif "max_height" in size and "max_width" in size:
            new_size = max_height_width_size(height, width, size["max_height"], size["max_width"])
        elif "height" in size and "width" in size:
            new_size = size["height"], size["width"]
        else:
            raise ValueError(
                f"{type(self).__name__} needs size with shortest_edge and longest_edge, max_height and max_width, "
                f"or height and width; got {size}."
            )
        return transforms.resize(image, *new_size, resample)

    def __call__(self, images, annotations=None, **kwargs) -> BatchFeature:
        return self.preprocess(images, annotations=annotations, **kwargs)

    def preprocess(self, images, annotations=None, return_segmentation_masks: bool | None = None, masks_path=None,
                   return_tensors=None, data_format: str = CHANNELS_FIRST, input_data_format: str | None = None,
                   **overrides) -> BatchFeature:  # fmt: skip
        settings = self.settings_for_call(overrides)
        annotation_format = getattr(settings["format"], "value", settings["format"])
        images = image_list(images)
        labels = None
        if annotations is not None:
            annotations = coco_annotations.check_annotations(annotations, annotation_format, len(images))
        originals = [to_rgb_array(image, input_data_format) for image in images]
        pixels = self.process_images(originals, settings, CHANNELS_LAST)
        if annotations is not None:
            labels = [
                self.image_labels(annotation, original.shape[:2], processed.shape[:2], annotation_format,
                                  return_segmentation_masks, masks_path, settings)
                for annotation, original, processed in zip(annotations, originals, pixels)
            ]  # fmt: skip
        data = {}
        if settings.get("do_pad"):
            pad_size = settings.get("pad_size")
            padded_size = (
                (pad_size["height"], pad_size["width"]) if pad_size is not None
                else tuple(max(p.shape[i] for p in pixels) for i in (0, 1))
            )  # fmt: skip
            data["pixel_values"] = in_data_format(
                [transforms.pad_bottom_right(p, *padded_size) for p in pixels], data_format
            )
            data["pixel_mask"] = [transforms.valid_region_mask(*p.shape[:2], *padded_size) for p in pixels]
            if labels is not None:
                update_boxes = bool(settings.get("do_convert_annotations"))
                labels = [coco_annotations.pad_labels(label, p.shape[:2], padded_size, update_boxes)
                          for label, p in zip(labels, pixels)]  # fmt: skip
        else:
            data["pixel_values"] = in_data_format(pixels, data_format)
        features = BatchFeature(data, tensor_type=return_tensors)
        if labels is not None:
            features["labels"] = [BatchFeature(label, tensor_type=return_tensors) for label in labels]
        return features

    def image_labels(self, annotation: dict, original_size, size, annotation_format: str, return_segmentation_masks,
                     masks_path, settings: dict) -> dict:  # fmt: skip
        if annotation_format == coco_annotations.COCO_DETECTION:
            labels = coco_annotations.detection_labels(annotation, *original_size, bool(return_segmentation_masks))
        else:
            return_masks = True if return_segmentation_masks is None else return_segmentation_masks
            labels = coco_annotations.panoptic_labels(annotation, *original_size, masks_path, return_masks)
        if settings.get("do_resize"):
            labels = coco_annotations.resize_labels(labels, tuple(original_size), tuple(size))
        if settings.get("do_convert_annotations"):
            labels = coco_annotations.normalize_boxes(labels, *size)
        return labels

    def post_process_object_detection(self, outputs, threshold: float = 0.5, target_sizes=None) -> list[dict]:
        """Per image {"scores", "labels", "boxes"} from `outputs.logits` and `outputs.pred_boxes`: the
        queries whose best class scores above `threshold`; boxes (x0, y0, x1, y1) in pixels of each target
        size (height, width), relative without target_sizes."""
        return object_detection(output_field(outputs, "logits"), output_field(outputs, "pred_boxes"), threshold,
                                target_sizes)  # fmt: skip

    def post_process_semantic_segmentation(self, outputs, target_sizes=None) -> list[np.ndarray]:
        """Per image an int64 (height, width) class map from `outputs.logits` and `outputs.pred_masks`."""
        return semantic_segmentation_from_queries(
            output_field(outputs, "logits"), output_field(outputs, "pred_masks"), target_sizes
        )

    def post_process_instance_segmentation(self, outputs, threshold: float = 0.5, mask_threshold: float = 0.5,
                                           overlap_mask_area_threshold: float = 0.8, target_sizes=None,
                                           return_coco_annotation: bool = False) -> list[dict]:  # fmt: skip
        """Per image {"segmentation", "segments_info"}: a map of segment ids and, per segment, its id,
        label_id, score and was_fused; the map as run-length encodings with return_coco_annotation."""
        return query_segmentation(
            output_field(outputs, "logits"), output_field(outputs, "pred_masks"), threshold, mask_threshold,
            overlap_mask_area_threshold, (), target_sizes, return_coco_annotation,
        )  # fmt: skip

    def post_process_panoptic_segmentation(self, outputs, threshold: float = 0.5, mask_threshold: float = 0.5,
                                           overlap_mask_area_threshold: float = 0.8, label_ids_to_fuse=None,
                                           target_sizes=None) -> list[dict]:  # fmt: skip
        """Per image {"segmentation", "segments_info"}; the segments of a class in label_ids_to_fuse (the
        "stuff" classes) are merged into one."""
        return query_segmentation(
            output_field(outputs, "logits"), output_field(outputs, "pred_masks"), threshold, mask_threshold,
            overlap_mask_area_threshold, label_ids_to_fuse, target_sizes,
        )  # fmt: skip


DetrFeatureExtractor = DetrImageProcessor
