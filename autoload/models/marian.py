from ..seq2seq import Seq2SeqConfig, Seq2SeqLayout


class MarianConfig(Seq2SeqConfig):
    model_type = "marian"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"num_attention_heads": "encoder_attention_heads", "hidden_size": "d_model"}
    layout = Seq2SeqLayout(pre_norm=False, positions="sinusoidal", scales_given_embeddings=True)

    def __init__(self, vocab_size=58101, decoder_vocab_size=None, max_position_embeddings=1024, encoder_layers=12,
                 encoder_ffn_dim=4096, encoder_attention_heads=16, decoder_layers=12, decoder_ffn_dim=4096,
                 decoder_attention_heads=16, encoder_layerdrop=0.0, decoder_layerdrop=0.0, use_cache=True,
                 is_encoder_decoder=True, activation_function="gelu", d_model=1024, dropout=0.1, attention_dropout=0.0,
                 activation_dropout=0.0, init_std=0.02, decoder_start_token_id=58100, scale_embedding=False,
                 pad_token_id=58100, eos_token_id=0, forced_eos_token_id=0, share_encoder_decoder_embeddings=True,
                 **kwargs):  # fmt: skip
        kwargs.pop("num_hidden_layers", None)
        self.set_bart_fields(locals())
        self.decoder_vocab_size = decoder_vocab_size or vocab_size
        self.share_encoder_decoder_embeddings = share_encoder_decoder_embeddings
        super().__init__(pad_token_id=pad_token_id, eos_token_id=eos_token_id, is_encoder_decoder=is_encoder_decoder,
                         decoder_start_token_id=decoder_start_token_id, forced_eos_token_id=forced_eos_token_id,
                         **kwargs)  # fmt: skip
        self.check_sizes()
        if not self.share_encoder_decoder_embeddings and self.tie_word_embeddings and \
                self.decoder_vocab_size != self.vocab_size:  # fmt: skip
            raise ValueError(
                f"MarianConfig: tie_word_embeddings=True ties the LM head ({self.decoder_vocab_size} target tokens) to "
                f"the decoder's embedding ({self.vocab_size} rows); with separate vocabularies of different sizes set "
                "tie_word_embeddings=False."
            )

    @property
    def decoder_vocab(self) -> int:
        return self.decoder_vocab_size

    @property
    def target_vocab(self) -> int:
        """The shared vocabulary, or the target one (decoder_vocab_size) when the embeddings are not shared."""
        return self.vocab_size if self.share_encoder_decoder_embeddings else self.decoder_vocab_size


CONFIG_CLASS = MarianConfig
ARCHITECTURES = {
    "MODEL": "MarianModel",
    "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM": "MarianMTModel",
    "MODEL_FOR_CAUSAL_LM": "MarianForCausalLM",
}
BACKENDS = ("torch", "tf", "flax")
