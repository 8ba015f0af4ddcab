"""mT5: T5's tokenizer (SentencePiece Unigram, spiece.model) under mT5's class names."""

from __future__ import annotations

from .t5 import T5Tokenizer, T5TokenizerFast


class MT5TokenizerFast(T5TokenizerFast):
    pass


class MT5Tokenizer(T5Tokenizer):
    pass
