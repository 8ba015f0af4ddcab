from __future__ import annotations

from ..configuration import PretrainedConfig
from ..encoder import EncoderOptions
from ..heads import HeadSpec


class BertConfig(PretrainedConfig):
    model_type = "bert"

    def __init__(
        self,
        vocab_size=30522,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=512,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        position_embedding_type="absolute",
        use_cache=True,
        classifier_dropout=None,
        **kwargs,
    ):
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self.vocab_size = vocab_size
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
        self.position_embedding_type = position_embedding_type
        self.use_cache = use_cache
        self.classifier_dropout = classifier_dropout
        check_heads(self)

    def encoder_options(self) -> EncoderOptions:
        """What the encoder blocks of every framework read from this config."""
        return EncoderOptions(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act, layer_norm_eps=self.layer_norm_eps, hidden_dropout=self.hidden_dropout_prob,
            attention_dropout=self.attention_probs_dropout_prob, max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range, pad_token_id=self.pad_token_id,
            type_vocab_size=self.type_vocab_size, position_embedding_type=self.position_embedding_type,
            causal=bool(self.is_decoder), cross_attention=bool(self.add_cross_attention),
            use_cache=bool(self.use_cache), owner=type(self).__name__,
        )


def check_heads(config) -> None:
    """Refuse a hidden size that the attention heads cannot split evenly."""
    if config.hidden_size % config.num_attention_heads != 0:
        raise ValueError(
            f"{type(config).__name__}: hidden_size ({config.hidden_size}) is not a multiple of "
            f"num_attention_heads ({config.num_attention_heads})."
        )


CONFIG_CLASS = BertConfig
ARCHITECTURES = {
    "MODEL": "BertModel",
    "MODEL_FOR_PRETRAINING": "BertForPreTraining",
    "MODEL_FOR_MASKED_LM": "BertForMaskedLM",
    "MODEL_FOR_CAUSAL_LM": "BertLMHeadModel",
    "MODEL_FOR_NEXT_SENTENCE_PREDICTION": "BertForNextSentencePrediction",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "BertForSequenceClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "BertForMultipleChoice",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "BertForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "BertForQuestionAnswering",
    "MODEL_FOR_TEXT_ENCODING": "BertModel",
}
BACKENDS = ("torch", "tf", "flax")

_NO_POOLER = {"add_pooling_layer": False}
HEADS = {
    "BertForPreTraining": HeadSpec(attr="cls", dropout=()),
    "BertForMaskedLM": HeadSpec(pooling="none", attr="cls", dropout=(), base_kwargs=_NO_POOLER),
    "BertLMHeadModel": HeadSpec(pooling="none", attr="cls", dropout=(), base_kwargs=_NO_POOLER),
    "BertForNextSentencePrediction": HeadSpec(attr="cls", dropout=()),
    "BertForSequenceClassification": HeadSpec(),
    "BertForMultipleChoice": HeadSpec(),
    "BertForTokenClassification": HeadSpec(pooling="none", base_kwargs=_NO_POOLER),
    "BertForQuestionAnswering": HeadSpec(pooling="none", attr="qa_outputs", dropout=(), base_kwargs=_NO_POOLER),
}
