from __future__ import annotations

from dataclasses import replace

from ..configuration import PretrainedConfig
from ..encoder import check_activation
from ..gpt_options import GptNames, GptOptions, check_dropout, check_heads
from ..rope import check_rope_scaling, rope_kind, rotary_dim
from .gpt2 import CAUSAL_LM, QUESTION_ANSWERING, SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION

NEOX_NAMES = GptNames(embed="embed_in", layers="layers", attention="attention", norm_1="input_layernorm",
                      norm_2="post_attention_layernorm", mlp="mlp", mlp_in="dense_h_to_4h", mlp_out="dense_4h_to_h",
                      final_norm="final_layer_norm")  # fmt: skip


class GPTNeoXConfig(PretrainedConfig):
    """GPT-NeoX (Pythia): rotary positions over the first rotary_pct of each head (base rotary_emb_base, any
    rope_scaling type), one query_key_value projection whose rows hold each head's q, k and v in turn,
    attention and MLP in parallel (use_parallel_residual) or one after the other."""

    model_type = "gpt_neox"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=50432, hidden_size=6144, num_hidden_layers=44, num_attention_heads=64,
                 intermediate_size=24576, hidden_act="gelu", rotary_pct=0.25, rotary_emb_base=10000, attention_dropout=0.0,
                 hidden_dropout=0.0, classifier_dropout=0.1, max_position_embeddings=2048, initializer_range=0.02,
                 layer_norm_eps=1e-5, use_cache=True, bos_token_id=0, eos_token_id=2, tie_word_embeddings=False,
                 use_parallel_residual=True, rope_scaling=None, attention_bias=True, **kwargs):  # fmt: skip
        # The rope reads these two, derived from rotary_pct / rotary_emb_base (config.json repeats them). As in
        # transformers, an override given after the config is built must set them, not rotary_pct / _base; one given
        # here (a config copied through to_dict with such an override) is kept.
        partial_rotary_factor = kwargs.pop("partial_rotary_factor", rotary_pct)
        rope_theta = kwargs.pop("rope_theta", rotary_emb_base)
        super().__init__(bos_token_id=bos_token_id, eos_token_id=eos_token_id, tie_word_embeddings=tie_word_embeddings,
                         **kwargs)  # fmt: skip
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.rotary_pct = rotary_pct
        self.partial_rotary_factor = partial_rotary_factor
        self.rotary_emb_base = rotary_emb_base
        self.rope_theta = rope_theta
        self.attention_dropout = attention_dropout
        self.hidden_dropout = hidden_dropout
        self.classifier_dropout = classifier_dropout
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.use_cache = use_cache
        self.use_parallel_residual = use_parallel_residual
        if isinstance(rope_scaling, dict) and "type" in rope_scaling:  # older configs name the type "type"
            rope_scaling["rope_type"] = rope_scaling["type"]
        self.rope_scaling = rope_scaling
        self.attention_bias = attention_bias
        self.gpt_options()

    def gpt_options(self) -> GptOptions:
        name = "GPTNeoXConfig"
        check_heads(name, self.hidden_size, self.num_attention_heads, "hidden_size", "num_attention_heads")
        check_activation(self.hidden_act, "hidden_act", name)
        check_dropout(name, attention_dropout=self.attention_dropout, hidden_dropout=self.hidden_dropout,
                      classifier_dropout=self.classifier_dropout)  # fmt: skip
        check_rope_scaling(self)
        rotary = rotary_dim(self)
        if rotary % 2:
            raise ValueError(f"{name}: the rotary dimension int(head_dim × rotary_pct) = {rotary} must be even.")
        if self.pruned_heads:
            raise NotImplementedError(f"{name}.pruned_heads: pruned attention heads are not implemented.")
        bias = bool(self.attention_bias)
        return GptOptions(
            names=NEOX_NAMES, hidden_size=self.hidden_size, num_heads=self.num_attention_heads,
            inner_size=self.intermediate_size, vocab_size=self.vocab_size, num_layers=self.num_hidden_layers,
            max_positions=self.max_position_embeddings, activation=self.hidden_act, norm_eps=self.layer_norm_eps,
            attention_layout="per_head", positions="rotary", rotary_dim=rotary,
            rope_dynamic=rope_kind(self) == "dynamic",
            attention_scale=(self.hidden_size // self.num_attention_heads) ** -0.5, qkv_bias=bias, out_bias=bias,
            residual="parallel" if self.use_parallel_residual else "sequential", embed_dropout=self.hidden_dropout,
            attention_dropout=self.attention_dropout, residual_dropout=self.hidden_dropout,
        )  # fmt: skip


CONFIG_CLASS = GPTNeoXConfig
ARCHITECTURES = {
    "MODEL": "GPTNeoXModel",
    "MODEL_FOR_CAUSAL_LM": "GPTNeoXForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "GPTNeoXForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "GPTNeoXForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "GPTNeoXForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {
    "GPTNeoXForCausalLM": replace(CAUSAL_LM, attr="embed_out"),
    "GPTNeoXForSequenceClassification": SEQUENCE_CLASSIFICATION,
    "GPTNeoXForTokenClassification": TOKEN_CLASSIFICATION,  # classifier_dropout (hidden_dropout never reached)
    "GPTNeoXForQuestionAnswering": QUESTION_ANSWERING,
}
