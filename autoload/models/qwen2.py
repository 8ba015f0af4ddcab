from __future__ import annotations

from ..decoder_options import DecoderOptions, check_layer_types, decoder_options, windows_by_layer_type
from .llama import QUESTION_ANSWERING_UNDER_TRANSFORMER, LlamaConfig, decoder_heads


def sliding_layer_types(config, layer_types) -> list[str]:
    """Qwen's default layer_types: sliding attention from layer max_window_layers on, when windows are on."""
    return layer_types or [
        "sliding_attention" if config.sliding_window is not None and i >= config.max_window_layers else "full_attention"
        for i in range(config.num_hidden_layers)
    ]


class Qwen2Config(LlamaConfig):
    """Llama with biases on the query, key and value projections (never on the output projection) and
    sliding windows per layer (layer_types, from use_sliding_window and max_window_layers by default)."""

    model_type = "qwen2"

    def __init__(self, vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=32768,
                 use_sliding_window=False, sliding_window=4096, max_window_layers=28, layer_types=None,
                 bos_token_id=None, eos_token_id=None, **kwargs):  # fmt: skip
        kwargs.pop("attention_bias", None)
        kwargs.pop("mlp_bias", None)
        super().__init__(vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
                         num_hidden_layers=num_hidden_layers, num_attention_heads=num_attention_heads,
                         num_key_value_heads=num_key_value_heads, max_position_embeddings=max_position_embeddings,
                         bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)  # fmt: skip
        self.use_sliding_window = use_sliding_window
        self.sliding_window = sliding_window if use_sliding_window else None
        self.max_window_layers = max_window_layers
        self.layer_types = sliding_layer_types(self, layer_types)
        check_layer_types(self)

    def decoder_options(self) -> DecoderOptions:
        return decoder_options(self, windows=windows_by_layer_type(self), qkv_bias=True)


CONFIG_CLASS = Qwen2Config
ARCHITECTURES = {
    "MODEL": "Qwen2Model",
    "MODEL_FOR_CAUSAL_LM": "Qwen2ForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "Qwen2ForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "Qwen2ForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "Qwen2ForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = decoder_heads("Qwen2", qa=QUESTION_ANSWERING_UNDER_TRANSFORMER)
