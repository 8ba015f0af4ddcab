from __future__ import annotations

from ..decoder_options import DecoderOptions, decoder_options, same_window_everywhere
from .llama import LlamaConfig, decoder_heads


class MistralConfig(LlamaConfig):
    """Llama with sliding-window attention in every layer (a token sees at most the last `sliding_window`
    positions) and no biases."""

    model_type = "mistral"

    def __init__(self, vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=4096 * 32,
                 sliding_window=4096, **kwargs):  # fmt: skip
        kwargs.pop("attention_bias", None)  # MistralConfig has neither: its projections never carry a bias
        kwargs.pop("mlp_bias", None)
        super().__init__(vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
                         num_hidden_layers=num_hidden_layers, num_attention_heads=num_attention_heads,
                         num_key_value_heads=num_key_value_heads, max_position_embeddings=max_position_embeddings,
                         **kwargs)  # fmt: skip
        self.sliding_window = sliding_window

    def decoder_options(self) -> DecoderOptions:
        return decoder_options(self, windows=same_window_everywhere(self))


CONFIG_CLASS = MistralConfig
ARCHITECTURES = {
    "MODEL": "MistralModel",
    "MODEL_FOR_CAUSAL_LM": "MistralForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "MistralForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "MistralForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "MistralForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = decoder_heads("Mistral")  # Mistral's QA base model is under `model`
