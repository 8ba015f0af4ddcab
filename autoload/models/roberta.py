from __future__ import annotations

import dataclasses

from ..encoder import EncoderOptions
from ..heads import HeadSpec
from .bert import BertConfig


class RobertaConfig(BertConfig):
    model_type = "roberta"

    def __init__(self, pad_token_id=1, bos_token_id=0, eos_token_id=2, **kwargs):
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)

    def encoder_options(self) -> EncoderOptions:
        """BERT's, with positions counted from pad_token_id + 1 (so max_position_embeddings - pad - 1 usable)."""
        return dataclasses.replace(super().encoder_options(), position_padding_idx=self.pad_token_id)


CONFIG_CLASS = RobertaConfig
ARCHITECTURES = {
    "MODEL": "RobertaModel",
    "MODEL_FOR_MASKED_LM": "RobertaForMaskedLM",
    "MODEL_FOR_PRETRAINING": "RobertaForMaskedLM",
    "MODEL_FOR_CAUSAL_LM": "RobertaForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "RobertaForSequenceClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "RobertaForMultipleChoice",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "RobertaForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "RobertaForQuestionAnswering",
    "MODEL_FOR_TEXT_ENCODING": "RobertaModel",
}
BACKENDS = ("torch", "tf", "flax")

_NO_POOLER = {"add_pooling_layer": False}
HEADS = {
    "RobertaForMaskedLM": HeadSpec(pooling="none", attr="lm_head", dropout=(), base_kwargs=_NO_POOLER),
    "RobertaForCausalLM": HeadSpec(pooling="none", attr="lm_head", dropout=(), base_kwargs=_NO_POOLER),
    "RobertaForSequenceClassification": HeadSpec(pooling="first", projection="tanh", base_kwargs=_NO_POOLER),
    "RobertaForMultipleChoice": HeadSpec(),
    "RobertaForTokenClassification": HeadSpec(pooling="none", base_kwargs=_NO_POOLER),
    "RobertaForQuestionAnswering": HeadSpec(pooling="none", attr="qa_outputs", dropout=(), base_kwargs=_NO_POOLER),
}
