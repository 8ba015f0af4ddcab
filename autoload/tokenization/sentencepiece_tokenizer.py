"""SentencePieceTokenizerFast: the shared base of the families whose older vocabulary file is a SentencePiece
model (XLM-RoBERTa, mBART, ALBERT, DeBERTa-v2, Pegasus).

Built from the .model file, the backend is assembled in the steps transformers' conversion takes, each a
method a family overrides: the vocabulary layout (`_spm_vocab`, `_spm_unk_id`), the normalizer, the
pre-tokenizer and decoder (Metaspace), and the post-processor that adds the special tokens.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, pre_tokenizers

from ..errors import CheckpointFormatError
from .base import PreTrainedTokenizerFast, copy_vocab_file
from .converters import SPIECE_UNDERLINE, sentencepiece_added_tokens, sentencepiece_model, sentencepiece_normalizer
from .sentencepiece_model import SentencePieceModel, load_model


class SentencePieceTokenizerFast(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "spiece.model"}

    # --- the conversion steps ---------------------------------------------------------------------------

    def _spm_vocab(self, model: SentencePieceModel) -> list[tuple[str, float]]:
        """(piece, score) for every id of the backend's model, in id order."""
        return [(piece.piece, piece.score) for piece in model.pieces]

    def _spm_unk_id(self, model: SentencePieceModel) -> int:
        return model.trainer_spec.unk_id

    def _spm_normalizer(self, model: SentencePieceModel):
        return sentencepiece_normalizer(model)

    def _spm_prepend_scheme(self) -> str:
        return "always"

    def _spm_pre_tokenizer(self, prepend_scheme: str):
        return pre_tokenizers.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=prepend_scheme)

    def _spm_decoder(self, prepend_scheme: str):
        return decoders.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=prepend_scheme)

    def _spm_post_processor(self, vocab: dict[str, int]):
        """The processor that adds the special tokens (None: none are added)."""
        return None

    def _backend_from_vocab_files(self, files) -> Tokenizer:
        model = load_model(files["vocab_file"])
        vocab_scores = self._spm_vocab(model)
        tokenizer = sentencepiece_model(model, vocab_scores, unk_id=self._spm_unk_id(model))
        tokenizer.add_tokens(sentencepiece_added_tokens(model, set()))
        tokenizer.normalizer = self._spm_normalizer(model)
        prepend_scheme = self._spm_prepend_scheme()
        tokenizer.pre_tokenizer = self._spm_pre_tokenizer(prepend_scheme)
        tokenizer.decoder = self._spm_decoder(prepend_scheme)
        post_processor = self._spm_post_processor(_VocabIds(vocab_scores, files["vocab_file"]))
        if post_processor is not None:
            tokenizer.post_processor = post_processor
        return tokenizer

    # --- saving -----------------------------------------------------------------------------------------

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return "vocab_file" in self._vocab_files

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return copy_vocab_file(
            self._vocab_files.get("vocab_file"), save_directory, self.vocab_files_names["vocab_file"], filename_prefix
        )


class _VocabIds(dict):
    """piece -> id of a vocabulary layout; a special token the layout lacks is a format error naming the file."""

    def __init__(self, vocab_scores: list[tuple[str, float]], path: str):
        super().__init__()
        for index, (piece, _) in enumerate(vocab_scores):
            self.setdefault(piece, index)
        self.path = path

    def __missing__(self, token: str) -> int:
        raise CheckpointFormatError(
            f"{self.path} has no piece {token!r}, which the tokenizer adds around every text. Pass the special "
            "tokens the model was trained with, or load the tokenizer from its tokenizer.json."
        )
