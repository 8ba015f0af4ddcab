"""GPT-NeoX (Pythia, GPT-NeoX-20B): byte-level BPE that exists only as tokenizer.json.

transformers 4.57 has no slow class for it, so there is nothing to build from vocab.json + merges.txt.
Its post-processor is always rebuilt from add_bos_token / add_eos_token (both off by default), which also
means offsets are not trimmed of the leading space the way GPT-2's byte-level post-processor trims them.
"""

from __future__ import annotations

from .bos_eos import BosEosTemplateMixin
from .byte_level import ByteLevelBPETokenizerFast


class GPTNeoXTokenizerFast(BosEosTemplateMixin, ByteLevelBPETokenizerFast):
    vocab_files_names: dict[str, str] = {}
    defaults = {"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                "pad_token": None, "add_bos_token": False, "add_eos_token": False,
                "add_prefix_space": False}  # fmt: skip

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return False

    def _tokenizer_config(self, slow_class: bool) -> dict:
        # transformers names the class without "Fast" in the saved config although no slow class exists.
        return {**super()._tokenizer_config(slow_class), "tokenizer_class": "GPTNeoXTokenizer"}
