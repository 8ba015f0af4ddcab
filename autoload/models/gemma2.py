from __future__ import annotations

from ..configuration import PretrainedConfig
from ..decoder_options import (
    DecoderOptions,
    check_decoder_config,
    check_layer_types,
    decoder_options,
    windows_by_layer_type,
)
from .llama import decoder_heads


def alternating_layer_types(count: int, pattern: int) -> list[str]:
    """Every `pattern`-th layer global, the others sliding (Gemma 2: pattern 2, Gemma 3: 6)."""
    return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(count)]


class Gemma2Config(PretrainedConfig):
    """Gemma with soft-capped attention scores and logits, local (sliding) and global layers alternating,
    norms after attention and around the MLP, and queries scaled by query_pre_attn_scalar**-0.5."""

    model_type = "gemma2"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=256000, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
                 num_attention_heads=8, num_key_value_heads=4, head_dim=256, hidden_activation="gelu_pytorch_tanh",
                 max_position_embeddings=8192, initializer_range=0.02, rms_norm_eps=1e-6, use_cache=True,
                 pad_token_id=0, eos_token_id=1, bos_token_id=2, tie_word_embeddings=True, rope_theta=10000.0,
                 attention_bias=False, attention_dropout=0.0, query_pre_attn_scalar=256, sliding_window=4096,
                 layer_types=None, final_logit_softcapping=30.0, attn_logit_softcapping=50.0, **kwargs):  # fmt: skip
        kwargs.setdefault("rope_scaling", None)  # read by the rotary embedding though not an argument
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         tie_word_embeddings=tie_word_embeddings, **kwargs)  # fmt: skip
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.head_dim = head_dim
        self.num_key_value_heads = num_key_value_heads
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.attention_bias = attention_bias
        self.attention_dropout = attention_dropout
        self.hidden_activation = hidden_activation
        self.query_pre_attn_scalar = query_pre_attn_scalar
        self.sliding_window = sliding_window
        self.final_logit_softcapping = final_logit_softcapping
        self.attn_logit_softcapping = attn_logit_softcapping
        self.layer_types = layer_types or alternating_layer_types(num_hidden_layers, 2)
        check_decoder_config(self)
        check_layer_types(self)

    def decoder_options(self) -> DecoderOptions:
        bias = bool(self.attention_bias)
        return decoder_options(
            self, windows=windows_by_layer_type(self), qkv_bias=bias, o_bias=bias, norm_offset=True,
            embed_scale=self.hidden_size**0.5, activation=self.hidden_activation, sandwich_norms=True,
            attention_scale=self.query_pre_attn_scalar**-0.5, attn_softcap=self.attn_logit_softcapping,
            final_softcap=self.final_logit_softcapping,
        )  # fmt: skip


CONFIG_CLASS = Gemma2Config
ARCHITECTURES = {
    "MODEL": "Gemma2Model",
    "MODEL_FOR_CAUSAL_LM": "Gemma2ForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "Gemma2ForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "Gemma2ForTokenClassification",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = decoder_heads("Gemma2", qa=None)
