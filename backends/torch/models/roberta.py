"""RoBERTa in PyTorch: BERT's encoder blocks with positions counted from padding_idx + 1, and its heads."""

from __future__ import annotations

from autoload.models.roberta import RobertaConfig

from ..blocks.encoder import EncoderCausalLM, LMHead
from ..heads import (
    LanguageModelingModel,
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TokenClassificationModel,
)
from . import bert


class RobertaPreTrainedModel(bert.BertPreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"lm_head\.decoder\.bias$"]


class RobertaModel(RobertaPreTrainedModel, bert.BertModel):
    pass


def roberta_lm_head(config) -> LMHead:
    """dense -> gelu (always, whatever hidden_act says) -> layer_norm -> decoder + bias."""
    return LMHead(config.hidden_size, config.hidden_size, config.vocab_size, "gelu", config.layer_norm_eps)


class RobertaForMaskedLM(LanguageModelingModel, RobertaPreTrainedModel):
    base_class = RobertaModel
    _tied_weights_keys = ["lm_head.decoder.weight"]

    def build_lm_head(self, config):
        return roberta_lm_head(config)

    def get_output_embeddings(self):
        return self.lm_head.decoder


class RobertaForCausalLM(EncoderCausalLM, RobertaForMaskedLM):
    pass


class RobertaForSequenceClassification(SequenceClassificationModel, RobertaPreTrainedModel):
    base_class = RobertaModel


class RobertaForMultipleChoice(MultipleChoiceModel, RobertaPreTrainedModel):
    base_class = RobertaModel


class RobertaForTokenClassification(TokenClassificationModel, RobertaPreTrainedModel):
    base_class = RobertaModel


class RobertaForQuestionAnswering(QuestionAnsweringModel, RobertaPreTrainedModel):
    base_class = RobertaModel
