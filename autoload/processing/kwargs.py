"""Sorting a processor call's keyword arguments into those for the tokenizer, the image processor and the feature
extractor, as transformers 4.57's ProcessorMixin._merge_kwargs does.

A flat keyword argument goes to every part that takes it by name (`padding` to the tokenizer and the feature
extractor); `text_kwargs={…}` / `images_kwargs={…}` / `audio_kwargs={…}` give a part its own; `return_tensors` goes
to all. The processor's defaults come first, then the tokenizer's own settings for a text keyword it was built with
(padding_side …), then the caller's. Keywords no part takes are ignored with a warning.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

TEXT_KWARGS = ("text_pair", "text_target", "text_pair_target", "add_special_tokens", "padding", "truncation",
               "max_length", "stride", "is_split_into_words", "pad_to_multiple_of", "return_token_type_ids",
               "return_attention_mask", "return_overflowing_tokens", "return_special_tokens_mask",
               "return_offsets_mapping", "return_length", "verbose", "padding_side", "return_mm_token_type_ids")  # fmt: skip
IMAGES_KWARGS = ("do_resize", "size", "crop_size", "resample", "do_rescale", "rescale_factor", "do_normalize",
                 "image_mean", "image_std", "do_pad", "pad_size", "do_center_crop", "data_format", "input_data_format",
                 "device")  # fmt: skip
AUDIO_KWARGS = ("sampling_rate", "raw_speech", "padding", "max_length", "truncation", "pad_to_multiple_of",
                "return_attention_mask")  # fmt: skip
COMMON_KWARGS = ("return_tensors",)
MODALITIES = ("text_kwargs", "images_kwargs", "audio_kwargs")


def split_kwargs(kwargs: dict, *, defaults: dict | None = None, tokenizer=None, extra_images: tuple = (),
                 processor: str = "processor") -> dict[str, dict]:  # fmt: skip
    """{"text_kwargs": …, "images_kwargs": …, "audio_kwargs": …} for one call (see the module docstring).

    A part given its own dict (text_kwargs={…}) takes only that dict, not the flat keywords."""
    keys = {"text_kwargs": TEXT_KWARGS, "images_kwargs": IMAGES_KWARGS + tuple(extra_images),
            "audio_kwargs": AUDIO_KWARGS, "common_kwargs": COMMON_KWARGS}  # fmt: skip
    output = {modality: dict((defaults or {}).get(modality, {})) for modality in keys}
    init_kwargs = getattr(tokenizer, "init_kwargs", None) or {}
    for key in TEXT_KWARGS:
        if key in init_kwargs:
            output["text_kwargs"][key] = getattr(tokenizer, key, init_kwargs[key])
    kwargs = dict(kwargs)
    nested = {modality: dict(kwargs.pop(modality) or {}) for modality in keys if modality in kwargs}
    used = set()
    for modality, names in keys.items():
        for key in names:
            if modality in nested:
                if key in nested[modality]:
                    if key in kwargs:
                        raise ValueError(f"Keyword argument {key} was passed two times: in a dictionary for {modality} "
                                         "and as a **kwarg.")  # fmt: skip
                    output[modality][key] = nested[modality].pop(key)
                    used.add(key)
            elif key in kwargs:
                output[modality][key] = kwargs[key]
                used.add(key)
    if nested:  # a part's own dict may also hold keywords it does not list
        for modality, rest in nested.items():
            for key, value in rest.items():
                if key not in used:
                    output[modality][key] = value
                    used.add(key)
    else:
        ignored = sorted(key for key in kwargs if key not in used and key not in ("text", "images", "audio", "videos"))
        if ignored:
            logger.warning("Keyword arguments %s are not valid for %s and are ignored.", ignored, processor)
    common = output.pop("common_kwargs")
    for modality in output:
        output[modality].update(common)
    return output
