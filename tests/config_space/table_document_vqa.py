"""Random configs of TAPAS, LayoutLMv3 and ViLT: every config field transformers 4.57.6's modeling code reads for
their inference paths (TAPAS's loss-only fields are covered by tests/test_tapas.py).

ViLT's images here are one patch each: transformers orders the image tokens of the longest row at random
(torch.multinomial) and fills padded rows with randomly drawn masked patches, so only a one-patch image gives
outputs that a parity run (AUTOLOAD_PARITY=1) can compare token by token; the position table is still resized
(to 1x1) from a grid of up to 3x3."""

from __future__ import annotations

import numpy as np

from autoload.testing import sample_inputs

from .harness import Draw

TAPAS_HEADS = ("MODEL", "MODEL_FOR_MASKED_LM", "MODEL_FOR_SEQUENCE_CLASSIFICATION", "MODEL_FOR_TABLE_QUESTION_ANSWERING")
LAYOUTLMV3_HEADS = ("MODEL", "MODEL_FOR_SEQUENCE_CLASSIFICATION", "MODEL_FOR_TOKEN_CLASSIFICATION",
                    "MODEL_FOR_QUESTION_ANSWERING")  # fmt: skip


def pick(rng, values):
    return values[int(rng.integers(len(values)))]


def heads(rng, choices, count=2) -> tuple[str, ...]:
    return tuple(str(h) for h in rng.choice(choices, size=count, replace=False))


def tapas(rng) -> Draw:
    width = pick(rng, [16, 24])
    sizes = [3, int(rng.integers(3, 7)), int(rng.integers(3, 8)), 2, int(rng.integers(2, 6)), int(rng.integers(2, 6)),
             int(rng.integers(2, 11))]  # fmt: skip
    config = {
        "vocab_size": int(rng.integers(40, 100)), "hidden_size": width, "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": pick(rng, [2, 4]), "intermediate_size": int(rng.integers(20, 40)),
        "hidden_act": pick(rng, ["gelu", "relu", "gelu_new", "silu"]), "max_position_embeddings": pick(rng, [12, 32]),
        "type_vocab_sizes": sizes, "layer_norm_eps": pick(rng, [1e-12, 1e-6]), "temperature": pick(rng, [1.0, 0.7]),
        "max_num_rows": int(rng.integers(2, sizes[2] + 2)), "max_num_columns": int(rng.integers(2, sizes[1] + 2)),
        "num_aggregation_labels": pick(rng, [0, 4]), "num_labels": pick(rng, [2, 3]),
        "allow_empty_column_selection": bool(rng.integers(2)),
        "reset_position_index_per_cell": bool(rng.integers(2)),
        "init_cell_selection_weights_to_zero": bool(rng.integers(2)),
        "tie_word_embeddings": bool(rng.integers(2)), "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
    }

    def inputs(config, rng):
        batch, length, question = 2, 12, 4
        ids = rng.integers(3, config.vocab_size, (batch, length))
        mask = np.ones((batch, length), np.int64)
        mask[1, -3:] = 0
        types = np.zeros((batch, length, 7), np.int64)
        types[:, question:, 0] = 1
        types[:, question:, 1] = rng.integers(1, sizes[1], (batch, length - question))
        types[:, question:, 2] = rng.integers(0, sizes[2], (batch, length - question))
        for column, size in ((3, sizes[3]), (4, sizes[4]), (5, sizes[5]), (6, sizes[6])):
            types[:, question:, column] = rng.integers(0, size, (batch, length - question))
        types[1, -3:] = 0
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    chosen = heads(rng, TAPAS_HEADS)
    # Cells the model does not pick get logits near -10000, whose float32 spacing is ~1e-3.
    atol = 2e-3 if "MODEL_FOR_TABLE_QUESTION_ANSWERING" in chosen else 1e-4
    return Draw("tapas", config, chosen, inputs=inputs, atol=atol)


def layoutlmv3(rng) -> Draw:
    coordinate, shape = pick(rng, [(4, 4), (2, 4), (4, 2)])
    width = 4 * coordinate + 2 * shape
    chosen = heads(rng, LAYOUTLMV3_HEADS)
    patch = pick(rng, [4, 8])
    config = {
        "vocab_size": int(rng.integers(40, 100)), "hidden_size": width, "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": pick(rng, [2, 4]), "intermediate_size": int(rng.integers(20, 40)),
        "hidden_act": pick(rng, ["gelu", "relu", "gelu_new", "tanh"]), "max_position_embeddings": 16,
        "type_vocab_size": pick(rng, [1, 2]), "layer_norm_eps": pick(rng, [1e-5, 1e-12]), "pad_token_id": 1,
        "coordinate_size": coordinate, "shape_size": shape, "max_2d_position_embeddings": 1024,
        "has_relative_attention_bias": bool(rng.integers(2)), "has_spatial_attention_bias": bool(rng.integers(2)),
        "rel_pos_bins": pick(rng, [8, 16, 32]), "max_rel_pos": pick(rng, [8, 32, 128]),
        "rel_2d_pos_bins": pick(rng, [16, 64]), "max_rel_2d_pos": pick(rng, [64, 256]),
        "visual_embed": bool(rng.integers(2)), "input_size": patch * pick(rng, [1, 2, 3]), "patch_size": patch,
        "num_channels": pick(rng, [1, 3]), "classifier_dropout": pick(rng, [None, 0.2]),
        "num_labels": 2 if "MODEL_FOR_QUESTION_ANSWERING" in chosen else pick(rng, [3, 12]),
    }

    def inputs(config, rng):
        values = sample_inputs(config, seed=int(rng.integers(1 << 30)))
        values["input_ids"][1, -2:] = config.pad_token_id
        batch, length = values["input_ids"].shape
        corners = rng.integers(0, 1001, (batch, length, 2, 2))
        values["bbox"] = np.concatenate([corners.min(2), corners.max(2)], axis=-1).astype(np.int64)
        values["token_type_ids"] = rng.integers(0, config.type_vocab_size, (batch, length))
        if config.visual_embed:
            size = config.input_size
            values["pixel_values"] = rng.standard_normal((batch, config.num_channels, size, size)).astype(np.float32)
        return values

    return Draw("layoutlmv3", config, chosen, inputs=inputs)


def vilt(rng) -> Draw:
    patch = pick(rng, [4, 8])
    config = {
        "vocab_size": int(rng.integers(40, 100)), "type_vocab_size": pick(rng, [1, 2]),
        "modality_type_vocab_size": pick(rng, [2, 3]), "max_position_embeddings": 12,
        "hidden_size": pick(rng, [16, 24]), "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": pick(rng, [2, 4]), "intermediate_size": int(rng.integers(20, 40)),
        "hidden_act": pick(rng, ["gelu", "relu", "gelu_new", "silu"]), "layer_norm_eps": pick(rng, [1e-12, 1e-6]),
        "image_size": patch * pick(rng, [1, 2, 3]), "patch_size": patch, "num_channels": pick(rng, [1, 3]),
        "qkv_bias": bool(rng.integers(2)), "max_image_length": pick(rng, [-1, 40]),
        "num_labels": pick(rng, [3, 5]), "tie_word_embeddings": False,
    }

    def inputs(config, rng):
        values = sample_inputs(config, seed=int(rng.integers(1 << 30)))
        batch = values["input_ids"].shape[0]
        values["token_type_ids"] = rng.integers(0, config.type_vocab_size, values["input_ids"].shape)
        size = (patch + int(rng.integers(0, patch)), patch + int(rng.integers(0, patch)))  # one patch, cropped
        values["pixel_values"] = rng.standard_normal((batch, config.num_channels, *size)).astype(np.float32)
        values["pixel_mask"] = np.ones((batch, *size), np.int64)
        return values

    return Draw("vilt", config, ("MODEL", "MODEL_FOR_VISUAL_QUESTION_ANSWERING"), inputs=inputs)


GENERATORS = {"tapas": tapas, "layoutlmv3": layoutlmv3, "vilt": vilt}
