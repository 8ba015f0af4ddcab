from .t5 import HEADS as T5_HEADS
from .t5 import T5Config


class MT5Config(T5Config):
    """T5's config with mT5's defaults: a 250k vocabulary, gated-gelu feed-forward, an untied LM head."""

    model_type = "mt5"

    def __init__(self, vocab_size=250112, d_model=512, d_kv=64, d_ff=1024, num_layers=8, num_decoder_layers=None,
                 num_heads=6, relative_attention_num_buckets=32, relative_attention_max_distance=128,
                 dropout_rate=0.1, layer_norm_epsilon=1e-6, initializer_factor=1.0, feed_forward_proj="gated-gelu",
                 is_encoder_decoder=True, use_cache=True, tokenizer_class="T5Tokenizer", tie_word_embeddings=False,
                 pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, classifier_dropout=0.0, **kwargs):  # fmt: skip
        super().__init__(vocab_size=vocab_size, d_model=d_model, d_kv=d_kv, d_ff=d_ff, num_layers=num_layers,
                         num_decoder_layers=num_decoder_layers, num_heads=num_heads,
                         relative_attention_num_buckets=relative_attention_num_buckets,
                         relative_attention_max_distance=relative_attention_max_distance, dropout_rate=dropout_rate,
                         layer_norm_epsilon=layer_norm_epsilon, initializer_factor=initializer_factor,
                         feed_forward_proj=feed_forward_proj, is_encoder_decoder=is_encoder_decoder,
                         use_cache=use_cache, tokenizer_class=tokenizer_class, tie_word_embeddings=tie_word_embeddings,
                         pad_token_id=pad_token_id, eos_token_id=eos_token_id,
                         decoder_start_token_id=decoder_start_token_id, classifier_dropout=classifier_dropout,
                         **kwargs)  # fmt: skip


CONFIG_CLASS = MT5Config
ARCHITECTURES = {
    "MODEL": "MT5Model",
    "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM": "MT5ForConditionalGeneration",
    "MODEL_FOR_TEXT_ENCODING": "MT5EncoderModel",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "MT5ForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "MT5ForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "MT5ForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {"MT5" + name.removeprefix("T5"): spec for name, spec in T5_HEADS.items()}
