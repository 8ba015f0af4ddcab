"""GPT-J in TensorFlow (Keras 3) on the GPT-style blocks (blocks/gpt.py), named as transformers' TF GPT-J
(`transformer/h_._0/attn/q_proj`, `wte/weight`, `lm_head`)."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.gptj import GPTJConfig

from ..blocks.gpt import TFGptForCausalLM, TFGptPreTrainedModel
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFSequenceClassificationModel


class TFGPTJPreTrainedModel(TFGptPreTrainedModel):
    config_class = GPTJConfig
    base_model_prefix = "transformer"
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attn\.(masked_)?bias$"]


class TFGPTJModel(TFBaseModel, TFGPTJPreTrainedModel):
    pass


class TFGPTJForCausalLM(TFGptForCausalLM, TFGPTJPreTrainedModel):
    logits_in_float32 = True


class TFGPTJForSequenceClassification(TFSequenceClassificationModel, TFGPTJPreTrainedModel):
    output_class = out.SequenceClassifierOutputWithPast


class TFGPTJForQuestionAnswering(TFQuestionAnsweringModel, TFGPTJPreTrainedModel):
    pass
