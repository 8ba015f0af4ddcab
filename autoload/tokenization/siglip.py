"""SiglipTokenizer: a SentencePiece Unigram model (spiece.model) behind SigLIP's text tower.

transformers has only a pure-Python class for it, so the results follow that path (python_encoding.py):
text is lower-cased (do_lower_case), ASCII punctuation is removed, whitespace runs become one space, one
eos ends each sequence (not repeated when the text already ends with it), and checkpoints pad to
model_max_length (64) with padding="max_length". SentencePiece itself runs on the `tokenizers` Unigram model.
"""

from __future__ import annotations

import re
import string

from tokenizers import Regex, Tokenizer, models, normalizers, processors

from .base import PreTrainedTokenizerFast, copy_vocab_file
from .converters import SPIECE_UNDERLINE
from .python_encoding import PythonEncodingMixin
from .sentencepiece_model import CONTROL, UNKNOWN, load_model

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_UNKNOWN_SURFACE = " \u2047 "  # what SentencePiece decodes an unknown piece to


def canonicalize_text(text: str, *, keep_punctuation_exact_string: str | None = None) -> str:
    """SigLIP's text clean-up: ASCII punctuation removed, whitespace runs made one space, ends stripped."""
    if keep_punctuation_exact_string:
        parts = text.split(keep_punctuation_exact_string)
        text = keep_punctuation_exact_string.join(part.translate(_PUNCTUATION) for part in parts)
    else:
        text = text.translate(_PUNCTUATION)
    return re.sub(r"\s+", " ", text).strip()


class SiglipTokenizer(PythonEncodingMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "spiece.model"}
    model_input_names = ["input_ids", "attention_mask"]
    uses_tokenizer_file = False
    defaults = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "</s>", "model_max_length": 64,
                "do_lower_case": True}  # fmt: skip
    special_token_flags = {name: {"lstrip": True, "rstrip": True} for name in ("eos_token", "unk_token", "pad_token")}

    @property
    def do_lower_case(self) -> bool:
        return bool(self.settings.get("do_lower_case"))

    def _backend_from_vocab_files(self, files):
        model = load_model(files["vocab_file"])
        self._piece_types = {p.piece: p.type for p in model.pieces}
        tokenizer = Tokenizer(
            models.Unigram([(p.piece, p.score) for p in model.pieces], unk_id=model.trainer_spec.unk_id)
        )
        # SentencePiece's own normalization with add_dummy_prefix off (transformers switches it off for
        # SigLIP): its character map, '▁' read as a space, runs of spaces made one, trailing spaces dropped.
        steps = [normalizers.Precompiled(model.normalizer_spec.precompiled_charsmap)]
        if not model.normalizer_spec.precompiled_charsmap:
            steps = []
        steps += [normalizers.Replace(SPIECE_UNDERLINE, " ")]
        if model.normalizer_spec.remove_extra_whitespaces:
            steps += [normalizers.Replace(Regex(" {2,}"), " "), normalizers.Replace(Regex(" +$"), "")]
        steps += [normalizers.Replace(" ", SPIECE_UNDERLINE)]
        tokenizer.normalizer = normalizers.Sequence(steps)
        # The model alone (no added tokens) encodes the text pieces between added tokens.
        self._pieces = Tokenizer(tokenizer.model)
        self._pieces.normalizer = tokenizer.normalizer
        self._unk_length = len(self._pieces.encode(self.unk_token, add_special_tokens=False).ids)
        eos_id = tokenizer.token_to_id(self.eos_token)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"$A:0 {self.eos_token}:0", pair=f"$A:0 {self.eos_token}:0 $B:0 {self.eos_token}:0",
            special_tokens=[(self.eos_token, eos_id)],
        )  # fmt: skip
        return tokenizer

    # --- encoding ------------------------------------------------------------------------------------

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        tokens = super().tokenize(SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, " "), **kwargs)
        if len(tokens) > 1 and tokens[0] == SPIECE_UNDERLINE and tokens[1] in self.all_special_tokens:
            tokens = tokens[1:]
        return tokens

    def _tokenize(self, text: str) -> list[str]:
        # transformers encodes "<unk>" + text and drops the pieces of "<unk>", so that SentencePiece does not
        # treat the start of the text as the start of a sentence.
        text = self.unk_token + canonicalize_text(text)
        encoding = self._pieces.encode(text, add_special_tokens=False)
        unk_id = self._pieces.token_to_id(self.unk_token)
        normalized = self._pieces.normalizer.normalize_str(text)
        tokens = _unknown_surfaces(encoding.tokens, encoding.ids, unk_id, normalized)
        return tokens[self._unk_length :] if len(tokens) >= self._unk_length else tokens

    def build_inputs_with_special_tokens(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        result = self._with_eos(ids)
        return result if pair is None else result + self._with_eos(pair)

    def _with_eos(self, ids: list[int]) -> list[int]:
        return ids if ids and ids[-1] == self.eos_token_id else ids + [self.eos_token_id]

    def create_token_type_ids_from_sequences(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        return [0] * (len(ids) + 1 + (0 if pair is None else len(pair) + 1))

    def get_special_tokens_mask(self, ids, pair=None, already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            special = set(self.all_special_ids)
            return [1 if index in special else 0 for index in [*ids, *(pair or [])]]
        return [0] * len(ids) + [1] + ([] if pair is None else [0] * len(pair) + [1])

    # --- decoding ------------------------------------------------------------------------------------

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        special = set(self.all_special_tokens)
        text, current, previous_special = "", [], False
        for token in tokens:
            if token in special:
                if not previous_special:
                    text += " "
                text += self._decode_pieces(current) + token
                previous_special, current = True, []
            else:
                current.append(token)
                previous_special = False
        return (text + self._decode_pieces(current)).strip()

    def _decode_pieces(self, pieces: list[str]) -> str:
        """SentencePiece's decoding of pieces: '▁' is a space, leading spaces dropped, control pieces silent."""
        text, at_start = "", True
        for piece in pieces:
            kind = self._piece_types.get(piece)
            if kind is None:
                part = piece  # not a piece of the model: kept as written
            elif kind == CONTROL:
                part = ""
            elif kind == UNKNOWN:
                part = _UNKNOWN_SURFACE
            else:
                if at_start:
                    piece = piece.lstrip(SPIECE_UNDERLINE)
                part = piece.replace(SPIECE_UNDERLINE, " ")
            if part:
                at_start = False
            text += part
        return text

    # --- saving --------------------------------------------------------------------------------------

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return "vocab_file" in self._vocab_files

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return copy_vocab_file(self._vocab_files.get("vocab_file"), save_directory, "spiece.model", filename_prefix)


def _unknown_surfaces(tokens: list[str], ids: list[int], unk_id: int, normalized: str) -> list[str]:
    """SentencePiece names an unknown piece by the (normalized) text it covers, not by "<unk>"."""
    result, position = [], 0
    for index, (token, token_id) in enumerate(zip(tokens, ids)):
        if token_id != unk_id:
            result.append(token)
            position += len(token)
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        end = len(normalized)
        if following is not None and ids[index + 1] != unk_id:
            end = normalized.find(following, position + 1)
            end = len(normalized) if end < 0 else end
        result.append(normalized[position:end])
        position = end
    return result
