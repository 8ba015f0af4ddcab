"""Whisper's basic text normalizer, as transformers 4.57.6's `WhisperTokenizer.basic_normalize` applies it to
multilingual text before scoring: lower case, words in brackets or parentheses dropped, marks, symbols and
punctuation turned into spaces (optionally diacritics dropped and a few letters spelled out), whitespace runs
made one space."""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD leaves whole: spelled in ASCII when diacritics are removed.
_SPELLED_OUT = {"œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ẞ": "SS", "đ": "d",
                "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "th", "ł": "l", "Ł": "L"}  # fmt: skip
_IN_BRACKETS = re.compile(r"[<\[][^>\]]*[>\]]")
_IN_PARENTHESES = re.compile(r"\(([^)]+?)\)")
_WHITESPACE = re.compile(r"\s+")


def _is_mark_symbol_or_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "MSP"


def _without_symbols(text: str) -> str:
    return "".join(" " if _is_mark_symbol_or_punctuation(c) else c for c in unicodedata.normalize("NFKC", text))


def _without_symbols_or_diacritics(text: str) -> str:
    kept = []
    for char in unicodedata.normalize("NFKD", text):
        if char in _SPELLED_OUT:
            kept.append(_SPELLED_OUT[char])
        elif unicodedata.category(char) == "Mn":  # a combining diacritic: dropped
            continue
        else:
            kept.append(" " if _is_mark_symbol_or_punctuation(char) else char)
    return "".join(kept)


def basic_normalize(text: str, remove_diacritics: bool = False) -> str:
    text = _IN_PARENTHESES.sub("", _IN_BRACKETS.sub("", text.lower()))
    text = (_without_symbols_or_diacritics if remove_diacritics else _without_symbols)(text).lower()
    return _WHITESPACE.sub(" ", text)
