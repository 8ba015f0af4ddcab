from ..heads import HeadSpec
from ..seq2seq import Seq2SeqConfig, Seq2SeqLayout


class BartConfig(Seq2SeqConfig):
    model_type = "bart"
    layout = Seq2SeqLayout(pre_norm=False, positions="learned", position_offset=2, embedding_norm=True)
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"num_attention_heads": "encoder_attention_heads", "hidden_size": "d_model"}

    def __init__(self, vocab_size=50265, max_position_embeddings=1024, encoder_layers=12, encoder_ffn_dim=4096,
                 encoder_attention_heads=16, decoder_layers=12, decoder_ffn_dim=4096, decoder_attention_heads=16,
                 encoder_layerdrop=0.0, decoder_layerdrop=0.0, activation_function="gelu", d_model=1024, dropout=0.1,
                 attention_dropout=0.0, activation_dropout=0.0, init_std=0.02, classifier_dropout=0.0,
                 scale_embedding=False, use_cache=True, num_labels=3, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                 is_encoder_decoder=True, decoder_start_token_id=2, forced_eos_token_id=2, **kwargs):  # fmt: skip
        kwargs.pop("num_hidden_layers", None)
        if "id2label" not in kwargs:
            kwargs["num_labels"] = num_labels
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         is_encoder_decoder=is_encoder_decoder, decoder_start_token_id=decoder_start_token_id,
                         forced_eos_token_id=forced_eos_token_id, **kwargs)  # fmt: skip
        self.set_bart_fields(locals())
        self.classifier_dropout = classifier_dropout
        if getattr(self, "forced_bos_token_id", None) is None and kwargs.get("force_bos_token_to_be_generated"):
            self.forced_bos_token_id = self.bos_token_id  # older BART-CNN configs
        self.check_sizes()


CONFIG_CLASS = BartConfig
ARCHITECTURES = {
    "MODEL": "BartModel",
    "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM": "BartForConditionalGeneration",
    "MODEL_FOR_PRETRAINING": "BartForConditionalGeneration",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "BartForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "BartForQuestionAnswering",
    "MODEL_FOR_CAUSAL_LM": "BartForCausalLM",
    "MODEL_FOR_MASKED_LM": "BartForConditionalGeneration",
}
BACKENDS = ("torch", "tf", "flax")
# The BART-family heads: the sequence classifier reads the decoder state at each row's last end-of-sequence
# token through a dense-tanh-dense `classification_head`; question answering scores every decoder position.
SEQ2SEQ_HEADS = {
    "ForSequenceClassification": HeadSpec(pooling="eos", attr="classification_head", projection="tanh",
                                          dropout=("classifier_dropout",)),
    "ForQuestionAnswering": HeadSpec(pooling="none", attr="qa_outputs", dropout=(), out_features=2),
}
HEADS = {"Bart" + name: spec for name, spec in SEQ2SEQ_HEADS.items()}
