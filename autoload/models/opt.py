from __future__ import annotations

from dataclasses import replace

from ..configuration import PretrainedConfig
from ..encoder import check_activation
from ..gpt_options import GptNames, GptOptions, check_dropout, check_heads
from .gpt2 import CAUSAL_LM, QUESTION_ANSWERING, SEQUENCE_CLASSIFICATION

OPT_NAMES = GptNames(embed="embed_tokens", positions="embed_positions", layers="layers", attention="self_attn",
                     norm_1="self_attn_layer_norm", norm_2="final_layer_norm", mlp=None, mlp_in="fc1", mlp_out="fc2",
                     final_norm="final_layer_norm", nest="decoder", tf_layer="{name}.{index}")  # fmt: skip
POSITION_OFFSET = 2  # OPT's position table keeps two rows before position 0 (fairseq's padding convention)


class OPTConfig(PretrainedConfig):
    """OPT: learned positions offset by 2 and counted over the attention mask, pre- or post-norm layers
    (do_layer_norm_before; OPT-350m is post-norm), word embeddings of word_embed_proj_dim projected in and out
    (project_in / project_out) when that differs from hidden_size."""

    model_type = "opt"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"initializer_range": "init_std"}  # what the shared initialisers read

    def __init__(self, vocab_size=50272, hidden_size=768, num_hidden_layers=12, ffn_dim=3072, max_position_embeddings=2048,
                 do_layer_norm_before=True, _remove_final_layer_norm=False, word_embed_proj_dim=None, dropout=0.1,
                 attention_dropout=0.0, num_attention_heads=12, activation_function="relu", layerdrop=0.0,
                 init_std=0.02, use_cache=True, pad_token_id=1, bos_token_id=2, eos_token_id=2, enable_bias=True,
                 layer_norm_elementwise_affine=True, **kwargs):  # fmt: skip
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.num_attention_heads = num_attention_heads
        self.word_embed_proj_dim = word_embed_proj_dim if word_embed_proj_dim is not None else hidden_size
        self.ffn_dim = ffn_dim
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation_function = activation_function
        self.init_std = init_std
        self.layerdrop = layerdrop
        self.use_cache = use_cache
        self.do_layer_norm_before = do_layer_norm_before
        self.enable_bias = enable_bias
        self.layer_norm_elementwise_affine = layer_norm_elementwise_affine
        # Kept only by checkpoints fine-tuned before transformers 4.20: pre-norm without the final norm.
        self._remove_final_layer_norm = _remove_final_layer_norm
        self.gpt_options()

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["_remove_final_layer_norm"] = self._remove_final_layer_norm  # transformers writes it too
        return out

    def gpt_options(self) -> GptOptions:
        check_heads("OPTConfig", self.hidden_size, self.num_attention_heads, "hidden_size", "num_attention_heads")
        check_activation(self.activation_function, "activation_function", "OPTConfig")
        check_dropout("OPTConfig", dropout=self.dropout, attention_dropout=self.attention_dropout,
                      layerdrop=self.layerdrop)  # fmt: skip
        if self.pruned_heads:
            raise NotImplementedError("OPTConfig.pruned_heads: pruned attention heads are not implemented.")
        pad = self.pad_token_id
        if pad is not None and not (isinstance(pad, int) and -self.vocab_size <= pad < self.vocab_size):
            raise ValueError(f"OPTConfig.pad_token_id ({pad!r}) is the word embeddings' padding row, so it must lie "
                             f"within vocab_size ({self.vocab_size}).")  # fmt: skip
        bias = bool(self.enable_bias)
        projected = self.word_embed_proj_dim != self.hidden_size
        return GptOptions(
            names=OPT_NAMES, hidden_size=self.hidden_size, num_heads=self.num_attention_heads, inner_size=self.ffn_dim,
            vocab_size=self.vocab_size, num_layers=self.num_hidden_layers, max_positions=self.max_position_embeddings,
            activation=self.activation_function, norm_eps=1e-5, norm_affine=bool(self.layer_norm_elementwise_affine),
            attention_layout="separate", positions="learned", position_offset=POSITION_OFFSET,
            positions_from_mask=True, attention_scale=(self.hidden_size // self.num_attention_heads) ** -0.5,
            qkv_bias=bias, out_bias=bias, mlp_bias=bias, norm_before=bool(self.do_layer_norm_before),
            final_norm=bool(self.do_layer_norm_before) and not self._remove_final_layer_norm,
            projection_dim=self.word_embed_proj_dim if projected else None, attention_dropout=self.attention_dropout,
            residual_dropout=self.dropout, layerdrop=self.layerdrop, pad_token_id=self.pad_token_id,
        )  # fmt: skip


def _projected_width(config) -> int:
    return config.word_embed_proj_dim


CONFIG_CLASS = OPTConfig
ARCHITECTURES = {
    "MODEL": "OPTModel",
    "MODEL_FOR_CAUSAL_LM": "OPTForCausalLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "OPTForSequenceClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "OPTForQuestionAnswering",
}
BACKENDS = ("torch", "tf", "flax")
HEADS = {  # every head reads the last hidden state, which has word_embed_proj_dim features
    "OPTForCausalLM": replace(CAUSAL_LM, width=_projected_width),
    "OPTForSequenceClassification": replace(SEQUENCE_CLASSIFICATION, width=_projected_width),
    "OPTForQuestionAnswering": replace(QUESTION_ANSWERING, width=_projected_width),
}
