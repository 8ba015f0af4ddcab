"""Wav2Vec2CTCTokenizer: one token per character for CTC speech models, spaces as the word delimiter '|'.

transformers has only a pure-Python class for it; here it runs on a `tokenizers` character model, and
decoding follows CTC conventions: repeated tokens collapse, the pad token is the blank and is dropped.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass

from tokenizers import AddedToken

from ..errors import CheckpointFormatError
from .base import PreTrainedTokenizerFast, clean_up_tokenization
from .converters import characters, read_json_vocab


@dataclass
class Wav2Vec2CTCTokenizerOutput:
    text: str | list[str]
    char_offsets: list | None = None
    word_offsets: list | None = None


class Wav2Vec2CTCTokenizer(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.json"}
    model_input_names = ["input_ids", "attention_mask"]
    uses_tokenizer_file = False
    defaults = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                "word_delimiter_token": "|", "replace_word_delimiter_char": " ", "do_lower_case": False,
                "target_lang": None}  # fmt: skip

    @property
    def word_delimiter_token(self) -> str | None:
        return self.settings.get("word_delimiter_token")

    @property
    def word_delimiter_token_id(self) -> int | None:
        token = self.word_delimiter_token
        return None if token is None else self.convert_tokens_to_ids(token)

    @property
    def do_lower_case(self) -> bool:
        return bool(self.settings.get("do_lower_case"))

    def _backend_from_vocab_files(self, files):
        self._vocab_json = read_json_vocab(files["vocab_file"])
        vocab = self._vocab_json
        target_lang = self.settings.get("target_lang")
        if target_lang is not None:
            if target_lang not in vocab or not isinstance(vocab[target_lang], dict):
                raise CheckpointFormatError(f"{files['vocab_file']} has no vocabulary for target_lang={target_lang!r}.")
            vocab = vocab[target_lang]
        elif vocab and all(isinstance(v, dict) for v in vocab.values()):
            raise ValueError(
                f"{files['vocab_file']} holds one vocabulary per language ({sorted(vocab)}); pass target_lang=."
            )
        tokenizer = characters(vocab, unk_token=self.unk_token, word_delimiter_token=self.word_delimiter_token)
        # Vocabulary entries longer than one character (<pad>, <s> …) are matched whole, eating nearby spaces.
        tokenizer.add_tokens([AddedToken(t, lstrip=True, rstrip=True, normalized=False) for t in vocab if len(t) > 1])
        return tokenizer

    def _prepare_inputs(self, inputs, is_split_into_words):
        if not self.do_lower_case:
            return inputs
        # do_lower_case means the vocabulary is upper case: text is upper-cased before the lookup,
        # except for added tokens such as <unk> written in the text.
        added = sorted(self.added_tokens_encoder, key=len, reverse=True)
        pattern = re.compile("(" + "|".join(map(re.escape, added)) + ")|(.+?)", re.DOTALL) if added else None
        return [_upper(item, pattern) for item in inputs]

    def decode(self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None,
               output_char_offsets: bool = False, output_word_offsets: bool = False, group_tokens: bool = True,
               spaces_between_special_tokens: bool = False, **kwargs):  # fmt: skip
        """CTC decoding: collapse repeats (group_tokens), drop the blank (pad) token, '|' → space."""
        tokens = self.convert_ids_to_tokens(token_ids, skip_special_tokens=skip_special_tokens)
        if isinstance(tokens, str):
            tokens = [tokens]
        if skip_special_tokens:
            special = set(self.all_special_tokens)
            tokens = [t for t in tokens if t == self.pad_token or t not in special]
        if group_tokens:
            groups = [(token, len(list(run))) for token, run in itertools.groupby(tokens)]
        else:
            groups = [(token, 1) for token in tokens]
        chars, offsets, position = [], [], 0
        for token, repeat in groups:
            if token != self.pad_token:
                char = (
                    self.settings.get("replace_word_delimiter_char", " ")
                    if token == self.word_delimiter_token
                    else token
                )
                chars.append(char)
                offsets.append({"char": char, "start_offset": position, "end_offset": position + repeat})
            position += repeat
        text = (" " if spaces_between_special_tokens else "").join(chars).strip()
        if self.do_lower_case:
            text = text.lower()
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        if clean_up_tokenization_spaces:
            text = clean_up_tokenization(text)
        if not (output_char_offsets or output_word_offsets):
            return text
        return Wav2Vec2CTCTokenizerOutput(
            text=text,
            char_offsets=offsets if output_char_offsets else None,
            word_offsets=self._word_offsets(offsets) if output_word_offsets else None,
        )

    def _word_offsets(self, char_offsets: list[dict]) -> list[dict]:
        delimiter = self.settings.get("replace_word_delimiter_char", " ")
        words = []
        for is_space, run in itertools.groupby(char_offsets, key=lambda c: c["char"] == delimiter):
            if not is_space:
                run = list(run)
                words.append({"word": "".join(c["char"] for c in run), "start_offset": run[0]["start_offset"],
                              "end_offset": run[-1]["end_offset"]})  # fmt: skip
        return words

    def batch_decode(
        self, sequences, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None, **kwargs
    ):
        if hasattr(sequences, "tolist"):
            sequences = sequences.tolist()
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces, **kwargs) for s in sequences]

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        tokens = super().convert_ids_to_tokens(ids, skip_special_tokens)
        if isinstance(tokens, list):
            return [self.unk_token if t is None else t for t in tokens]
        return self.unk_token if tokens is None else tokens

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return True

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        vocab = getattr(self, "_vocab_json", None)
        if vocab is None:
            vocab = self._tokenizer.get_vocab(with_added_tokens=False)
        path = os.path.join(save_directory, f"{filename_prefix}-vocab.json" if filename_prefix else "vocab.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return (path,)


def _upper(item, keep: re.Pattern | None):
    if isinstance(item, str):
        if keep is None:
            return item.upper()
        return keep.sub(lambda m: m.group(1) or m.group(2).upper(), item)
    return type(item)(_upper(part, keep) for part in item)
