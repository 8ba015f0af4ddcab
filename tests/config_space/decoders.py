"""Random configs of the Llama-family decoders (the fields transformers 4.57.6's modeling code reads for each:
sizes and head counts, head_dim, activations, epsilons, every rope_scaling type with its options, biases,
tied embeddings, sliding windows and layer_types, soft-capping, q/k norm, partial rotary, mixture of
experts). Inputs are right-padded with the pad token and may run past max_position_embeddings where the
rope type allows it (dynamic), or past original_max_position_embeddings (Phi-3 long-rope's long factors)."""

from __future__ import annotations

import numpy as np

from .harness import Draw

HEADS = ("MODEL", "MODEL_FOR_CAUSAL_LM", "MODEL_FOR_SEQUENCE_CLASSIFICATION", "MODEL_FOR_TOKEN_CLASSIFICATION",
         "MODEL_FOR_QUESTION_ANSWERING")  # fmt: skip
NO_QA = HEADS[:-1]
ACTIVATIONS = ["silu", "gelu", "gelu_pytorch_tanh", "relu", "gelu_new"]


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def _rope_scaling(rng, dim: int, max_positions: int, keys=("rope_type", "type")):
    """None or a random rope_scaling of every type transformers implements (with their optional keys)."""
    kind = _pick(rng, [None, "default", "linear", "dynamic", "yarn", "longrope", "llama3"])
    if kind is None:
        return None
    key = _pick(rng, list(keys))
    if kind == "default":
        return {key: kind}
    if kind == "longrope":
        return {key: kind, "short_factor": rng.uniform(1.0, 2.0, dim // 2).round(3).tolist(),
                "long_factor": rng.uniform(1.0, 8.0, dim // 2).round(3).tolist(),
                "factor": float(_pick(rng, [2.0, 4.0]))}  # fmt: skip
    scaling = {key: kind, "factor": float(_pick(rng, [1.5, 2.0, 4.0]))}
    if kind == "yarn":
        for option, values in (("original_max_position_embeddings", [max_positions // 2, max_positions]),
                               ("attention_factor", [None, 0.8]), ("beta_fast", [None, 16.0]),
                               ("beta_slow", [None, 2.0]), ("mscale", [None, 0.7]), ("mscale_all_dim", [None, 1.0]),
                               ("truncate", [None, False])):  # fmt: skip
            value = _pick(rng, values)
            if value is not None:
                scaling[option] = value
    if kind == "llama3":
        scaling.update(low_freq_factor=1.0, high_freq_factor=float(_pick(rng, [2.0, 4.0])),
                       original_max_position_embeddings=max_positions // 2)  # fmt: skip
    return scaling


def _base(rng, heads=HEADS, head_dim: bool = True) -> tuple[dict, tuple[str, ...]]:
    num_heads = int(_pick(rng, [2, 4]))
    kv_heads = int(_pick(rng, [h for h in (1, 2, 4) if num_heads % h == 0]))
    config = {
        "vocab_size": int(rng.integers(40, 100)),
        "hidden_size": int(_pick(rng, [16, 24, 32])),
        "intermediate_size": int(rng.integers(8, 40)),
        "num_hidden_layers": int(rng.integers(1, 4)),
        "num_attention_heads": num_heads,
        "num_key_value_heads": kv_heads,
        "max_position_embeddings": int(_pick(rng, [12, 16, 32])),
        "rms_norm_eps": float(_pick(rng, [1e-6, 1e-5, 1e-2])),
        "rope_theta": float(_pick(rng, [100.0, 10000.0, 1e6])),
        "attention_dropout": float(_pick(rng, [0.0, 0.1])),  # inert in eval: checks nothing else reads it
        "tie_word_embeddings": bool(rng.integers(2)),
        "pad_token_id": 0,
        "num_labels": int(rng.integers(1, 5)),
        "classifier_dropout": _pick(rng, [None, 0.0, 0.3]),
    }
    if head_dim and rng.integers(2):
        config["head_dim"] = int(_pick(rng, [4, 8, 12]))
    chosen = tuple(str(h) for h in rng.choice(heads, size=2, replace=False))
    return config, chosen


def _rotary_dim(config: dict) -> int:
    dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    return int(dim * config.get("partial_rotary_factor", 1.0))


def decoder_inputs(config, rng) -> dict:
    """Two rows, the second right-padded with pad_token_id; long enough to cross the rope limits."""
    longest = config.max_position_embeddings
    if (config.rope_scaling or {}).get("rope_type", (config.rope_scaling or {}).get("type")) == "dynamic":
        longest += 4  # dynamic scaling exists to go past the limit
    length = int(rng.integers(5, min(longest, 14) + 1))
    ids = rng.integers(3, config.vocab_size, (2, length), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, length - 2 :] = 0
    ids[mask == 0] = config.pad_token_id
    return {"input_ids": ids, "attention_mask": mask}


def _draw(model_type: str, config: dict, heads: tuple[str, ...]) -> Draw:
    return Draw(model_type, config, heads, inputs=decoder_inputs,
                call_kwargs={"output_hidden_states": True, "output_attentions": True})  # fmt: skip


def _windows(rng, config: dict) -> list[str]:
    return [_pick(rng, ["full_attention", "sliding_attention"]) for _ in range(config["num_hidden_layers"])]


def llama(rng) -> Draw:
    config, heads = _base(rng)
    config.update(hidden_act=_pick(rng, ACTIVATIONS), attention_bias=bool(rng.integers(2)),
                  mlp_bias=bool(rng.integers(2)), pretraining_tp=int(_pick(rng, [1, 2])))  # fmt: skip
    config["rope_scaling"] = _rope_scaling(rng, _rotary_dim(config), config["max_position_embeddings"])
    return _draw("llama", config, heads)


def mistral(rng) -> Draw:
    config, heads = _base(rng)
    config.update(hidden_act=_pick(rng, ACTIVATIONS), sliding_window=_pick(rng, [None, 2, 3, 5]))
    config["rope_scaling"] = _rope_scaling(rng, _rotary_dim(config), config["max_position_embeddings"])
    return _draw("mistral", config, heads)


def qwen2(rng, model_type: str = "qwen2") -> Draw:
    config, heads = _base(rng)
    config.update(hidden_act=_pick(rng, ACTIVATIONS), use_sliding_window=bool(rng.integers(2)),
                  sliding_window=int(_pick(rng, [2, 3, 5])), max_window_layers=int(rng.integers(0, 3)))  # fmt: skip
    if rng.integers(2):
        config["layer_types"] = _windows(rng, config)
        config["use_sliding_window"] |= "sliding_attention" in config["layer_types"]  # sliding layers need a window
    config["rope_scaling"] = _rope_scaling(rng, _rotary_dim(config), config["max_position_embeddings"])
    if model_type == "qwen3":
        config["attention_bias"] = bool(rng.integers(2))
        config.setdefault("head_dim", config["hidden_size"] // config["num_attention_heads"])
    return _draw(model_type, config, heads)


def gemma(rng) -> Draw:
    config, heads = _base(rng, NO_QA)
    config.update(hidden_act=_pick(rng, ACTIVATIONS), attention_bias=bool(rng.integers(2)))
    config.setdefault("head_dim", config["hidden_size"] // config["num_attention_heads"])
    config["rope_scaling"] = _rope_scaling(rng, _rotary_dim(config), config["max_position_embeddings"])
    return _draw("gemma", config, heads)


def gemma2(rng, model_type: str = "gemma2") -> Draw:
    config, heads = _base(rng, NO_QA if model_type == "gemma2" else NO_QA[:-1])
    config.setdefault("head_dim", config["hidden_size"] // config["num_attention_heads"])
    config.update(
        hidden_activation=_pick(rng, ACTIVATIONS), attention_bias=bool(rng.integers(2)),
        query_pre_attn_scalar=int(_pick(rng, [4, 8, 16])), sliding_window=int(_pick(rng, [2, 3, 5])),
        final_logit_softcapping=_pick(rng, [None, 2.0, 30.0]), attn_logit_softcapping=_pick(rng, [None, 0.5, 50.0]),
    )  # fmt: skip
    if rng.integers(2):
        config["layer_types"] = _windows(rng, config)
    if model_type == "gemma3_text":
        config.update(rope_local_base_freq=float(_pick(rng, [100.0, 10000.0])),
                      sliding_window_pattern=int(_pick(rng, [2, 3, 6])),
                      use_bidirectional_attention=bool(rng.integers(4) == 0))  # fmt: skip
        if config["use_bidirectional_attention"]:
            config["sliding_window"] = 2  # transformers rewrites it to window // 2 + 1 at every load: 2 stays 2
        config["rope_scaling"] = _rope_scaling(rng, _rotary_dim(config), config["max_position_embeddings"],
                                               keys=("rope_type",))  # fmt: skip
    else:
        config["rope_scaling"] = _rope_scaling(rng, _rotary_dim(config), config["max_position_embeddings"])
    return _draw(model_type, config, heads)


def phi3(rng) -> Draw:
    config, heads = _base(rng, NO_QA, head_dim=False)
    config.update(hidden_act=_pick(rng, ACTIVATIONS), partial_rotary_factor=float(_pick(rng, [1.0, 0.5, 0.75])),
                  sliding_window=_pick(rng, [None, 3]), resid_pdrop=float(_pick(rng, [0.0, 0.1])),
                  embd_pdrop=float(_pick(rng, [0.0, 0.1])))  # fmt: skip
    if _rotary_dim(config) % 2:
        config["partial_rotary_factor"] = 1.0
    config["original_max_position_embeddings"] = int(_pick(rng, [4, 8, config["max_position_embeddings"]]))
    if rng.integers(3):
        half = _rotary_dim(config) // 2
        config["rope_scaling"] = {"type": _pick(rng, ["longrope", "su"]),
                                  "short_factor": rng.uniform(1.0, 2.0, half).round(3).tolist(),
                                  "long_factor": rng.uniform(1.0, 8.0, half).round(3).tolist()}  # fmt: skip
    return _draw("phi3", config, heads)


def mixtral(rng) -> Draw:
    config, heads = _base(rng)
    experts = int(rng.integers(2, 6))
    config.update(
        hidden_act=_pick(rng, ACTIVATIONS), sliding_window=_pick(rng, [None, 3]), num_local_experts=experts,
        num_experts_per_tok=int(rng.integers(1, experts + 1)), output_router_logits=bool(rng.integers(2)),
        router_aux_loss_coef=float(_pick(rng, [0.001, 0.1])), router_jitter_noise=float(_pick(rng, [0.0, 0.2])),
    )  # fmt: skip
    config["rope_scaling"] = _rope_scaling(rng, _rotary_dim(config), config["max_position_embeddings"])
    if config["rope_scaling"] and "head_dim" not in config:  # transformers' yarn / longrope / dynamic fail on null
        config["head_dim"] = config["hidden_size"] // config["num_attention_heads"]
    return _draw("mixtral", config, heads)


GENERATORS = {
    "llama": llama,
    "mistral": mistral,
    "qwen2": qwen2,
    "qwen3": lambda rng: qwen2(rng, "qwen3"),
    "gemma": gemma,
    "gemma2": gemma2,
    "gemma3_text": lambda rng: gemma2(rng, "gemma3_text"),
    "phi3": phi3,
    "mixtral": mixtral,
}
