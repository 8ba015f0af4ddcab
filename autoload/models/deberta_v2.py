"""DeBERTa-v2 (and v3, which uses this model type): post-norm layers with disentangled relative attention
(content-to-position and position-to-content scores over log-bucketed distances), optional factorised and
position-free embeddings, an optional convolution after the first layer, and a context pooler in the heads."""

from __future__ import annotations

from dataclasses import dataclass

from ..configuration import PretrainedConfig
from ..encoder import EncoderOptions, check_activation
from ..heads import HeadSpec
from .bert import check_heads

POS_ATT_TYPES = ("c2p", "p2c")


@dataclass(frozen=True)
class DisentangledOptions:
    """What the disentangled attention and the encoder read beyond EncoderOptions.

    relative: relative attention on (relative_attention). pos_att_type: "c2p" and/or "p2c" scores.
    share_att_key: position projections reuse the content query/key projections. position_buckets: log buckets
    (0: exact distances). max_relative_positions: the distance range. span: rows of the position table used on
    each side (position_buckets, else max_relative_positions). norm_rel_ebd: LayerNorm on the position table.
    conv_kernel_size/conv_groups/conv_act: the convolution after the first layer (kernel 0: none)."""

    relative: bool
    pos_att_type: tuple[str, ...]
    share_att_key: bool
    position_buckets: int
    max_relative_positions: int
    span: int
    norm_rel_ebd: bool
    conv_kernel_size: int
    conv_groups: int
    conv_act: str

    @property
    def scale_factor(self) -> int:
        return 1 + len(self.pos_att_type)


class DebertaV2Config(PretrainedConfig):
    model_type = "deberta-v2"

    def __init__(self, vocab_size=128100, hidden_size=1536, num_hidden_layers=24, num_attention_heads=24,
                 intermediate_size=6144, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 max_position_embeddings=512, type_vocab_size=0, initializer_range=0.02, layer_norm_eps=1e-7,
                 relative_attention=False, max_relative_positions=-1, pad_token_id=0, position_biased_input=True,
                 pos_att_type=None, pooler_dropout=0, pooler_hidden_act="gelu", legacy=True, **kwargs):  # fmt: skip
        pooler_hidden_size = kwargs.pop("pooler_hidden_size", hidden_size)
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.relative_attention = relative_attention
        self.max_relative_positions = max_relative_positions
        self.pad_token_id = pad_token_id
        self.position_biased_input = position_biased_input
        if isinstance(pos_att_type, str):  # older configs: "p2c|c2p"
            pos_att_type = [x.strip() for x in pos_att_type.lower().split("|")]
        self.pos_att_type = pos_att_type
        self.vocab_size = vocab_size
        self.layer_norm_eps = layer_norm_eps
        self.pooler_hidden_size = pooler_hidden_size
        self.pooler_dropout = pooler_dropout
        self.pooler_hidden_act = pooler_hidden_act
        self.legacy = legacy
        check_heads(self)

    @property
    def embedding_width(self) -> int:
        return getattr(self, "embedding_size", None) or self.hidden_size

    def encoder_options(self) -> EncoderOptions:
        """The sizes the shared blocks read (DeBERTa's positions and attention are its own: disentangled())."""
        owner = type(self).__name__
        head_size = getattr(self, "attention_head_size", None)
        if head_size is not None and head_size * self.num_attention_heads != self.hidden_size:
            raise ValueError(f"{owner}.attention_head_size={head_size}: the heads must fill hidden_size "
                             f"({self.hidden_size}) for the output projection; transformers fails on this too.")  # fmt: skip
        if self.pooler_hidden_size != self.hidden_size:
            raise ValueError(f"{owner}.pooler_hidden_size ({self.pooler_hidden_size}) must equal hidden_size "
                             f"({self.hidden_size}): the context pooler reads the first token's hidden state.")  # fmt: skip
        check_activation(self.pooler_hidden_act, "pooler_hidden_act", owner)
        return EncoderOptions(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act, layer_norm_eps=self.layer_norm_eps, hidden_dropout=self.hidden_dropout_prob,
            attention_dropout=self.attention_probs_dropout_prob, max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range, embedding_size=self.embedding_width,
            pad_token_id=getattr(self, "pad_token_id", 0), type_vocab_size=self.type_vocab_size, owner=owner,
        )

    def disentangled(self) -> DisentangledOptions:
        owner = type(self).__name__
        pos_att_type = tuple(self.pos_att_type or ())
        unknown = [t for t in pos_att_type if t not in POS_ATT_TYPES]
        if unknown:
            raise ValueError(f"{owner}.pos_att_type has {unknown}; supported: {', '.join(POS_ATT_TYPES)}.")
        relative = bool(getattr(self, "relative_attention", False))
        buckets = getattr(self, "position_buckets", -1)
        max_relative = getattr(self, "max_relative_positions", -1)
        if max_relative < 1:
            max_relative = self.max_position_embeddings
        span = buckets if buckets > 0 else max_relative
        norm = [x.strip() for x in getattr(self, "norm_rel_ebd", "none").lower().split("|")]
        conv_kernel = getattr(self, "conv_kernel_size", 0)
        conv_act = getattr(self, "conv_act", "tanh")
        if conv_kernel > 0:
            check_activation(conv_act, "conv_act", owner)
            if conv_kernel % 2 == 0:
                raise ValueError(f"{owner}.conv_kernel_size={conv_kernel}: an even kernel changes the sequence length "
                                 "(padding (k-1)//2 on each side), which transformers cannot run either.")  # fmt: skip
        return DisentangledOptions(
            relative=relative, pos_att_type=pos_att_type, share_att_key=bool(getattr(self, "share_att_key", False)),
            position_buckets=buckets, max_relative_positions=max_relative, span=span,
            norm_rel_ebd="layer_norm" in norm, conv_kernel_size=conv_kernel, conv_groups=getattr(self, "conv_groups", 1),
            conv_act=conv_act,
        )


CONFIG_CLASS = DebertaV2Config
ARCHITECTURES = {
    "MODEL": "DebertaV2Model",
    "MODEL_FOR_PRETRAINING": "DebertaV2ForMaskedLM",
    "MODEL_FOR_MASKED_LM": "DebertaV2ForMaskedLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "DebertaV2ForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "DebertaV2ForQuestionAnswering",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "DebertaV2ForTokenClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "DebertaV2ForMultipleChoice",
    "MODEL_FOR_TEXT_ENCODING": "DebertaV2Model",
}
BACKENDS = ("torch", "tf", "flax")

# The context pooler (pooler.dense; the architecture's `pool`), then dropout with cls_dropout, else hidden's.
_POOLED = HeadSpec(pooling="first", dropout=("cls_dropout", "hidden_dropout_prob"))
HEADS = {
    "DebertaV2ForMaskedLM": HeadSpec(pooling="none", attr="cls", dropout=()),
    "DebertaV2ForSequenceClassification": _POOLED,
    "DebertaV2ForMultipleChoice": _POOLED,
    "DebertaV2ForTokenClassification": HeadSpec(pooling="none", dropout=("hidden_dropout_prob",)),
    "DebertaV2ForQuestionAnswering": HeadSpec(pooling="none", attr="qa_outputs", dropout=()),
}
