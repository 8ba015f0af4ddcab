"""ModernBERT: pre-norm layers with a fused Wqkv projection, rotary positions (one base for the global layers,
another for the sliding-window local ones), a gated MLP, biases and norm biases switched by the config, and
heads that pass the pooled states through a prediction head first. transformers' flash-attention path runs on
unpadded tokens; the padded path here gives the same outputs at the real tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..configuration import PretrainedConfig
from ..encoder import check_activation
from ..heads import HeadSpec
from ..rope import check_rope_scaling

POOLINGS = ("cls", "mean")


@dataclass(frozen=True)
class RopeSettings:
    """What autoload.rope reads, for one kind of layer (the global or the local rope base)."""

    rope_theta: float
    max_position_embeddings: int
    hidden_size: int
    num_attention_heads: int
    rope_scaling: dict | None = field(default=None, hash=False, compare=False)


class ModernBertConfig(PretrainedConfig):
    model_type = "modernbert"

    def __init__(self, vocab_size=50368, hidden_size=768, intermediate_size=1152, num_hidden_layers=22,
                 num_attention_heads=12, hidden_activation="gelu", max_position_embeddings=8192,
                 initializer_range=0.02, initializer_cutoff_factor=2.0, norm_eps=1e-5, norm_bias=False,
                 pad_token_id=50283, eos_token_id=50282, bos_token_id=50281, cls_token_id=50281, sep_token_id=50282,
                 global_rope_theta=160000.0, attention_bias=False, attention_dropout=0.0, global_attn_every_n_layers=3,
                 local_attention=128, local_rope_theta=10000.0, embedding_dropout=0.0, mlp_bias=False, mlp_dropout=0.0,
                 decoder_bias=True, classifier_pooling="cls", classifier_dropout=0.0, classifier_bias=False,
                 classifier_activation="gelu", deterministic_flash_attn=False, sparse_prediction=False,
                 sparse_pred_ignore_index=-100, reference_compile=None, repad_logits_with_grad=False,
                 **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         cls_token_id=cls_token_id, sep_token_id=sep_token_id, **kwargs)  # fmt: skip
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.initializer_range = initializer_range
        self.initializer_cutoff_factor = initializer_cutoff_factor
        self.norm_eps = norm_eps
        self.norm_bias = norm_bias
        self.global_rope_theta = global_rope_theta
        self.attention_bias = attention_bias
        self.attention_dropout = attention_dropout
        self.hidden_activation = hidden_activation
        self.global_attn_every_n_layers = global_attn_every_n_layers
        self.local_attention = local_attention
        self.local_rope_theta = local_rope_theta
        self.embedding_dropout = embedding_dropout
        self.mlp_bias = mlp_bias
        self.mlp_dropout = mlp_dropout
        self.decoder_bias = decoder_bias
        self.classifier_pooling = classifier_pooling
        self.classifier_dropout = classifier_dropout
        self.classifier_bias = classifier_bias
        self.classifier_activation = classifier_activation
        self.deterministic_flash_attn = deterministic_flash_attn
        self.sparse_prediction = sparse_prediction
        self.sparse_pred_ignore_index = sparse_pred_ignore_index
        self.reference_compile = reference_compile
        self.repad_logits_with_grad = repad_logits_with_grad
        if self.classifier_pooling not in POOLINGS:
            raise ValueError(f"ModernBertConfig.classifier_pooling={self.classifier_pooling!r}; use one of {POOLINGS}.")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"ModernBertConfig: hidden_size ({self.hidden_size}) is not a multiple of "
                             f"num_attention_heads ({self.num_attention_heads}).")  # fmt: skip

    def to_dict(self):
        data = super().to_dict()
        data.pop("reference_compile", None)  # as transformers writes it: a runtime switch, not a model field
        return data

    # -- what the three backends read --------------------------------------------------------------------
    def check_supported(self) -> None:
        owner = type(self).__name__
        check_activation(self.hidden_activation, "hidden_activation", owner)
        check_activation(self.classifier_activation, "classifier_activation", owner)
        check_rope_scaling(self)
        if self.global_attn_every_n_layers < 1:
            raise ValueError(f"{owner}.global_attn_every_n_layers must be >= 1, got {self.global_attn_every_n_layers}.")

    def is_global_layer(self, index: int) -> bool:
        return index % self.global_attn_every_n_layers == 0

    def window(self, index: int) -> int | None:
        """How far a local layer's queries see on each side (local_attention // 2); None for global layers."""
        return None if self.is_global_layer(index) else self.local_attention // 2

    def rope_settings(self, index: int) -> RopeSettings:
        local = not self.is_global_layer(index)
        theta = self.local_rope_theta if local and self.local_rope_theta is not None else self.global_rope_theta
        return RopeSettings(theta, self.max_position_embeddings, self.hidden_size, self.num_attention_heads,
                            getattr(self, "rope_scaling", None))  # fmt: skip


CONFIG_CLASS = ModernBertConfig
ARCHITECTURES = {
    "MODEL": "ModernBertModel",
    "MODEL_FOR_MASKED_LM": "ModernBertForMaskedLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "ModernBertForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "ModernBertForQuestionAnswering",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "ModernBertForTokenClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "ModernBertForMultipleChoice",
}
BACKENDS = ("torch", "tf", "flax")

# Every head: pooled or per-token states -> `head` (dense, classifier_activation, norm) -> dropout -> classifier.
# Sequence-level heads pool as classifier_pooling says (the architecture's `pool`).
_HEAD = HeadSpec(pooling="none", dropout=("classifier_dropout",))
_POOLED = HeadSpec(pooling="first", dropout=("classifier_dropout",))
HEADS = {
    "ModernBertForMaskedLM": HeadSpec(pooling="none", attr="decoder", dropout=()),
    "ModernBertForSequenceClassification": _POOLED,
    "ModernBertForMultipleChoice": _POOLED,
    "ModernBertForTokenClassification": _HEAD,
    "ModernBertForQuestionAnswering": _HEAD,
}
