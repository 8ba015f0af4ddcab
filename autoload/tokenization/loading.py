"""Finding and reading the files of a tokenizer folder or Hub repo.

`read_tokenizer_settings` turns tokenizer_config.json (plus, for checkpoints saved before
`added_tokens_decoder` existed, special_tokens_map.json and added_tokens.json) and chat_template.jinja
into the keyword arguments a tokenizer class is built from.
"""

from __future__ import annotations

import json
import os

from ..errors import CheckpointFormatError
from ..hub import HubOptions, cached_file
from .special_tokens import SPECIAL_TOKEN_NAMES

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
CHAT_TEMPLATE_FILE = "chat_template.jinja"
MODEL_CONFIG_FILE = "config.json"

# Keys of a saved tokenizer_config.json that name files or loading state rather than settings.
NON_SETTING_KEYS = ("name_or_path", "tokenizer_file", "special_tokens_map_file", "auto_map", "_commit_hash")


def find_file(source: str | os.PathLike, filename: str, options: HubOptions) -> str | None:
    return cached_file(source, filename, options, required=False)


def read_json(path: str) -> dict:
    """A JSON object from `path`; CheckpointFormatError naming the file when it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointFormatError(f"{path} is not valid JSON ({exc}). Re-download or re-save the tokenizer.") from exc
    if not isinstance(data, dict):
        raise CheckpointFormatError(f"{path} must hold a JSON object, found {type(data).__name__}.")
    return data


def read_tokenizer_config(source, options: HubOptions) -> dict:
    path = find_file(source, TOKENIZER_CONFIG_FILE, options)
    return read_json(path) if path else {}


def read_model_config(source, options: HubOptions) -> dict:
    path = find_file(source, MODEL_CONFIG_FILE, options)
    return read_json(path) if path else {}


def read_tokenizer_settings(source, options: HubOptions, tokenizer_config: dict | None = None) -> dict:
    """The constructor keyword arguments saved in the folder (before the caller's own keyword arguments)."""
    settings = dict(read_tokenizer_config(source, options) if tokenizer_config is None else tokenizer_config)
    for key in NON_SETTING_KEYS:
        settings.pop(key, None)
    if "added_tokens_decoder" not in settings:
        _merge_legacy_token_files(source, options, settings)
    template_path = find_file(source, CHAT_TEMPLATE_FILE, options)
    if template_path:
        with open(template_path, encoding="utf-8") as f:
            settings["chat_template"] = f.read()
    return settings


def _merge_legacy_token_files(source, options: HubOptions, settings: dict) -> None:
    """Older checkpoints keep special tokens in special_tokens_map.json and extra ids in added_tokens.json."""
    map_path = find_file(source, SPECIAL_TOKENS_MAP_FILE, options)
    if map_path:
        for key, value in read_json(map_path).items():
            if key == "additional_special_tokens" and isinstance(value, list):
                merged = list(settings.get("additional_special_tokens") or [])
                known = {_content(v) for v in merged}
                merged += [v for v in value if _content(v) not in known]
                value = merged
            elif isinstance(value, dict):
                value = {**value, "special": True}
            settings[key] = value
    added_path = find_file(source, ADDED_TOKENS_FILE, options)
    if added_path:
        added = read_json(added_path)
        special = {_content(settings[k]) for k in SPECIAL_TOKEN_NAMES if settings.get(k) is not None}
        special |= {_content(v) for v in settings.get("additional_special_tokens") or []}
        settings["added_tokens_decoder"] = {
            str(index): {"content": token, "normalized": token not in special, "special": token in special}
            for token, index in sorted(added.items(), key=lambda item: item[1])
        }


def _content(value) -> str:
    return value["content"] if isinstance(value, dict) else str(value)
