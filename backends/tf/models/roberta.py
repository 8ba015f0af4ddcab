"""RoBERTa in TensorFlow (Keras 3): BERT's encoder blocks with positions counted from padding_idx + 1, RoBERTa's
heads, and transformers' TF names."""

from __future__ import annotations

from autoload.models.roberta import RobertaConfig

from ..blocks.encoder import TFEncoderCausalLM, TFLMHead
from ..heads import (
    TFLanguageModelingModel,
    TFMultipleChoiceModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTokenClassificationModel,
)
from . import bert


class TFRobertaMainLayer(bert.TFBertMainLayer):
    pass


class TFRobertaPreTrainedModel(bert.TFBertPreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    main_layer_class = TFRobertaMainLayer
    _keys_to_ignore_on_load_unexpected = [r"position_ids$", r"lm_head\.decoder\.(weight|bias)$"]


class TFRobertaModel(bert.TFBertModel, TFRobertaPreTrainedModel):
    pass


def roberta_lm_head(config, input_embeddings) -> TFLMHead:
    """dense -> gelu (always, whatever hidden_act says) -> layer_norm -> decoder + bias."""
    return TFLMHead(config, config.hidden_size, "gelu", config.layer_norm_eps, input_embeddings, name="lm_head")


class TFRobertaForMaskedLM(TFLanguageModelingModel, TFRobertaPreTrainedModel):
    def build_lm_head(self, config):
        return roberta_lm_head(config, self.main_layer.embeddings.word_embeddings)


class TFRobertaForCausalLM(TFEncoderCausalLM, TFRobertaForMaskedLM):
    pass


class TFRobertaForSequenceClassification(TFSequenceClassificationModel, TFRobertaPreTrainedModel):
    pass


class TFRobertaForMultipleChoice(TFMultipleChoiceModel, TFRobertaPreTrainedModel):
    pass


class TFRobertaForTokenClassification(TFTokenClassificationModel, TFRobertaPreTrainedModel):
    pass


class TFRobertaForQuestionAnswering(TFQuestionAnsweringModel, TFRobertaPreTrainedModel):
    pass
