from __future__ import annotations

from ..configuration import PretrainedConfig
from ..encoder import check_activation
from ..gpt_options import GptNames, GptOptions, check_dropout, check_heads
from ..heads import HeadSpec

GPT2_NAMES = GptNames(embed="wte", positions="wpe", layers="h", attention="attn", norm_1="ln_1", norm_2="ln_2",
                      mlp="mlp", mlp_in="c_fc", mlp_out="c_proj", final_norm="ln_f", tf_embed_leaf="embeddings")  # fmt: skip


class GPT2Config(PretrainedConfig):
    model_type = "gpt2"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"hidden_size": "n_embd", "max_position_embeddings": "n_positions",
                     "num_attention_heads": "n_head", "num_hidden_layers": "n_layer"}  # fmt: skip

    def __init__(self, vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, n_inner=None,
                 activation_function="gelu_new", resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1,
                 layer_norm_epsilon=1e-5, initializer_range=0.02, summary_type="cls_index", summary_use_proj=True,
                 summary_activation=None, summary_proj_to_labels=True, summary_first_dropout=0.1,
                 scale_attn_weights=True, use_cache=True, bos_token_id=50256, eos_token_id=50256,
                 scale_attn_by_inverse_layer_idx=False, reorder_and_upcast_attn=False, **kwargs):  # fmt: skip
        super().__init__(bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        check_heads("GPT2Config", n_embd, n_head, "n_embd", "n_head")
        self.vocab_size = vocab_size
        self.n_positions = n_positions
        self.n_embd = n_embd
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_inner = n_inner
        self.activation_function = activation_function
        self.resid_pdrop = resid_pdrop
        self.embd_pdrop = embd_pdrop
        self.attn_pdrop = attn_pdrop
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.summary_type = summary_type
        self.summary_use_proj = summary_use_proj
        self.summary_activation = summary_activation
        self.summary_first_dropout = summary_first_dropout
        self.summary_proj_to_labels = summary_proj_to_labels
        self.scale_attn_weights = scale_attn_weights
        self.use_cache = use_cache
        self.scale_attn_by_inverse_layer_idx = scale_attn_by_inverse_layer_idx
        self.reorder_and_upcast_attn = reorder_and_upcast_attn
        self.gpt_options()

    def gpt_options(self) -> GptOptions:
        """The GPT-2 block: fused Conv1D projections, learned positions, pre-norm, sequential residual. The
        config is checked again here: keyword overrides given to from_pretrained reach it after __init__."""
        check_heads("GPT2Config", self.n_embd, self.n_head, "n_embd", "n_head")
        check_activation(self.activation_function, "activation_function", "GPT2Config")
        check_dropout("GPT2Config", resid_pdrop=self.resid_pdrop, embd_pdrop=self.embd_pdrop, attn_pdrop=self.attn_pdrop,
                      summary_first_dropout=self.summary_first_dropout,
                      summary_last_dropout=getattr(self, "summary_last_dropout", None))  # fmt: skip
        if self.pruned_heads:
            raise NotImplementedError("GPT2Config.pruned_heads: pruned attention heads are not implemented; load a "
                                      "checkpoint whose config has none.")  # fmt: skip
        return GptOptions(
            names=GPT2_NAMES, hidden_size=self.n_embd, num_heads=self.n_head, inner_size=self.n_inner or 4 * self.n_embd,
            vocab_size=self.vocab_size, num_layers=self.n_layer, max_positions=self.n_positions,
            activation=self.activation_function, norm_eps=self.layer_norm_epsilon, attention_layout="conv1d",
            positions="learned", conv1d=True,
            attention_scale=(self.n_embd // self.n_head) ** -0.5 if self.scale_attn_weights else 1.0,
            scale_by_layer=bool(self.scale_attn_by_inverse_layer_idx), upcast=bool(self.reorder_and_upcast_attn),
            token_type_embeddings=True, cross_attention=bool(self.add_cross_attention),
            embed_dropout=self.embd_pdrop, attention_dropout=self.attn_pdrop, residual_dropout=self.resid_pdrop,
            length_field="n_positions",
        )  # fmt: skip


CONFIG_CLASS = GPT2Config
ARCHITECTURES = {
    "MODEL": "GPT2Model",
    "MODEL_FOR_CAUSAL_LM": "GPT2LMHeadModel",
    "MODEL_FOR_PRETRAINING": "GPT2LMHeadModel",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "GPT2ForSequenceClassification",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "GPT2ForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "GPT2ForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
# The heads of the GPT-style decoders (OPT, GPT-NeoX and GPT-J use the same with their names and widths).
CAUSAL_LM = HeadSpec(pooling="none", attr="lm_head", bias=False, dropout=())
SEQUENCE_CLASSIFICATION = HeadSpec(pooling="last", attr="score", bias=False, dropout=())
TOKEN_CLASSIFICATION = HeadSpec(pooling="none", attr="classifier", dropout=("classifier_dropout", "hidden_dropout"),
                                dropout_default=0.1)  # fmt: skip
QUESTION_ANSWERING = HeadSpec(pooling="none", attr="qa_outputs", dropout=(), out_features=2)
HEADS = {
    "GPT2LMHeadModel": CAUSAL_LM,
    "GPT2ForSequenceClassification": SEQUENCE_CLASSIFICATION,
    "GPT2ForTokenClassification": TOKEN_CLASSIFICATION,
    "GPT2ForQuestionAnswering": QUESTION_ANSWERING,
}
