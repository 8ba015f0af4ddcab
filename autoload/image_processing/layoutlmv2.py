import numpy as np

from .base import BaseImageProcessor


class LayoutLMv2ImageProcessor(BaseImageProcessor):
    """Document images: resize to 224x224 and flip RGB to BGR (the visual backbone's order); no rescaling
    or normalisation. OCR (apply_ocr=True) needs Tesseract and is not supported: pass words and boxes."""

    defaults = {**BaseImageProcessor.defaults, "do_rescale": False, "do_normalize": False, "apply_ocr": True,
                "ocr_lang": None, "tesseract_config": ""}  # fmt: skip

    def process_one(self, image, options):
        if options.get("apply_ocr"):
            raise NotImplementedError(
                "LayoutLMv2ImageProcessor with apply_ocr=True needs Tesseract OCR, which autoload does not run. "
                "Load it with apply_ocr=False and pass the words and boxes to the processor."
            )
        return np.ascontiguousarray(super().process_one(image, options)[..., ::-1])


LayoutLMv2FeatureExtractor = LayoutLMv2ImageProcessor
