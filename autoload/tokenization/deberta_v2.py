"""DeBERTa-v2/v3: a SentencePiece model (spm.model), [CLS] A [SEP] B [SEP], optional punctuation splitting."""

from __future__ import annotations

from tokenizers import Regex, normalizers, pre_tokenizers, processors

from .sentencepiece_tokenizer import SentencePieceTokenizerFast


class DebertaV2TokenizerFast(SentencePieceTokenizerFast):
    vocab_files_names = {"vocab_file": "spm.model"}
    defaults = {"do_lower_case": False, "split_by_punct": False, "bos_token": "[CLS]", "eos_token": "[SEP]",
                "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                "mask_token": "[MASK]"}  # fmt: skip
    special_token_flags = {"unk_token": {"normalized": True}}

    def _spm_normalizer(self, model):
        steps = [normalizers.Lowercase()] if self.settings.get("do_lower_case") else []
        steps.append(normalizers.Strip())
        if model.normalizer_spec.precompiled_charsmap:
            steps.append(normalizers.Precompiled(model.normalizer_spec.precompiled_charsmap))
        steps.append(normalizers.Replace(Regex(" {2,}"), " "))
        return normalizers.Sequence(steps)

    def _spm_pre_tokenizer(self, prepend_scheme):
        steps = [pre_tokenizers.Punctuation(behavior="isolated")] if self.settings.get("split_by_punct") else []
        steps.append(super()._spm_pre_tokenizer(prepend_scheme))
        return pre_tokenizers.Sequence(steps)

    def _spm_post_processor(self, vocab):
        return processors.TemplateProcessing(
            single="[CLS]:0 $A:0 [SEP]:0",
            pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
        )


class DebertaV2Tokenizer(DebertaV2TokenizerFast):
    pass
