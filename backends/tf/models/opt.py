"""OPT in TensorFlow (Keras 3) on the GPT-style blocks (blocks/gpt.py), named as transformers' TF OPT
(`model/decoder/layers.0/self_attn/q_proj`); the LM head is the word embeddings unless the config unties it."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.opt import OPTConfig

from ..blocks.gpt import TFGptForCausalLM, TFGptPreTrainedModel
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFSequenceClassificationModel


class TFOPTPreTrainedModel(TFGptPreTrainedModel):
    config_class = OPTConfig
    base_model_prefix = "model"


class TFOPTModel(TFBaseModel, TFOPTPreTrainedModel):
    pass


class TFOPTForCausalLM(TFGptForCausalLM, TFOPTPreTrainedModel):
    pass


class TFOPTForSequenceClassification(TFSequenceClassificationModel, TFOPTPreTrainedModel):
    output_class = out.SequenceClassifierOutputWithPast


class TFOPTForQuestionAnswering(TFQuestionAnsweringModel, TFOPTPreTrainedModel):
    pass
