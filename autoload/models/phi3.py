from __future__ import annotations

from ..configuration import PretrainedConfig
from ..decoder_options import DecoderOptions, check_decoder_config, decoder_options, same_window_everywhere
from .llama import decoder_heads


class Phi3Config(PretrainedConfig):
    """Llama with fused projections (qkv_proj, gate_up_proj), partial rotary and long-rope scaling
    (rope_scaling {"type": "longrope" (older: "su" / "yarn"), "short_factor", "long_factor"}: short factors up
    to original_max_position_embeddings, long factors beyond, cos and sin tempered by
    sqrt(1 + log(max / original) / log(original)))."""

    model_type = "phi3"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=32064, hidden_size=3072, intermediate_size=8192, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=None, resid_pdrop=0.0, embd_pdrop=0.0,
                 attention_dropout=0.0, hidden_act="silu", max_position_embeddings=4096,
                 original_max_position_embeddings=4096, initializer_range=0.02, rms_norm_eps=1e-5, use_cache=True,
                 tie_word_embeddings=False, rope_theta=10000.0, rope_scaling=None, partial_rotary_factor=1.0,
                 bos_token_id=1, eos_token_id=32000, pad_token_id=32000, sliding_window=None, **kwargs):  # fmt: skip
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads if num_key_value_heads is not None else num_attention_heads
        self.resid_pdrop = resid_pdrop
        self.embd_pdrop = embd_pdrop  # read by no 4.57 modeling code
        self.attention_dropout = attention_dropout
        self.hidden_act = hidden_act
        self.max_position_embeddings = max_position_embeddings
        self.original_max_position_embeddings = original_max_position_embeddings
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling
        self.partial_rotary_factor = partial_rotary_factor
        self.sliding_window = sliding_window
        super().__init__(bos_token_id=bos_token_id, eos_token_id=eos_token_id, pad_token_id=pad_token_id,
                         tie_word_embeddings=tie_word_embeddings, **kwargs)  # fmt: skip
        self._check_rope_scaling()
        check_decoder_config(self)

    def _check_rope_scaling(self) -> None:
        """Phi-3 takes only long-rope: exactly type, short_factor and long_factor ("su" and "yarn" are the
        names older checkpoints give it)."""
        scaling = self.rope_scaling
        if scaling is None:
            return
        if not isinstance(scaling, dict) or len(scaling) != 3:
            raise ValueError(f"Phi3Config: rope_scaling must be a dict with exactly 'type', 'short_factor' and "
                             f"'long_factor'; got {scaling!r}.")  # fmt: skip
        if scaling.get("type") in ("su", "yarn"):
            scaling["type"] = "longrope"
        if scaling.get("type") != "longrope":
            raise ValueError(f"Phi3Config: rope_scaling type must be 'longrope' (or 'su'); got "
                             f"{scaling.get('type')!r}.")  # fmt: skip
        for key in ("short_factor", "long_factor"):
            if not isinstance(scaling.get(key), list) or not all(isinstance(x, (int, float)) for x in scaling[key]):
                raise ValueError(f"Phi3Config: rope_scaling['{key}'] must be a list of numbers.")

    def decoder_options(self) -> DecoderOptions:
        return decoder_options(self, windows=same_window_everywhere(self), fused_qkv=True, fused_gate_up=True,
                               residual_dropout=self.resid_pdrop)  # fmt: skip


CONFIG_CLASS = Phi3Config
ARCHITECTURES = {
    "MODEL": "Phi3Model",
    "MODEL_FOR_CAUSAL_LM": "Phi3ForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "Phi3ForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "Phi3ForTokenClassification",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = decoder_heads("Phi3", qa=None)
