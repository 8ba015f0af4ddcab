"""GPT-NeoX in Flax on the GPT-style blocks (blocks/gpt.py). transformers never had a Flax GPT-NeoX, so
parameter paths mirror the PyTorch modules (`layers/0/attention/query_key_value`)."""

from __future__ import annotations

from autoload.models.gpt_neox import GPTNeoXConfig

from ..blocks.gpt import FlaxGptForCausalLM, FlaxGptModule, FlaxGptPreTrainedModel
from ..heads import (
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTokenClassificationModel,
    SequenceClassificationWithPastModule,
)


class FlaxGPTNeoXPreTrainedModel(FlaxGptPreTrainedModel):
    config_class = GPTNeoXConfig
    base_model_prefix = "gpt_neox"
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attention\.(masked_)?bias$", r"rotary_emb\.inv_freq$"]


class FlaxGPTNeoXModel(FlaxGPTNeoXPreTrainedModel):
    module_class = FlaxGptModule


class FlaxGPTNeoXForCausalLM(FlaxGptForCausalLM, FlaxGPTNeoXPreTrainedModel):
    pass


class FlaxGPTNeoXForSequenceClassification(FlaxSequenceClassificationModel, FlaxGPTNeoXPreTrainedModel):
    module_class = SequenceClassificationWithPastModule


class FlaxGPTNeoXForTokenClassification(FlaxTokenClassificationModel, FlaxGPTNeoXPreTrainedModel):
    pass


class FlaxGPTNeoXForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxGPTNeoXPreTrainedModel):
    pass
