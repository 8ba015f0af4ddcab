"""Tokenizers: AutoTokenizer and the tokenizer classes, on the Rust `tokenizers` library.

Names are resolved on first use, so importing this package loads neither `tokenizers` nor numpy.
"""

from __future__ import annotations

import importlib

_MODULE_OF = {
    "AutoTokenizer": "auto",
    "PreTrainedTokenizerFast": "base",
    "BatchEncoding": "batch_encoding",
    "Wav2Vec2CTCTokenizerOutput": "wav2vec2",
    "ByteLevelBPETokenizerFast": "byte_level",
}


def __getattr__(name: str):
    if not name[:1].isupper():
        # Submodules (`from . import loading`) are found by the import system, not here.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _MODULE_OF.get(name)
    if module is None:
        from .auto import TOKENIZER_CLASS_MODULES

        module = TOKENIZER_CLASS_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    from .auto import TOKENIZER_CLASS_MODULES

    return sorted(set(globals()) | set(_MODULE_OF) | set(TOKENIZER_CLASS_MODULES))
