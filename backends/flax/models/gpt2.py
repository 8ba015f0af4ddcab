"""GPT-2 in Flax on the GPT-style blocks (blocks/gpt.py), with transformers' Flax GPT-2 parameter paths
(Conv1D kernels [out, in]); the double-heads model is GPT-2's own."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from autoload import outputs as out
from autoload.models.gpt2 import GPT2Config
from autoload.sequence_summary import summary_options

from ..blocks.encoder import SequenceSummary
from ..blocks.gpt import FlaxGptForCausalLM, FlaxGptModule, FlaxGptPreTrainedModel
from ..generation import FlaxGenerationMixin
from ..heads import (
    FlaxQuestionAnsweringModel,
    FlaxSequenceClassificationModel,
    FlaxTokenClassificationModel,
    SequenceClassificationWithPastModule,
)


class FlaxGPT2Module(FlaxGptModule):
    output_class = out.BaseModelOutputWithPastAndCrossAttentions


class FlaxGPT2PreTrainedModel(FlaxGptPreTrainedModel):
    config_class = GPT2Config
    base_model_prefix = "transformer"
    base_module = FlaxGPT2Module
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attn\.(masked_)?bias$", r"crossattention\.(masked_)?bias$"]


class FlaxGPT2Model(FlaxGPT2PreTrainedModel):
    module_class = FlaxGPT2Module


class FlaxGPT2LMHeadModel(FlaxGptForCausalLM, FlaxGPT2PreTrainedModel):
    output_class = out.CausalLMOutputWithCrossAttentions


class FlaxGPT2ForSequenceClassification(FlaxSequenceClassificationModel, FlaxGPT2PreTrainedModel):
    module_class = SequenceClassificationWithPastModule


class FlaxGPT2ForTokenClassification(FlaxTokenClassificationModel, FlaxGPT2PreTrainedModel):
    pass


class FlaxGPT2ForQuestionAnswering(FlaxQuestionAnsweringModel, FlaxGPT2PreTrainedModel):
    pass


_PER_CHOICE = ("attention_mask", "token_type_ids", "position_ids")


class FlaxGPT2DoubleHeadsModule(nn.Module):
    config: Any
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_ids=None, mc_token_ids=None, inputs_embeds=None, deterministic=True, return_dict=True,
                 **kwargs):  # fmt: skip
        c = self.config
        shape = input_ids.shape if input_ids is not None else inputs_embeds.shape[:-1]
        flat = {k: (v.reshape((-1, shape[-1])) if k in _PER_CHOICE and v is not None else v) for k, v in kwargs.items()}
        if inputs_embeds is not None:
            flat["inputs_embeds"] = inputs_embeds.reshape((-1, *inputs_embeds.shape[-2:]))
        ids = input_ids.reshape((-1, shape[-1])) if input_ids is not None else None
        base = FlaxGPT2Module(c, self.dtype, name="transformer")
        encoded = base(ids, deterministic=deterministic, **{**flat, "return_dict": True})
        hidden = encoded.last_hidden_state.reshape(shape + (-1,))
        if c.tie_word_embeddings:
            logits = hidden @ base.variables["params"]["wte"]["embedding"].T.astype(hidden.dtype)
        else:
            init = nn.initializers.normal(c.initializer_range)
            logits = nn.Dense(c.vocab_size, use_bias=False, dtype=self.dtype, kernel_init=init, name="lm_head")(hidden)
        summary = SequenceSummary(summary_options(c), c.initializer_range, self.dtype, name="multiple_choice_head")
        mc_logits = summary(hidden, mc_token_ids, deterministic)
        if mc_logits.shape[-1] == 1:  # a summary without a projection to one label keeps its width (as in torch)
            mc_logits = mc_logits.squeeze(-1)
        states = encoded.hidden_states
        if states is not None:  # as transformers returns them: the last one in the inputs' shape
            states = states[:-1] + (hidden,)
        result = out.GPT2DoubleHeadsModelOutput(logits=logits, mc_logits=mc_logits,
                                                past_key_values=encoded.past_key_values, hidden_states=states,
                                                attentions=encoded.attentions)  # fmt: skip
        return out.finish(result, return_dict)


class FlaxGPT2DoubleHeadsModel(FlaxGenerationMixin, FlaxGPT2PreTrainedModel):
    """LM logits for every choice and one multiple-choice score per choice; inputs [batch, choices, seq] (or
    [batch, seq], as generate() feeds it). Like transformers, it sets config.num_labels to 1."""

    module_class = FlaxGPT2DoubleHeadsModule
    generation_position_ids = True

    def __init__(self, config, *args, **kwargs):
        config.num_labels = 1
        summary_options(config)  # refuses summary_* values it cannot honour before anything is built
        super().__init__(config, *args, **kwargs)

    def dummy_inputs(self) -> dict:
        return {"input_ids": jnp.zeros((1, 2, 2), dtype="i4")}

    def restarts_cache(self, before: int, after: int) -> bool:
        return False
