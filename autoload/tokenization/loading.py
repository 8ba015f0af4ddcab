"""Finding and reading the files of a tokenizer folder or Hub repo.

`read_tokenizer_settings` turns tokenizer_config.json (plus, for checkpoints saved before
`added_tokens_decoder` existed, special_tokens_map.json and added_tokens.json) and chat_template.jinja
into the keyword arguments a tokenizer class is built from.
"""

from __future__ import annotations

import os

from ..errors import CheckpointFormatError
from ..hub import HubOptions, cached_file, resolve_folder
from ..json_files import read_json_file
from .special_tokens import ADDED_TOKEN_FLAGS, SPECIAL_TOKEN_NAMES

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
CHAT_TEMPLATE_FILE = "chat_template.jinja"
CHAT_TEMPLATE_DIR = "additional_chat_templates"
MODEL_CONFIG_FILE = "config.json"

# Keys of a saved tokenizer_config.json that name files or loading state rather than settings.
NON_SETTING_KEYS = ("name_or_path", "tokenizer_file", "special_tokens_map_file", "auto_map", "_commit_hash")


def find_file(source: str | os.PathLike, filename: str, options: HubOptions) -> str | None:
    return cached_file(source, filename, options, required=False)


def read_json(path: str) -> dict:
    """A JSON object from `path`; CheckpointFormatError naming the file when it is not one."""
    return read_json_file(path, fix="Re-download or re-save the tokenizer")


def read_text_file(path: str) -> str:
    """A UTF-8 text file of the tokenizer (chat_template.jinja …); CheckpointFormatError naming it otherwise."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as exc:
        raise CheckpointFormatError(
            f"{path} is not UTF-8 text (byte {exc.start} is not valid UTF-8). Re-download or re-save the tokenizer."
        ) from exc


def read_tokenizer_config(source, options: HubOptions) -> dict:
    path = find_file(source, TOKENIZER_CONFIG_FILE, options)
    if not path:
        return {}
    config = read_json(path)
    check_settings(config, path)
    return config


def read_model_config(source, options: HubOptions) -> dict:
    """config.json's fields a tokenizer is chosen by (model_type, tokenizer_class), type-checked."""
    path = find_file(source, MODEL_CONFIG_FILE, options)
    if not path:
        return {}
    config = read_json(path)
    for key in ("model_type", "tokenizer_class"):
        if config.get(key) is not None and not isinstance(config[key], str):
            raise _field_error(path, key, config[key], "a string")
    return config


def read_tokenizer_settings(source, options: HubOptions, tokenizer_config: dict | None = None) -> dict:
    """The constructor keyword arguments saved in the folder (before the caller's own keyword arguments)."""
    settings = dict(read_tokenizer_config(source, options) if tokenizer_config is None else tokenizer_config)
    for key in NON_SETTING_KEYS:
        settings.pop(key, None)
    check_settings(settings, os.path.join(resolve_folder(source, options), TOKENIZER_CONFIG_FILE))
    if "added_tokens_decoder" not in settings:
        _merge_legacy_token_files(source, options, settings)
    templates = read_chat_template_files(source, options)
    if templates:
        # Template files win over tokenizer_config.json; one default template is kept as a plain string.
        settings["chat_template"] = templates["default"] if list(templates) == ["default"] else templates
    return settings


def read_chat_template_files(source, options: HubOptions) -> dict[str, str]:
    """{"default": chat_template.jinja, name: additional_chat_templates/<name>.jinja …}, as far as present."""
    templates = {}
    template_path = find_file(source, CHAT_TEMPLATE_FILE, options)
    if template_path:
        templates["default"] = read_text_file(template_path)
    # The folder the files came from (a Hub snapshot, or the local folder) may hold named templates.
    anchor = template_path or find_file(source, TOKENIZER_CONFIG_FILE, options)
    folder = os.path.dirname(anchor) if anchor else resolve_folder(source, options)
    named = os.path.join(folder, CHAT_TEMPLATE_DIR)
    if os.path.isdir(named):
        for filename in sorted(os.listdir(named)):
            if filename.endswith(".jinja"):
                templates[filename.removesuffix(".jinja")] = read_text_file(os.path.join(named, filename))
    return templates


def _merge_legacy_token_files(source, options: HubOptions, settings: dict) -> None:
    """Older checkpoints keep special tokens in special_tokens_map.json and extra ids in added_tokens.json."""
    map_path = find_file(source, SPECIAL_TOKENS_MAP_FILE, options)
    if map_path:
        special_tokens_map = read_json(map_path)
        check_settings(special_tokens_map, map_path)
        for key, value in special_tokens_map.items():
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
        for token, index in added.items():
            if not _is_token_id(index):
                raise _field_error(added_path, f"the id of {token[:50]!r}", index, "a token id (an integer)")
        special = {_content(settings[k]) for k in SPECIAL_TOKEN_NAMES if settings.get(k) is not None}
        special |= {_content(v) for v in settings.get("additional_special_tokens") or []}
        settings["added_tokens_decoder"] = {
            str(index): {"content": token, "normalized": token not in special, "special": token in special}
            for token, index in sorted(added.items(), key=lambda item: item[1])
        }


def check_settings(settings: dict, path: str) -> None:
    """Types of the tokenizer_config.json / special_tokens_map.json fields that build the tokenizer: special
    tokens, added tokens and file names (which must name files in the folder: nothing outside it is read)."""
    for key in (*SPECIAL_TOKEN_NAMES, "additional_special_tokens"):
        values = settings.get(key)
        for value in values if key == "additional_special_tokens" and isinstance(values, list) else [values]:
            if not (value is None or isinstance(value, str) or _is_token_spec(value)):
                raise _field_error(path, key, value, 'a token (a string, or {"content": string, …}) or null')
    for key, kinds, expected in _SETTING_TYPES:
        if settings.get(key) is not None and not isinstance(settings[key], kinds):
            raise _field_error(path, key, settings[key], expected)
    for key in ("padding_side", "truncation_side"):
        if settings.get(key) not in (None, "left", "right"):
            raise _field_error(path, key, settings[key], '"left" or "right"')
    if isinstance(settings.get("model_input_names"), list) and not all(
            isinstance(name, str) for name in settings["model_input_names"]):  # fmt: skip
        raise _field_error(path, "model_input_names", settings["model_input_names"], "a list of input names")
    for name, value in (settings.get("extra_special_tokens") or {}).items():
        if not (isinstance(value, str) or _is_token_spec(value)):
            raise _field_error(path, f"extra_special_tokens[{name!r}]", value, 'a token (a string, or {"content": …})')
    declared = settings.get("added_tokens_decoder")
    if declared is not None:
        if not isinstance(declared, dict):
            raise _field_error(path, "added_tokens_decoder", declared, "an object mapping token ids to tokens")
        for index, token in declared.items():
            if not (isinstance(index, str) and index.isdigit() and _is_token_id(int(index))):
                raise _field_error(path, "an added_tokens_decoder key", index,
                                   'a token id written as an integer, like "30522"')  # fmt: skip
            if not _is_token_spec(token):
                raise _field_error(path, f"added_tokens_decoder[{index!r}]", token,
                                   '{"content": string, "special": bool, …}')  # fmt: skip
    for key, value in settings.items():
        if key.endswith("_file") and isinstance(value, str) and not _is_file_name(value):
            raise _field_error(path, key, value, "the name of a file in the tokenizer's folder; autoload never reads "
                               "files outside a checkpoint's folder")  # fmt: skip


def build_from_vocab_files(build, files: dict[str, str], class_name: str):
    """`build(files)`, with what the tokenizers library (a bare Exception from Rust, a TypeError when a vocabulary
    has the wrong layout) or a family's builder (a missing special token: KeyError) raises for inconsistent files
    turned into a CheckpointFormatError naming them."""
    try:
        return build(files)
    except CheckpointFormatError as exc:
        if any(path in str(exc) for path in files.values()):
            raise
        raise CheckpointFormatError(f"{', '.join(files.values())}: {exc}") from exc  # name the files
    except Exception as exc:  # noqa: BLE001 - the Rust library raises plain Exception for inconsistent vocabularies
        if type(exc) not in (Exception, KeyError, ValueError, IndexError, TypeError):
            raise
        raise CheckpointFormatError(
            f"{', '.join(files.values())}: these files do not make a {class_name} ({type(exc).__name__}: "
            f"{str(exc)[:300]}). Re-download or re-save the tokenizer."
        ) from exc


def check_added_token_ids(backend, declared: dict[int, dict], where: str) -> None:
    """An added token declared at an id beyond the vocabulary (which the backend would silently put at the next
    free id instead) is an error: the ids a model was trained with would not be the ones it gets."""
    size = backend.get_vocab_size(with_added_tokens=True)
    for index, spec in declared.items():
        if index >= size and backend.token_to_id(spec["content"]) != index:
            raise CheckpointFormatError(
                f"{where}: added_tokens_decoder (tokenizer_config.json or added_tokens.json) declares "
                f"{spec['content'][:50]!r} at id {index}, beyond the vocabulary of {size} tokens; expected ids below "
                f"{size}, each next to the ones before it. Re-download or re-save the tokenizer."
            )


# Settings every tokenizer reads, with the types they must have when given (null means the default).
_SETTING_TYPES = (
    ("tokenizer_class", str, "the name of a tokenizer class"),
    ("padding_side", str, '"right" or "left"'), ("truncation_side", str, '"right" or "left"'),
    ("model_max_length", (int, float), "a number"), ("max_len", (int, float), "a number"),
    ("model_input_names", list, "a list of input names"), ("extra_special_tokens", dict, "an object of tokens"),
    ("clean_up_tokenization_spaces", (bool, int), "true or false"), ("split_special_tokens", (bool, int), "true or false"),
    ("do_lower_case", (bool, int), "true or false"), ("add_prefix_space", (bool, int), "true or false"),
    ("add_bos_token", (bool, int), "true or false"), ("add_eos_token", (bool, int), "true or false"),
    ("legacy", (bool, int), "true or false"), ("tokenize_chinese_chars", (bool, int), "true or false"),
    ("strip_accents", (bool, int), "true, false or null"), ("trim_offsets", (bool, int), "true or false"),
    ("pad_token_type_id", int, "an integer"),
)  # fmt: skip


def _is_token_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32


def _is_token_spec(value) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("content"), str)
            and all(isinstance(value.get(flag, False), bool) for flag in ADDED_TOKEN_FLAGS))  # fmt: skip


def _is_file_name(value: str) -> bool:
    return bool(value) and not any(c in value for c in "/\\:\0") and value not in (".", "..")


def _field_error(path: str, field: str, value, expected: str) -> CheckpointFormatError:
    shown = repr(value) if len(repr(value)) <= 200 else repr(value)[:197] + "..."
    return CheckpointFormatError(f"{path}: {field} is {shown}; expected {expected}. Re-download or re-save the tokenizer.")


def _content(value) -> str:
    return value["content"] if isinstance(value, dict) else str(value)
