"""mBART in PyTorch: BART's blocks, pre-norm with final layer norms; decoder inputs built from input_ids or labels
start with each row's last non-padding token (the language code)."""

from __future__ import annotations

import torch

from autoload import outputs as out
from autoload.models.mbart import MBartConfig

from ..blocks.seq2seq import Seq2SeqForCausalLM, Seq2SeqLM, Seq2SeqModel, Seq2SeqPreTrainedModel
from ..heads import QuestionAnsweringModel, SequenceClassificationModel


def shift_tokens_right(input_ids: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """The targets moved one place right, each row starting with its last non-padding token (-100 -> pad)."""
    if pad_token_id is None:
        raise ValueError("config.pad_token_id is not set; mBART needs it to build decoder inputs.")
    tokens = input_ids.masked_fill(input_ids == -100, pad_token_id)
    last = (tokens.ne(pad_token_id).sum(dim=1) - 1).unsqueeze(-1)
    shifted = tokens.roll(1, dims=1)
    shifted[:, 0] = tokens.gather(1, last).squeeze(-1)
    return shifted


class MBartPreTrainedModel(Seq2SeqPreTrainedModel):
    config_class = MBartConfig


class MBartModel(Seq2SeqModel, MBartPreTrainedModel):
    def decoder_inputs_from(self, input_ids):
        return shift_tokens_right(input_ids, self.config.pad_token_id)

    def labels_to_decoder_inputs(self, labels):
        return shift_tokens_right(labels, self.config.pad_token_id)


class MBartForConditionalGeneration(Seq2SeqLM, MBartPreTrainedModel):
    base_class = MBartModel


class MBartForSequenceClassification(SequenceClassificationModel, MBartPreTrainedModel):
    base_class = MBartModel
    output_class = out.Seq2SeqSequenceClassifierOutput


class MBartForQuestionAnswering(QuestionAnsweringModel, MBartPreTrainedModel):
    base_class = MBartModel
    output_class = out.Seq2SeqQuestionAnsweringModelOutput


class MBartForCausalLM(Seq2SeqForCausalLM, MBartPreTrainedModel):
    pass
