"""LayoutLMv2 image processor (document images for LayoutLMv2 / LayoutXLM)."""

from __future__ import annotations

from . import transforms
from .base import BILINEAR, BaseImageProcessor


class LayoutLMv2ImageProcessor(BaseImageProcessor):
    """Resize to 224 x 224 and flip RGB to BGR (the order its Detectron2 backbone was trained on); pixels
    stay uint8 0-255, with no rescaling or normalisation.

    OCR (apply_ocr=True, the default of many checkpoints) needs Tesseract, which autoload does not run:
    load or call with apply_ocr=False and give the words and boxes to the processor yourself.
    """

    defaults = {"do_resize": True, "size": {"height": 224, "width": 224}, "resample": BILINEAR, "apply_ocr": True,
                "ocr_lang": None, "tesseract_config": ""}  # fmt: skip

    def process_image(self, image, settings):
        if settings.get("apply_ocr"):
            raise NotImplementedError(
                "LayoutLMv2ImageProcessor with apply_ocr=True runs Tesseract OCR, which autoload does not do. Pass "
                "apply_ocr=False (to from_pretrained or to this call) and supply the words and boxes yourself."
            )
        return transforms.flip_channel_order(super().process_image(image, settings))


LayoutLMv2FeatureExtractor = LayoutLMv2ImageProcessor
