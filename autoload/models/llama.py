from ..configuration import PretrainedConfig

ROPE_TYPES = ("default", "linear", "dynamic", "llama3")


def check_rope_and_heads(config) -> None:
    """Refuse head counts that do not divide and rope_scaling types the models do not implement."""
    if config.head_dim is None and config.hidden_size % config.num_attention_heads:
        raise ValueError(
            f"{type(config).__name__}: hidden_size ({config.hidden_size}) is not a multiple of num_attention_heads "
            f"({config.num_attention_heads}); set head_dim or change the head count."
        )
    if config.num_attention_heads % config.num_key_value_heads:
        raise ValueError(
            f"{type(config).__name__}: num_key_value_heads ({config.num_key_value_heads}) must divide "
            f"num_attention_heads ({config.num_attention_heads}) for grouped-query attention."
        )
    scaling = config.rope_scaling
    if scaling:
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind not in ROPE_TYPES:
            raise ValueError(f"Unknown rope_scaling type {kind!r}; supported: {', '.join(ROPE_TYPES)}.")
        if kind != "default" and "factor" not in scaling:
            raise ValueError(f"rope_scaling of type {kind!r} needs a 'factor'.")
        if kind == "llama3":
            missing = {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"} - set(scaling)
            if missing:
                raise ValueError(f"rope_scaling of type 'llama3' needs {sorted(missing)}.")


class LlamaConfig(PretrainedConfig):
    model_type = "llama"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=None, hidden_act="silu", max_position_embeddings=2048,
                 initializer_range=0.02, rms_norm_eps=1e-6, use_cache=True, pad_token_id=None, bos_token_id=1,
                 eos_token_id=2, pretraining_tp=1, tie_word_embeddings=False, rope_theta=10000.0, rope_scaling=None,
                 attention_bias=False, attention_dropout=0.0, mlp_bias=False, head_dim=None, **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         tie_word_embeddings=tie_word_embeddings, **kwargs)  # fmt: skip
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads if num_key_value_heads is not None else num_attention_heads
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.pretraining_tp = pretraining_tp
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling
        self.attention_bias = attention_bias
        self.attention_dropout = attention_dropout
        self.mlp_bias = mlp_bias
        self.head_dim = head_dim
        check_rope_and_heads(self)
        if self.head_dim is None:
            self.head_dim = hidden_size // num_attention_heads

    # Which attention projections carry a bias; Qwen2 overrides these (derived, so never written to config.json).
    @property
    def qkv_bias(self) -> bool:
        return bool(self.attention_bias)

    @property
    def output_bias(self) -> bool:
        return bool(self.attention_bias)


CONFIG_CLASS = LlamaConfig
ARCHITECTURES = {
    "MODEL": "LlamaModel",
    "MODEL_FOR_CAUSAL_LM": "LlamaForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "LlamaForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "LlamaForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "LlamaForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
