from __future__ import annotations

from ..configuration import PretrainedConfig
from ..decoder_options import (
    DecoderOptions,
    check_decoder_config,
    check_layer_types,
    decoder_options,
    windows_by_layer_type,
)
from .llama import QUESTION_ANSWERING_UNDER_TRANSFORMER, decoder_heads
from .qwen2 import sliding_layer_types


class Qwen3Config(PretrainedConfig):
    """Qwen2 with RMSNorm over each head's queries and keys, head_dim of its own, and attention_bias on all
    four projections."""

    model_type = "qwen3"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=32, head_dim=128, hidden_act="silu",
                 max_position_embeddings=32768, initializer_range=0.02, rms_norm_eps=1e-6, use_cache=True,
                 tie_word_embeddings=False, rope_theta=10000.0, rope_scaling=None, attention_bias=False,
                 use_sliding_window=False, sliding_window=4096, max_window_layers=28, layer_types=None,
                 attention_dropout=0.0, **kwargs):  # fmt: skip
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.use_sliding_window = use_sliding_window
        self.sliding_window = sliding_window if use_sliding_window else None
        self.max_window_layers = max_window_layers
        self.num_key_value_heads = num_key_value_heads if num_key_value_heads is not None else num_attention_heads
        self.head_dim = head_dim
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling
        if rope_scaling is not None and "type" in rope_scaling:
            self.rope_scaling["rope_type"] = rope_scaling["type"]
        self.attention_bias = attention_bias
        self.attention_dropout = attention_dropout
        self.layer_types = sliding_layer_types(self, layer_types)
        check_decoder_config(self)
        check_layer_types(self)

    def decoder_options(self) -> DecoderOptions:
        bias = bool(self.attention_bias)
        return decoder_options(self, windows=windows_by_layer_type(self), qkv_bias=bias, o_bias=bias, qk_norm=True)


CONFIG_CLASS = Qwen3Config
ARCHITECTURES = {
    "MODEL": "Qwen3Model",
    "MODEL_FOR_CAUSAL_LM": "Qwen3ForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "Qwen3ForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "Qwen3ForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "Qwen3ForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = decoder_heads("Qwen3", qa=QUESTION_ANSWERING_UNDER_TRANSFORMER)
