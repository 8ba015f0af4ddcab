"""What a GPT-style decoder computes (GPT-2, OPT, GPT-NeoX, GPT-J), decided once from a config for every framework.

These decoders differ from the Llama family (autoload/decoder_options.py) in their norms (LayerNorm, with or
without weights), their MLP (two projections around an activation, no gate), their positions (a learned table,
OPT's offset by 2 and counted over the attention mask, or rotary over the first dims of each head, "rotate half"
or interleaved), their attention projections (GPT-2's fused Conv1D with weights [in, out], GPT-NeoX's fused
query_key_value whose rows hold q, k, v head by head, or separate q/k/v), their residual (attention then MLP,
or both in parallel, GPT-J with one norm for both) and OPT's post-norm option.

Each config class returns a GptOptions from `gpt_options()`; the blocks (autoload/backends/<framework>/
blocks/gpt.py) build and run a model from it alone, so a config field cannot mean one thing in PyTorch and
another in Flax. Module names are the checkpoint's (`names`), so the canonical tree, TF scopes and Flax paths
follow from them.
"""

from __future__ import annotations

from dataclasses import dataclass

ATTENTION_LAYOUTS = (
    "conv1d",  # GPT-2: c_attn (q, k, v side by side) and c_proj; cross-attention q_attn + c_attn (k, v)
    "separate",  # OPT, GPT-J: q_proj, k_proj, v_proj, out_proj
    "per_head",  # GPT-NeoX: query_key_value (per head: q, k, v) and dense
)
RESIDUALS = (
    "sequential",  # x + attn(norm_1(x)), then + mlp(norm_2(x))
    "parallel",  # x + attn(norm_1(x)) + mlp(norm_2(x)) (GPT-NeoX use_parallel_residual)
    "parallel_shared_norm",  # x + attn(norm_1(x)) + mlp(norm_1(x)) (GPT-J)
)
POSITIONS = ("learned", "rotary")


@dataclass(frozen=True)
class GptNames:
    """The checkpoint's module names.

    mlp: the MLP's container (None: its two projections sit on the layer itself, as OPT's fc1/fc2 do).
    norm_2: None when the MLP reads norm_1's output (GPT-J).
    nest: a module holding everything below the base model (OPT's `decoder`).
    tf_layer: the TF layer name of layer i ("h_._0"; transformers' TF OPT writes "layers.0").
    tf_embed_leaf / tf_positions_leaf: the TF variable names of the embedding tables where transformers' TF
    classes had them ("embeddings" or "weight"); both read as canonical `.weight`.
    """

    embed: str
    layers: str
    attention: str
    norm_1: str
    norm_2: str | None
    mlp: str | None
    mlp_in: str
    mlp_out: str
    final_norm: str
    positions: str | None = None
    nest: str | None = None
    tf_layer: str = "{name}_._{index}"
    tf_embed_leaf: str = "weight"
    tf_positions_leaf: str = "embeddings"

    def tf_layer_name(self, index: int) -> str:
        return self.tf_layer.format(name=self.layers, index=index)


@dataclass(frozen=True)
class GptOptions:
    """The sizes and switches of one GPT-style decoder (see the module docstring for the layouts).

    attention_scale: the factor on q·k (1/sqrt(head_dim), or 1 for GPT-2 scale_attn_weights=False);
        scale_by_layer divides layer i's scores by i + 1 too (GPT-2 scale_attn_by_inverse_layer_idx).
    upcast: scores and softmax in float32 whatever the weights' dtype (GPT-J always; GPT-2
        reorder_and_upcast_attn).
    position_offset: rows of the position table before position 0 (OPT: 2).
    positions_from_mask: default positions count the attention mask's ones, padding at -1 (OPT).
    rotary_dim: the leading dims of each head that rotate (the rest pass through).
    norm_before: pre-norm (True) or post-norm (OPT do_layer_norm_before=False: norm after each residual add,
        no final norm).
    projection_dim: OPT's word_embed_proj_dim when it differs from hidden_size: embeddings of that width,
        project_in before the layers and project_out after them.
    token_type_embeddings: token_type_ids, when given, add their rows of the word embeddings (GPT-2, GPT-J).
    cross_attention: every layer also attends to encoder_hidden_states (GPT-2 add_cross_attention).
    residual_dropout: on the attention and the MLP outputs before each residual add.
    layerdrop: the chance a layer is skipped in training (OPT).
    length_field: the config field the position limit comes from, named when an input is too long.
    """

    names: GptNames
    hidden_size: int
    num_heads: int
    inner_size: int
    vocab_size: int
    num_layers: int
    max_positions: int
    activation: str
    norm_eps: float
    attention_layout: str
    positions: str
    attention_scale: float
    qkv_bias: bool = True
    out_bias: bool = True
    mlp_bias: bool = True
    conv1d: bool = False
    norm_affine: bool = True
    scale_by_layer: bool = False
    upcast: bool = False
    position_offset: int = 0
    positions_from_mask: bool = False
    rotary_dim: int = 0
    rotary_interleaved: bool = False
    rope_dynamic: bool = False
    norm_before: bool = True
    residual: str = "sequential"
    final_norm: bool = True
    projection_dim: int | None = None
    token_type_embeddings: bool = False
    cross_attention: bool = False
    embed_dropout: float = 0.0
    attention_dropout: float = 0.0
    residual_dropout: float = 0.0
    layerdrop: float = 0.0
    pad_token_id: int | None = None
    length_field: str = "max_position_embeddings"

    def __post_init__(self):
        if self.attention_layout not in ATTENTION_LAYOUTS:
            raise ValueError(f"attention_layout must be one of {ATTENTION_LAYOUTS}, got {self.attention_layout!r}")
        if self.residual not in RESIDUALS:
            raise ValueError(f"residual must be one of {RESIDUALS}, got {self.residual!r}")
        if self.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {self.positions!r}")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def embed_width(self) -> int:
        """The width of the word embeddings and of the last hidden state (OPT's word_embed_proj_dim)."""
        return self.projection_dim or self.hidden_size

    def layer_scale(self, index: int) -> float:
        return self.attention_scale / (index + 1) if self.scale_by_layer else self.attention_scale

    def has_length_limit(self) -> bool:
        """Learned tables end at max_positions; rotary positions do too, except dynamic rope scaling."""
        return not (self.positions == "rotary" and self.rope_dynamic)


def check_heads(owner: str, width: int, heads: int, width_field: str, heads_field: str) -> None:
    if not isinstance(heads, int) or heads <= 0 or width % heads:
        raise ValueError(f"{owner}: {width_field} ({width}) is not a multiple of {heads_field} ({heads}); every head "
                         "must get the same number of dimensions.")  # fmt: skip


def check_dropout(owner: str, **rates) -> None:
    for name, rate in rates.items():
        if rate is not None and not (isinstance(rate, (int, float)) and 0.0 <= rate <= 1.0):
            raise ValueError(f"{owner}.{name} must be a probability between 0 and 1, got {rate!r}.")
