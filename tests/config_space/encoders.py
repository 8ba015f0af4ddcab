"""Random configs of the BERT-family encoders (fields their reference modeling code reads)."""

from __future__ import annotations

from .harness import Draw

BERT_HEADS = ("MODEL", "MODEL_FOR_PRETRAINING", "MODEL_FOR_MASKED_LM", "MODEL_FOR_CAUSAL_LM",
              "MODEL_FOR_NEXT_SENTENCE_PREDICTION", "MODEL_FOR_SEQUENCE_CLASSIFICATION", "MODEL_FOR_MULTIPLE_CHOICE",
              "MODEL_FOR_TOKEN_CLASSIFICATION", "MODEL_FOR_QUESTION_ANSWERING")  # fmt: skip


def bert_like(rng, model_type: str, heads: tuple[str, ...]) -> Draw:
    heads_per_draw = 2
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "hidden_size": int(rng.choice([16, 24, 32])),
        "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": int(rng.choice([1, 2, 4])),
        "intermediate_size": int(rng.integers(8, 48)),
        "hidden_act": str(rng.choice(["gelu", "relu", "gelu_new", "silu", "tanh"])),
        "max_position_embeddings": int(rng.integers(24, 64)),
        "type_vocab_size": int(rng.integers(1, 4)),
        "layer_norm_eps": float(rng.choice([1e-12, 1e-5, 1e-3])),
        "is_decoder": bool(rng.integers(2)),
        "num_labels": int(rng.integers(1, 5)),
        "classifier_dropout": None if rng.integers(2) else 0.2,
        "tie_word_embeddings": bool(rng.integers(2)),
    }
    if model_type == "roberta":
        config["pad_token_id"] = 1
    chosen = tuple(rng.choice(heads, size=heads_per_draw, replace=False))
    if "MODEL_FOR_QUESTION_ANSWERING" in chosen:
        config["num_labels"] = 2
    return Draw(model_type, config, chosen, call_kwargs={"output_hidden_states": True, "output_attentions": True})


GENERATORS = {
    "bert": lambda rng: bert_like(rng, "bert", BERT_HEADS),
    "roberta": lambda rng: bert_like(rng, "roberta", tuple(h for h in BERT_HEADS if "SENTENCE" not in h and h != "MODEL_FOR_PRETRAINING")),
}
