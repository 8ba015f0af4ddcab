from __future__ import annotations

from ..configuration import PretrainedConfig
from ..decoder_options import (
    DecoderOptions,
    check_decoder_config,
    check_layer_types,
    decoder_options,
    windows_by_layer_type,
)
from .gemma2 import alternating_layer_types
from .llama import decoder_heads


class Gemma3TextConfig(PretrainedConfig):
    """Gemma 2 with RMSNorm on each head's queries and keys, five local layers per global one by default
    (sliding_window_pattern), local layers rotating with rope_local_base_freq, and optionally bidirectional
    attention. attn_logit_softcapping is stored but, as in transformers 4.57, not applied."""

    model_type = "gemma3_text"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=262_208, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
                 num_attention_heads=8, num_key_value_heads=4, head_dim=256, hidden_activation="gelu_pytorch_tanh",
                 max_position_embeddings=131_072, initializer_range=0.02, rms_norm_eps=1e-6, use_cache=True,
                 pad_token_id=0, eos_token_id=1, bos_token_id=2, tie_word_embeddings=True, rope_theta=1_000_000.0,
                 attention_bias=False, attention_dropout=0.0, query_pre_attn_scalar=256, sliding_window=4096,
                 layer_types=None, final_logit_softcapping=None, attn_logit_softcapping=None, rope_scaling=None,
                 rope_local_base_freq=10_000.0, use_bidirectional_attention=False, **kwargs):  # fmt: skip
        pattern = kwargs.get("sliding_window_pattern", 6)
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
        self.use_bidirectional_attention = use_bidirectional_attention
        if use_bidirectional_attention:  # transformers' exclusive bound for windows seen both ways (every build)
            self.sliding_window = (self.sliding_window // 2) + 1
        self.rope_local_base_freq = rope_local_base_freq
        self.rope_scaling = rope_scaling
        if isinstance(rope_scaling, dict) and "rope_type" not in rope_scaling:  # transformers requires the key here
            raise ValueError(f"Gemma3TextConfig: rope_scaling needs a 'rope_type' key (the older 'type' alone is "
                             f"refused for Gemma 3); got {rope_scaling!r}.")  # fmt: skip
        self._sliding_window_pattern = pattern
        self.layer_types = layer_types or alternating_layer_types(num_hidden_layers, pattern)
        check_decoder_config(self)
        check_layer_types(self)

    def decoder_options(self) -> DecoderOptions:
        bias = bool(self.attention_bias)
        return decoder_options(
            self, windows=windows_by_layer_type(self), qkv_bias=bias, o_bias=bias, norm_offset=True,
            local_rope=[kind == "sliding_attention" for kind in self.layer_types], qk_norm=True,
            embed_scale=self.hidden_size**0.5, activation=self.hidden_activation, sandwich_norms=True,
            attention_scale=self.query_pre_attn_scalar**-0.5, final_softcap=self.final_logit_softcapping,
            causal=not self.use_bidirectional_attention,
        )  # fmt: skip


CONFIG_CLASS = Gemma3TextConfig
ARCHITECTURES = {
    "MODEL": "Gemma3TextModel",
    "MODEL_FOR_CAUSAL_LM": "Gemma3ForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "Gemma3TextForSequenceClassification",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = decoder_heads("Gemma3", qa=None, token=False, sequence_name="Gemma3TextForSequenceClassification")
