"""Gemma (1, 2 and 3): a SentencePiece BPE model with byte fallback (tokenizer.model), <bos> prepended.

Unlike Llama there is no dummy prefix: spaces simply become '▁', and the model's first ids are
<pad> <eos> <bos> <unk>. <start_of_turn> / <end_of_turn> are special tokens even when the model file
declares them as plain user-defined pieces.
"""

from __future__ import annotations

from tokenizers import decoders, normalizers, pre_tokenizers

from .base import PreTrainedTokenizerFast, copy_vocab_file
from .bos_eos import BosEosTemplateMixin
from .converters import SPIECE_UNDERLINE, sentencepiece_added_tokens, sentencepiece_bpe
from .sentencepiece_model import load_model

TURN_TOKENS = frozenset({"<start_of_turn>", "<end_of_turn>"})
TAB_BYTE = "<0x09>"


class GemmaTokenizerFast(BosEosTemplateMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "tokenizer.model"}
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "left"
    defaults = {
        "unk_token": "<unk>",
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "pad_token": "<pad>",
        "add_bos_token": True,
        "add_eos_token": False,
    }

    def _backend_from_vocab_files(self, files):
        model = load_model(files["vocab_file"])
        # Ids 0-2 carry the tokenizer's own pad/eos/bos names; pieces from id 3 on keep theirs.
        vocab = [(self.pad_token, 0.0), (self.eos_token, 0.0), (self.bos_token, 0.0)]
        vocab += [(p.piece, p.score) for p in model.pieces[3:]]
        if not any(piece == "\t" for piece, _ in vocab):
            # The first Gemma models have no "\t" piece: a tab is the byte piece <0x09>, renamed to "\t".
            vocab = [("\t", 0.0) if piece == TAB_BYTE else (piece, score) for piece, score in vocab]
        tokenizer = sentencepiece_bpe(model, vocab)
        tokenizer.normalizer = normalizers.Replace(" ", SPIECE_UNDERLINE)
        tokenizer.pre_tokenizer = pre_tokenizers.Split(" ", "merged_with_previous")
        tokenizer.decoder = decoders.Sequence(
            [decoders.Replace(SPIECE_UNDERLINE, " "), decoders.ByteFallback(), decoders.Fuse()]
        )
        tokenizer.add_tokens(sentencepiece_added_tokens(model, TURN_TOKENS))
        return tokenizer

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return "vocab_file" in self._vocab_files

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return copy_vocab_file(self._vocab_files.get("vocab_file"), save_directory, "tokenizer.model", filename_prefix)


class GemmaTokenizer(GemmaTokenizerFast):
    pass
