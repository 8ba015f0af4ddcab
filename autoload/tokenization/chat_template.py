"""Rendering chat templates: the Jinja template a tokenizer config carries, applied to a conversation.

The template sees `messages`, `tools`, `documents`, `add_generation_prompt`, the special tokens
(`bos_token`, `eos_token` …) and any extra keyword argument, in a sandboxed Jinja environment with the
helpers Hub templates use (`raise_exception`, `strftime_now`, a `tojson` that keeps non-ASCII text).
Jinja2 is imported only here, when a template is rendered.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache


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
                         continue_final_message=False, special_tokens=None, **extra) -> list[str]:  # fmt: skip
    if add_generation_prompt and continue_final_message:
        raise ValueError("add_generation_prompt and continue_final_message cannot both be set.")
    compiled = _compile(template)
    rendered = []
    for conversation in conversations:
        messages = conversation.messages if hasattr(conversation, "messages") else conversation
        text = compiled.render(
            messages=list(messages), tools=tools, documents=documents, add_generation_prompt=add_generation_prompt,
            **(special_tokens or {}), **extra,
        )  # fmt: skip
        if continue_final_message:
            text = _cut_after_final_message(text, messages)
        rendered.append(text)
    return rendered


def _cut_after_final_message(text: str, messages) -> str:
    """Drop what the template put after the last message (end-of-turn tokens), so generation continues it."""
    final = messages[-1]["content"]
    if not isinstance(final, str):
        final = next((part["text"] for part in reversed(final) if part.get("type") == "text"), "")
    final = final.strip()
    position = text.rfind(final)
    if not final or position < 0:
        raise ValueError("continue_final_message: the final message's text does not appear in the rendered chat.")
    return text[: position + len(final)]


class TemplateError(Exception):
    """raise_exception() was called by a chat template."""


@lru_cache(maxsize=16)
def _compile(template: str):
    try:
        import jinja2
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as exc:
        raise ImportError("Chat templates need jinja2: pip install jinja2") from exc

    def raise_exception(message):
        raise TemplateError(message)

    def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    environment.filters["tojson"] = tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = strftime_now
    try:
        return environment.from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"The chat template is not valid Jinja: {exc}") from exc
