"""ViltProcessor: ViLT's image processor and a BERT tokenizer (visual question answering)."""

from __future__ import annotations

import warnings

from ..processing_utils import BatchFeature
from .base import ProcessorMixin
from .kwargs import split_kwargs

TEXT_DEFAULTS = {"add_special_tokens": True, "padding": False, "stride": 0, "return_overflowing_tokens": False,
                 "return_special_tokens_mask": False, "return_offsets_mapping": False, "return_length": False,
                 "verbose": True}  # fmt: skip


class ViltProcessor(ProcessorMixin):
    """`processor(images, text)`: pixel_values and pixel_mask from the image processor, input_ids,
    token_type_ids and attention_mask from the tokenizer. Keyword arguments go to the part that takes them
    (padding to the tokenizer, size_divisor to the image processor; return_tensors to both)."""

    parts = {"image_processor": "AutoImageProcessor", "tokenizer": "AutoTokenizer"}

    def __init__(self, image_processor=None, tokenizer=None, **kwargs):
        if "feature_extractor" in kwargs:
            warnings.warn("The `feature_extractor` argument is deprecated and will be removed in v5, use "
                          "`image_processor` instead.", FutureWarning, stacklevel=2)  # fmt: skip
            image_processor = image_processor if image_processor is not None else kwargs.pop("feature_extractor")
        super().__init__(image_processor=image_processor, tokenizer=tokenizer)

    def __call__(self, images=None, text=None, videos=None, audio=None, **kwargs) -> BatchFeature:
        if images is None and text is None and videos is None and audio is None:
            raise ValueError("You need to provide at least one input to call ViltProcessor (images, text or both).")
        options = split_kwargs(kwargs, defaults={"text_kwargs": TEXT_DEFAULTS}, tokenizer=self.tokenizer,
                               extra_images=("size_divisor",), processor="ViltProcessor")  # fmt: skip
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
