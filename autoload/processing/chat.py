"""A processor's apply_chat_template, as transformers 4.57's ProcessorMixin does it.

Messages hold a list of contents ({"type": "text", "text": …}, {"type": "image", "image" | "url" | "path" |
"base64": …}). The conversation is rendered with the processor's chat template (tokenization/chat_template.py);
with tokenize=True the images the messages name are loaded (a PIL image or array as given; a local path, an
http(s) URL or base64 text opened, EXIF-rotated and made RGB) and the processor is called on the rendered text and
the images, with the other keyword arguments (padding, return_tensors …). Without a `bos_token` at the start of
the text, the tokenizer adds its special tokens. Videos and audio in messages are not supported.
"""

from __future__ import annotations

import base64
import bisect
import io
import os

from ..tokenization.chat_template import render_conversations

# Keyword arguments that steer the rendering (the rest are also template variables and go to the processor call).
_TEMPLATE_OPTIONS = ("tools", "documents", "add_generation_prompt", "continue_final_message",
                     "return_assistant_tokens_mask")  # fmt: skip


def apply_chat_template(processor, conversation, chat_template=None, **kwargs):
    template = _template(processor.chat_template, chat_template)
    if kwargs.get("continue_final_message"):
        if kwargs.get("add_generation_prompt"):
            raise ValueError(
                "continue_final_message and add_generation_prompt are not compatible: continue_final_message lets the "
                "model continue the final message, add_generation_prompt starts a new assistant message."
            )
        if kwargs.get("return_assistant_tokens_mask"):
            raise ValueError("continue_final_message is not compatible with return_assistant_tokens_mask.")
    tokenizer = processor.tokenizer
    if kwargs.get("return_assistant_tokens_mask"):
        if not type(tokenizer).__name__.endswith("Fast"):
            raise ValueError("return_assistant_tokens_mask needs a fast tokenizer (it reads token offsets).")
        kwargs["return_offsets_mapping"] = True
    options = {key: kwargs.pop(key) for key in _TEMPLATE_OPTIONS if key in kwargs}
    options = {key: value for key, value in options.items() if value is not None}
    for key in ("sampling_rate", "load_audio_from_video", "video_load_backend"):
        kwargs.pop(key, None)
    tokenize, return_dict = bool(kwargs.pop("tokenize", False)), bool(kwargs.pop("return_dict", False))
    batched = isinstance(conversation, (list, tuple)) and bool(conversation) and (
        isinstance(conversation[0], (list, tuple)) or hasattr(conversation[0], "content"))  # fmt: skip
    conversations = list(conversation) if batched else [conversation]
    images = [_conversation_images(one) for one in conversations] if tokenize else None
    track = bool(options.pop("return_assistant_tokens_mask", False))
    texts, spans = render_conversations(
        template, conversations, track_generation=track, **options, **kwargs, **tokenizer.special_tokens_map
    )
    prompt = texts if batched else texts[0]
    if not tokenize:
        return prompt
    if tokenizer.bos_token is not None and texts[0].startswith(tokenizer.bos_token):
        kwargs["add_special_tokens"] = False
    has_images = any(image is not None for group in images for image in group)
    out = processor(text=prompt, images=images if has_images else None, **kwargs)
    if not return_dict:
        return out["input_ids"]
    if track:
        offsets = out.pop("offset_mapping")
        out["assistant_masks"] = [_assistant_mask(len(ids), row_offsets, spans[row])
                                  for row, (ids, row_offsets) in enumerate(zip(out["input_ids"], offsets))]  # fmt: skip
        out.convert_to_tensors(tensor_type=kwargs.get("return_tensors"))
    return out


def _template(own, requested):
    if requested is not None:
        return own[requested] if isinstance(own, dict) and requested in own else requested
    if isinstance(own, dict):
        if "default" in own:
            return own["default"]
        raise ValueError(
            f"The processor has several chat templates ({', '.join(own)}) and none named 'default'; pass "
            "chat_template=<name>."
        )
    if own is None:
        raise ValueError(
            "This processor has no chat template (no chat_template.jinja in its folder). Pass one with chat_template=."
        )
    return own


def _conversation_images(conversation) -> list:
    messages = conversation.messages if hasattr(conversation, "messages") else conversation
    images = []
    for message in messages:
        contents = message["content"]
        for content in contents:
            kind = content["type"]
            if kind in ("video", "audio"):
                raise NotImplementedError(f"apply_chat_template with tokenize=True does not load {kind} in autoload; "
                                          f"give the processor the {kind} yourself.")  # fmt: skip
            if kind == "image":
                images += [load_image(content[key]) for key in ("image", "url", "path", "base64") if key in content]
    return images


def load_image(source):
    """A PIL image or array as it is; a str as a local path, an http(s) URL or base64 (optionally a data URL):
    opened, rotated by its EXIF orientation and made RGB."""
    if not isinstance(source, str):
        return source
    from PIL import Image, ImageOps

    if source.startswith(("http://", "https://")):
        import urllib.request

        with urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310 - the caller's own URL
            image = Image.open(io.BytesIO(response.read()))
    elif os.path.isfile(source):
        image = Image.open(source)
    else:
        data = source.split(",", 1)[1] if source.startswith("data:image/") else source
        try:
            image = Image.open(io.BytesIO(base64.decodebytes(data.encode())))
        except Exception as exc:  # noqa: BLE001 - any decoding failure means the source was not an image
            raise ValueError(
                f"Incorrect image source {source[:80]!r}: give a URL starting with http:// or https://, the path of an "
                "image file, base64 text of one, or a PIL image."
            ) from exc
    return ImageOps.exif_transpose(image).convert("RGB")


def _assistant_mask(length: int, offsets, spans) -> list[int]:
    """1 on the tokens from the one holding a span's first character to the one before its end (transformers'
    rule, on the offsets of the processed text)."""
    mask = [0] * length
    starts = [int(start) for start, _ in offsets]
    for start_char, end_char in spans:
        start = bisect.bisect_left(starts, start_char)
        end = bisect.bisect_left(starts, end_char)
        if not (start < len(offsets) and offsets[start][0] <= start_char < offsets[start][1]):
            continue
        for index in range(start, end if end else length):
            mask[index] = 1
    return mask
