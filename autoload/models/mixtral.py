from __future__ import annotations

from ..configuration import PretrainedConfig
from ..decoder_options import DecoderOptions, MoeOptions, check_decoder_config, decoder_options, same_window_everywhere
from .llama import decoder_heads


class MixtralConfig(PretrainedConfig):
    """Mistral with a sparse mixture of experts (`block_sparse_moe`: a router and num_local_experts gated
    MLPs, num_experts_per_tok of them per token) in place of the MLP."""

    model_type = "mixtral"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=8, head_dim=None, hidden_act="silu",
                 max_position_embeddings=4096 * 32, initializer_range=0.02, rms_norm_eps=1e-5, use_cache=True,
                 pad_token_id=None, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False, rope_theta=1e6,
                 sliding_window=None, attention_dropout=0.0, num_experts_per_tok=2, num_local_experts=8,
                 output_router_logits=False, router_aux_loss_coef=0.001, router_jitter_noise=0.0,
                 **kwargs):  # fmt: skip
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.sliding_window = sliding_window
        self.num_key_value_heads = num_key_value_heads if num_key_value_heads is not None else num_attention_heads
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.attention_dropout = attention_dropout
        self.head_dim = head_dim
        self.num_experts_per_tok = num_experts_per_tok
        self.num_local_experts = num_local_experts
        self.output_router_logits = output_router_logits
        self.router_aux_loss_coef = router_aux_loss_coef
        self.router_jitter_noise = router_jitter_noise
        kwargs.setdefault("rope_scaling", None)  # read by the rotary embedding though not an argument
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         tie_word_embeddings=tie_word_embeddings, **kwargs)  # fmt: skip
        check_decoder_config(self)
        if not 0 < num_experts_per_tok <= num_local_experts:
            raise ValueError(f"MixtralConfig: num_experts_per_tok ({num_experts_per_tok}) must be between 1 and "
                             f"num_local_experts ({num_local_experts}).")  # fmt: skip

    def decoder_options(self) -> DecoderOptions:
        moe = MoeOptions(self.num_local_experts, self.num_experts_per_tok, self.router_jitter_noise,
                         self.router_aux_loss_coef, bool(self.output_router_logits))  # fmt: skip
        return decoder_options(self, windows=same_window_everywhere(self), mlp_attr="block_sparse_moe", moe=moe)


CONFIG_CLASS = MixtralConfig
ARCHITECTURES = {
    "MODEL": "MixtralModel",
    "MODEL_FOR_CAUSAL_LM": "MixtralForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "MixtralForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "MixtralForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "MixtralForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = decoder_heads("Mixtral")
