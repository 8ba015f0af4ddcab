"""SpeechT5Tokenizer: a character SentencePiece model (spm_char.model) for SpeechT5's text encoder and decoder.

transformers has only a pure-Python class for it, and the results follow that path (python_encoding.py): the text
between added tokens is cut into the characters of its SentencePiece normalisation ("▁" for spaces and before the
text), one </s> ends every encoding (a pair is joined before it), and `normalize=True` (from the config or per
call) first spells numbers out in English words (number_words.py).
"""

from __future__ import annotations

from tokenizers import Tokenizer, models

from .base import PreTrainedTokenizerFast, copy_vocab_file
from .number_words import EnglishNumberNormalizer
from .python_encoding import PythonEncodingMixin
from .sentencepiece_segmenter import SentencePieceSegmenter


class SpeechT5Tokenizer(PythonEncodingMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "spm_char.model"}
    model_input_names = ["input_ids", "attention_mask"]
    uses_tokenizer_file = False
    defaults = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                "normalize": False, "sp_model_kwargs": {}}  # fmt: skip
    tokenize_kwargs = ("normalize",)

    def _backend_from_vocab_files(self, files):
        self._segmenter = SentencePieceSegmenter(files["vocab_file"])
        pieces = self._segmenter.model.pieces
        vocab = {piece.piece: index for index, piece in enumerate(pieces)}
        return Tokenizer(models.WordLevel(vocab, unk_token=pieces[self._segmenter.model.trainer_spec.unk_id].piece))

    @property
    def normalize(self) -> bool:
        return bool(self.settings.get("normalize"))

    @property
    def normalizer(self):
        """The callable that spells numbers out when normalize=True (replaceable, as in transformers)."""
        if getattr(self, "_number_normalizer", None) is None:
            self._number_normalizer = EnglishNumberNormalizer()
        return self._number_normalizer

    @normalizer.setter
    def normalizer(self, value) -> None:
        self._number_normalizer = value

    # --- text to tokens ------------------------------------------------------------------------------

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs) -> tuple[str, dict]:
        normalize = kwargs.pop("normalize", self.normalize)
        if is_split_into_words:
            text = " " + text
        if normalize:
            text = self.normalizer(text)
        return text, kwargs

    def _tokenize(self, text: str) -> list[str]:
        return self._segmenter.pieces(text)

    def build_inputs_with_special_tokens(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        return ids + [self.eos_token_id] if pair is None else ids + pair + [self.eos_token_id]

    def create_token_type_ids_from_sequences(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        # transformers' default: one type per token of the sequences, the </s> not counted.
        return [0] * len(ids) if pair is None else [0] * len(ids) + [1] * len(pair)

    def get_special_tokens_mask(self, ids, pair=None, already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            special = set(self.all_special_ids)
            return [1 if index in special else 0 for index in [*ids, *(pair or [])]]
        return [0] * (len(ids) + (len(pair) if pair is not None else 0)) + [1]

    # --- decoding ------------------------------------------------------------------------------------

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        special = set(self.all_special_tokens)
        text, current, previous_special = "", [], False
        for token in tokens:
            if token in special:
                if not previous_special:
                    text += " "
                text += self._segmenter.decode_pieces(current) + token
                previous_special, current = True, []
            else:
                current.append(token)
                previous_special = False
        return (text + self._segmenter.decode_pieces(current)).strip()

    # --- saving --------------------------------------------------------------------------------------

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return "vocab_file" in self._vocab_files

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return copy_vocab_file(self._vocab_files.get("vocab_file"), save_directory, "spm_char.model", filename_prefix)
