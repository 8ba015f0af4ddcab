"""JSON schemas of Python functions, for `apply_chat_template(tools=[my_function])`.

A tool given as a function becomes the schema transformers builds for it (`get_json_schema`): the function's
name, the description and argument descriptions from its Google-style docstring (an argument description may
end with `(choices: [...])`, which becomes an `enum`), and the JSON type of each type hint. Arguments without
a default are `required`; a return annotation becomes `return`, described by the docstring's Returns block.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from typing import Any

__all__ = ["DocstringParsingException", "TypeHintParsingException", "get_json_schema"]

_SCALARS = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}
_SECTION_END = r"(?:Args:|Returns:|Raises:|\Z)"
_DESCRIPTION = re.compile(r"^(.*?)[\n\s]*" + _SECTION_END, re.DOTALL)
_ARGS = re.compile(r"\n\s*Args:\n\s*(.*?)[\n\s]*(?:Returns:|Raises:|\Z)", re.DOTALL)
_RETURNS = re.compile(r"\n\s*Returns:\n\s*(.*?)[\n\s]*(?:Raises:|\Z)", re.DOTALL)
# "name: description", the description running on until the next "name:" line or the end.
_ARGUMENT = re.compile(r"(?:^|\n)\s*(\w+):\s*(.*?)\s*(?=\n\s*\w+:|\Z)", re.DOTALL)
_CHOICES = re.compile(r"\(choices:\s*(.*?)\)\s*$", re.IGNORECASE)


class TypeHintParsingException(Exception):
    """A type hint that has no JSON schema equivalent (or a missing hint)."""


class DocstringParsingException(Exception):
    """A docstring that does not describe the function and every argument."""


def get_json_schema(func) -> dict:
    """{"type": "function", "function": {name, description, parameters, [return]}} for a documented function."""
    doc = inspect.getdoc(func)
    if not doc:
        raise DocstringParsingException(f"Cannot build a JSON schema for {func.__name__}: it has no docstring.")
    description, argument_docs, return_doc = _parse_docstring(doc.strip())
    parameters = _parameters_schema(func)
    returned = parameters["properties"].pop("return", None)
    if returned is not None and return_doc is not None:
        returned["description"] = return_doc
    for name, schema in parameters["properties"].items():
        if name not in argument_docs:
            raise DocstringParsingException(
                f"Cannot build a JSON schema for {func.__name__}: its docstring does not describe the argument "
                f"{name!r} (add it under 'Args:')."
            )
        text = argument_docs[name]
        choices = _CHOICES.search(text)
        if choices:
            schema["enum"] = [choice.strip() for choice in json.loads(choices.group(1))]
            text = text[: choices.start()].strip()
        schema["description"] = text
    function = {"name": func.__name__, "description": description, "parameters": parameters}
    if returned is not None:
        function["return"] = returned
    return {"type": "function", "function": function}


def _parse_docstring(doc: str) -> tuple[str | None, dict[str, str], str | None]:
    description = _DESCRIPTION.search(doc)
    arguments = _ARGS.search(doc)
    returns = _RETURNS.search(doc)
    argument_docs: dict[str, str] = {}
    if arguments:
        block = "\n".join(line for line in arguments.group(1).strip().split("\n") if line.strip())
        for name, text in _ARGUMENT.findall(block):
            argument_docs[name] = re.sub(r"\s*\n+\s*", " ", text.strip())
    return (
        description.group(1).strip() if description else None,
        argument_docs,
        returns.group(1).strip() if returns else None,
    )


def _parameters_schema(func) -> dict:
    hints = typing.get_type_hints(func)
    required = []
    for name, parameter in inspect.signature(func).parameters.items():
        if parameter.annotation is inspect.Parameter.empty:
            raise TypeHintParsingException(f"Argument {name} of {func.__name__} has no type hint.")
        if parameter.default is inspect.Parameter.empty:
            required.append(name)
    properties = {name: _hint_schema(hint) for name, hint in hints.items()}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _hint_schema(hint) -> dict:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is None:
        return _plain_type_schema(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = [_hint_schema(arg) for arg in args if arg is not type(None)]
        if len(options) == 1:
            schema = options[0]
        elif all(isinstance(option.get("type"), str) for option in options):
            schema = {"type": sorted(option["type"] for option in options)}
        else:
            schema = {"anyOf": options}
        if type(None) in args:
            schema["nullable"] = True
        return schema
    if origin is typing.Literal and args:
        kinds = []
        for value in args:
            if type(value) not in _SCALARS:
                raise TypeHintParsingException("typing.Literal may only list str, int, float, bool or None values.")
            if _SCALARS[type(value)] not in kinds:
                kinds.append(_SCALARS[type(value)])
        return {"type": kinds.pop() if len(kinds) == 1 else kinds, "enum": list(args)}
    if origin is list:
        return {"type": "array", "items": _hint_schema(args[0])} if args else {"type": "array"}
    if origin is tuple:
        if not args:
            return {"type": "array"}
        if len(args) == 1:
            raise TypeHintParsingException(
                f"{hint} is a tuple of one element; use list[...] for a sequence, or the element type itself."
            )
        if ... in args:
            raise TypeHintParsingException(f"{hint}: '...' in a tuple hint is not supported; use list[...].")
        return {"type": "array", "prefixItems": [_hint_schema(arg) for arg in args]}
    if origin is dict:
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = _hint_schema(args[1])
        return schema
    raise TypeHintParsingException(f"Cannot turn the type hint {hint} into a JSON schema.")


def _plain_type_schema(hint) -> dict:
    if hint is Any:
        return {}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    # PIL images and torch tensors stand for image and audio inputs; checked by name so nothing is imported.
    name = (getattr(hint, "__module__", ""), getattr(hint, "__qualname__", ""))
    if name == ("PIL.Image", "Image"):
        return {"type": "image"}
    if name == ("torch", "Tensor"):
        return {"type": "audio"}
    return {"type": "object"}
