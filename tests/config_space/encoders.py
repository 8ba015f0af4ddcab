"""Random configs of the post-norm encoders (BERT family): every config field transformers 4.57.6's modeling code
reads for them, including the ones the fixtures leave at their defaults (relative positions, decoder and
cross-attention layers, untied LM decoders, chunked feed-forward, every weight-free activation)."""

from __future__ import annotations

import importlib

import numpy as np

from autoload.encoder import ACTIVATIONS, POSITION_EMBEDDING_TYPES
from autoload.testing import sample_inputs

from .harness import Draw

# Heads whose forward takes encoder_hidden_states (the others cannot run cross-attention layers).
CROSS_ATTENTION_HEADS = ("MODEL", "MODEL_FOR_CAUSAL_LM")
ATTENTIONS = {"output_hidden_states": True, "output_attentions": True}


def pick(rng, values):
    return values[int(rng.integers(len(values)))]


def own_families(model_type: str) -> tuple[str, ...]:
    """The architecture's Auto families, one per distinct class: an alias family (MODEL_FOR_TEXT_ENCODING for the
    base model, MODEL_FOR_PRETRAINING for a masked LM) would only draw a class again."""
    module = importlib.import_module(f"autoload.models.{model_type.replace('-', '_')}")
    families: dict[str, str] = {}
    for family, class_name in module.ARCHITECTURES.items():
        families.setdefault(class_name, family)
    return tuple(families.values())


def chosen_heads(rng, heads: tuple[str, ...], count: int = 2) -> tuple[str, ...]:
    return tuple(str(h) for h in rng.choice(heads, size=min(count, len(heads)), replace=False))


def encoder_inputs(heads: int, head_mask: bool, cross_width: int | None = None, source_length: int = 3):
    """sample_inputs, plus a [heads] head_mask (some heads off) and, for cross-attention layers,
    encoder_hidden_states with a padded encoder_attention_mask."""

    def inputs(config, rng):
        values = sample_inputs(config, seed=int(rng.integers(1 << 30)))
        batch = values["input_ids"].shape[0]
        if head_mask:
            values["head_mask"] = (rng.random(heads) < 0.6).astype(np.float32)
        if cross_width is not None:
            values["encoder_hidden_states"] = rng.standard_normal((batch, source_length, cross_width)).astype(np.float32)
            mask = np.ones((batch, source_length), dtype=np.int64)
            mask[1:, -1] = 0
            values["encoder_attention_mask"] = mask
        return values

    return inputs


def with_encoder_states(width: int, source_length: int):
    """Inputs plus encoder_hidden_states (and a padded encoder mask) for cross-attention layers."""
    return encoder_inputs(0, False, width, source_length)


def encoder_draw(rng, model_type: str, config: dict, heads: int, head_mask: bool | None = None) -> Draw:
    """Two of the architecture's heads (question answering with two labels) on encoder inputs; whether a head mask
    is passed is drawn unless the architecture takes none (head_mask=False)."""
    chosen = chosen_heads(rng, own_families(model_type))
    if "MODEL_FOR_QUESTION_ANSWERING" in chosen:
        config["num_labels"] = 2
    inputs = encoder_inputs(heads, bool(rng.integers(2)) if head_mask is None else head_mask)
    # ModernBERT's rope scaling may take rotary.py's traced path (length-dependent types): it runs op by op
    return Draw(model_type, config, chosen, inputs=inputs, call_kwargs=dict(ATTENTIONS),
                jit_flax=model_type != "modernbert")  # fmt: skip


def bert_like(rng, model_type: str) -> Draw:
    heads = own_families(model_type)
    is_decoder = bool(rng.integers(2))
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "hidden_size": pick(rng, [16, 24, 32]),
        "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": pick(rng, [1, 2, 4]),
        "intermediate_size": int(rng.integers(8, 48)),
        "hidden_act": pick(rng, ACTIVATIONS),
        "hidden_dropout_prob": pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": pick(rng, [0.0, 0.1]),
        "max_position_embeddings": int(rng.integers(24, 64)),
        "type_vocab_size": int(rng.integers(1, 4)),
        "layer_norm_eps": pick(rng, [1e-12, 1e-5, 1e-3]),
        "position_embedding_type": pick(rng, POSITION_EMBEDDING_TYPES),
        "is_decoder": is_decoder,
        "add_cross_attention": is_decoder and bool(rng.integers(2)),
        "use_cache": bool(rng.integers(2)),
        "chunk_size_feed_forward": pick(rng, [0, 0, 1, 4]),  # a divisor of the inputs' length (8), or none
        "num_labels": int(rng.integers(1, 5)),
        "classifier_dropout": pick(rng, [None, 0.0, 0.2]),
        "tie_word_embeddings": bool(rng.integers(2)),
    }
    if model_type == "electra":
        config.update(electra_fields(rng, config))
    if model_type in ("roberta", "xlm-roberta"):  # positions start after the padding index, whatever it is
        config.update(pad_token_id=int(rng.integers(0, 3)), bos_token_id=0, eos_token_id=2)
    else:
        config["pad_token_id"] = int(rng.integers(0, 3))
    cross_width = None
    if config["add_cross_attention"]:
        heads = tuple(h for h in heads if h in CROSS_ATTENTION_HEADS)
        cross_width = config["hidden_size"]
    inputs = encoder_inputs(config["num_attention_heads"], bool(rng.integers(2)), cross_width, int(rng.integers(2, 6)))
    chosen = chosen_heads(rng, heads)
    if "MODEL_FOR_QUESTION_ANSWERING" in chosen:
        config["num_labels"] = 2
        config.pop("summary_proj_to_labels", None)
    return Draw(model_type, config, chosen, inputs=inputs, call_kwargs=dict(ATTENTIONS), jit_flax=True)


def electra_fields(rng, config: dict) -> dict:
    """Embeddings of their own width (projected when it differs) and the sequence summary of multiple choice."""
    fields = {
        "embedding_size": pick(rng, [config["hidden_size"], 8, 12]),
        "summary_type": pick(rng, ["first", "last", "mean", "cls_index"]),
        "summary_use_proj": bool(rng.integers(2)),
        "summary_activation": pick(rng, [None, "gelu", "tanh", "relu"]),
        "summary_first_dropout": pick(rng, [0.0, 0.1]),
        "summary_last_dropout": pick(rng, [0.0, 0.1]),
    }
    if rng.integers(2):  # to labels: only runnable when the labels are as many as the hidden features
        fields["summary_proj_to_labels"] = True
        config["num_labels"] = config["hidden_size"]
    return fields


def distilbert(rng) -> Draw:
    heads = pick(rng, [1, 2, 4])
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "max_position_embeddings": int(rng.integers(12, 40)),
        "sinusoidal_pos_embds": bool(rng.integers(2)),
        "n_layers": int(rng.integers(1, 3)),
        "n_heads": heads,
        "dim": heads * pick(rng, [4, 8]),
        "hidden_dim": int(rng.integers(8, 40)),
        "dropout": pick(rng, [0.0, 0.1]),
        "attention_dropout": pick(rng, [0.0, 0.1]),
        "activation": pick(rng, ACTIVATIONS),
        "qa_dropout": pick(rng, [0.0, 0.1]),
        "seq_classif_dropout": pick(rng, [0.0, 0.2]),
        "pad_token_id": int(rng.integers(0, 3)),
        "chunk_size_feed_forward": pick(rng, [0, 0, 2]),  # a divisor of the inputs' length (8), or none
        "num_labels": int(rng.integers(1, 5)),
        "tie_word_embeddings": bool(rng.integers(2)),
    }
    return encoder_draw(rng, "distilbert", config, heads)


def albert(rng) -> Draw:
    layers = int(rng.integers(1, 5))
    groups = int(rng.integers(1, layers + 1))
    heads = pick(rng, [1, 2, 4])
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "embedding_size": pick(rng, [8, 12, 16]),
        "hidden_size": heads * pick(rng, [4, 8]),
        "num_hidden_layers": layers,
        "num_hidden_groups": groups,
        "inner_group_num": int(rng.integers(1, int(layers / groups) + 1)),
        "num_attention_heads": heads,
        "intermediate_size": int(rng.integers(8, 40)),
        "hidden_act": pick(rng, ACTIVATIONS),
        "hidden_dropout_prob": pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": pick(rng, [0.0, 0.1]),
        "max_position_embeddings": int(rng.integers(12, 40)),
        "type_vocab_size": int(rng.integers(1, 4)),
        "layer_norm_eps": pick(rng, [1e-12, 1e-5]),
        "classifier_dropout_prob": pick(rng, [0.0, 0.1]),
        "position_embedding_type": pick(rng, POSITION_EMBEDDING_TYPES),
        "pad_token_id": int(rng.integers(0, 3)),
        "chunk_size_feed_forward": pick(rng, [0, 0, 2]),
        "num_labels": int(rng.integers(1, 5)),
        "tie_word_embeddings": bool(rng.integers(2)),
    }
    return encoder_draw(rng, "albert", config, heads)


def mpnet(rng) -> Draw:
    heads = pick(rng, [1, 2, 4])
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "hidden_size": heads * pick(rng, [4, 8]),
        "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": heads,
        "intermediate_size": int(rng.integers(8, 40)),
        "hidden_act": pick(rng, ACTIVATIONS),
        "hidden_dropout_prob": pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": pick(rng, [0.0, 0.1]),
        "max_position_embeddings": int(rng.integers(12, 40)),
        "layer_norm_eps": pick(rng, [1e-12, 1e-5]),
        "relative_attention_num_buckets": pick(rng, [32, 40]),
        "is_decoder": bool(rng.integers(2)),  # MPNet's mask is causal then
        "num_labels": int(rng.integers(1, 5)),
        "tie_word_embeddings": bool(rng.integers(2)),
    }
    return encoder_draw(rng, "mpnet", config, heads)


def deberta_v2(rng) -> Draw:
    heads = pick(rng, [1, 2, 4])
    hidden = heads * pick(rng, [4, 8])
    legacy = bool(rng.integers(2))
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "hidden_size": hidden,
        "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": heads,
        "intermediate_size": int(rng.integers(8, 40)),
        "hidden_act": pick(rng, ACTIVATIONS),
        "hidden_dropout_prob": pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": pick(rng, [0.0, 0.1]),
        "max_position_embeddings": int(rng.integers(12, 40)),
        "type_vocab_size": int(rng.integers(0, 3)),
        "layer_norm_eps": pick(rng, [1e-7, 1e-5]),
        "relative_attention": bool(rng.integers(2)),
        "max_relative_positions": pick(rng, [-1, 6, 16]),
        "position_buckets": pick(rng, [-1, 4, 8, 12]),
        "position_biased_input": bool(rng.integers(2)),
        "pos_att_type": pick(rng, [None, ["c2p"], ["p2c"], ["p2c", "c2p"], "p2c|c2p"]),
        "share_att_key": bool(rng.integers(2)),
        "norm_rel_ebd": pick(rng, ["none", "layer_norm"]),
        "conv_kernel_size": pick(rng, [0, 0, 3]),
        "conv_groups": pick(rng, [1, heads]),
        "conv_act": pick(rng, ["tanh", "gelu"]),
        # the newer LM head scores with the word embeddings themselves: their width must be hidden_size
        "embedding_size": pick(rng, [None, hidden + 4]) if legacy else None,
        "pooler_dropout": pick(rng, [0, 0.1]),
        "pooler_hidden_act": pick(rng, ["gelu", "tanh", "relu"]),
        "cls_dropout": pick(rng, [None, 0.1]),
        "legacy": legacy,
        "pad_token_id": int(rng.integers(0, 3)),
        "num_labels": int(rng.integers(1, 5)),
        "tie_word_embeddings": bool(rng.integers(2)),
    }
    if config["embedding_size"] is None:
        del config["embedding_size"]
    return encoder_draw(rng, "deberta-v2", config, heads, head_mask=False)  # transformers' DeBERTa-v2 takes none


ROPE_SCALINGS = [None, {"rope_type": "linear", "factor": 2.0}, {"rope_type": "dynamic", "factor": 2.0},
                 {"rope_type": "yarn", "factor": 2.0}]  # fmt: skip


def modernbert(rng) -> Draw:
    heads = pick(rng, [1, 2, 4])
    config = {
        "vocab_size": int(rng.integers(40, 120)),
        "hidden_size": heads * pick(rng, [4, 8]),
        "intermediate_size": int(rng.integers(8, 40)),
        "num_hidden_layers": int(rng.integers(1, 4)),
        "num_attention_heads": heads,
        "hidden_activation": pick(rng, ACTIVATIONS),
        "max_position_embeddings": int(rng.integers(6, 40)),
        "norm_eps": pick(rng, [1e-5, 1e-3]),
        "norm_bias": bool(rng.integers(2)),
        "pad_token_id": int(rng.integers(0, 3)),
        "global_rope_theta": pick(rng, [160000.0, 10000.0, 500.0]),
        "local_rope_theta": pick(rng, [10000.0, 100.0, None]),
        "rope_scaling": pick(rng, ROPE_SCALINGS),
        "attention_bias": bool(rng.integers(2)),
        "attention_dropout": pick(rng, [0.0, 0.1]),
        "global_attn_every_n_layers": int(rng.integers(1, 4)),
        "local_attention": int(rng.integers(2, 9)),  # a window of local_attention // 2 each side
        "embedding_dropout": pick(rng, [0.0, 0.1]),
        "mlp_bias": bool(rng.integers(2)),
        "mlp_dropout": pick(rng, [0.0, 0.1]),
        "decoder_bias": bool(rng.integers(2)),
        "classifier_pooling": pick(rng, ["cls", "mean"]),
        "classifier_dropout": pick(rng, [0.0, 0.1]),
        "classifier_bias": bool(rng.integers(2)),
        "classifier_activation": pick(rng, ["gelu", "tanh", "silu", "relu"]),
        "sparse_prediction": bool(rng.integers(2)),  # only changes anything when labels are given
        "reference_compile": False,
        "num_labels": int(rng.integers(1, 5)),
        "tie_word_embeddings": bool(rng.integers(2)),
    }
    return encoder_draw(rng, "modernbert", config, heads, head_mask=False)  # transformers' ModernBERT takes none


GENERATORS = {
    "bert": lambda rng: bert_like(rng, "bert"),
    "roberta": lambda rng: bert_like(rng, "roberta"),
    "xlm-roberta": lambda rng: bert_like(rng, "xlm-roberta"),
    "distilbert": distilbert,
    "electra": lambda rng: bert_like(rng, "electra"),
    "albert": albert,
    "mpnet": mpnet,
    "deberta-v2": deberta_v2,
    "modernbert": modernbert,
}
