"""Pegasus: a SentencePiece model (spiece.model) whose pieces are shifted up by `offset` (103) ids.

Below the offset sit <pad>, </s>, the two mask tokens (<mask_1> for sentences, <mask_2> for words) and
reserved tokens <unk_2> … <unk_102>; every text ends with </s>.
"""

from __future__ import annotations

from tokenizers import pre_tokenizers, processors

from .sentencepiece_tokenizer import SentencePieceTokenizerFast

DEFAULT_SPECIAL_TOKENS = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}


class PegasusTokenizerFast(SentencePieceTokenizerFast):
    model_input_names = ["input_ids", "attention_mask"]
    defaults = {**DEFAULT_SPECIAL_TOKENS, "mask_token": "<mask_2>", "mask_token_sent": "<mask_1>", "offset": 103}

    def __init__(self, *args, **kwargs):
        config = {**self.defaults, **kwargs}
        offset, mask_token_sent = config["offset"], config["mask_token_sent"]
        additional = kwargs.get("additional_special_tokens")
        if additional is not None:
            if not isinstance(additional, list):
                raise TypeError(f"additional_special_tokens must be a list, got {type(additional).__name__}.")
            if mask_token_sent is not None and mask_token_sent not in additional:
                additional = [mask_token_sent, *additional]
            additional = additional + [f"<unk_{i}>" for i in range(len(additional), offset - 1)]
            if len(set(map(str, additional))) != len(additional):
                raise ValueError(
                    f"additional_special_tokens must not repeat a token (an incorrectly shifted list of <unk_x> "
                    f"tokens?); got {additional}."
                )
        else:
            additional = ([mask_token_sent] if mask_token_sent is not None else []) + [
                f"<unk_{i}>" for i in range(2, offset)
            ]
        kwargs["additional_special_tokens"] = additional
        # The tokens below the offset come from the class, not from the saved added_tokens_decoder.
        kwargs.pop("added_tokens_decoder", None)
        if any(str(config[name]) != default for name, default in DEFAULT_SPECIAL_TOKENS.items()):
            kwargs["from_slow"] = True
        super().__init__(*args, **kwargs)

    @property
    def offset(self) -> int:
        return int(self.settings["offset"])

    @property
    def mask_token_sent(self) -> str | None:
        return self.settings.get("mask_token_sent")

    def _spm_vocab(self, model):
        vocab = [(self.pad_token, 0.0), (self.eos_token, 0.0)]
        if self.mask_token_sent is not None:
            vocab.append((self.mask_token_sent, 0.0))
            if self.mask_token is not None:
                vocab.append((self.mask_token, 0.0))
        vocab += [(f"<unk_{i}>", -100.0) for i in range(2, self.offset)]
        vocab += [(piece.piece, piece.score) for piece in model.pieces[2:]]
        return vocab

    def _spm_unk_id(self, model):
        return model.trainer_spec.unk_id + self.offset

    def _spm_pre_tokenizer(self, prepend_scheme):
        return pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), super()._spm_pre_tokenizer(prepend_scheme)])

    def _spm_post_processor(self, vocab):
        eos = self.eos_token
        return processors.TemplateProcessing(
            single=["$A", eos], pair=["$A", "$B", eos], special_tokens=[(eos, vocab[eos])]
        )


class PegasusTokenizer(PegasusTokenizerFast):
    pass
