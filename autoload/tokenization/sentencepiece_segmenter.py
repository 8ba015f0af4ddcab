"""SentencePieceSegmenter: what the sentencepiece library's `encode(text, out_type=str)` and `decode_pieces`
give, on the `tokenizers` library (sentencepiece itself is not a dependency).

For tokenizers that transformers has only in pure Python and that call SentencePiece on each piece of text
(Marian): the pieces keep their own text, an unknown run of characters is one piece holding those characters,
and control pieces (<s>, </s>) are never cut out of text.
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers

from .converters import SPIECE_UNDERLINE, sentencepiece_model
from .sentencepiece_model import CHAR, CONTROL, UNIGRAM, UNKNOWN, SentencePieceModel, load_model

UNKNOWN_SURFACE = " \u2047 "  # what SentencePiece writes for its own <unk> piece


class SentencePieceSegmenter:
    """Splits text into the pieces SentencePiece's `encode(text, out_type=str)` gives, and joins them back."""

    def __init__(self, path: str):
        self.path = path
        self.model = load_model(path)
        self.types = {piece.piece: piece.type for piece in self.model.pieces}
        self.unk_piece = self.model.pieces[self.model.trainer_spec.unk_id].piece
        if self.model.trainer_spec.model_type == CHAR:
            self._tokenizer = None
            self._normalizer, self._metaspace = _normalizer(self.model), _metaspace(self.model)
        else:
            self._tokenizer = _segmenter(self.model)

    def pieces(self, text: str) -> list[str]:
        """Pieces of `text`; a run of characters the model does not know is one piece holding those characters.
        A char model (SpeechT5's spm_char.model) gives every known character of the normalised text as its own
        piece."""
        if self._tokenizer is None:
            words = self._metaspace.pre_tokenize_str(self._normalizer.normalize_str(text))
            pieces, unknown_run = [], False
            for char in (char for word, _ in words for char in word):
                unknown = self.types.get(char, UNKNOWN) == UNKNOWN
                if unknown and unknown_run:  # SentencePiece merges a run of unknown characters into one piece
                    pieces[-1] += char
                else:
                    pieces.append(char)
                unknown_run = unknown
            return pieces
        return self._tokenizer.encode(text, add_special_tokens=False).tokens

    def decode_pieces(self, pieces: list[str]) -> str:
        """SentencePiece's DecodePieces: control pieces vanish, unknown ones stay as written, '▁' is a space
        (dropped at the start of the text)."""
        spec = self.model.normalizer_spec
        strip_first = spec.add_dummy_prefix or spec.remove_extra_whitespaces
        text, at_start = [], True
        for piece in pieces:
            kind = self.types.get(piece)
            if kind == CONTROL:
                surface = ""
            elif kind is None or kind == UNKNOWN:
                surface = UNKNOWN_SURFACE if piece == self.unk_piece else piece
            else:
                if at_start and strip_first and piece.startswith(SPIECE_UNDERLINE):
                    piece = piece[1:]
                surface = piece.replace(SPIECE_UNDERLINE, " ")
            at_start = at_start and not surface
            text.append(surface)
        return "".join(text)


def _segmenter(model: SentencePieceModel) -> Tokenizer:
    """SentencePiece's own normalisation: the character map, then (by default) no leading or trailing spaces
    and one space for a run of them, '▁' for spaces and before the text."""
    # SentencePiece never cuts control pieces (<s>, </s>) or, in a Unigram model, <unk> out of text: a space
    # (which the pre-tokenizer turns into '▁') makes them unmatchable while keeping the ids in place.
    hidden = (CONTROL, UNKNOWN) if model.trainer_spec.model_type == UNIGRAM else (CONTROL,)
    vocab = [(f" {p.piece}" if p.type in hidden else p.piece, p.score) for p in model.pieces]
    tokenizer = sentencepiece_model(model, vocab, unk_id=model.trainer_spec.unk_id)
    tokenizer.normalizer = _normalizer(model)
    tokenizer.pre_tokenizer = _metaspace(model)
    return tokenizer


def _normalizer(model: SentencePieceModel) -> normalizers.Normalizer:
    spec = model.normalizer_spec
    steps = [normalizers.Precompiled(spec.precompiled_charsmap)] if spec.precompiled_charsmap else []
    if spec.remove_extra_whitespaces:
        steps += [normalizers.Replace(Regex("^ +| +$"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    return normalizers.Sequence(steps)


def _metaspace(model: SentencePieceModel) -> pre_tokenizers.PreTokenizer:
    prepend = "always" if model.normalizer_spec.add_dummy_prefix else "never"
    return pre_tokenizers.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=prepend)
