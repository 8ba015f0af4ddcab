"""Special-token attributes shared by every tokenizer: `bos_token` … `mask_token`, their ids,
`additional_special_tokens`, and the maps transformers users know (`special_tokens_map`, `all_special_ids`).

Tokens are kept as their text; the flags they were declared with (lstrip, normalized …) are remembered so
a token missing from the vocabulary is added with them.
"""

from __future__ import annotations

from typing import Any

SPECIAL_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
ADDED_TOKEN_FLAGS = ("single_word", "lstrip", "rstrip", "normalized", "special")


def token_content(value: Any) -> str | None:
    """The text of a special token given as a string, a tokenizers.AddedToken or a saved {"content": …} dict."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value["content"]
    content = getattr(value, "content", None)
    if isinstance(content, str):
        return content
    raise TypeError(f"a special token must be a str or an AddedToken, got {type(value).__name__}: {value!r}")


def token_flags(value: Any) -> dict | None:
    """The AddedToken flags a special token was declared with, or None when it was a plain string."""
    if isinstance(value, dict):
        return {k: value[k] for k in ADDED_TOKEN_FLAGS if k in value}
    if value is not None and not isinstance(value, str):
        return {k: getattr(value, k) for k in ADDED_TOKEN_FLAGS if hasattr(value, k)}
    return None


def _token_property(name: str) -> property:
    def get(self) -> str | None:
        return self._special_tokens.get(name)

    def set(self, value) -> None:
        self._set_special_token(name, value)

    return property(get, set, doc=f"The {name.replace('_', ' ')} text, or None when the tokenizer has none.")


def _id_property(name: str) -> property:
    def get(self) -> int | None:
        token = self._special_tokens.get(name)
        return None if token is None else self.convert_tokens_to_ids(token)

    def set(self, value: int | None) -> None:
        self._set_special_token(name, None if value is None else self.convert_ids_to_tokens(value))

    return property(get, set, doc=f"The id of the {name.replace('_', ' ')}, or None.")


class SpecialTokensMixin:
    """Needs `convert_tokens_to_ids` / `convert_ids_to_tokens` from the class it is mixed into."""

    SPECIAL_TOKENS_ATTRIBUTES = [*SPECIAL_TOKEN_NAMES, "additional_special_tokens"]

    bos_token = _token_property("bos_token")
    eos_token = _token_property("eos_token")
    unk_token = _token_property("unk_token")
    sep_token = _token_property("sep_token")
    pad_token = _token_property("pad_token")
    cls_token = _token_property("cls_token")
    mask_token = _token_property("mask_token")
    bos_token_id = _id_property("bos_token")
    eos_token_id = _id_property("eos_token")
    unk_token_id = _id_property("unk_token")
    sep_token_id = _id_property("sep_token")
    pad_token_id = _id_property("pad_token")
    cls_token_id = _id_property("cls_token")
    mask_token_id = _id_property("mask_token")

    def _init_special_tokens(self, config: dict) -> None:
        """Take the special tokens out of `config` (in place)."""
        self._special_tokens: dict[str, str | None] = {}
        self._token_flags: dict[str, dict] = {}
        self._additional_special_tokens: list[str] = []
        for name in SPECIAL_TOKEN_NAMES:
            self._set_special_token(name, config.pop(name, None))
        self.additional_special_tokens = config.pop("additional_special_tokens", None) or []
        self.extra_special_tokens = {}
        for name, value in (config.pop("extra_special_tokens", None) or {}).items():
            self.extra_special_tokens[name] = token_content(value)
            self._remember_flags(value)

    def _remember_flags(self, value) -> None:
        flags = token_flags(value)
        if flags is not None:
            self._token_flags[token_content(value)] = flags

    def _set_special_token(self, name: str, value) -> None:
        self._remember_flags(value)
        self._special_tokens[name] = token_content(value)

    @property
    def additional_special_tokens(self) -> list[str]:
        return list(self._additional_special_tokens)

    @additional_special_tokens.setter
    def additional_special_tokens(self, values) -> None:
        for value in values:
            self._remember_flags(value)
        self._additional_special_tokens = [token_content(v) for v in values]

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self._additional_special_tokens)

    def __getattr__(self, name: str):
        # `extra_special_tokens` names (e.g. image_token) read like the built-in special tokens.
        extra = self.__dict__.get("extra_special_tokens") or {}
        if name in extra:
            return extra[name]
        if name.endswith("_id") and name[:-3] in extra:
            return self.convert_tokens_to_ids(extra[name[:-3]])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def special_tokens_map(self) -> dict[str, str | list[str]]:
        """{attribute: token} for every special token that is set, `extra_special_tokens` names last."""
        mapping: dict[str, Any] = {k: v for k, v in self._special_tokens.items() if v is not None}
        if self._additional_special_tokens:
            mapping["additional_special_tokens"] = list(self._additional_special_tokens)
        mapping.update({k: v for k, v in self.extra_special_tokens.items() if v})
        return mapping

    @property
    def all_special_tokens(self) -> list[str]:
        """Every special token once, in attribute order, then additional tokens, then extra special tokens."""
        tokens = [v for v in self._special_tokens.values() if v is not None] + self._additional_special_tokens
        tokens += [v for v in self.extra_special_tokens.values() if v]
        return list(dict.fromkeys(tokens))

    @property
    def all_special_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.all_special_tokens)
