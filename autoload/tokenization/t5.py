"""T5: a SentencePiece Unigram model (spiece.model) plus `extra_ids` sentinel tokens <extra_id_0> …"""

from __future__ import annotations

from tokenizers import processors

from .base import PreTrainedTokenizerFast, copy_vocab_file
from .converters import metaspace_prepend_scheme, sentencepiece_added_tokens, unigram
from .sentencepiece_model import load_model


class T5TokenizerFast(PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "spiece.model"}
    model_input_names = ["input_ids", "attention_mask"]
    defaults = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "extra_ids": 100}

    def __init__(self, *args, **kwargs):
        if kwargs.get("add_prefix_space") is not None:
            kwargs["from_slow"] = True  # the prefix-space choice lives in the SentencePiece conversion
        super().__init__(*args, **kwargs)

    @property
    def extra_ids(self) -> int:
        return int(self.settings.get("extra_ids") or 0)

    def _init_special_tokens(self, config: dict) -> None:
        super()._init_special_tokens(config)
        extra_ids = int(config.get("extra_ids") or 0)
        sentinels = [token for token in self._additional_special_tokens if "<extra_id_" in token]
        if not sentinels and extra_ids:
            self._additional_special_tokens += [f"<extra_id_{i}>" for i in range(extra_ids)]
        elif sentinels and extra_ids and len(sentinels) != extra_ids:
            raise ValueError(
                f"extra_ids={extra_ids} but additional_special_tokens holds {len(sentinels)} <extra_id_…> tokens; "
                "they must agree (or pass extra_ids=0)."
            )

    def _backend_from_vocab_files(self, files):
        model = load_model(files["vocab_file"])
        vocab = [(p.piece, p.score) for p in model.pieces]
        # Sentinels follow the SentencePiece pieces, <extra_id_0> last.
        vocab += [(f"<extra_id_{i}>", 0.0) for i in reversed(range(self.extra_ids))]
        legacy = self.settings.get("legacy")
        prepend_scheme = metaspace_prepend_scheme(self.settings.get("add_prefix_space", True), legacy in (None, True))
        tokenizer = unigram(model, vocab, prepend_scheme=prepend_scheme)
        tokenizer.add_tokens(sentencepiece_added_tokens(model, set(self.all_special_tokens)))
        eos_id = next(index for index, (piece, _) in enumerate(vocab) if piece == self.eos_token)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=["$A", self.eos_token],
            pair=["$A", self.eos_token, "$B", self.eos_token],
            special_tokens=[(self.eos_token, eos_id)],
        )
        return tokenizer

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return "vocab_file" in self._vocab_files

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return copy_vocab_file(self._vocab_files.get("vocab_file"), save_directory, "spiece.model", filename_prefix)


class T5Tokenizer(T5TokenizerFast):
    pass
