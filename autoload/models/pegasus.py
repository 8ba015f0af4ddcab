from ..seq2seq import Seq2SeqConfig, Seq2SeqLayout


class PegasusConfig(Seq2SeqConfig):
    model_type = "pegasus"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"num_attention_heads": "encoder_attention_heads", "hidden_size": "d_model"}
    layout = Seq2SeqLayout(pre_norm=True, positions="sinusoidal", final_norm=True, scales_given_embeddings=True)

    def __init__(self, vocab_size=50265, max_position_embeddings=1024, encoder_layers=12, encoder_ffn_dim=4096,
                 encoder_attention_heads=16, decoder_layers=12, decoder_ffn_dim=4096, decoder_attention_heads=16,
                 encoder_layerdrop=0.0, decoder_layerdrop=0.0, use_cache=True, is_encoder_decoder=True,
                 activation_function="gelu", d_model=1024, dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
                 init_std=0.02, decoder_start_token_id=0, scale_embedding=False, pad_token_id=0, eos_token_id=1,
                 forced_eos_token_id=1, **kwargs):  # fmt: skip
        kwargs.pop("num_hidden_layers", None)
        self.set_bart_fields(locals())
        super().__init__(pad_token_id=pad_token_id, eos_token_id=eos_token_id, is_encoder_decoder=is_encoder_decoder,
                         decoder_start_token_id=decoder_start_token_id, forced_eos_token_id=forced_eos_token_id,
                         **kwargs)  # fmt: skip
        self.check_sizes()


CONFIG_CLASS = PegasusConfig
ARCHITECTURES = {
    "MODEL": "PegasusModel",
    "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM": "PegasusForConditionalGeneration",
    "MODEL_FOR_CAUSAL_LM": "PegasusForCausalLM",
}
BACKENDS = ("torch", "tf", "flax")
