"""XLM-RoBERTa: a SentencePiece model (sentencepiece.bpe.model) in fairseq's id layout, <s> A </s></s> B </s>.

fairseq puts <s>, <pad>, </s>, <unk> at ids 0-3 and shifts every other SentencePiece piece up by one, with
<mask> after the last piece; mBART inserts its language codes before <mask>.
"""

from __future__ import annotations

from tokenizers import processors

from .sentencepiece_model import SentencePieceModel
from .sentencepiece_tokenizer import SentencePieceTokenizerFast

FAIRSEQ_SPECIAL_PIECES = ("<s>", "<pad>", "</s>", "<unk>")
FAIRSEQ_UNK_ID = 3


def fairseq_vocab(model: SentencePieceModel, extra_tokens: tuple[str, ...] = ()) -> list[tuple[str, float]]:
    """fairseq's layout: its four special pieces, the model's pieces after its own three, extra tokens, <mask>."""
    vocab = [(piece, 0.0) for piece in FAIRSEQ_SPECIAL_PIECES]
    vocab += [(piece.piece, piece.score) for piece in model.pieces[3:]]
    vocab += [(token, 0.0) for token in (*extra_tokens, "<mask>")]
    return vocab


class XLMRobertaTokenizerFast(SentencePieceTokenizerFast):
    vocab_files_names = {"vocab_file": "sentencepiece.bpe.model"}
    model_input_names = ["input_ids", "attention_mask"]
    defaults = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
                "pad_token": "<pad>", "mask_token": "<mask>"}  # fmt: skip
    special_token_flags = {"mask_token": {"lstrip": True, "normalized": True}}

    def _spm_vocab(self, model):
        return fairseq_vocab(model)

    def _spm_unk_id(self, model):
        return FAIRSEQ_UNK_ID

    def _spm_post_processor(self, vocab):
        return processors.TemplateProcessing(
            single="<s> $A </s>",
            pair="<s> $A </s> </s> $B </s>",
            special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])],
        )


class XLMRobertaTokenizer(XLMRobertaTokenizerFast):
    pass
