from __future__ import annotations

from dataclasses import replace

from ..configuration import PretrainedConfig
from ..encoder import check_activation
from ..gpt_options import GptNames, GptOptions, check_dropout, check_heads
from .gpt2 import CAUSAL_LM, QUESTION_ANSWERING, SEQUENCE_CLASSIFICATION

GPTJ_NAMES = GptNames(embed="wte", layers="h", attention="attn", norm_1="ln_1", norm_2=None, mlp="mlp", mlp_in="fc_in",
                      mlp_out="fc_out", final_norm="ln_f")  # fmt: skip


class GPTJConfig(PretrainedConfig):
    """GPT-J: interleaved rotary positions over the first rotary_dim dims of each head (base 10000), attention
    and MLP in parallel from one norm, no attention biases, an LM head with a bias."""

    model_type = "gptj"
    attribute_map = {"max_position_embeddings": "n_positions", "hidden_size": "n_embd",
                     "num_attention_heads": "n_head", "num_hidden_layers": "n_layer"}  # fmt: skip
    rope_theta = 10000.0  # fixed in GPT-J (the rope helpers read it from the config)

    def __init__(self, vocab_size=50400, n_positions=2048, n_embd=4096, n_layer=28, n_head=16, rotary_dim=64,
                 n_inner=None, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                 layer_norm_epsilon=1e-5, initializer_range=0.02, use_cache=True, bos_token_id=50256,
                 eos_token_id=50256, tie_word_embeddings=False, **kwargs):  # fmt: skip
        self.vocab_size = vocab_size
        self.n_positions = n_positions
        self.n_embd = n_embd
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_inner = n_inner
        self.rotary_dim = rotary_dim
        self.activation_function = activation_function
        self.resid_pdrop = resid_pdrop
        self.embd_pdrop = embd_pdrop
        self.attn_pdrop = attn_pdrop
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.use_cache = use_cache
        super().__init__(bos_token_id=bos_token_id, eos_token_id=eos_token_id, tie_word_embeddings=tie_word_embeddings,
                         **kwargs)  # fmt: skip
        self.gpt_options()

    def gpt_options(self) -> GptOptions:
        name = "GPTJConfig"
        check_heads(name, self.n_embd, self.n_head, "n_embd", "n_head")
        check_activation(self.activation_function, "activation_function", name)
        check_dropout(name, resid_pdrop=self.resid_pdrop, embd_pdrop=self.embd_pdrop, attn_pdrop=self.attn_pdrop)
        head_dim = self.n_embd // self.n_head
        rotary = self.rotary_dim
        if rotary is None and self.n_head != 1:
            raise ValueError(f"{name}: rotary_dim=None rotates over n_embd ({self.n_embd}) dims, which only fits a "
                             f"single head (n_head={self.n_head}); set rotary_dim to at most head_dim ({head_dim}).")  # fmt: skip
        rotary = head_dim if rotary is None else rotary
        if not isinstance(rotary, int) or isinstance(rotary, bool) or not 0 < rotary <= head_dim or rotary % 2:
            raise ValueError(f"{name}: rotary_dim must be an even number of dims from 2 to head_dim ({head_dim}), got "
                             f"{self.rotary_dim!r}.")  # fmt: skip
        if self.pruned_heads:
            raise NotImplementedError(f"{name}.pruned_heads: pruned attention heads are not implemented.")
        return GptOptions(
            names=GPTJ_NAMES, hidden_size=self.n_embd, num_heads=self.n_head, inner_size=self.n_inner or 4 * self.n_embd,
            vocab_size=self.vocab_size, num_layers=self.n_layer, max_positions=self.n_positions,
            activation=self.activation_function, norm_eps=self.layer_norm_epsilon, attention_layout="separate",
            positions="rotary", rotary_dim=rotary, rotary_interleaved=True, attention_scale=head_dim**-0.5,
            qkv_bias=False, out_bias=False, upcast=True, residual="parallel_shared_norm", token_type_embeddings=True,
            embed_dropout=self.embd_pdrop, attention_dropout=self.attn_pdrop, residual_dropout=self.resid_pdrop,
            length_field="n_positions",
        )  # fmt: skip


CONFIG_CLASS = GPTJConfig
ARCHITECTURES = {
    "MODEL": "GPTJModel",
    "MODEL_FOR_CAUSAL_LM": "GPTJForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "GPTJForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "GPTJForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {
    "GPTJForCausalLM": replace(CAUSAL_LM, bias=True),
    "GPTJForSequenceClassification": SEQUENCE_CLASSIFICATION,
    "GPTJForQuestionAnswering": replace(QUESTION_ANSWERING, out_features=None),  # num_labels outputs (must be 2)
}
