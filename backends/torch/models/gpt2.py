"""GPT-2 in PyTorch on the GPT-style blocks (blocks/gpt.py): Conv1D projections (weights [in, out]), learned
positions, optional cross-attention; the double-heads model (LM + multiple choice) is GPT-2's own."""

from __future__ import annotations

import torch
from torch import nn

from autoload import outputs as out
from autoload.models.gpt2 import GPT2Config
from autoload.sequence_summary import summary_options

from ..blocks.encoder import SequenceSummary
from ..blocks.gpt import GptForCausalLM, GptModel, GptPreTrainedModel
from ..generation import GenerationMixin
from ..heads import QuestionAnsweringModel, SequenceClassificationModel, TokenClassificationModel
from ..losses import causal_lm_loss, token_loss


class GPT2PreTrainedModel(GptPreTrainedModel):
    config_class = GPT2Config
    base_model_prefix = "transformer"
    # the causal-mask buffers older checkpoints stored
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attn\.(masked_)?bias$", r"crossattention\.(masked_)?bias$"]


class GPT2Model(GptModel, GPT2PreTrainedModel):
    output_class = out.BaseModelOutputWithPastAndCrossAttentions


class GPT2LMHeadModel(GptForCausalLM, GPT2PreTrainedModel):
    base_class = GPT2Model
    output_class = out.CausalLMOutputWithCrossAttentions


class GPT2ForSequenceClassification(SequenceClassificationModel, GPT2PreTrainedModel):
    base_class = GPT2Model
    output_class = out.SequenceClassifierOutputWithPast


class GPT2ForTokenClassification(TokenClassificationModel, GPT2PreTrainedModel):
    base_class = GPT2Model


class GPT2ForQuestionAnswering(QuestionAnsweringModel, GPT2PreTrainedModel):
    base_class = GPT2Model


# Inputs shaped like input_ids ([batch, choices, seq]) that go to the base model flattened.
_PER_CHOICE = ("attention_mask", "token_type_ids", "position_ids")


class GPT2DoubleHeadsModel(GPT2PreTrainedModel, GenerationMixin):
    """LM logits for every choice and one multiple-choice score per choice; inputs [batch, choices, seq] (or
    [batch, seq], as generate() feeds it). Like transformers, it sets config.num_labels to 1."""

    _tied_weights_keys = ["lm_head.weight"]
    generation_position_ids = True

    def __init__(self, config: GPT2Config):
        config.num_labels = 1
        super().__init__(config)
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.multiple_choice_head = SequenceSummary(config.n_embd, summary_options(config))

    def get_output_embeddings(self):
        return self.lm_head

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def forward(self, input_ids=None, mc_token_ids=None, labels=None, mc_labels=None, return_dict=None, **kwargs):
        embeds = kwargs.pop("inputs_embeds", None)
        shape = input_ids.shape if input_ids is not None else embeds.shape[:-1]
        flat = {k: (v.reshape(-1, shape[-1]) if k in _PER_CHOICE and isinstance(v, torch.Tensor) else v)
                for k, v in kwargs.items()}  # fmt: skip
        if embeds is not None:
            flat["inputs_embeds"] = embeds.reshape(-1, *embeds.shape[-2:])
        ids = input_ids.reshape(-1, shape[-1]) if input_ids is not None else None
        encoded = self.transformer(ids, return_dict=True, **flat)
        hidden = encoded.last_hidden_state.view(*shape, -1)
        logits = self.lm_head(hidden)
        mc_logits = self.multiple_choice_head(hidden, mc_token_ids).squeeze(-1)
        states = encoded.hidden_states
        if states is not None:  # as transformers returns them: the last one in the inputs' shape
            states = states[:-1] + (hidden,)
        loss = causal_lm_loss(logits.reshape(-1, *logits.shape[-2:]), labels.reshape(-1, shape[-1])) \
            if labels is not None else None  # fmt: skip
        mc_loss = token_loss(mc_logits, mc_labels) if mc_labels is not None else None
        result = out.GPT2DoubleHeadsModelOutput(loss=loss, mc_loss=mc_loss, logits=logits, mc_logits=mc_logits,
                                                past_key_values=encoded.past_key_values, hidden_states=states,
                                                attentions=encoded.attentions)  # fmt: skip
        return self._finish(result, return_dict)
