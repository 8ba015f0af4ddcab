"""MPNet: BERT's WordPiece (vocab.txt) with RoBERTa-style special tokens, <s> A </s></s> B </s>."""

from __future__ import annotations

from tokenizers import processors

from .bert import BertTokenizerFast
from .converters import read_wordpiece_vocab, wordpiece


class MPNetTokenizerFast(BertTokenizerFast):
    model_input_names = ["input_ids", "attention_mask"]
    defaults = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "[UNK]",
                "pad_token": "<pad>", "mask_token": "<mask>", "do_lower_case": True, "tokenize_chinese_chars": True,
                "strip_accents": None}  # fmt: skip
    # transformers declares every MPNet special token as an AddedToken that is normalized; <mask> eats the space before it.
    special_token_flags = {
        **{name: {"normalized": True} for name in ("bos_token", "eos_token", "sep_token", "cls_token", "unk_token",
                                                   "pad_token")},
        "mask_token": {"lstrip": True, "normalized": True},
    }  # fmt: skip
    # A loaded tokenizer.json follows do_lower_case and strip_accents given to the constructor, not tokenize_chinese_chars.
    synced_normalizer_options = ("lowercase", "strip_accents")

    def _backend_from_vocab_files(self, files):
        vocab = read_wordpiece_vocab(files["vocab_file"])
        tokenizer = wordpiece(vocab, unk_token=self.unk_token, cls_token=self.cls_token, sep_token=self.sep_token,
                              **self._normalizer_options())  # fmt: skip
        cls, sep = self.cls_token, self.sep_token
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0",
            pair=f"{cls}:0 $A:0 {sep}:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])],
        )
        return tokenizer


class MPNetTokenizer(MPNetTokenizerFast):
    pass
