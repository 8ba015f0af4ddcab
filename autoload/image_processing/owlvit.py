"""OWL-ViT image processor (open-vocabulary object detection), with its detection post-processing."""

from __future__ import annotations

import warnings

import numpy as np

from ..postprocessing.arrays import center_to_corners, output_field
from ..postprocessing.owlvit_detection import best_queries, image_guided_detection, scale_boxes, text_queried_detection
from .base import BICUBIC, BaseImageProcessor
from .clip import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


class OwlViTImageProcessor(BaseImageProcessor):
    """Resize to a fixed height x width (768 x 768), optionally center-crop, rescale, normalise (CLIP's mean
    and std). Post-processing turns OWL-ViT's box predictions into scored, labelled boxes."""

    defaults = {
        "do_resize": True, "size": {"height": 768, "width": 768}, "resample": BICUBIC, "do_center_crop": False,
        "crop_size": {"height": 768, "width": 768}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": OPENAI_CLIP_MEAN, "image_std": OPENAI_CLIP_STD,
    }  # fmt: skip

    def __init__(self, **kwargs):
        # An older name of do_rescale that transformers accepts but does not apply (nor save).
        kwargs.pop("rescale", None)
        super().__init__(**kwargs)

    def post_process_object_detection(self, outputs, threshold: float = 0.1, target_sizes=None) -> list[dict]:
        """Per image {"scores", "labels", "boxes"} (numpy) of the boxes scoring above threshold for their best
        text query (labels index the queries); boxes (x0, y0, x1, y1) in pixels of target_sizes (height,
        width) when given, else relative to the padded input."""
        return text_queried_detection(outputs, threshold, target_sizes)

    def post_process_image_guided_detection(self, outputs, threshold: float = 0.0, nms_threshold: float = 0.3,
                                            target_sizes=None) -> list[dict]:  # fmt: skip
        """Boxes of objects like the query image's, from `outputs.logits` and `outputs.target_pred_boxes`;
        see autoload.postprocessing.owlvit_detection.image_guided_detection."""
        return image_guided_detection(outputs, threshold, nms_threshold, target_sizes)

    def post_process(self, outputs, target_sizes) -> list[dict[str, np.ndarray]]:
        """Deprecated in transformers: every box with its best query's score and index, scaled to target_sizes."""
        warnings.warn(
            "`post_process` is deprecated and will be removed in v5 of Transformers, please use"
            " `post_process_object_detection` instead, with `threshold=0.` for equivalent results.",
            FutureWarning,
            stacklevel=2,
        )
        logits, boxes = output_field(outputs, "logits"), output_field(outputs, "pred_boxes")
        if len(logits) != len(target_sizes):
            raise ValueError("Make sure that you pass in as many target sizes as the batch dimension of the logits")
        scores, labels = best_queries(logits)
        boxes = scale_boxes(center_to_corners(boxes), target_sizes)
        return [{"scores": s, "labels": lab, "boxes": b} for s, lab, b in zip(scores, labels, boxes)]


OwlViTFeatureExtractor = OwlViTImageProcessor
