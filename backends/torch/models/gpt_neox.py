"""GPT-NeoX in PyTorch on the GPT-style blocks (blocks/gpt.py): partial rotary, per-head fused
query_key_value, parallel or sequential residual."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.gpt_neox import GPTNeoXConfig

from ..blocks.gpt import GptForCausalLM, GptModel, GptPreTrainedModel
from ..heads import QuestionAnsweringModel, SequenceClassificationModel, TokenClassificationModel


class GPTNeoXPreTrainedModel(GptPreTrainedModel):
    config_class = GPTNeoXConfig
    base_model_prefix = "gpt_neox"
    # the causal-mask buffers and rotary tables older checkpoints (Pythia) stored
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attention\.(masked_)?bias$", r"rotary_emb\.inv_freq$"]


class GPTNeoXModel(GptModel, GPTNeoXPreTrainedModel):
    pass


class GPTNeoXForCausalLM(GptForCausalLM, GPTNeoXPreTrainedModel):
    base_class = GPTNeoXModel


class GPTNeoXForSequenceClassification(SequenceClassificationModel, GPTNeoXPreTrainedModel):
    base_class = GPTNeoXModel
    output_class = out.SequenceClassifierOutputWithPast


class GPTNeoXForTokenClassification(TokenClassificationModel, GPTNeoXPreTrainedModel):
    base_class = GPTNeoXModel


class GPTNeoXForQuestionAnswering(QuestionAnsweringModel, GPTNeoXPreTrainedModel):
    base_class = GPTNeoXModel
