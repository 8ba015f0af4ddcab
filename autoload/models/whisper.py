from ..seq2seq import Seq2SeqConfig, Seq2SeqLayout


class WhisperConfig(Seq2SeqConfig):
    model_type = "whisper"
    # The encoder's positions are a stored table too (sinusoids at initialisation); scale_embedding is read by
    # transformers' Whisper but never applied.
    layout = Seq2SeqLayout(pre_norm=True, positions="learned", final_norm=True, key_bias=False,
                           scales_embeddings=False)
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"num_key_value_heads": "encoder_attention_heads", "num_attention_heads": "encoder_attention_heads",
                     "hidden_size": "d_model"}  # fmt: skip

    def __init__(self, vocab_size=51865, num_mel_bins=80, encoder_layers=4, encoder_attention_heads=6,
                 decoder_layers=4, decoder_attention_heads=6, decoder_ffn_dim=1536, encoder_ffn_dim=1536,
                 encoder_layerdrop=0.0, decoder_layerdrop=0.0, decoder_start_token_id=50257, use_cache=True,
                 is_encoder_decoder=True, activation_function="gelu", d_model=384, dropout=0.0, attention_dropout=0.0,
                 activation_dropout=0.0, init_std=0.02, scale_embedding=False, max_source_positions=1500,
                 max_target_positions=448, pad_token_id=50256, bos_token_id=50256, eos_token_id=50256,
                 suppress_tokens=None, begin_suppress_tokens=(220, 50256), use_weighted_layer_sum=False,
                 classifier_proj_size=256, apply_spec_augment=False, mask_time_prob=0.05, mask_time_length=10,
                 mask_time_min_masks=2, mask_feature_prob=0.0, mask_feature_length=10, mask_feature_min_masks=0,
                 median_filter_width=7, **kwargs):  # fmt: skip
        kwargs.pop("num_hidden_layers", None)
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         is_encoder_decoder=is_encoder_decoder, decoder_start_token_id=decoder_start_token_id,
                         **kwargs)  # fmt: skip
        self.vocab_size = vocab_size
        self.num_mel_bins = num_mel_bins
        self.d_model = d_model
        self.encoder_layers = encoder_layers
        self.encoder_attention_heads = encoder_attention_heads
        self.decoder_layers = decoder_layers
        self.decoder_attention_heads = decoder_attention_heads
        self.decoder_ffn_dim = decoder_ffn_dim
        self.encoder_ffn_dim = encoder_ffn_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation_dropout = activation_dropout
        self.activation_function = activation_function
        self.init_std = init_std
        self.encoder_layerdrop = encoder_layerdrop
        self.decoder_layerdrop = decoder_layerdrop
        self.use_cache = use_cache
        self.num_hidden_layers = encoder_layers
        self.scale_embedding = scale_embedding
        self.max_source_positions = max_source_positions
        self.max_target_positions = max_target_positions
        self.suppress_tokens = suppress_tokens
        self.begin_suppress_tokens = list(begin_suppress_tokens) if begin_suppress_tokens is not None else None
        self.classifier_proj_size = classifier_proj_size
        self.use_weighted_layer_sum = use_weighted_layer_sum
        self.apply_spec_augment = apply_spec_augment
        self.mask_time_prob = mask_time_prob
        self.mask_time_length = mask_time_length
        self.mask_time_min_masks = mask_time_min_masks
        self.mask_feature_prob = mask_feature_prob
        self.mask_feature_length = mask_feature_length
        self.mask_feature_min_masks = mask_feature_min_masks
        self.median_filter_width = median_filter_width
        self.check_sizes()

    def position_limit(self, decoder: bool) -> tuple[int, str]:
        if decoder:
            return self.max_target_positions, "max_target_positions"
        return self.max_source_positions, "max_source_positions"


CONFIG_CLASS = WhisperConfig
ARCHITECTURES = {
    "MODEL": "WhisperModel",
    "MODEL_FOR_SPEECH_SEQ_2_SEQ": "WhisperForConditionalGeneration",
    "MODEL_FOR_CAUSAL_LM": "WhisperForCausalLM",
    "MODEL_FOR_AUDIO_CLASSIFICATION": "WhisperForAudioClassification",
}
BACKENDS = ("torch", "tf", "flax")
