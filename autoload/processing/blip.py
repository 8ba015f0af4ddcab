"""BlipProcessor: BLIP's image processor and a BERT tokenizer (captioning and visual question answering)."""

from __future__ import annotations

from .base import ProcessorMixin
from .kwargs import split_kwargs

TEXT_DEFAULTS = {"add_special_tokens": True, "padding": False, "stride": 0, "return_overflowing_tokens": False,
                 "return_special_tokens_mask": False, "return_offsets_mapping": False, "return_token_type_ids": False,
                 "return_length": False, "verbose": True}  # fmt: skip


class BlipProcessor(ProcessorMixin):
    """`processor(images, text)`: pixel_values, input_ids and attention_mask (no token_type_ids unless asked).
    With text only it returns the tokenizer's encoding; with images, the image features with the text merged in."""

    parts = {"image_processor": "AutoImageProcessor", "tokenizer": "AutoTokenizer"}

    def __init__(self, image_processor=None, tokenizer=None, **kwargs):
        super().__init__(image_processor=image_processor, tokenizer=tokenizer)
        self.tokenizer.return_token_type_ids = False

    def __call__(self, images=None, text=None, audio=None, videos=None, **kwargs):
        if images is None and text is None:
            raise ValueError("You have to specify either images or text.")
        options = split_kwargs(kwargs, defaults={"text_kwargs": TEXT_DEFAULTS}, tokenizer=self.tokenizer,
                               processor="BlipProcessor")  # fmt: skip
        encoding = self.tokenizer(text, **options["text_kwargs"]) if text is not None else None
        if images is None:
            return encoding
        features = self.image_processor(images, **options["images_kwargs"])
        if encoding is not None:
            features.update(encoding)
        return features

    @property
    def model_input_names(self) -> list[str]:
        text = [name for name in self.tokenizer.model_input_names if name != "token_type_ids"]
        return text + list(self.image_processor.model_input_names)
