"""GPT-2 in TensorFlow (Keras 3) on the GPT-style blocks (blocks/gpt.py), named as transformers' TF GPT-2
(Conv1D `weight` [in, out] and `bias` [1, out], `wte/embeddings`); the double-heads model is GPT-2's own."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.models.gpt2 import GPT2Config
from autoload.sequence_summary import summary_options

from ..blocks.encoder import TFSequenceSummary
from ..blocks.gpt import TFGptForCausalLM, TFGptMainLayer, TFGptPreTrainedModel, TFTiedLMHead
from ..generation import TFGenerationMixin
from ..heads import TFBaseModel, TFQuestionAnsweringModel, TFSequenceClassificationModel, TFTokenClassificationModel
from ..losses import token_loss
from ..modeling import dense


class TFGPT2MainLayer(TFGptMainLayer):
    output_class = out.BaseModelOutputWithPastAndCrossAttentions


class TFGPT2PreTrainedModel(TFGptPreTrainedModel):
    config_class = GPT2Config
    base_model_prefix = "transformer"
    main_layer_class = TFGPT2MainLayer
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attn\.(masked_)?bias$", r"crossattention\.(masked_)?bias$"]


class TFGPT2Model(TFBaseModel, TFGPT2PreTrainedModel):
    pass


class TFGPT2LMHeadModel(TFGptForCausalLM, TFGPT2PreTrainedModel):
    output_class = out.CausalLMOutputWithCrossAttentions


class TFGPT2ForSequenceClassification(TFSequenceClassificationModel, TFGPT2PreTrainedModel):
    output_class = out.SequenceClassifierOutputWithPast


class TFGPT2ForTokenClassification(TFTokenClassificationModel, TFGPT2PreTrainedModel):
    pass


class TFGPT2ForQuestionAnswering(TFQuestionAnsweringModel, TFGPT2PreTrainedModel):
    pass


_PER_CHOICE = ("attention_mask", "token_type_ids", "position_ids")


class TFGPT2DoubleHeadsModel(TFGenerationMixin, TFGPT2PreTrainedModel):
    """LM logits for every choice and one multiple-choice score per choice; inputs [batch, choices, seq] (or
    [batch, seq], as generate() feeds it). Like transformers, it sets config.num_labels to 1."""

    _tied_weights_keys = ["lm_head.weight"]
    generation_position_ids = True

    def __init__(self, config, *args, **kwargs):
        config.num_labels = 1
        super().__init__(config, *args, **kwargs)
        if config.tie_word_embeddings:
            self.lm_head_layer = TFTiedLMHead(self.main_layer.parts.embed, name="lm_head")
        else:
            self.lm_head_layer = dense(config, config.vocab_size, "lm_head", use_bias=False)
        self.multiple_choice_head = TFSequenceSummary(config, summary_options(config), self.main_layer.output_width,
                                                      name="multiple_choice_head")  # fmt: skip

    def input_sizes(self):
        return {**super().input_sizes(), self.lm_head_layer: self.main_layer.output_width,
                self.multiple_choice_head: None}  # fmt: skip

    def dummy_inputs(self) -> dict:
        return {"input_ids": np.zeros((1, 2, 2), dtype=np.int32)}

    def restarts_cache(self, before: int, after: int) -> bool:
        return False

    def call(self, input_ids=None, mc_token_ids=None, labels=None, mc_labels=None, training=False, return_dict=True,
             **kwargs):  # fmt: skip
        embeds = kwargs.pop("inputs_embeds", None)
        reference = input_ids if input_ids is not None else embeds[..., 0]
        shape, length = tf.shape(reference), reference.shape[-1]
        flat = {k: (tf.reshape(v, (-1, tf.shape(v)[-1])) if k in _PER_CHOICE and v is not None else v)
                for k, v in kwargs.items()}  # fmt: skip
        if embeds is not None:
            flat["inputs_embeds"] = tf.reshape(embeds, (-1, length, embeds.shape[-1]))
        ids = tf.reshape(input_ids, (-1, length)) if input_ids is not None else None
        encoded = self.encode(ids, training, **flat)
        hidden = tf.reshape(encoded.last_hidden_state, tf.concat([shape, [-1]], axis=0))
        logits = self.lm_head_layer(hidden)
        mc_logits = self.multiple_choice_head(hidden, cls_index=mc_token_ids, training=training)
        if mc_logits.shape[-1] == 1:  # a summary without a projection to one label keeps its width (as in torch)
            mc_logits = tf.squeeze(mc_logits, -1)
        states = encoded.hidden_states
        if states is not None:  # as transformers returns them: the last one in the inputs' shape
            states = states[:-1] + (hidden,)
        loss = token_loss(logits[..., :-1, :], labels[..., 1:]) if labels is not None else None
        mc_loss = token_loss(mc_logits, mc_labels) if mc_labels is not None else None
        result = out.GPT2DoubleHeadsModelOutput(loss=loss, mc_loss=mc_loss, logits=logits, mc_logits=mc_logits,
                                                past_key_values=encoded.past_key_values, hidden_states=states,
                                                attentions=encoded.attentions)  # fmt: skip
        return out.finish(result, return_dict)
