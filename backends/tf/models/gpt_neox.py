"""GPT-NeoX in TensorFlow (Keras 3) on the GPT-style blocks (blocks/gpt.py). transformers never had a TF
GPT-NeoX, so layer names mirror the PyTorch modules (`gpt_neox/layers_._0/attention/query_key_value`)."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.gpt_neox import GPTNeoXConfig

from ..blocks.gpt import TFGptForCausalLM, TFGptPreTrainedModel
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFSequenceClassificationModel, TFTokenClassificationModel


class TFGPTNeoXPreTrainedModel(TFGptPreTrainedModel):
    config_class = GPTNeoXConfig
    base_model_prefix = "gpt_neox"
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attention\.(masked_)?bias$", r"rotary_emb\.inv_freq$"]


class TFGPTNeoXModel(TFBaseModel, TFGPTNeoXPreTrainedModel):
    pass


class TFGPTNeoXForCausalLM(TFGptForCausalLM, TFGPTNeoXPreTrainedModel):
    pass


class TFGPTNeoXForSequenceClassification(TFSequenceClassificationModel, TFGPTNeoXPreTrainedModel):
    output_class = out.SequenceClassifierOutputWithPast


class TFGPTNeoXForTokenClassification(TFTokenClassificationModel, TFGPTNeoXPreTrainedModel):
    pass


class TFGPTNeoXForQuestionAnswering(TFQuestionAnsweringModel, TFGPTNeoXPreTrainedModel):
    pass
