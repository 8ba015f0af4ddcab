"""OPT in Flax on the GPT-style blocks (blocks/gpt.py), with transformers' Flax OPT parameter paths
(`decoder/layers/0/self_attn/q_proj`)."""

from __future__ import annotations

from autoload.models.opt import OPTConfig

from ..blocks.gpt import FlaxGptForCausalLM, FlaxGptModule, FlaxGptPreTrainedModel
from ..heads import FlaxQuestionAnsweringModel, FlaxSequenceClassificationModel, SequenceClassificationWithPastModule


class FlaxOPTPreTrainedModel(FlaxGptPreTrainedModel):
    config_class = OPTConfig
    base_model_prefix = "model"


class FlaxOPTModel(FlaxOPTPreTrainedModel):
    module_class = FlaxGptModule


class FlaxOPTForCausalLM(FlaxGptForCausalLM, FlaxOPTPreTrainedModel):
    pass


class FlaxOPTForSequenceClassification(FlaxSequenceClassificationModel, FlaxOPTPreTrainedModel):
    module_class = SequenceClassificationWithPastModule


class FlaxOPTForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxOPTPreTrainedModel):
    pass
