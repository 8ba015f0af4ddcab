"""OPT in PyTorch on the GPT-style blocks (blocks/gpt.py): learned positions offset by 2, pre- or post-norm,
word_embed_proj_dim projections; everything under `model.decoder`."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.opt import OPTConfig

from ..blocks.gpt import GptForCausalLM, GptModel, GptPreTrainedModel
from ..heads import QuestionAnsweringModel, SequenceClassificationModel


class OPTPreTrainedModel(GptPreTrainedModel):
    config_class = OPTConfig
    base_model_prefix = "model"


class OPTModel(GptModel, OPTPreTrainedModel):
    pass


class OPTForCausalLM(GptForCausalLM, OPTPreTrainedModel):
    base_class = OPTModel


class OPTForSequenceClassification(SequenceClassificationModel, OPTPreTrainedModel):
    base_class = OPTModel
    output_class = out.SequenceClassifierOutputWithPast


class OPTForQuestionAnswering(QuestionAnsweringModel, OPTPreTrainedModel):
    base_class = OPTModel
