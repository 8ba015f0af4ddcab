"""LLaVA image processor: CLIP's steps, after padding each image to a square (do_pad)."""

from __future__ import annotations

import numpy as np

from .clip import CLIPImageProcessor
from .inputs import flat_image_list


def pad_to_square(image: np.ndarray, background: tuple[int, ...]) -> np.ndarray:
    """An HWC image centred on a square canvas of its longer side filled with `background` (one value per channel;
    the odd extra row or column goes after the image)."""
    height, width = image.shape[:2]
    if height == width:
        return image
    side = max(height, width)
    canvas = np.zeros((side, side, image.shape[2]), dtype=image.dtype)
    canvas[...] = np.asarray(background, dtype=image.dtype)
    if width > height:
        top = (side - height) // 2
        canvas[top : top + height] = image
    else:
        left = (side - width) // 2
        canvas[:, left : left + width] = image
    return canvas


class LlavaImageProcessor(CLIPImageProcessor):
    """CLIPImageProcessor with do_pad: each image is first padded to a square with the configured image_mean as
    the background colour (in 0-255), then resized, center-cropped, rescaled and normalised."""

    defaults = {**CLIPImageProcessor.defaults, "do_pad": False}

    def process_images(self, images, settings: dict, input_data_format: str | None = None):
        return super().process_images(flat_image_list(images), settings, input_data_format)

    def process_image(self, image, settings):
        if settings.get("do_pad"):
            mean = np.broadcast_to(np.asarray(self.image_mean, dtype=np.float64), (image.shape[2],))
            image = pad_to_square(image, tuple(int(value * 255) for value in mean))
        return super().process_image(image, settings)
