"""ELECTRA: BERT's encoder with embeddings of their own width (embedding_size, projected to hidden_size when it
differs), a discriminator pre-training head, and the generator's LM head."""

from __future__ import annotations

from ..configuration import PretrainedConfig
from ..encoder import EncoderOptions
from ..heads import HeadSpec
from ..sequence_summary import SummaryOptions, summary_options
from .bert import check_heads


class ElectraConfig(PretrainedConfig):
    model_type = "electra"

    def __init__(self, vocab_size=30522, embedding_size=128, hidden_size=256, num_hidden_layers=12,
                 num_attention_heads=4, intermediate_size=1024, hidden_act="gelu", hidden_dropout_prob=0.1,
                 attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=2,
                 initializer_range=0.02, layer_norm_eps=1e-12, summary_type="first", summary_use_proj=True,
                 summary_activation="gelu", summary_last_dropout=0.1, pad_token_id=0,
                 position_embedding_type="absolute", use_cache=True, classifier_dropout=None, **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
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
        self.layer_norm_eps = layer_norm_eps
        self.summary_type = summary_type
        self.summary_use_proj = summary_use_proj
        self.summary_activation = summary_activation
        self.summary_last_dropout = summary_last_dropout
        self.position_embedding_type = position_embedding_type
        self.use_cache = use_cache
        self.classifier_dropout = classifier_dropout
        check_heads(self)

    @property
    def projects_embeddings(self) -> bool:
        """The model maps its embeddings to hidden_size with `embeddings_project` (the generators' case)."""
        return self.embedding_size != self.hidden_size

    def encoder_options(self) -> EncoderOptions:
        return EncoderOptions(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act, layer_norm_eps=self.layer_norm_eps, hidden_dropout=self.hidden_dropout_prob,
            attention_dropout=self.attention_probs_dropout_prob, max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range, embedding_size=self.embedding_size,
            pad_token_id=self.pad_token_id, type_vocab_size=self.type_vocab_size,
            position_embedding_type=self.position_embedding_type, causal=bool(self.is_decoder),
            cross_attention=bool(self.add_cross_attention), owner=type(self).__name__,
        )  # no use_cache: unlike BERT's, ELECTRA's forward takes use_cache from the call only, never from the config

    def multiple_choice_summary(self) -> SummaryOptions:
        """The sequence summary ElectraForMultipleChoice pools with; its classifier reads hidden_size features."""
        summary = summary_options(self)
        if summary.projection not in (None, self.hidden_size):
            raise ValueError(
                f"ElectraConfig: summary_proj_to_labels=True projects the summary to num_labels ({self.num_labels}) "
                f"features, but the multiple-choice classifier reads hidden_size ({self.hidden_size}); transformers "
                "cannot run this config either. Set summary_proj_to_labels=False."
            )
        return summary


CONFIG_CLASS = ElectraConfig
ARCHITECTURES = {
    "MODEL": "ElectraModel",
    "MODEL_FOR_PRETRAINING": "ElectraForPreTraining",
    "MODEL_FOR_CAUSAL_LM": "ElectraForCausalLM",
    "MODEL_FOR_MASKED_LM": "ElectraForMaskedLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "ElectraForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "ElectraForQuestionAnswering",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "ElectraForTokenClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "ElectraForMultipleChoice",
    "MODEL_FOR_TEXT_ENCODING": "ElectraModel",
}
BACKENDS = ("torch", "tf", "flax")

_GENERATOR = HeadSpec(pooling="none", attr="generator_lm_head", dropout=())
HEADS = {
    "ElectraForPreTraining": HeadSpec(pooling="none", attr="discriminator_predictions", dropout=()),
    "ElectraForMaskedLM": _GENERATOR,
    "ElectraForCausalLM": _GENERATOR,
    # dropout -> dense -> gelu -> dropout -> out_proj on the first token (classifier_dropout, else hidden's)
    "ElectraForSequenceClassification": HeadSpec(pooling="first", projection="gelu"),
    # the config's sequence summary (the architecture's `pool`), then the classifier without further dropout
    "ElectraForMultipleChoice": HeadSpec(pooling="first", dropout=()),
    "ElectraForTokenClassification": HeadSpec(pooling="none"),
    "ElectraForQuestionAnswering": HeadSpec(pooling="none", attr="qa_outputs", dropout=()),
}
