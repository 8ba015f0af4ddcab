"""MPNet: BERT-like post-norm layers named attention.attn.{q,k,v,o}, positions counted after padding index 1,
no token types, and a relative position bias (T5-style buckets) shared by every layer."""

from __future__ import annotations

from ..configuration import PretrainedConfig
from ..encoder import EncoderOptions
from ..heads import HeadSpec
from .bert import check_heads

# transformers' MPNet always buckets relative positions into 32 (max distance 128), whatever
# relative_attention_num_buckets says; the table needs at least that many rows.
MPNET_BUCKETS = 32
MPNET_MAX_DISTANCE = 128
MPNET_PADDING_IDX = 1  # fixed in transformers' MPNet embeddings, not read from pad_token_id


class MPNetConfig(PretrainedConfig):
    model_type = "mpnet"

    def __init__(self, vocab_size=30527, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 max_position_embeddings=512, initializer_range=0.02, layer_norm_eps=1e-12,
                 relative_attention_num_buckets=32, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                 **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.hidden_act = hidden_act
        self.intermediate_size = intermediate_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.relative_attention_num_buckets = relative_attention_num_buckets
        check_heads(self)

    def encoder_options(self) -> EncoderOptions:
        """Causal when is_decoder (MPNet's mask reads it, as every PreTrainedModel's extended mask does)."""
        if self.relative_attention_num_buckets < MPNET_BUCKETS:
            raise ValueError(
                f"MPNetConfig.relative_attention_num_buckets={self.relative_attention_num_buckets}: MPNet buckets "
                f"relative positions into {MPNET_BUCKETS} whatever this says, so its table needs at least "
                f"{MPNET_BUCKETS} rows (transformers fails on fewer too)."
            )
        return EncoderOptions(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act, layer_norm_eps=self.layer_norm_eps, hidden_dropout=self.hidden_dropout_prob,
            attention_dropout=self.attention_probs_dropout_prob, max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range, pad_token_id=MPNET_PADDING_IDX,
            position_padding_idx=MPNET_PADDING_IDX, causal=bool(self.is_decoder), owner=type(self).__name__,
        )


CONFIG_CLASS = MPNetConfig
ARCHITECTURES = {
    "MODEL": "MPNetModel",
    "MODEL_FOR_PRETRAINING": "MPNetForMaskedLM",
    "MODEL_FOR_MASKED_LM": "MPNetForMaskedLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "MPNetForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "MPNetForQuestionAnswering",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "MPNetForTokenClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "MPNetForMultipleChoice",
}
BACKENDS = ("torch", "tf", "flax")

_NO_POOLER = {"add_pooling_layer": False}
_HIDDEN_DROPOUT = ("hidden_dropout_prob",)
HEADS = {
    "MPNetForMaskedLM": HeadSpec(pooling="none", attr="lm_head", dropout=(), base_kwargs=_NO_POOLER),
    # dropout -> dense -> tanh -> dropout -> out_proj on the first token, with hidden_dropout_prob
    "MPNetForSequenceClassification": HeadSpec(pooling="first", projection="tanh", dropout=_HIDDEN_DROPOUT,
                                               base_kwargs=_NO_POOLER),
    "MPNetForMultipleChoice": HeadSpec(dropout=_HIDDEN_DROPOUT),
    "MPNetForTokenClassification": HeadSpec(pooling="none", dropout=_HIDDEN_DROPOUT, base_kwargs=_NO_POOLER),
    "MPNetForQuestionAnswering": HeadSpec(pooling="none", attr="qa_outputs", dropout=(), base_kwargs=_NO_POOLER),
}
