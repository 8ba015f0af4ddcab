"""XLM-RoBERTa: RoBERTa's architecture and heads under its own model type and class names."""

from __future__ import annotations

from .roberta import HEADS as ROBERTA_HEADS
from .roberta import RobertaConfig


class XLMRobertaConfig(RobertaConfig):
    model_type = "xlm-roberta"


CONFIG_CLASS = XLMRobertaConfig
ARCHITECTURES = {
    "MODEL": "XLMRobertaModel",
    "MODEL_FOR_PRETRAINING": "XLMRobertaForMaskedLM",
    "MODEL_FOR_CAUSAL_LM": "XLMRobertaForCausalLM",
    "MODEL_FOR_MASKED_LM": "XLMRobertaForMaskedLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "XLMRobertaForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "XLMRobertaForQuestionAnswering",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "XLMRobertaForTokenClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "XLMRobertaForMultipleChoice",
    "MODEL_FOR_TEXT_ENCODING": "XLMRobertaModel",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {name.replace("Roberta", "XLMRoberta"): spec for name, spec in ROBERTA_HEADS.items()}
