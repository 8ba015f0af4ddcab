"""Random configs of the GPT-style decoders (GPT-2, OPT, GPT-NeoX, GPT-J): every config field transformers 4.57.6's
modeling code reads for them, including the ones the fixtures leave at their defaults (GPT-2's layer-wise and
unscaled attention, upcast attention, cross-attention and double-heads summary; OPT's post-norm, projections,
bias and affine switches, final-norm removal; GPT-NeoX's rotary fraction and base, rope scalings, sequential
residual, biases; GPT-J's rotary dims; tied and untied LM heads)."""

from __future__ import annotations

import numpy as np

from autoload.encoder import ACTIVATIONS
from autoload.testing import sample_inputs

from .encoders import chosen_heads, pick, with_encoder_states
from .harness import Draw

CAUSAL_HEADS = ("MODEL", "MODEL_FOR_CAUSAL_LM", "MODEL_FOR_SEQUENCE_CLASSIFICATION", "MODEL_FOR_QUESTION_ANSWERING")
WITH_TOKEN_HEAD = (*CAUSAL_HEADS, "MODEL_FOR_TOKEN_CLASSIFICATION")
CROSS_ATTENTION_HEADS = ("MODEL", "MODEL_FOR_CAUSAL_LM")  # the GPT-2 classes whose forward takes encoder states


def outputs_wanted(rng) -> dict:
    """Hidden states always; attentions half the time (without them PyTorch takes its fused attention path)."""
    return {"output_hidden_states": True, "output_attentions": bool(rng.integers(2))}


def dropouts(rng, *names: str) -> dict:
    return {name: pick(rng, [0.0, 0.1]) for name in names}


def gpt2_config(rng) -> dict:
    heads = pick(rng, [1, 2, 4])
    return {
        "vocab_size": int(rng.integers(40, 120)),
        "n_positions": int(rng.integers(10, 40)),
        "n_embd": heads * pick(rng, [4, 8]),
        "n_layer": int(rng.integers(1, 4)),
        "n_head": heads,
        "n_inner": pick(rng, [None, int(rng.integers(8, 40))]),
        "activation_function": pick(rng, ACTIVATIONS),
        **dropouts(rng, "resid_pdrop", "embd_pdrop", "attn_pdrop"),
        "layer_norm_epsilon": pick(rng, [1e-5, 1e-3]),
        "scale_attn_weights": bool(rng.integers(2)),
        "scale_attn_by_inverse_layer_idx": bool(rng.integers(2)),
        "reorder_and_upcast_attn": bool(rng.integers(2)),
        "use_cache": bool(rng.integers(2)),
        "tie_word_embeddings": bool(rng.integers(2)),
        "pad_token_id": int(rng.integers(0, 3)),
        "num_labels": int(rng.integers(1, 5)),
        "classifier_dropout": pick(rng, [None, 0.0, 0.2]),
    }


def gpt2(rng) -> Draw:
    config = gpt2_config(rng)
    config["add_cross_attention"] = bool(rng.integers(2))
    heads, inputs = WITH_TOKEN_HEAD, None
    if config["add_cross_attention"]:
        heads = CROSS_ATTENTION_HEADS
        inputs = with_encoder_states(config["n_embd"], int(rng.integers(2, 6)))
    return Draw("gpt2", config, chosen_heads(rng, heads), inputs=inputs, call_kwargs=outputs_wanted(rng))


def choices_inputs(config, rng) -> dict:
    """[batch, 2 choices, seq] token ids and mask, and the position each choice is scored at."""
    inputs = sample_inputs(config, seed=int(rng.integers(1 << 30)))
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    return {"input_ids": np.stack([ids, ids[::-1]], axis=1), "attention_mask": np.stack([mask, mask[::-1]], axis=1),
            "mc_token_ids": rng.integers(0, ids.shape[1], (ids.shape[0], 2))}  # fmt: skip


def gpt2_double_heads(rng) -> Draw:
    """GPT2DoubleHeadsModel (in no Auto family): the summary_* fields of its multiple-choice head."""
    config = gpt2_config(rng)
    config.update(summary_type=pick(rng, ["cls_index", "cls_index", "last", "first", "mean"]),
                  summary_use_proj=bool(rng.integers(2)), summary_proj_to_labels=bool(rng.integers(2)),
                  summary_activation=pick(rng, [None, "tanh", "relu"]), summary_first_dropout=pick(rng, [0.0, 0.1]),
                  summary_last_dropout=pick(rng, [0.0, 0.1]))  # fmt: skip
    return Draw("gpt2", config, families=(), classes=("GPT2DoubleHeadsModel",), inputs=choices_inputs,
                call_kwargs=outputs_wanted(rng))  # fmt: skip


def opt(rng) -> Draw:
    heads = pick(rng, [1, 2, 4])
    hidden = heads * pick(rng, [4, 8])
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "hidden_size": hidden,
        "num_hidden_layers": int(rng.integers(1, 4)),
        "ffn_dim": int(rng.integers(8, 40)),
        "max_position_embeddings": int(rng.integers(10, 40)),
        "do_layer_norm_before": bool(rng.integers(2)),
        "_remove_final_layer_norm": bool(rng.integers(4) == 0),
        "word_embed_proj_dim": pick(rng, [None, hidden, int(rng.integers(4, 20))]),
        **dropouts(rng, "dropout", "attention_dropout", "layerdrop"),
        "num_attention_heads": heads,
        "activation_function": pick(rng, ACTIVATIONS),
        "init_std": pick(rng, [0.02, 0.05]),
        "enable_bias": bool(rng.integers(2)),
        "layer_norm_elementwise_affine": bool(rng.integers(2)),
        "use_cache": bool(rng.integers(2)),
        "tie_word_embeddings": bool(rng.integers(2)),
        "pad_token_id": int(rng.integers(0, 3)),
        "num_labels": int(rng.integers(1, 5)),
    }
    return Draw("opt", config, chosen_heads(rng, CAUSAL_HEADS), call_kwargs=outputs_wanted(rng))


ROPE_SCALINGS = [
    None,
    {"rope_type": "linear", "factor": 2.0},
    {"type": "dynamic", "factor": 2.0},
    {"rope_type": "yarn", "factor": 2.0},
    {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
     "original_max_position_embeddings": 8},
]  # fmt: skip


def gpt_neox(rng) -> Draw:
    heads = pick(rng, [1, 2, 4])
    head_dim = pick(rng, [4, 8, 16])
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "hidden_size": heads * head_dim,
        "num_hidden_layers": int(rng.integers(1, 4)),
        "num_attention_heads": heads,
        "intermediate_size": int(rng.integers(8, 40)),
        "hidden_act": pick(rng, ACTIVATIONS),
        "rotary_pct": pick(rng, [0.25, 0.5, 1.0]) if head_dim >= 8 else pick(rng, [0.5, 1.0]),
        "rotary_emb_base": pick(rng, [10000, 500]),
        **dropouts(rng, "attention_dropout", "hidden_dropout"),
        "classifier_dropout": pick(rng, [0.0, 0.1]),
        "max_position_embeddings": int(rng.integers(10, 40)),
        "layer_norm_eps": pick(rng, [1e-5, 1e-3]),
        "use_parallel_residual": bool(rng.integers(2)),
        "rope_scaling": ROPE_SCALINGS[int(rng.integers(len(ROPE_SCALINGS)))],
        "attention_bias": bool(rng.integers(2)),
        "use_cache": bool(rng.integers(2)),
        "tie_word_embeddings": bool(rng.integers(2)),
        "pad_token_id": int(rng.integers(0, 3)),
        "num_labels": int(rng.integers(1, 5)),
    }
    return Draw("gpt_neox", config, chosen_heads(rng, WITH_TOKEN_HEAD), call_kwargs=outputs_wanted(rng))


def gptj(rng) -> Draw:
    heads = pick(rng, [1, 2, 4])
    head_dim = pick(rng, [4, 8, 16])
    rotary = pick(rng, [2, head_dim // 2, head_dim])
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "n_positions": int(rng.integers(10, 40)),
        "n_embd": heads * head_dim,
        "n_layer": int(rng.integers(1, 4)),
        "n_head": heads,
        "rotary_dim": pick(rng, [None, rotary]) if heads == 1 else rotary,
        "n_inner": pick(rng, [None, int(rng.integers(8, 40))]),
        "activation_function": pick(rng, ACTIVATIONS),
        **dropouts(rng, "resid_pdrop", "embd_pdrop", "attn_pdrop"),
        "layer_norm_epsilon": pick(rng, [1e-5, 1e-3]),
        "use_cache": bool(rng.integers(2)),
        "tie_word_embeddings": bool(rng.integers(2)),
        "pad_token_id": int(rng.integers(0, 3)),
        "num_labels": int(rng.integers(1, 5)),
    }
    chosen = chosen_heads(rng, CAUSAL_HEADS)
    if "MODEL_FOR_QUESTION_ANSWERING" in chosen:  # GPT-J's QA head has num_labels outputs: start and end
        config["num_labels"] = 2
    return Draw("gptj", config, chosen, call_kwargs=outputs_wanted(rng))


GENERATORS = {
    "gpt2": gpt2,
    "gpt2_double_heads": gpt2_double_heads,
    "opt": opt,
    "gpt_neox": gpt_neox,
    "gptj": gptj,
}
