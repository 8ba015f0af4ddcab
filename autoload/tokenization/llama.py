"""Llama (and Mistral): a SentencePiece BPE model with byte fallback (tokenizer.model), <s> prepended."""

from __future__ import annotations

from tokenizers import decoders, normalizers, pre_tokenizers

from .base import PreTrainedTokenizerFast, copy_vocab_file
from .bos_eos import BosEosTemplateMixin
from .converters import SPIECE_UNDERLINE, metaspace_prepend_scheme, sentencepiece_added_tokens, sentencepiece_bpe
from .sentencepiece_model import load_model


class LlamaTokenizerFast(BosEosTemplateMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "tokenizer.model"}
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "left"
    defaults = {
        "unk_token": "<unk>",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "add_bos_token": True,
        "add_eos_token": False,
    }

    def __init__(self, *args, **kwargs):
        if kwargs.get("add_prefix_space") is not None:
            kwargs["from_slow"] = True  # the prefix-space choice lives in the SentencePiece conversion
        super().__init__(*args, **kwargs)

    @property
    def legacy(self) -> bool:
        return self.settings.get("legacy") in (None, True)

    def _backend_from_vocab_files(self, files):
        model = load_model(files["vocab_file"])
        vocab = [(p.piece, p.score) for p in model.pieces]
        # The first three ids (unk, bos, eos) take the names the tokenizer config gives them, with score 0.
        for index in range(min(3, len(vocab))):
            declared = self._declared_added_tokens.get(index)
            vocab[index] = (declared["content"] if declared else vocab[index][0], 0.0)
        tokenizer = sentencepiece_bpe(model, vocab)
        add_prefix_space = self.settings.get("add_prefix_space", True)
        if self.legacy:
            steps = [normalizers.Prepend(SPIECE_UNDERLINE)] if add_prefix_space else []
            tokenizer.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", SPIECE_UNDERLINE)])
        else:
            tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
                replacement=SPIECE_UNDERLINE,
                prepend_scheme=metaspace_prepend_scheme(add_prefix_space, False),
                split=False,
            )
        steps = [decoders.Replace(SPIECE_UNDERLINE, " "), decoders.ByteFallback(), decoders.Fuse()]
        if add_prefix_space:
            steps.append(decoders.Strip(content=" ", left=1, right=0))
        tokenizer.decoder = decoders.Sequence(steps)
        tokenizer.add_tokens(sentencepiece_added_tokens(model, set(self.all_special_tokens)))
        return tokenizer

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return "vocab_file" in self._vocab_files

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return copy_vocab_file(self._vocab_files.get("vocab_file"), save_directory, "tokenizer.model", filename_prefix)


class LlamaTokenizer(LlamaTokenizerFast):
    pass
