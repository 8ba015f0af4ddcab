"""MaskFormer image processor: resize keeping the aspect ratio to a multiple of size_divisor, pad the batch,
segmentation maps -> per-segment binary masks and classes; semantic / instance / panoptic post-processing."""

from __future__ import annotations

import math

import numpy as np

from ..postprocessing import (
    maskformer_instance_segmentation,
    output_field,
    query_segmentation,
    semantic_segmentation_from_queries,
)
from ..processing_utils import BatchFeature, to_tensor
from . import label_maps, transforms
from .base import BILINEAR, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, BaseImageProcessor, in_data_format
from .inputs import CHANNELS_FIRST, CHANNELS_LAST, image_list, to_rgb_array

DEFAULT_LONGEST_EDGE = 1333
NEAREST = 0


def binary_masks(label_map: np.ndarray, instance_id_to_semantic_id: dict | None, ignore_index: int | None,
                 do_reduce_labels: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(float32 masks, int64 classes): one mask per id in the map (ignore_index left out), its class the id
    itself or, with instance_id_to_semantic_id, the class of that instance."""
    if do_reduce_labels and ignore_index is None:
        raise ValueError("do_reduce_labels=True needs ignore_index (the id reduced background pixels get).")
    if do_reduce_labels:
        label_map = np.where(label_map == 0, ignore_index, label_map - 1)
    ids = np.unique(label_map)
    if ignore_index is not None:
        ids = ids[ids != ignore_index]
    masks = np.stack([label_map == i for i in ids]) if len(ids) else np.zeros((0, *label_map.shape))
    classes = ids
    if instance_id_to_semantic_id is not None:
        shift = 1 if do_reduce_labels else 0
        classes = np.asarray([_class_of(instance_id_to_semantic_id, int(i) + shift) - shift for i in ids], np.int64)
    return masks.astype(np.float32), np.asarray(classes).astype(np.int64)


def _class_of(instance_id_to_semantic_id: dict, instance_id: int) -> int:
    """The class of an instance; keys may also be the ids as strings (a mapping read from JSON)."""
    for key in (instance_id, str(instance_id)):
        if key in instance_id_to_semantic_id:
            return instance_id_to_semantic_id[key]
    raise ValueError(f"instance_id_to_semantic_id has no class for the instance id {instance_id}.")


class MaskFormerImageProcessor(BaseImageProcessor):
    """Resize (shortest_edge capped by longest_edge, or height x width) then round both sides up to a
    multiple of size_divisor, rescale, normalise, pad the batch below and right to its largest image (or
    pad_size) with a `pixel_mask`.

    With `segmentation_maps` (one class or instance id per pixel) it returns `mask_labels` (per image a
    float32 (segments, height, width) array of binary masks, padded with ignore_index) and `class_labels`
    (per image the int64 class of each mask); both are lists, one item per image, as tensors of
    `return_tensors`' framework.
    """

    model_input_names = ["pixel_values", "pixel_mask"]
    size_default_to_square = False
    defaults = {
        "do_resize": True, "size": {"shortest_edge": 800, "longest_edge": DEFAULT_LONGEST_EDGE}, "size_divisor": 32,
        "resample": BILINEAR, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN, "image_std": IMAGENET_DEFAULT_STD, "ignore_index": None,
        "do_reduce_labels": False, "num_labels": None, "pad_size": None,
    }  # fmt: skip

    def __init__(self, **kwargs):
        # max_size (an older config field, kept when saving) caps an int size's longer side.
        label_maps.drop_ignored_fields(type(self).__name__, kwargs, ("reduce_labels", "size_divisibility"))
        self._max_size = kwargs.get("max_size", DEFAULT_LONGEST_EDGE)
        if isinstance(kwargs.get("size"), int):
            kwargs["size"] = {"shortest_edge": kwargs["size"], "longest_edge": self._max_size}
        super().__init__(**kwargs)

    def output_size(self, height: int, width: int, size: dict, size_divisor: int) -> tuple[int, int]:
        if "shortest_edge" in size:
            longest = size.get("longest_edge", self._max_size)
            new_size = transforms.shortest_edge_size(height, width, size["shortest_edge"], longest)
        elif "height" in size and "width" in size:
            new_size = size["height"], size["width"]
        else:
            raise ValueError(
                f"{type(self).__name__} needs size with shortest_edge and longest_edge, or height and width; "
                f"got {size}."
            )
        if size_divisor and size_divisor > 0:
            new_size = tuple(int(math.ceil(side / size_divisor) * size_divisor) for side in new_size)
        return new_size

    def resize_image(self, image, size, resample, settings):
        new_size = self.output_size(*image.shape[:2], size, settings.get("size_divisor") or 0)
        return transforms.resize(image, *new_size, resample)

    def __call__(self, images, segmentation_maps=None, **kwargs) -> BatchFeature:
        return self.preprocess(images, segmentation_maps=segmentation_maps, **kwargs)

    def preprocess(self, images, segmentation_maps=None, instance_id_to_semantic_id=None, return_tensors=None,
                   data_format: str = CHANNELS_FIRST, input_data_format: str | None = None,
                   **overrides) -> BatchFeature:  # fmt: skip
        settings = self.settings_for_call(overrides)
        images = image_list(images)
        pixels = self.process_images([to_rgb_array(image, input_data_format) for image in images], settings,
                                     CHANNELS_LAST)  # fmt: skip
        largest = tuple(max(p.shape[i] for p in pixels) for i in (0, 1))
        pad_size = settings.get("pad_size")
        padded_size = (pad_size["height"], pad_size["width"]) if pad_size is not None else largest
        data = {
            "pixel_values": in_data_format([transforms.pad_bottom_right(p, *padded_size) for p in pixels], data_format),
            "pixel_mask": [transforms.valid_region_mask(*p.shape[:2], *padded_size) for p in pixels],
        }
        features = BatchFeature(data, tensor_type=return_tensors)
        if segmentation_maps is not None:
            maps = label_maps.label_map_list(segmentation_maps)
            label_maps.check_count(images, maps)
            # Masks are padded to the batch's largest image, even where pad_size pads the pixels further.
            masks, classes = self.encode_label_maps(maps, instance_id_to_semantic_id, settings, largest)
            features["mask_labels"] = [to_tensor(m, return_tensors) if return_tensors else m for m in masks]
            features["class_labels"] = [to_tensor(c, return_tensors) if return_tensors else c for c in classes]
        return features

    def encode_label_maps(self, maps: list[np.ndarray], instance_id_to_semantic_id, settings: dict,
                          padded_size: tuple[int, int]) -> tuple[list[np.ndarray], list[np.ndarray]]:  # fmt: skip
        ignore_index = settings.get("ignore_index")
        all_masks, all_classes = [], []
        for index, label_map in enumerate(maps):
            if settings.get("do_resize"):
                new_size = self.output_size(*label_map.shape, settings["size"], settings.get("size_divisor") or 0)
                label_map = label_maps.resize_label_map(label_map, *new_size, NEAREST)
            mapping = instance_id_to_semantic_id
            if isinstance(mapping, (list, tuple)):
                mapping = mapping[index]
            masks, classes = binary_masks(label_map, mapping, ignore_index, bool(settings.get("do_reduce_labels")))
            if len(masks):
                if ignore_index is None:
                    raise ValueError(
                        "MaskFormerImageProcessor pads the masks of segmentation maps with ignore_index, which is "
                        "not set: pass ignore_index (e.g. 255) to from_pretrained or to this call."
                    )
                masks = np.stack([transforms.pad_bottom_right(m, *padded_size, value=ignore_index) for m in masks])
            else:
                masks = np.zeros((0, *padded_size), dtype=np.float32)
            all_masks.append(masks)
            all_classes.append(classes)
        return all_masks, all_classes

    def post_process_semantic_segmentation(self, outputs, target_sizes=None) -> list[np.ndarray]:
        """Per image an int64 (height, width) class map from `outputs.class_queries_logits` and
        `outputs.masks_queries_logits`."""
        return semantic_segmentation_from_queries(
            output_field(outputs, "class_queries_logits"), output_field(outputs, "masks_queries_logits"), target_sizes
        )

    def post_process_instance_segmentation(self, outputs, threshold: float = 0.5, mask_threshold: float = 0.5,
                                           overlap_mask_area_threshold: float = 0.8, target_sizes=None,
                                           return_coco_annotation: bool = False,
                                           return_binary_maps: bool = False) -> list[dict]:  # fmt: skip
        """Per image {"segmentation", "segments_info"} (mask_threshold and overlap_mask_area_threshold are not
        used here, as in transformers); with return_binary_maps the segmentation is one binary map per
        segment, with return_coco_annotation run-length encodings."""
        return maskformer_instance_segmentation(
            output_field(outputs, "class_queries_logits"), output_field(outputs, "masks_queries_logits"), threshold,
            target_sizes, return_coco_annotation, return_binary_maps,
        )  # fmt: skip

    def post_process_panoptic_segmentation(self, outputs, threshold: float = 0.5, mask_threshold: float = 0.5,
                                           overlap_mask_area_threshold: float = 0.8, label_ids_to_fuse=None,
                                           target_sizes=None) -> list[dict]:  # fmt: skip
        """Per image {"segmentation": int32 map of segment ids, "segments_info"}; the segments of a class in
        label_ids_to_fuse are merged into one."""
        return query_segmentation(
            output_field(outputs, "class_queries_logits"), output_field(outputs, "masks_queries_logits"), threshold,
            mask_threshold, overlap_mask_area_threshold, label_ids_to_fuse, target_sizes,
        )  # fmt: skip


MaskFormerFeatureExtractor = MaskFormerImageProcessor
