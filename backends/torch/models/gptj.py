"""GPT-J in PyTorch on the GPT-style blocks (blocks/gpt.py): interleaved partial rotary, attention and MLP
in parallel from one norm, attention in float32, an LM head with a bias."""

from __future__ import annotations

from autoload import outputs as out
from autoload.models.gptj import GPTJConfig

from ..blocks.gpt import GptForCausalLM, GptModel, GptPreTrainedModel
from ..heads import QuestionAnsweringModel, SequenceClassificationModel


class GPTJPreTrainedModel(GptPreTrainedModel):
    config_class = GPTJConfig
    base_model_prefix = "transformer"
    # the causal-mask buffers the original checkpoints (EleutherAI/gpt-j-6b) stored
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attn\.(masked_)?bias$"]


class GPTJModel(GptModel, GPTJPreTrainedModel):
    pass


class GPTJForCausalLM(GptForCausalLM, GPTJPreTrainedModel):
    base_class = GPTJModel
    logits_in_float32 = True


class GPTJForSequenceClassification(SequenceClassificationModel, GPTJPreTrainedModel):
    base_class = GPTJModel
    output_class = out.SequenceClassifierOutputWithPast


class GPTJForQuestionAnswering(QuestionAnsweringModel, GPTJPreTrainedModel):
    base_class = GPTJModel
