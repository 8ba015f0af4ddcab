"""Post-processing of vision model outputs in numpy: detection boxes, semantic / instance / panoptic
segmentation. Outputs may be numpy arrays or any framework's tensors; no framework is imported."""

from __future__ import annotations

from .arrays import output_field, to_numpy
from .detection import object_detection
from .segmentation import (
    binary_mask_to_rle,
    convert_segmentation_to_rle,
    maskformer_instance_segmentation,
    query_segmentation,
    semantic_segmentation_from_logits,
    semantic_segmentation_from_queries,
)

__all__ = [
    "binary_mask_to_rle", "convert_segmentation_to_rle", "maskformer_instance_segmentation", "object_detection",
    "output_field", "query_segmentation", "semantic_segmentation_from_logits", "semantic_segmentation_from_queries",
    "to_numpy",
]  # fmt: skip
