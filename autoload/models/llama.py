from __future__ import annotations

from ..configuration import PretrainedConfig
from ..decoder_options import DecoderOptions, check_decoder_config, decoder_options
from ..heads import HeadSpec
from ..rope import ROPE_TYPES  # noqa: F401  (re-exported: the rope_scaling types the decoders implement)


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
        self.pretraining_tp = pretraining_tp  # read by no 4.57 modeling code: kept for the round trip
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling
        self.attention_bias = attention_bias
        self.attention_dropout = attention_dropout
        self.mlp_bias = mlp_bias
        self.head_dim = head_dim
        check_decoder_config(self)
        if self.head_dim is None:
            self.head_dim = hidden_size // num_attention_heads

    def decoder_options(self) -> DecoderOptions:
        bias = bool(self.attention_bias)
        return decoder_options(self, qkv_bias=bias, o_bias=bias, mlp_bias=bool(self.mlp_bias))


# The heads of the Llama family (Mistral, Qwen2/3, Gemma, Phi-3, Mixtral use the same with their names).
SEQUENCE_CLASSIFICATION = HeadSpec(pooling="last", attr="score", bias=False, dropout=())
TOKEN_CLASSIFICATION = HeadSpec(pooling="none", attr="score", dropout=("classifier_dropout", "hidden_dropout"),
                                dropout_default=0.1)  # fmt: skip
QUESTION_ANSWERING = HeadSpec(pooling="none", attr="qa_outputs", dropout=(), out_features=2)
# transformers keeps Llama's, Qwen2's and Qwen3's QA base model under `transformer` (for older checkpoints).
QUESTION_ANSWERING_UNDER_TRANSFORMER = HeadSpec(pooling="none", attr="qa_outputs", dropout=(), out_features=2,
                                                prefix="transformer")  # fmt: skip
CAUSAL_LM = HeadSpec(pooling="none", attr="lm_head", bias=False, dropout=())


def decoder_heads(prefix: str, qa: HeadSpec | None = QUESTION_ANSWERING, token: bool = True,
                  sequence_name: str | None = None, causal_name: str | None = None) -> dict[str, HeadSpec]:  # fmt: skip
    """HEADS of a Llama-like architecture whose PyTorch classes are named `<prefix>For…`."""
    heads = {causal_name or f"{prefix}ForCausalLM": CAUSAL_LM,
             sequence_name or f"{prefix}ForSequenceClassification": SEQUENCE_CLASSIFICATION}  # fmt: skip
    if token:
        heads[f"{prefix}ForTokenClassification"] = TOKEN_CLASSIFICATION
    if qa is not None:
        heads[f"{prefix}ForQuestionAnswering"] = qa
    return heads


CONFIG_CLASS = LlamaConfig
ARCHITECTURES = {
    "MODEL": "LlamaModel",
    "MODEL_FOR_CAUSAL_LM": "LlamaForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "LlamaForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "LlamaForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "LlamaForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = decoder_heads("Llama", qa=QUESTION_ANSWERING_UNDER_TRANSFORMER)
