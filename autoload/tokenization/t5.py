"""T5: a SentencePiece Unigram model (spiece.model) plus `extra_ids` sentinel tokens <extra_id_0> …"""

from __future__ import annotations

from tokenizers import processors

from .converters import metaspace_prepend_scheme
from .sentencepiece_tokenizer import SentencePieceTokenizerFast


class T5TokenizerFast(SentencePieceTokenizerFast):
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

    def _spm_vocab(self, model):
        # Sentinels follow the SentencePiece pieces, <extra_id_0> last.
        return super()._spm_vocab(model) + [(f"<extra_id_{i}>", 0.0) for i in reversed(range(self.extra_ids))]

    def _spm_prepend_scheme(self) -> str:
        return metaspace_prepend_scheme(
            self.settings.get("add_prefix_space", True), self.settings.get("legacy") in (None, True)
        )

    def _spm_post_processor(self, vocab):
        eos = self.eos_token
        return processors.TemplateProcessing(
            single=["$A", eos], pair=["$A", eos, "$B", eos], special_tokens=[(eos, vocab[eos])]
        )


class T5Tokenizer(T5TokenizerFast):
    pass
