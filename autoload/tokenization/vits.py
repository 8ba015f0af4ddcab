"""VitsTokenizer: the character vocabulary of VITS and MMS-TTS checkpoints (vocab.json).

transformers has only a pure-Python class for it, and the results follow that path (python_encoding.py). Before
tokenizing, `normalize` lower-cases the text (except vocabulary entries and added tokens found at a position,
tried in vocabulary order) and drops every character the vocabulary lacks; language "ron" spells ț as ţ;
`is_uroman` romanises non-ASCII text with the `uroman` package when it is installed (as in transformers, with a
warning and no romanisation when it is not); `phonemize` turns the text into espeak phonemes with the
`phonemizer` package, and without it raises ImportError. Each piece of text between added tokens is split
into characters, with `add_blank` the token of id 0 between and around them. A character the vocabulary lacks
(normalize=False) gets the id None where the unknown token is not in vocab.json, as in transformers.
"""

from __future__ import annotations

import json
import logging
import os
import re

from tokenizers import Tokenizer, models

from .base import PreTrainedTokenizerFast
from .converters import read_json_vocab
from .python_encoding import PythonEncodingMixin

logger = logging.getLogger(__name__)
_NON_ASCII = re.compile(r"[^\x00-\x7F]")


class VitsTokenizer(PythonEncodingMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.json"}
    model_input_names = ["input_ids", "attention_mask"]
    uses_tokenizer_file = False
    defaults = {"pad_token": "<pad>", "unk_token": "<unk>", "language": None, "add_blank": True, "normalize": True,
                "phonemize": True, "is_uroman": False}  # fmt: skip
    tokenize_kwargs = ("normalize",)

    def _backend_from_vocab_files(self, files):
        self.encoder = read_json_vocab(files["vocab_file"])
        self.decoder = {index: token for token, index in self.encoder.items()}
        return Tokenizer(models.WordLevel(self.encoder, unk_token=self.settings.get("unk_token") or "<unk>"))

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    @property
    def language(self):
        return self.settings.get("language")

    @property
    def add_blank(self) -> bool:
        return bool(self.settings.get("add_blank"))

    @property
    def normalize(self) -> bool:
        return bool(self.settings.get("normalize"))

    @property
    def phonemize(self) -> bool:
        return bool(self.settings.get("phonemize"))

    @property
    def is_uroman(self) -> bool:
        return bool(self.settings.get("is_uroman"))

    # --- text to tokens ------------------------------------------------------------------------------

    def normalize_text(self, text: str) -> str:
        """Lower-case the text except where a vocabulary entry or added token matches (tried in vocabulary order)."""
        entries = list(self.encoder) + list(self.added_tokens_encoder)
        result, position = [], 0
        while position < len(text):
            match = next((entry for entry in entries if entry and text.startswith(entry, position)), None)
            if match is None:
                result.append(text[position].lower())
                position += 1
            else:
                result.append(match)
                position += len(match)
        return "".join(result)

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, normalize: bool | None = None,
                                 **kwargs) -> tuple[str, dict]:  # fmt: skip
        normalize = self.normalize if normalize is None else normalize
        if normalize:
            text = self.normalize_text(text)
        if self.language == "ron":
            text = text.replace("ț", "ţ")
        if self.is_uroman and _NON_ASCII.search(text):
            text = _romanized(text)
        if self.phonemize:
            text = _phonemized(text)
        elif normalize:
            text = "".join(char for char in text if char in self.encoder).strip()
        return text, kwargs

    def _tokenize(self, text: str) -> list[str]:
        characters = list(text)
        if not self.add_blank:
            return characters
        blank = self.decoder.get(0)
        tokens = [blank] * (2 * len(characters) + 1)
        tokens[1::2] = characters
        return tokens

    def convert_tokens_to_ids(self, tokens):
        """Added tokens by their id, characters by vocab.json; an unknown one by the unknown token's vocab.json id,
        None where vocab.json has no unknown token (transformers' VitsTokenizer gives None too)."""
        if tokens is None:
            return None
        if isinstance(tokens, str):
            return self._token_id(tokens)
        return [self._token_id(token) for token in tokens]

    def _token_id(self, token: str) -> int | None:
        added = self.added_tokens_encoder
        if token in added:
            return added[token]
        return self.encoder.get(token, self.encoder.get(self.unk_token))

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        added = self.added_tokens_decoder
        if isinstance(ids, int):
            return added[ids].content if ids in added else self.decoder.get(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return [added[i].content if i in added else self.decoder.get(i) for i in map(int, ids) if i not in skip]

    # --- special tokens: none are added ----------------------------------------------------------------

    def build_inputs_with_special_tokens(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        return ids if pair is None else ids + pair

    def create_token_type_ids_from_sequences(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        return [0] * len(ids) if pair is None else [0] * len(ids) + [1] * len(pair)

    def get_special_tokens_mask(self, ids, pair=None, already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            special = set(self.all_special_ids)
            return [1 if index in special else 0 for index in [*ids, *(pair or [])]]
        return [0] * (len(ids) + (len(pair) if pair is not None else 0))

    # --- decoding ------------------------------------------------------------------------------------

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        if self.add_blank and len(tokens) > 1:
            tokens = tokens[1::2]
        return "".join(tokens)

    # --- saving --------------------------------------------------------------------------------------

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return True

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        path = os.path.join(save_directory, f"{filename_prefix}-vocab.json" if filename_prefix else "vocab.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(self.encoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return (path,)


def _romanized(text: str) -> str:
    try:
        import uroman
    except ImportError:
        logger.warning("The text holds non-Roman characters and is_uroman=True, but the `uroman` package is not "
                       "installed (pip install uroman): the text is tokenized without romanisation.")  # fmt: skip
        return text
    return uroman.Uroman().romanize_string(text)


def _phonemized(text: str) -> str:
    try:
        import phonemizer
    except ImportError as exc:
        raise ImportError(
            "This VITS tokenizer has phonemize=True: it turns text into espeak phonemes with the `phonemizer` package, "
            "which is not installed. Install it (pip install phonemizer, and the espeak-ng program), or load the "
            "tokenizer with phonemize=False if the text is already phonemes."
        ) from exc
    phonemes = phonemizer.phonemize(text, language="en-us", backend="espeak", strip=True, preserve_punctuation=True,
                                    with_stress=True)  # fmt: skip
    return re.sub(r"\s+", " ", phonemes)
