"""WordPiece tokenizers: BERT and DistilBERT (cased and uncased), built from tokenizer.json or vocab.txt."""

from __future__ import annotations

import json

from tokenizers import models, normalizers

from .base import PreTrainedTokenizerFast
from .converters import read_wordpiece_vocab, wordpiece

WORDPIECE_SPECIAL_TOKENS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}


class BertTokenizerFast(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.txt"}
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    defaults = {
        **WORDPIECE_SPECIAL_TOKENS,
        "do_lower_case": True,
        "tokenize_chinese_chars": True,
        "strip_accents": None,
    }

    @property
    def do_lower_case(self) -> bool:
        return bool(self.settings.get("do_lower_case", True))

    def _normalizer_options(self) -> dict:
        return {
            "lowercase": self.do_lower_case,
            "strip_accents": self.settings.get("strip_accents"),
            "handle_chinese_chars": bool(self.settings.get("tokenize_chinese_chars", True)),
        }

    def _backend_from_vocab_files(self, files):
        vocab = read_wordpiece_vocab(files["vocab_file"])
        return wordpiece(vocab, unk_token=self.unk_token, cls_token=self.cls_token, sep_token=self.sep_token,
                         **self._normalizer_options())  # fmt: skip

    # The normalizer options that constructor arguments (do_lower_case …) override in a loaded tokenizer.json.
    synced_normalizer_options = ("lowercase", "strip_accents", "handle_chinese_chars")

    def _sync_backend(self) -> None:
        normalizer = self._tokenizer.normalizer
        if normalizer is None:
            return
        state = json.loads(normalizer.__getstate__())
        if state.get("type") != "BertNormalizer":
            return
        wanted = {k: v for k, v in self._normalizer_options().items() if k in self.synced_normalizer_options}
        if any(state.get(key, value) != value for key, value in wanted.items()):
            kept = {k: state[k] for k in ("lowercase", "strip_accents", "handle_chinese_chars") if k in state}
            self._tokenizer.normalizer = normalizers.BertNormalizer(
                clean_text=state.get("clean_text", True), **{**kept, **wanted}
            )

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return isinstance(self._tokenizer.model, models.WordPiece)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        if not self.can_save_slow_tokenizer:
            return ()
        return tuple(self._tokenizer.model.save(save_directory, filename_prefix))


class DistilBertTokenizerFast(BertTokenizerFast):
    model_input_names = ["input_ids", "attention_mask"]


# transformers' pure-Python classes; here the same fast implementation under their names.
class BertTokenizer(BertTokenizerFast):
    pass


class DistilBertTokenizer(DistilBertTokenizerFast):
    pass
