"""LayoutLMv3Processor: document images plus words and their boxes (OCR off: the caller supplies them)."""

from __future__ import annotations

import warnings

from .base import ProcessorMixin


class LayoutLMv3Processor(ProcessorMixin):
    """`processor(images, words, boxes=…, word_labels=…)` or `processor(images, question, words, boxes=…)`: the
    tokenizer's input_ids, attention_mask, bbox (and labels), plus `pixel_values` (one image per overflowing row
    with return_overflowing_tokens). The image processor must have apply_ocr=False: autoload does not run OCR."""

    parts = {"image_processor": "AutoImageProcessor", "tokenizer": "AutoTokenizer"}

    def __init__(self, image_processor=None, tokenizer=None, **kwargs):
        if "feature_extractor" in kwargs:
            warnings.warn("The `feature_extractor` argument is deprecated and will be removed in v5, use "
                          "`image_processor` instead.", FutureWarning, stacklevel=2)  # fmt: skip
            image_processor = image_processor if image_processor is not None else kwargs.pop("feature_extractor")
        super().__init__(image_processor=image_processor, tokenizer=tokenizer)

    def __call__(self, images, text=None, text_pair=None, boxes=None, word_labels=None, return_tensors=None,
                 return_overflowing_tokens: bool = False, **kwargs):  # fmt: skip
        if getattr(self.image_processor, "apply_ocr", False):
            if boxes is not None or word_labels is not None:
                raise ValueError("You cannot provide bounding boxes or word labels if you initialized the image "
                                 "processor with apply_ocr set to True.")  # fmt: skip
            raise NotImplementedError(
                "This LayoutLMv3Processor's image processor has apply_ocr=True, which runs Tesseract OCR; autoload "
                "does not do OCR. Load it with apply_ocr=False and pass the words as `text` and their `boxes`."
            )
        if text is None or boxes is None:
            raise ValueError("With apply_ocr=False, pass the words as `text` (or a question as `text` and the words as "
                             "`text_pair`) and their `boxes` (0-1000 scale).")  # fmt: skip
        features = self.image_processor(images=images, return_tensors=return_tensors)
        encoded = self.tokenizer(text, text_pair=text_pair, boxes=boxes, word_labels=word_labels,
                                 return_tensors=return_tensors, return_overflowing_tokens=return_overflowing_tokens,
                                 **kwargs)  # fmt: skip
        pixels = features["pixel_values"]
        if return_overflowing_tokens:
            pixels = [pixels[sample] for sample in encoded["overflow_to_sample_mapping"]]
        encoded["pixel_values"] = pixels
        return encoded

    def get_overflowing_images(self, images, overflow_to_sample_mapping):
        return [images[sample] for sample in overflow_to_sample_mapping]

    @property
    def model_input_names(self) -> list[str]:
        return ["input_ids", "bbox", "attention_mask", "pixel_values"]
