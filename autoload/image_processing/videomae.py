"""VideoMAE image processor (also TimeSformer): every frame of every video through the CLIP-style steps."""

from __future__ import annotations

import numpy as np

from ..processing_utils import BatchFeature
from .base import BILINEAR, IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, in_data_format
from .clip import CLIPImageProcessor
from .inputs import CHANNELS_FIRST, CHANNELS_LAST, is_pil_image


def video_batch(videos) -> list[list]:
    """One frame, a list of frames (one video) or a list of videos -> a list of videos, each a list of
    frames. Arrays: 3-D is a frame, 4-D a video (frames first), 5-D a batch of videos."""
    if is_pil_image(videos):
        return [[videos]]
    if isinstance(videos, (list, tuple)):
        if not videos:
            raise ValueError("No videos were given (an empty list).")
        first = videos[0]
        if isinstance(first, (list, tuple)) or (not is_pil_image(first) and np.ndim(first) == 4):
            return [list(video) for video in videos]
        return [list(videos)]
    if not hasattr(videos, "__array__"):
        raise TypeError(
            f"Videos must be PIL images or arrays (frames), lists of them, or lists of such lists; got "
            f"{type(videos).__name__}."
        )
    array = np.asarray(videos)
    if array.ndim in (2, 3):
        return [[array]]
    if array.ndim == 4:
        return [list(array)]
    if array.ndim == 5:
        return [list(video) for video in array]
    raise ValueError(f"A video array must have 3 (one frame), 4 or 5 (a batch) dimensions, got shape {array.shape}.")


class VideoMAEImageProcessor(CLIPImageProcessor):
    """Per frame: resize the short side to shortest_edge (or to height x width), center-crop, rescale,
    normalise. pixel_values: (batch, frames, channels, height, width)."""

    defaults = {
        "do_resize": True, "size": {"shortest_edge": 224}, "resample": BILINEAR, "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": IMAGENET_STANDARD_MEAN, "image_std": IMAGENET_STANDARD_STD,
    }  # fmt: skip

    def __call__(self, videos, **kwargs) -> BatchFeature:
        return self.preprocess(videos, **kwargs)

    def preprocess(self, videos, return_tensors=None, data_format: str = CHANNELS_FIRST,
                   input_data_format: str | None = None, **overrides) -> BatchFeature:  # fmt: skip
        if data_format not in (CHANNELS_FIRST, CHANNELS_LAST):
            raise ValueError(f"data_format must be {CHANNELS_FIRST!r} or {CHANNELS_LAST!r}, got {data_format!r}.")
        settings = self.settings_for_call(overrides)
        frames = [
            in_data_format(self.process_images(video, settings, input_data_format), data_format)
            for video in video_batch(videos)
        ]
        return BatchFeature({"pixel_values": frames}, tensor_type=return_tensors)


VideoMAEFeatureExtractor = VideoMAEImageProcessor
