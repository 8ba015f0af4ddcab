"""Image-text processors (CLIP, SigLIP): the tokenizer for the text, the image processor for the images."""

from __future__ import annotations

from ..processing_utils import BatchFeature
from .base import ProcessorMixin
from .kwargs import split_kwargs


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


class SiglipProcessor(ProcessorMixin):
    """`processor(images, text)`: pixel_values from the image processor, then input_ids from the tokenizer.
    Keyword arguments go to the part that takes them (padding to the tokenizer, size to the image processor,
    text_kwargs / images_kwargs for one part only; return_tensors to both), as transformers 4.57's generic
    processor call sorts them."""

    parts = {"image_processor": "AutoImageProcessor", "tokenizer": "AutoTokenizer"}

    def __call__(self, images=None, text=None, videos=None, audio=None, **kwargs) -> BatchFeature:
        if images is None and text is None and videos is None and audio is None:
            raise ValueError("You need to provide at least one input to call SiglipProcessor (images, text or both).")
        if videos is not None or audio is not None:
            raise ValueError("SiglipProcessor takes images and text only (no videos or audio).")
        options = split_kwargs(kwargs, tokenizer=self.tokenizer, processor="SiglipProcessor")
        outputs = {}
        if images is not None:
            outputs.update(self.image_processor(images, **options["images_kwargs"]))
        if text is not None:
            outputs.update(self.tokenizer(text, **options["text_kwargs"]))
        return BatchFeature(outputs)

    @property
    def model_input_names(self) -> list[str]:
        names = list(self.tokenizer.model_input_names) + list(self.image_processor.model_input_names)
        return list(dict.fromkeys(names))
