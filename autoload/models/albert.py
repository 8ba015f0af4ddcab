"""ALBERT: factorised embeddings (embedding_size, mapped to hidden_size inside the encoder), layers shared in
groups (num_hidden_groups groups of inner_group_num layers, run for num_hidden_layers steps), the
sentence-order pre-training head."""

from __future__ import annotations

from ..configuration import PretrainedConfig
from ..encoder import EncoderOptions
from ..heads import HeadSpec
from .bert import check_heads


class AlbertConfig(PretrainedConfig):
    model_type = "albert"

    def __init__(self, vocab_size=30000, embedding_size=128, hidden_size=4096, num_hidden_layers=12,
                 num_hidden_groups=1, num_attention_heads=64, intermediate_size=16384, inner_group_num=1,
                 hidden_act="gelu_new", hidden_dropout_prob=0, attention_probs_dropout_prob=0,
                 max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12,
                 classifier_dropout_prob=0.1, position_embedding_type="absolute", pad_token_id=0, bos_token_id=2,
                 eos_token_id=3, **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_hidden_groups = num_hidden_groups
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.inner_group_num = inner_group_num
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.classifier_dropout_prob = classifier_dropout_prob
        self.position_embedding_type = position_embedding_type
        check_heads(self)

    def encoder_options(self) -> EncoderOptions:
        """ALBERT's layers are never causal (its mask ignores is_decoder) and have no cross-attention."""
        self.layer_groups()
        return EncoderOptions(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act, layer_norm_eps=self.layer_norm_eps, hidden_dropout=self.hidden_dropout_prob,
            attention_dropout=self.attention_probs_dropout_prob, max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range, embedding_size=self.embedding_size,
            pad_token_id=self.pad_token_id, type_vocab_size=self.type_vocab_size,
            position_embedding_type=self.position_embedding_type, owner=type(self).__name__,
        )

    def layer_groups(self) -> list[tuple[int, int]]:
        """For each of the num_hidden_layers steps: (the group that runs, the first head_mask row its inner layers
        read), as transformers computes them (layers split evenly over the groups, in order)."""
        layers, groups, inner = self.num_hidden_layers, self.num_hidden_groups, self.inner_group_num
        if groups < 1 or inner < 1:
            raise ValueError(f"AlbertConfig: num_hidden_groups ({groups}) and inner_group_num ({inner}) must be >= 1.")
        per_group = int(layers / groups)
        if inner > per_group:
            raise ValueError(
                f"AlbertConfig: inner_group_num ({inner}) exceeds the num_hidden_layers / num_hidden_groups "
                f"({layers} / {groups}) steps each group runs; transformers cannot run this config either."
            )
        steps = []
        for i in range(layers):
            group = int(i / (layers / groups))
            steps.append((group, group * per_group))
        return steps


CONFIG_CLASS = AlbertConfig
ARCHITECTURES = {
    "MODEL": "AlbertModel",
    "MODEL_FOR_PRETRAINING": "AlbertForPreTraining",
    "MODEL_FOR_MASKED_LM": "AlbertForMaskedLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "AlbertForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "AlbertForQuestionAnswering",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "AlbertForTokenClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "AlbertForMultipleChoice",
    "MODEL_FOR_TEXT_ENCODING": "AlbertModel",
}
BACKENDS = ("torch", "tf", "flax")

_NO_POOLER = {"add_pooling_layer": False}
HEADS = {
    "AlbertForPreTraining": HeadSpec(attr="predictions", dropout=()),
    "AlbertForMaskedLM": HeadSpec(pooling="none", attr="predictions", dropout=(), base_kwargs=_NO_POOLER),
    "AlbertForSequenceClassification": HeadSpec(dropout=("classifier_dropout_prob",)),
    "AlbertForMultipleChoice": HeadSpec(dropout=("classifier_dropout_prob",)),
    "AlbertForTokenClassification": HeadSpec(pooling="none", dropout=("classifier_dropout_prob", "hidden_dropout_prob"),
                                              base_kwargs=_NO_POOLER),
    "AlbertForQuestionAnswering": HeadSpec(pooling="none", attr="qa_outputs", dropout=(), base_kwargs=_NO_POOLER),
}
