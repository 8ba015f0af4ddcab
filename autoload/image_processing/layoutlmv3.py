"""LayoutLMv3 image processor (document images for LayoutLMv3)."""

from __future__ import annotations

from .base import BILINEAR, IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, BaseImageProcessor

_RESCALE = 1 / 255


class LayoutLMv3ImageProcessor(BaseImageProcessor):
    """Resize to 224 x 224, rescale, normalise with mean and std 0.5.

    OCR (apply_ocr=True, the default of the Hub checkpoints) needs Tesseract, which autoload does not run: load or
    call with apply_ocr=False and give the words and boxes to the processor yourself.

    As in transformers, the constructor takes the scale as `rescale_value`: a `rescale_factor` in
    preprocessor_config.json is not read (1/255 is used), one given to from_pretrained or to a call is.
    """

    defaults = {
        "do_resize": True, "size": {"height": 224, "width": 224}, "resample": BILINEAR, "do_rescale": True,
        "rescale_factor": _RESCALE, "do_normalize": True, "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD, "apply_ocr": True, "ocr_lang": None, "tesseract_config": "",
    }  # fmt: skip

    def __init__(self, **kwargs):
        kwargs.pop("rescale_factor", None)
        kwargs["rescale_factor"] = kwargs.pop("rescale_value", _RESCALE)
        super().__init__(**kwargs)

    @classmethod
    def from_dict(cls, config: dict, **kwargs):
        override = kwargs.pop("rescale_factor", None)
        instance = super().from_dict(config, **kwargs)
        processor = instance[0] if isinstance(instance, tuple) else instance
        if override is not None:
            processor.rescale_factor = override
        return instance

    def process_image(self, image, settings):
        if settings.get("apply_ocr"):
            raise NotImplementedError(
                "LayoutLMv3ImageProcessor with apply_ocr=True runs Tesseract OCR, which autoload does not do. Pass "
                "apply_ocr=False (to from_pretrained or to this call) and supply the words and boxes yourself."
            )
        return super().process_image(image, settings)


LayoutLMv3FeatureExtractor = LayoutLMv3ImageProcessor
