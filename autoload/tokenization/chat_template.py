"""apply_chat_template: a conversation rendered with the tokenizer's Jinja chat template, as transformers does.

The template sees `messages`, `tools` (JSON schemas; Python functions are converted by tool_schema.py),
`documents`, `add_generation_prompt`, the special tokens by name (`bos_token`, `eos_token`, extra special
tokens such as `image_token`) and any extra keyword argument (`enable_thinking` …). It runs in a sandboxed
Jinja environment with the helpers Hub templates use: `raise_exception`, `strftime_now`, a `tojson` that
keeps non-ASCII text and takes json.dumps options, the loop controls, and the `{% generation %}` block that
marks assistant text for `return_assistant_tokens_mask`. Jinja2 is imported only here, on first use.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import os
import re
from datetime import datetime
from functools import lru_cache

logger = logging.getLogger(__name__)

# Appended to the final message for continue_final_message, so the rendered text can be cut right after it.
CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "
_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


def apply_chat_template(tokenizer, conversation, *, tools=None, documents=None, chat_template=None,
                        add_generation_prompt=False, continue_final_message=False, tokenize=True, padding=False,
                        truncation=False, max_length=None, return_tensors=None, return_dict=False,
                        return_assistant_tokens_mask=False, tokenizer_kwargs=None, **kwargs):  # fmt: skip
    """What `tokenizer.apply_chat_template(...)` returns: text, ids, or the tokenizer's dict of outputs."""
    if return_dict and not tokenize:
        raise ValueError("return_dict=True needs tokenize=True: there is no dict of tokenizer outputs for text.")
    if return_assistant_tokens_mask and not return_dict:
        raise ValueError("return_assistant_tokens_mask=True needs return_dict=True (the mask is one of its fields).")
    template = resolve_template(tokenizer.chat_template, chat_template, tools)
    batched = (
        isinstance(conversation, (list, tuple))
        and bool(conversation)
        and (isinstance(conversation[0], (list, tuple)) or hasattr(conversation[0], "messages"))
    )
    if continue_final_message:
        if add_generation_prompt:
            raise ValueError(
                "continue_final_message and add_generation_prompt cannot both be set: continue_final_message "
                "lets the model continue the last message, add_generation_prompt starts a new assistant message."
            )
        if return_assistant_tokens_mask:
            raise ValueError("continue_final_message cannot be combined with return_assistant_tokens_mask.")
    texts, spans = render_conversations(
        template, conversation if batched else [conversation], tools=tools, documents=documents,
        add_generation_prompt=add_generation_prompt, continue_final_message=continue_final_message,
        track_generation=return_assistant_tokens_mask, **{**tokenizer.special_tokens_map, **kwargs},
    )  # fmt: skip
    if not tokenize:
        return texts if batched else texts[0]
    encoded = tokenizer(
        texts if batched else texts[0], padding=padding, truncation=truncation, max_length=max_length,
        add_special_tokens=False, return_tensors=return_tensors, **(tokenizer_kwargs or {}),
    )  # fmt: skip
    if not return_dict:
        return encoded["input_ids"]
    if return_assistant_tokens_mask:
        rows = encoded["input_ids"] if batched or return_tensors else [encoded["input_ids"]]
        masks = [_assistant_mask(encoded, index, len(row), spans[index]) for index, row in enumerate(rows)]
        encoded["assistant_masks"] = masks if batched or return_tensors else masks[0]
        if return_tensors:
            encoded.convert_to_tensors(tensor_type=return_tensors)
    return encoded


def _assistant_mask(encoded, row: int, length: int, spans: list[tuple[int, int]]) -> list[int]:
    """1 on the tokens of text the template put inside {% generation %} blocks."""
    mask = [0] * length
    for start_char, end_char in spans:
        start = encoded.char_to_token(row, start_char)
        end = encoded.char_to_token(row, end_char - 1)
        if start is None:  # cut off by truncation
            break
        # transformers reads an end at token 0 (or past truncation) as "to the end of the row".
        for index in range(start, end + 1 if end else length):
            mask[index] = 1
    return mask


def write_template_files(template, save_directory: str, prefix: str = "") -> list[str]:
    """Save templates as transformers 4.57 does: chat_template.jinja for the default (or only) one, the
    others as additional_chat_templates/<name>.jinja. Returns the paths written."""
    from .loading import CHAT_TEMPLATE_DIR, CHAT_TEMPLATE_FILE

    templates = {"default": template} if isinstance(template, str) else dict(template)
    written = []
    for name, text in templates.items():
        if name == "default":
            target = os.path.join(save_directory, prefix + CHAT_TEMPLATE_FILE)
        else:
            os.makedirs(os.path.join(save_directory, prefix + CHAT_TEMPLATE_DIR), exist_ok=True)
            target = os.path.join(save_directory, prefix + CHAT_TEMPLATE_DIR, f"{name}.jinja")
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)
        written.append(target)
    return written


def resolve_template(own, requested: str | None, tools) -> str:
    """The template text: `requested` (a template or the name of one of ours), else our default one."""
    if isinstance(own, dict):
        if requested is not None and requested in own:
            return own[requested]
        if requested is None:
            if tools is not None and "tool_use" in own:
                return own["tool_use"]
            if "default" in own:
                return own["default"]
            raise ValueError(
                f"This tokenizer has several chat templates ({sorted(own)}) and none named 'default'; "
                "pass chat_template=<name>."
            )
    if requested is not None:
        return requested
    if own is None:
        raise ValueError(
            "This tokenizer has no chat template (tokenizer_config.json has no 'chat_template' and there is no "
            "chat_template.jinja). Pass one with chat_template= or set tokenizer.chat_template."
        )
    return own


def render_conversations(template: str, conversations, *, tools=None, documents=None, add_generation_prompt=False,
                         continue_final_message=False, track_generation=False,
                         **variables) -> tuple[list[str], list[list[tuple[int, int]]]]:  # fmt: skip
    """The rendered text of each conversation, and the character spans of its {% generation %} blocks."""
    if add_generation_prompt and continue_final_message:
        raise ValueError("add_generation_prompt and continue_final_message cannot both be set.")
    if track_generation and not _GENERATION_TAG.search(template):
        logger.warning("return_assistant_tokens_mask=True but the chat template has no {%% generation %%} block.")
    compiled = _compile(template)
    tool_schemas = None if tools is None else [_tool_schema(tool) for tool in tools]
    for document in documents or ():
        if not isinstance(document, dict):
            raise TypeError("documents must be a list of dicts (with 'title' and 'text' keys).")
    rendered, all_spans = [], []
    for conversation in conversations:
        messages = conversation.messages if hasattr(conversation, "messages") else conversation
        final = None
        if continue_final_message:
            messages, final = _tag_final_message(messages)
        context = dict(messages=messages, tools=tool_schemas, documents=documents,
                       add_generation_prompt=add_generation_prompt, **variables)  # fmt: skip
        spans: list[tuple[int, int]] = []
        if track_generation:
            text = _render_tracking(compiled, context, spans)
        else:
            text = compiled.render(**context)
        if continue_final_message:
            text = _cut_after_final_message(text, final)
        rendered.append(text)
        all_spans.append(spans)
    return rendered, all_spans


def _tool_schema(tool) -> dict:
    if isinstance(tool, dict):
        return tool
    if inspect.isfunction(tool):
        from .tool_schema import get_json_schema

        return get_json_schema(tool)
    raise ValueError(
        "Each tool must be a JSON schema (a dict) or a Python function with type hints and a Google-style "
        f"docstring; got {type(tool).__name__}."
    )


def _tag_final_message(messages) -> tuple[list, str]:
    """A copy of the messages with CONTINUE_TAG after the final message's (last) text, and that text."""
    messages = copy.deepcopy(list(messages))
    content = messages[-1]["content"]
    if isinstance(content, (list, tuple)):
        for block in reversed(content):
            if "text" in block:
                final = block["text"]
                block["text"] = final + CONTINUE_TAG
                return messages, final
        raise ValueError("continue_final_message is set but the final message has no text to continue.")
    messages[-1]["content"] = content + CONTINUE_TAG
    return messages, content


def _cut_after_final_message(text: str, final: str) -> str:
    """Drop what the template put after the final message (end-of-turn tokens), so generation continues it."""
    if final.strip() not in text or CONTINUE_TAG.strip() not in text:
        raise ValueError(
            "continue_final_message is set but the final message does not appear in the rendered chat: the "
            "template changes or drops part of it. Check the template and the final message."
        )
    position = text.rindex(CONTINUE_TAG.strip())
    if text[position : position + len(CONTINUE_TAG)] == CONTINUE_TAG:
        return text[:position]
    return text[:position].rstrip()  # the template trimmed the message's trailing space


class _Tracker:
    """How much text has been produced so far, and where each {% generation %} block landed."""

    def __init__(self, spans: list[tuple[int, int]]):
        self.length = 0
        self.spans = spans


def _render_tracking(compiled, context: dict, spans: list[tuple[int, int]]) -> str:
    environment = compiled.environment
    if environment.generation_tracker is not None:
        raise RuntimeError("A chat template is already being rendered with generation tracking.")
    tracker = environment.generation_tracker = _Tracker(spans)
    chunks = []
    try:
        for chunk in compiled.generate(**context):
            chunks.append(chunk)
            tracker.length += len(chunk)
    finally:
        environment.generation_tracker = None
    return "".join(chunks)


@lru_cache(maxsize=16)
def _compile(template: str):
    try:
        import jinja2
        from jinja2 import nodes
        from jinja2.ext import Extension, loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as exc:
        raise ImportError("Chat templates need jinja2 (3.1 or newer): pip install jinja2") from exc

    class GenerationBlock(Extension):
        """{% generation %} … {% endgeneration %}: renders its body and records where it landed."""

        tags = {"generation"}

        def __init__(self, environment):
            super().__init__(environment)
            environment.extend(generation_tracker=None)

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.CallBlock(self.call_method("_mark", []), [], [], body).set_lineno(lineno)

        def _mark(self, caller):
            text = caller()
            tracker = self.environment.generation_tracker
            if tracker is not None:
                tracker.spans.append((tracker.length, tracker.length + len(text)))
            return text

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        # Jinja's own tojson escapes HTML characters; templates expect plain JSON.
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationBlock, loopcontrols]
    )
    environment.filters["tojson"] = tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = strftime_now
    try:
        return environment.from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"The chat template is not valid Jinja: {exc}") from exc
