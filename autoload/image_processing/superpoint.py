"""SuperPoint image processor (keypoint detection inputs): resize, rescale, optionally make gray."""

from __future__ import annotations

import numpy as np

from ..postprocessing.keypoints import keypoint_detection
from .base import BILINEAR, BaseImageProcessor

# ITU-R 601 luma weights, as transformers' convert_to_grayscale rounds them
LUMA_WEIGHTS = (0.2989, 0.5870, 0.1140)


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """An HWC RGB array with its luma in all three channels (unchanged when the channels are equal already).
    The sum runs in the image's own float type, float64 for integer images, as numpy does for transformers."""
    if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2]):
        return image
    red, green, blue = LUMA_WEIGHTS
    gray = image[..., 0] * red + image[..., 1] * green + image[..., 2] * blue
    return np.stack([gray] * 3, axis=-1)


class SuperPointImageProcessor(BaseImageProcessor):
    """Resize to height x width (480 x 640), rescale to [0, 1]; with do_grayscale the three channels become the
    image's luma. No normalisation."""

    defaults = {
        "do_resize": True, "size": {"height": 480, "width": 640}, "resample": BILINEAR, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_grayscale": False,
    }  # fmt: skip
    size_default_to_square = False

    def process_image(self, image, settings):
        image = super().process_image(image, settings)
        return to_grayscale(image) if settings.get("do_grayscale") else image

    def post_process_keypoint_detection(self, outputs, target_sizes) -> list[dict[str, np.ndarray]]:
        """Per image: `keypoints` (int32 x, y pixels in its target (height, width)), `scores` and
        `descriptors`, for the keypoints `outputs.mask` marks valid."""
        return keypoint_detection(outputs, target_sizes)
