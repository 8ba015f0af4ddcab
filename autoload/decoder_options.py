"""What a pre-norm decoder block computes, decided once from a config for every framework.

Each decoder config class (Llama, Mistral, Qwen2/3, Gemma 1/2/3, Phi-3, Mixtral) returns a DecoderOptions
from `decoder_options()`; the block libraries (`autoload/backends/<framework>/blocks/decoder.py`) build
and run layers from it alone, so a config field cannot mean one thing in PyTorch and another in Flax.
The attribute names (`mlp_attr`, fused projections) are the checkpoint's module names.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rope import check_rope_scaling, head_dim_of, rotary_dim

LAYER_TYPES = ("full_attention", "sliding_attention")


@dataclass(frozen=True)
class MoeOptions:
    """A sparse mixture of experts in place of the MLP: a linear router (`gate`) scores `num_experts`
    experts per token, the `top_k` best run, their outputs weighted by the renormalised softmax scores."""

    num_experts: int
    top_k: int
    jitter_noise: float = 0.0  # training only: inputs scaled by uniform noise in [1 - j, 1 + j]
    aux_loss_coef: float = 0.001
    output_router_logits: bool = False


@dataclass(frozen=True)
class LayerOptions:
    window: int | None = None  # keys strictly fewer than `window` positions back (None: no limit)
    local_rope: bool = False  # Gemma 3 sliding layers rotate with rope_local_base_freq


@dataclass(frozen=True)
class DecoderOptions:
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    layers: tuple[LayerOptions, ...]
    norm_eps: float
    activation: str
    rotary_dim: int
    attention_scale: float
    norm_offset: bool = False  # Gemma: RMSNorm scales by (1 + weight), weights start at 0
    embed_scale: float | None = None  # Gemma: embeddings times sqrt(hidden_size)
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    fused_qkv: bool = False  # Phi-3: one qkv_proj (q, then k, then v)
    fused_gate_up: bool = False  # Phi-3: one gate_up_proj (gate, then up)
    qk_norm: bool = False  # Qwen3, Gemma 3: RMSNorm over each head's queries and keys before rotating
    sandwich_norms: bool = False  # Gemma 2/3: norm after attention and around the MLP (4 norms per layer)
    attn_softcap: float | None = None  # Gemma 2: scores -> cap * tanh(scores / cap)
    final_softcap: float | None = None  # Gemma 2/3: the same on the LM logits
    causal: bool = True  # Gemma 3 use_bidirectional_attention: False
    attention_dropout: float = 0.0
    residual_dropout: float = 0.0  # Phi-3 resid_pdrop, on both residual branches
    mlp_attr: str = "mlp"
    moe: MoeOptions | None = None

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def groups(self) -> int:
        return self.num_heads // self.num_kv_heads

    @property
    def uses_local_rope(self) -> bool:
        return any(layer.local_rope for layer in self.layers)


def check_heads(config) -> None:
    """Head counts that divide: hidden over heads (unless head_dim is given), kv heads into heads."""
    name = type(config).__name__
    if getattr(config, "head_dim", None) is None and config.hidden_size % config.num_attention_heads:
        raise ValueError(
            f"{name}: hidden_size ({config.hidden_size}) is not a multiple of num_attention_heads "
            f"({config.num_attention_heads}); set head_dim or change the head count."
        )
    if config.num_attention_heads % config.num_key_value_heads:
        raise ValueError(
            f"{name}: num_key_value_heads ({config.num_key_value_heads}) must divide num_attention_heads "
            f"({config.num_attention_heads}) for grouped-query attention."
        )


def check_decoder_config(config) -> None:
    check_heads(config)
    check_rope_scaling(config)
    if rotary_dim(config) % 2:
        raise ValueError(f"{type(config).__name__}: the rotary dimension ({rotary_dim(config)}, head_dim × "
                         "partial_rotary_factor) must be even.")  # fmt: skip


def check_layer_types(config) -> None:
    layer_types = getattr(config, "layer_types", None)
    if layer_types is None:
        return
    if len(layer_types) != config.num_hidden_layers:
        raise ValueError(f"{type(config).__name__}: layer_types has {len(layer_types)} entries for "
                         f"num_hidden_layers={config.num_hidden_layers}.")  # fmt: skip
    unknown = sorted(set(layer_types) - set(LAYER_TYPES))
    if unknown:
        raise ValueError(f"{type(config).__name__}: layer_types {unknown} are not supported; each entry must be one "
                         f"of {LAYER_TYPES}.")  # fmt: skip


def windows_by_layer_type(config) -> list[int | None]:
    """sliding_window on the layers whose layer_types entry is sliding_attention, no limit on the others."""
    if config.sliding_window is None and "sliding_attention" in config.layer_types:
        extra = " (use_sliding_window is false)" if getattr(config, "use_sliding_window", True) is False else ""
        raise ValueError(f"{type(config).__name__}: layer_types has sliding_attention layers but sliding_window is "
                         f"None{extra}; set sliding_window, or make those layers full_attention.")  # fmt: skip
    return [config.sliding_window if kind == "sliding_attention" else None for kind in config.layer_types]


def same_window_everywhere(config) -> list[int | None]:
    return [getattr(config, "sliding_window", None)] * config.num_hidden_layers


def decoder_options(config, windows: list[int | None] | None = None, local_rope: list[bool] | None = None,
                    **values) -> DecoderOptions:  # fmt: skip
    """The options every Llama-like config shares, plus the architecture's `values`. The config is checked
    again here: keyword overrides given to from_pretrained reach it after its __init__ ran."""
    check_decoder_config(config)
    check_layer_types(config)
    count = config.num_hidden_layers
    windows = windows or [None] * count
    local_rope = local_rope or [False] * count
    head_dim = head_dim_of(config)
    if "activation" not in values:
        values["activation"] = config.hidden_act
    values.setdefault("attention_scale", head_dim**-0.5)
    return DecoderOptions(
        hidden_size=config.hidden_size, num_heads=config.num_attention_heads, num_kv_heads=config.num_key_value_heads,
        head_dim=head_dim, intermediate_size=config.intermediate_size, vocab_size=config.vocab_size,
        layers=tuple(LayerOptions(w, r) for w, r in zip(windows, local_rope)), norm_eps=config.rms_norm_eps,
        rotary_dim=rotary_dim(config), attention_dropout=getattr(config, "attention_dropout", 0.0) or 0.0, **values,
    )  # fmt: skip
