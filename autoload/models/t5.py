from ..configuration import PretrainedConfig
from ..heads import HeadSpec
from ..seq2seq import ACTIVATIONS, refuse_tied_encoder_decoder


class T5Config(PretrainedConfig):
    model_type = "t5"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"hidden_size": "d_model", "num_attention_heads": "num_heads", "num_hidden_layers": "num_layers",
                     "head_dim": "d_kv"}  # fmt: skip

    def __init__(self, vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_decoder_layers=None,
                 num_heads=8, relative_attention_num_buckets=32, relative_attention_max_distance=128,
                 dropout_rate=0.1, layer_norm_epsilon=1e-6, initializer_factor=1.0, feed_forward_proj="relu",
                 is_encoder_decoder=True, use_cache=True, pad_token_id=0, eos_token_id=1, classifier_dropout=0.0,
                 **kwargs):  # fmt: skip
        kwargs.pop("dense_act_fn", None)
        kwargs.pop("is_gated_act", None)
        kwargs.setdefault("decoder_start_token_id", pad_token_id)
        super().__init__(pad_token_id=pad_token_id, eos_token_id=eos_token_id, is_encoder_decoder=is_encoder_decoder,
                         **kwargs)  # fmt: skip
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.d_kv = d_kv
        self.d_ff = d_ff
        self.num_layers = num_layers
        self.num_decoder_layers = num_decoder_layers if num_decoder_layers is not None else num_layers
        self.num_heads = num_heads
        self.relative_attention_num_buckets = relative_attention_num_buckets
        self.relative_attention_max_distance = relative_attention_max_distance
        self.dropout_rate = dropout_rate
        self.classifier_dropout = classifier_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_factor = initializer_factor
        self.feed_forward_proj = feed_forward_proj
        self.use_cache = use_cache
        parts = feed_forward_proj.split("-")
        if len(parts) > 2 or (len(parts) == 2 and parts[0] != "gated"):
            raise ValueError(
                f"feed_forward_proj {feed_forward_proj!r} is not valid: use an activation name ('relu', 'gelu') "
                "or 'gated-' followed by one ('gated-gelu')."
            )
        self.is_gated_act = parts[0] == "gated"
        self.dense_act_fn = "gelu_new" if feed_forward_proj == "gated-gelu" else parts[-1]
        if self.dense_act_fn not in ACTIVATIONS:
            raise ValueError(
                f"{type(self).__name__}: feed_forward_proj {feed_forward_proj!r} names the activation "
                f"{self.dense_act_fn!r}, which is not supported; use one of {', '.join(ACTIVATIONS)}."
            )
        refuse_tied_encoder_decoder(self)


CONFIG_CLASS = T5Config
ARCHITECTURES = {
    "MODEL": "T5Model",
    "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM": "T5ForConditionalGeneration",
    "MODEL_FOR_PRETRAINING": "T5ForConditionalGeneration",
    "MODEL_FOR_TEXT_ENCODING": "T5EncoderModel",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "T5ForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "T5ForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "T5ForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
# T5's sequence classifier reads the decoder state at each row's last end-of-sequence token (the decoder is fed
# input_ids shifted right); its token classifier runs on the encoder alone.
HEADS = {
    "T5ForSequenceClassification": HeadSpec(pooling="eos", attr="classification_head", projection="tanh",
                                            dropout=("classifier_dropout",)),
    "T5ForTokenClassification": HeadSpec(pooling="none", dropout=("classifier_dropout",)),
}
