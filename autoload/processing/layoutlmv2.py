"""LayoutLMv2Processor: document images plus words and their boxes (OCR off: the caller supplies them)."""

from __future__ import annotations

from .base import ProcessorMixin


class LayoutLMv2Processor(ProcessorMixin):
    parts = {"image_processor": "AutoImageProcessor", "tokenizer": "AutoTokenizer"}

    def __call__(self, images, text=None, text_pair=None, boxes=None, word_labels=None, return_tensors=None,
                 **kwargs):  # fmt: skip
        if getattr(self.image_processor, "apply_ocr", False):
            raise ValueError(
                "This LayoutLMv2Processor's image processor has apply_ocr=True, which needs Tesseract; autoload "
                "supports apply_ocr=False: pass the words as `text` and their `boxes`."
            )
        if text is None or boxes is None:
            raise ValueError("With apply_ocr=False, pass the words as `text` and their `boxes` (0-1000 scale).")
        features = self.image_processor(images, return_tensors=return_tensors)
        encoded = self.tokenizer(text, text_pair=text_pair, boxes=boxes, word_labels=word_labels,
                                 return_tensors=return_tensors, **kwargs)  # fmt: skip
        encoded["image"] = features["pixel_values"]
        return encoded
