from __future__ import annotations

from ..configuration import PretrainedConfig
from ..encoder import EncoderOptions, check_activation
from ..heads import HeadSpec


class DistilBertConfig(PretrainedConfig):
    model_type = "distilbert"
    attribute_map = {"hidden_size": "dim", "num_attention_heads": "n_heads", "num_hidden_layers": "n_layers"}

    def __init__(self, vocab_size=30522, max_position_embeddings=512, sinusoidal_pos_embds=False, n_layers=6,
                 n_heads=12, dim=768, hidden_dim=4 * 768, dropout=0.1, attention_dropout=0.1, activation="gelu",
                 initializer_range=0.02, qa_dropout=0.1, seq_classif_dropout=0.2, pad_token_id=0, **kwargs):  # fmt: skip
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.sinusoidal_pos_embds = sinusoidal_pos_embds
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.dim = dim
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation = activation
        self.initializer_range = initializer_range
        self.qa_dropout = qa_dropout
        self.seq_classif_dropout = seq_classif_dropout
        # Last, so that aliases in kwargs (hidden_size=, num_attention_heads=, ...) override the named defaults.
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        if self.dim % self.n_heads:
            raise ValueError(f"DistilBertConfig: dim ({self.dim}) is not a multiple of n_heads ({self.n_heads}).")

    def encoder_options(self) -> EncoderOptions:
        """What the encoder blocks read: no token types, LayerNorm eps 1e-12, never causal (DistilBERT ignores
        is_decoder), the sinusoidal table as the position table's initial value when sinusoidal_pos_embds."""
        return EncoderOptions(
            vocab_size=self.vocab_size, hidden_size=self.dim, num_hidden_layers=self.n_layers,
            num_attention_heads=self.n_heads, intermediate_size=self.hidden_dim,
            hidden_act=check_activation(self.activation, "activation", type(self).__name__), layer_norm_eps=1e-12,
            hidden_dropout=self.dropout, attention_dropout=self.attention_dropout,
            max_position_embeddings=self.max_position_embeddings, initializer_range=self.initializer_range,
            pad_token_id=self.pad_token_id, sinusoidal_positions=bool(self.sinusoidal_pos_embds),
            owner=type(self).__name__,
        )


CONFIG_CLASS = DistilBertConfig
ARCHITECTURES = {
    "MODEL": "DistilBertModel",
    "MODEL_FOR_MASKED_LM": "DistilBertForMaskedLM",
    "MODEL_FOR_PRETRAINING": "DistilBertForMaskedLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "DistilBertForSequenceClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "DistilBertForMultipleChoice",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "DistilBertForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "DistilBertForQuestionAnswering",
    "MODEL_FOR_TEXT_ENCODING": "DistilBertModel",
}
BACKENDS = ("torch", "tf", "flax")

# Sequence classification and multiple choice pool the first token through pre_classifier + ReLU (the
# architecture's own `pool`), then drop out with seq_classif_dropout.
_CLASSIFY = HeadSpec(pooling="first", dropout=("seq_classif_dropout",))
HEADS = {
    "DistilBertForMaskedLM": HeadSpec(pooling="none", attr="vocab_projector", dropout=()),
    "DistilBertForSequenceClassification": _CLASSIFY,
    "DistilBertForMultipleChoice": _CLASSIFY,
    "DistilBertForTokenClassification": HeadSpec(pooling="none", dropout=("dropout",)),
    "DistilBertForQuestionAnswering": HeadSpec(pooling="none", attr="qa_outputs", dropout=("qa_dropout",)),
}
