"""MarianTokenizer: two SentencePiece models (source.spm for inputs, target.spm for labels) and vocab.json.

transformers has this class only in pure Python, so it follows the Python encoding steps
(python_encoding.py). Each text is cut into SentencePiece pieces by the source model (the target model for
`text_target=` and inside `as_target_tokenizer()`), a leading language code such as `>>fra<<` is kept whole,
and the pieces are looked up in vocab.json (target_vocab.json for labels when `separate_vocabs`); a piece
missing there is <unk>. Decoding joins the pieces as SentencePiece does, with the target model by default.
"""

from __future__ import annotations

import json
import os

from tokenizers import Tokenizer, models

from ..errors import CheckpointFormatError
from .base import PreTrainedTokenizerFast, copy_vocab_file
from .converters import SPIECE_UNDERLINE, read_json_vocab
from .python_encoding import PythonEncodingMixin
from .sentencepiece_segmenter import SentencePieceSegmenter


class MarianTokenizer(PythonEncodingMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"source_spm": "source.spm", "target_spm": "target.spm", "vocab": "vocab.json",
                         "target_vocab_file": "target_vocab.json"}  # fmt: skip
    model_input_names = ["input_ids", "attention_mask"]
    uses_tokenizer_file = False
    _decode_use_source_tokenizer = False
    defaults = {"unk_token": "<unk>", "eos_token": "</s>", "pad_token": "<pad>", "model_max_length": 512,
                "source_lang": None, "target_lang": None, "separate_vocabs": False}  # fmt: skip

    @classmethod
    def _has_vocab_files(cls, files: dict[str, str]) -> bool:
        return all(key in files for key in ("source_spm", "target_spm", "vocab"))

    def _backend_from_vocab_files(self, files):
        missing = [self.vocab_files_names[key] for key in ("source_spm", "target_spm", "vocab") if key not in files]
        if missing:
            raise ValueError(f"MarianTokenizer needs {', '.join(missing)} (source.spm, target.spm and vocab.json).")
        self.encoder = _read_vocab(files["vocab"], (self.unk_token, self.pad_token))
        self.separate_vocabs = bool(self.settings.get("separate_vocabs"))
        if self.separate_vocabs:
            if "target_vocab_file" not in files:
                raise CheckpointFormatError(
                    "separate_vocabs=True but there is no target_vocab.json next to vocab.json; add the target "
                    "vocabulary or load with separate_vocabs=False."
                )
            self.target_encoder = _read_vocab(files["target_vocab_file"], (self.unk_token,))
            self.decoder = {index: token for token, index in self.target_encoder.items()}
            self.supported_language_codes = []
        else:
            self.decoder = {index: token for token, index in self.encoder.items()}
            self.supported_language_codes = [t for t in self.encoder if t.startswith(">>") and t.endswith("<<")]
        self.source_lang = self.settings.get("source_lang")
        self.target_lang = self.settings.get("target_lang")
        self.spm_files = [files["source_spm"], files["target_spm"]]
        self._segmenters = [SentencePieceSegmenter(path) for path in self.spm_files]
        self.current_encoder = self.encoder
        self._current_segmenter = self._segmenters[0]
        # The backend holds the source vocabulary and the added tokens; the text never goes through it.
        return Tokenizer(models.WordLevel(self.encoder, unk_token=self.unk_token))

    # --- modes ------------------------------------------------------------------------------------------

    def _switch_to_input_mode(self) -> None:
        self._current_segmenter = self._segmenters[0]
        self.current_encoder = self.encoder

    def _switch_to_target_mode(self) -> None:
        self._current_segmenter = self._segmenters[1]
        if self.separate_vocabs:
            self.current_encoder = self.target_encoder

    # --- pieces and ids ---------------------------------------------------------------------------------

    def remove_language_code(self, text: str) -> tuple[list[str], str]:
        """A leading '>>xx<<' code, split off the text: ([code], rest) or ([], text)."""
        if text.startswith(">>"):
            end = text.find("<<")
            if end != -1:
                return [text[: end + 2]], text[end + 2 :]
        return [], text

    def _tokenize(self, text: str) -> list[str]:
        code, text = self.remove_language_code(text)
        return code + self._current_segmenter.pieces(text)

    def convert_tokens_to_ids(self, tokens):
        """Added tokens by their own ids, other tokens through vocab.json (target_vocab.json for labels)."""
        if tokens is None:
            return None
        added = self.added_tokens_encoder
        unk = self.current_encoder[self.unk_token]

        def lookup(token: str) -> int:
            return added[token] if token in added else self.current_encoder.get(token, unk)

        return lookup(tokens) if isinstance(tokens, str) else [lookup(token) for token in tokens]

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        added = self.added_tokens_decoder
        if isinstance(ids, int):
            return added[ids].content if ids in added else self.decoder.get(ids, self.unk_token)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [
            added[i].content if i in added else self.decoder.get(i, self.unk_token)
            for i in map(int, ids)
            if i not in skip
        ]

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def get_src_vocab(self) -> dict[str, int]:
        return self.get_vocab()

    def get_tgt_vocab(self) -> dict[str, int]:
        return {**(self.target_encoder if self.separate_vocabs else self.encoder), **self.added_tokens_encoder}

    # --- special tokens: text A (B) </s> ----------------------------------------------------------------

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        return token_ids_0 + (token_ids_1 or []) + [self.eos_token_id]

    def create_token_type_ids_from_sequences(self, token_ids_0, token_ids_1=None):
        # transformers' default for a tokenizer without cls/sep tokens: the </s> gets no type id.
        return [0] * len(token_ids_0) + [1] * len(token_ids_1 or [])

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 1

    def get_special_tokens_mask(self, token_ids_0, token_ids_1=None, already_has_special_tokens: bool = False):
        special = set(self.all_special_ids) - {self.unk_token_id}
        mask = [1 if index in special else 0 for index in token_ids_0 + (token_ids_1 or [])]
        return mask if already_has_special_tokens else mask + [1]

    # --- decoding ---------------------------------------------------------------------------------------

    def decode(self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None,
               use_source_tokenizer: bool = False, **kwargs) -> str:  # fmt: skip
        """Text of ids, joined by the target model's rules (the source model's with use_source_tokenizer=True)."""
        self._decode_use_source_tokenizer = use_source_tokenizer
        return super().decode(token_ids, skip_special_tokens, clean_up_tokenization_spaces, **kwargs)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        segmenter = self._segmenters[0 if self._decode_use_source_tokenizer else 1]
        special = set(self.all_special_tokens)
        text, pieces = "", []
        for token in tokens:
            if token in special:
                text += segmenter.decode_pieces(pieces) + token + " "
                pieces = []
            else:
                pieces.append(token)
        text += segmenter.decode_pieces(pieces)
        return text.replace(SPIECE_UNDERLINE, " ").strip()

    # --- saving -----------------------------------------------------------------------------------------

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return True

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        written = []
        vocabularies = [("vocab.json", self.encoder)]
        if self.separate_vocabs:
            vocabularies.append(("target_vocab.json", self.target_encoder))
        for name, vocab in vocabularies:
            path = os.path.join(save_directory, prefix + name)
            with open(path, "w", encoding="utf-8") as f:
                json.dump(vocab, f, indent=2)
            written.append(path)
        for source, name in zip(self.spm_files, ("source.spm", "target.spm")):
            written += copy_vocab_file(source, save_directory, name, filename_prefix)
        return tuple(written)

    def _tokenizer_config(self, slow_class: bool) -> dict:
        config = super()._tokenizer_config(slow_class)
        config.pop("target_vocab_file", None)
        return config


def _read_vocab(path: str, required: tuple[str, ...]) -> dict[str, int]:
    vocab = read_json_vocab(path)
    for token in required:
        if token not in vocab:
            raise CheckpointFormatError(
                f"{path} has no entry for {token!r}; MarianTokenizer needs it in the vocabulary (or pass the special "
                "tokens the vocabulary uses, e.g. unk_token=/pad_token=)."
            )
    return vocab
