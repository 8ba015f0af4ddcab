"""mBART and mBART-50: XLM-R's SentencePiece layout with fairseq language codes (en_XX, ro_RO …) before <mask>.

Every text is framed by language codes: mBART appends `</s> <code>`, mBART-50 puts `<code>` first and `</s>`
last. Inputs take `src_lang`, labels (`text_target=`) take `tgt_lang`; setting `src_lang` re-frames inputs.
"""

from __future__ import annotations

from tokenizers import processors

from .sentencepiece_tokenizer import SentencePieceTokenizerFast
from .xlm_roberta import FAIRSEQ_UNK_ID, fairseq_vocab

MBART_LANGUAGE_CODES = ("ar_AR", "cs_CZ", "de_DE", "en_XX", "es_XX", "et_EE", "fi_FI", "fr_XX", "gu_IN", "hi_IN",
                        "it_IT", "ja_XX", "kk_KZ", "ko_KR", "lt_LT", "lv_LV", "my_MM", "ne_NP", "nl_XX", "ro_RO",
                        "ru_RU", "si_LK", "tr_TR", "vi_VN", "zh_CN")  # fmt: skip
MBART50_LANGUAGE_CODES = MBART_LANGUAGE_CODES + (
    "af_ZA", "az_AZ", "bn_IN", "fa_IR", "he_IL", "hr_HR", "id_ID", "ka_GE", "km_KH", "mk_MK", "ml_IN", "mn_MN",
    "mr_IN", "pl_PL", "ps_AF", "pt_XX", "sv_SE", "sw_KE", "ta_IN", "te_IN", "th_TH", "tl_XX", "uk_UA", "ur_PK",
    "xh_ZA", "gl_ES", "sl_SI",
)  # fmt: skip


class _LanguageCodeTokenizerFast(SentencePieceTokenizerFast):
    """Shared by mBART and mBART-50: language codes as special tokens, source and target framing."""

    vocab_files_names = {"vocab_file": "sentencepiece.bpe.model"}
    model_input_names = ["input_ids", "attention_mask"]
    defaults = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
                "pad_token": "<pad>", "mask_token": "<mask>", "src_lang": None, "tgt_lang": None}  # fmt: skip
    special_token_flags = {"mask_token": {"lstrip": True, "normalized": True}}
    language_codes: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        extra = [token for token in kwargs.get("additional_special_tokens") or [] if token not in self.language_codes]
        kwargs["additional_special_tokens"] = [*self.language_codes, *extra]
        super().__init__(*args, **kwargs)
        self.lang_code_to_id = {code: self.convert_tokens_to_ids(code) for code in self.language_codes}
        self.tgt_lang = self.settings.get("tgt_lang")
        self.src_lang = self.settings.get("src_lang") or "en_XX"

    @property
    def src_lang(self) -> str:
        return self._src_lang

    @src_lang.setter
    def src_lang(self, code: str) -> None:
        self._src_lang = code
        self.set_src_lang_special_tokens(code)

    # --- framing -----------------------------------------------------------------------------------------

    def _frame(self, code: str) -> tuple[list[int], list[int]]:
        """(prefix ids, suffix ids) around a text in language `code`."""
        raise NotImplementedError

    def _set_lang_special_tokens(self, code: str | None, which: str) -> None:
        if code is None:
            raise ValueError(
                f"{type(self).__name__} has no {which} language set: pass {which}= to from_pretrained or set "
                f"tokenizer.{which} (one of {', '.join(self.language_codes)})."
            )
        self.prefix_tokens, self.suffix_tokens = self._frame(code)
        prefix = self.convert_ids_to_tokens(self.prefix_tokens)
        suffix = self.convert_ids_to_tokens(self.suffix_tokens)
        self._tokenizer.post_processor = processors.TemplateProcessing(
            single=[*prefix, "$A", *suffix],
            pair=[*prefix, "$A", "$B", *suffix],
            special_tokens=list(zip(prefix + suffix, self.prefix_tokens + self.suffix_tokens)),
        )

    def set_src_lang_special_tokens(self, src_lang: str) -> None:
        """Frame the texts that follow as inputs in `src_lang`."""
        self._set_lang_special_tokens(src_lang, "src_lang")

    def set_tgt_lang_special_tokens(self, tgt_lang: str) -> None:
        """Frame the texts that follow as labels in `tgt_lang`."""
        self._set_lang_special_tokens(tgt_lang, "tgt_lang")

    def _switch_to_input_mode(self) -> None:
        self.set_src_lang_special_tokens(self.src_lang)

    def _switch_to_target_mode(self) -> None:
        self.set_tgt_lang_special_tokens(self.tgt_lang)

    def _build_translation_inputs(self, raw_inputs, return_tensors, src_lang, tgt_lang, **extra_kwargs):
        """Inputs for a translation pipeline: `raw_inputs` in `src_lang`, plus `forced_bos_token_id` of `tgt_lang`."""
        if src_lang is None or tgt_lang is None:
            raise ValueError("Translation needs both src_lang and tgt_lang for this model.")
        self.src_lang = src_lang
        inputs = self(raw_inputs, add_special_tokens=True, return_tensors=return_tensors, **extra_kwargs)
        inputs["forced_bos_token_id"] = self.convert_tokens_to_ids(tgt_lang)
        return inputs

    # --- conversion from sentencepiece.bpe.model (the language framing replaces its post-processor) --------

    def _spm_vocab(self, model):
        return fairseq_vocab(model, self.language_codes)

    def _spm_unk_id(self, model):
        return FAIRSEQ_UNK_ID


class MBartTokenizerFast(_LanguageCodeTokenizerFast):
    language_codes = MBART_LANGUAGE_CODES

    def _frame(self, code):
        self.cur_lang_code = self.convert_tokens_to_ids(code)
        return [], [self.eos_token_id, self.cur_lang_code]


class MBart50TokenizerFast(_LanguageCodeTokenizerFast):
    language_codes = MBART50_LANGUAGE_CODES
    defaults = {key: value for key, value in _LanguageCodeTokenizerFast.defaults.items() if key != "bos_token"}

    def _frame(self, code):
        self.cur_lang_code_id = self.convert_tokens_to_ids(code)
        return [self.cur_lang_code_id], [self.eos_token_id]


class MBartTokenizer(MBartTokenizerFast):
    pass


class MBart50Tokenizer(MBart50TokenizerFast):
    pass
