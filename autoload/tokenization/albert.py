"""ALBERT: a SentencePiece model (spiece.model), lower-cased and accent-stripped by default, [CLS] A [SEP] B [SEP]."""

from __future__ import annotations

from tokenizers import Regex, normalizers, processors

from .sentencepiece_tokenizer import SentencePieceTokenizerFast


def _is_number_with_comma(piece: str) -> bool:
    """Pieces such as '1,' (a digit then a comma): ALBERT's conversion lowers their score by 100."""
    return len(piece) >= 2 and piece[-1] == "," and piece[-2].isdigit()


class AlbertTokenizerFast(SentencePieceTokenizerFast):
    defaults = {"do_lower_case": True, "remove_space": True, "keep_accents": False, "bos_token": "[CLS]",
                "eos_token": "[SEP]", "unk_token": "<unk>", "sep_token": "[SEP]", "pad_token": "<pad>",
                "cls_token": "[CLS]", "mask_token": "[MASK]"}  # fmt: skip
    special_token_flags = {"mask_token": {"lstrip": True, "normalized": False}}

    def _spm_vocab(self, model):
        return [(p.piece, p.score - 100 if _is_number_with_comma(p.piece) else p.score) for p in model.pieces]

    def _spm_normalizer(self, model):
        steps = [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
        if not self.settings.get("keep_accents"):
            steps += [normalizers.NFKD(), normalizers.StripAccents()]
        if self.settings.get("do_lower_case"):
            steps.append(normalizers.Lowercase())
        if model.normalizer_spec.precompiled_charsmap:
            steps.append(normalizers.Precompiled(model.normalizer_spec.precompiled_charsmap))
        steps.append(normalizers.Replace(Regex(" {2,}"), " "))
        return normalizers.Sequence(steps)

    def _spm_post_processor(self, vocab):
        return processors.TemplateProcessing(
            single="[CLS]:0 $A:0 [SEP]:0",
            pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
        )


class AlbertTokenizer(AlbertTokenizerFast):
    pass
