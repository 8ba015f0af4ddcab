"""LlavaProcessor: an image processor (CLIP's, usually) and a Llama tokenizer, with each <image> in the text
expanded to one token per image feature the vision tower gives."""

from __future__ import annotations

import numpy as np

from ..image_processing.inputs import flat_image_list
from ..processing_utils import BatchFeature
from .base import ProcessorMixin
from .kwargs import split_kwargs

TEXT_DEFAULTS = {"padding": False, "return_mm_token_type_ids": False}


class LlavaProcessor(ProcessorMixin):
    """`processor(images=…, text=…)`: pixel_values, and input_ids / attention_mask of the text with every
    `image_token` repeated (height // patch_size) * (width // patch_size) + num_additional_image_tokens times (one
    fewer with vision_feature_select_strategy "default", which drops the CLS feature), the size read from the first
    processed image. `apply_chat_template` renders conversations with images (see processing/chat.py)."""

    parts = {"image_processor": "AutoImageProcessor", "tokenizer": "AutoTokenizer"}
    processor_attributes = ("image_token", "num_additional_image_tokens", "patch_size", "vision_feature_select_strategy")

    def __init__(self, image_processor=None, tokenizer=None, patch_size=None, vision_feature_select_strategy=None,
                 chat_template=None, image_token="<image>", num_additional_image_tokens=0, **kwargs):  # fmt: skip
        super().__init__(image_processor=image_processor, tokenizer=tokenizer)
        self.patch_size = patch_size
        self.num_additional_image_tokens = num_additional_image_tokens
        self.vision_feature_select_strategy = vision_feature_select_strategy
        self.image_token = getattr(tokenizer, "image_token", None) or image_token
        self.image_token_id = tokenizer.encode(self.image_token, add_special_tokens=False)[0]
        self.chat_template = chat_template

    def num_image_tokens(self, height: int, width: int) -> int:
        """How many times one image token is repeated for an image processed to height x width."""
        if not isinstance(self.patch_size, int) or self.patch_size <= 0:
            raise ValueError(
                f"LlavaProcessor needs patch_size (the vision tower's, e.g. 14) to expand the image token, got "
                f"{self.patch_size!r}; set it in processor_config.json or pass patch_size= to from_pretrained."
            )
        count = (height // self.patch_size) * (width // self.patch_size) + self.num_additional_image_tokens
        return count - 1 if self.vision_feature_select_strategy == "default" else count

    def __call__(self, images=None, text=None, audio=None, videos=None, **kwargs) -> BatchFeature:
        if images is None and text is None:
            raise ValueError("You have to specify at least one of `images` or `text`.")
        options = split_kwargs(kwargs, defaults={"text_kwargs": TEXT_DEFAULTS}, tokenizer=self.tokenizer,
                               processor="LlavaProcessor")  # fmt: skip
        images = flat_image_list(images)  # one list per prompt: one batch, in order (CLIP's processor flattens too)
        image_inputs = self.image_processor(images, **options["images_kwargs"]) if images is not None else {}
        if isinstance(text, str):
            text = [text]
        elif not isinstance(text, list) or (text and not isinstance(text[0], str)):
            raise TypeError("LlavaProcessor needs text: a string, or a list of strings (with an image token for each "
                            "image).")  # fmt: skip
        prompts = text
        if image_inputs.get("pixel_values") is not None:
            height, width = _image_size(np.asarray(image_inputs["pixel_values"][0]))
            repeats = self.num_image_tokens(height, width)
            prompts = [sample.replace(self.image_token, self.image_token * repeats) for sample in text]
        text_kwargs = dict(options["text_kwargs"])
        return_tensors = text_kwargs.pop("return_tensors", None)
        mm_token_type_ids = text_kwargs.pop("return_mm_token_type_ids", False)
        text_inputs = self.tokenizer(prompts, **text_kwargs, return_tensors=None)
        counted = [list(ids).count(self.image_token_id) for ids in text_inputs["input_ids"]]
        expected = [sample.count(self.image_token) for sample in prompts]
        if counted != expected:
            raise ValueError(
                f"Mismatch in `image` token count between text and `input_ids`. Got ids={counted} and text={expected}. "
                "Likely due to `truncation='max_length'`. Please disable truncation or increase `max_length`."
            )
        if mm_token_type_ids:
            text_inputs["mm_token_type_ids"] = [[int(token == self.image_token_id) for token in ids]
                                                for ids in text_inputs["input_ids"]]  # fmt: skip
        return BatchFeature({**text_inputs, **image_inputs}, tensor_type=return_tensors)

    @property
    def model_input_names(self) -> list[str]:
        names = list(self.tokenizer.model_input_names) + list(self.image_processor.model_input_names)
        return list(dict.fromkeys(names))

    def post_process_image_text_to_text(self, generated_outputs, skip_special_tokens: bool = True, **kwargs):
        """The generated ids as text (the tokenizer's batch_decode)."""
        return self.tokenizer.batch_decode(generated_outputs, skip_special_tokens=skip_special_tokens, **kwargs)


def _image_size(image: np.ndarray) -> tuple[int, int]:
    """(height, width) of a CHW or HWC image, channels first where the first axis could be channels."""
    if image.ndim == 3 and image.shape[0] in (1, 3):
        return int(image.shape[1]), int(image.shape[2])
    if image.ndim == 3 and image.shape[-1] in (1, 3):
        return int(image.shape[0]), int(image.shape[1])
    raise ValueError(f"Cannot tell the height and width of processed pixel values of shape {image.shape}.")
