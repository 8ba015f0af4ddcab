"""Reading JSON that comes from a checkpoint (configs, tokenizer files, weight indexes, safetensors headers).

One reader for all of them, so every such file gets the same limits and the same errors: a size cap checked
before reading, a nesting limit (Python's parser would end in RecursionError, and our own code walks these
structures recursively), optional refusal of duplicate object keys (where the last one would silently win),
and CheckpointFormatError naming the file for anything that is not valid JSON of the expected shape.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from .errors import CheckpointFormatError

MAX_DEPTH = 64  # no checkpoint file nests deeper than about 6 levels
MAX_FILE_BYTES = 100_000_000  # the cap the safetensors library puts on its JSON header
_DEFAULT_FIX = "Fix or re-download the file"


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def parse_json(text: str | bytes, path, *, expect: type | None = dict, unique_keys: bool = False,
               fix: str = _DEFAULT_FIX, max_depth: int = MAX_DEPTH, message: Callable[[str], str] | None = None):  # fmt: skip
    """Parse `text` (read from `path`, named in errors). `expect`: the type the top level must have (None: any).
    `message` turns a problem ("is not valid JSON (…)") into the error's text; by default "<path> <problem>. <fix>."."""
    try:
        return _parse(text, expect, unique_keys, max_depth)
    except _Problem as exc:
        reason = exc.args[0]
        raise CheckpointFormatError(message(reason) if message else f"{path} {reason}. {fix}.") from exc.__cause__


class _Problem(Exception):
    pass


def _parse(text, expect, unique_keys: bool, max_depth: int):
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Problem(f"is not UTF-8 text (byte {exc.start} is not valid UTF-8)") from exc
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs if unique_keys else None)
    except json.JSONDecodeError as exc:
        raise _Problem(f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    except _DuplicateKey as exc:
        raise _Problem(f"names the key {exc.args[0]!r} twice; keys must be unique") from exc
    except RecursionError as exc:
        raise _Problem(_TOO_DEEP.format(max_depth)) from exc
    except ValueError as exc:  # e.g. an integer literal longer than Python's 4300-digit conversion limit
        raise _Problem(f"is not valid JSON ({exc})") from exc
    if _depth_exceeds(data, max_depth):
        raise _Problem(_TOO_DEEP.format(max_depth))
    if expect is not None and not isinstance(data, expect):
        expected = "a JSON object" if expect is dict else f"a JSON {expect.__name__}"
        raise _Problem(f"must hold {expected}, found {_json_type(data)}")
    return data


_TOO_DEEP = "nests JSON objects or arrays more than {} levels deep; no checkpoint file needs that, so it is refused"


def read_json_file(path, *, expect: type | None = dict, unique_keys: bool = False, fix: str = _DEFAULT_FIX,
                   max_bytes: int = MAX_FILE_BYTES, max_depth: int = MAX_DEPTH):  # fmt: skip
    """Read and parse the JSON file at `path` (see parse_json); files over `max_bytes` are refused unread."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size > max_bytes:
        raise CheckpointFormatError(f"{path} is {size} bytes; autoload reads JSON files of at most {max_bytes} bytes. {fix}.")
    with open(path, "rb") as f:
        raw = f.read(max_bytes + 1)
    return parse_json(raw, path, expect=expect, unique_keys=unique_keys, fix=fix, max_depth=max_depth)


def _depth_exceeds(data, limit: int) -> bool:
    """Whether containers nest more than `limit` levels, walked without recursion."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _json_type(value) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
