from ..seq2seq import Seq2SeqConfig, Seq2SeqLayout
from .bart import SEQ2SEQ_HEADS


class MBartConfig(Seq2SeqConfig):
    model_type = "mbart"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"num_attention_heads": "encoder_attention_heads", "hidden_size": "d_model"}
    layout = Seq2SeqLayout(pre_norm=True, positions="learned", position_offset=2, embedding_norm=True, final_norm=True)

    def __init__(self, vocab_size=50265, max_position_embeddings=1024, encoder_layers=12, encoder_ffn_dim=4096,
                 encoder_attention_heads=16, decoder_layers=12, decoder_ffn_dim=4096, decoder_attention_heads=16,
                 encoder_layerdrop=0.0, decoder_layerdrop=0.0, use_cache=True, is_encoder_decoder=True,
                 activation_function="gelu", d_model=1024, dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
                 init_std=0.02, classifier_dropout=0.0, scale_embedding=False, pad_token_id=1, bos_token_id=0,
                 eos_token_id=2, forced_eos_token_id=2, **kwargs):  # fmt: skip
        kwargs.pop("num_hidden_layers", None)
        self.set_bart_fields(locals())
        self.classifier_dropout = classifier_dropout
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         is_encoder_decoder=is_encoder_decoder, forced_eos_token_id=forced_eos_token_id, **kwargs)  # fmt: skip
        self.check_sizes()


CONFIG_CLASS = MBartConfig
ARCHITECTURES = {
    "MODEL": "MBartModel",
    "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM": "MBartForConditionalGeneration",
    "MODEL_FOR_MASKED_LM": "MBartForConditionalGeneration",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "MBartForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "MBartForQuestionAnswering",
    "MODEL_FOR_CAUSAL_LM": "MBartForCausalLM",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {"MBart" + name: spec for name, spec in SEQ2SEQ_HEADS.items()}
