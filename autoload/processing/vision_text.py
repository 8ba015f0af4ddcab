"""Image-text processors (CLIP): the tokenizer for the text, the image processor for the images."""

from __future__ import annotations

from .base import ProcessorMixin


class CLIPProcessor(ProcessorMixin):
    parts = {"image_processor": "AutoImageProcessor", "tokenizer": "AutoTokenizer"}

    def __call__(self, text=None, images=None, return_tensors=None, **kwargs):
        if text is None and images is None:
            raise ValueError("CLIPProcessor needs text, images, or both.")
        encoding = self.tokenizer(text, return_tensors=return_tensors, **kwargs) if text is not None else None
        if images is None:
            return encoding
        pixels = self.image_processor(images, return_tensors=return_tensors)
        if encoding is None:
            return pixels
        encoding["pixel_values"] = pixels["pixel_values"]
        return encoding
