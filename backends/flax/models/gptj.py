"""GPT-J in Flax on the GPT-style blocks (blocks/gpt.py), with transformers' Flax GPT-J parameter paths
(`h/0/attn/q_proj`, `wte`, `lm_head`)."""

from __future__ import annotations

from autoload.models.gptj import GPTJConfig

from ..blocks.gpt import FlaxGptForCausalLM, FlaxGptModule, FlaxGptPreTrainedModel
from ..heads import FlaxQuestionAnsweringModel, FlaxSequenceClassificationModel, SequenceClassificationWithPastModule


class FlaxGPTJPreTrainedModel(FlaxGptPreTrainedModel):
    config_class = GPTJConfig
    base_model_prefix = "transformer"
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attn\.(masked_)?bias$"]


class FlaxGPTJModel(FlaxGPTJPreTrainedModel):
    module_class = FlaxGptModule


class FlaxGPTJForCausalLM(FlaxGptForCausalLM, FlaxGPTJPreTrainedModel):
    logits_in_float32 = True


class FlaxGPTJForSequenceClassification(FlaxSequenceClassificationModel, FlaxGPTJPreTrainedModel):
    module_class = SequenceClassificationWithPastModule


class FlaxGPTJForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxGPTJPreTrainedModel):
    pass
