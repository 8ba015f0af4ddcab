"""Random configs of OWL-ViT and SAM (every field their transformers 4.57.6 modeling code reads): OWL-ViT with
text queries per image (a padded query now and then), SAM with point / box / mask prompts, padding and "not a
point" labels, precomputed image embeddings, windows that do not divide the grid, and either mask output."""

from __future__ import annotations

import numpy as np

from .harness import Draw
from .vision import ACTIVATIONS, WITH_ATTENTIONS, _eps, _pick, _pixels, _text_tower, _vision_tower


def owlvit(rng) -> Draw:
    detection = bool(rng.integers(2))
    text, vision = _text_tower(rng), _vision_tower(rng)
    for key in ("eos_token_id", "bos_token_id", "pad_token_id"):  # OWL-ViT pools at the largest id, pads with 0
        text.pop(key)
    config = {"text_config": text, "vision_config": vision, "projection_dim": int(rng.integers(4, 20)),
              "logit_scale_init_value": float(rng.uniform(1.0, 3.0))}  # fmt: skip
    queries = int(rng.integers(1, 4)) if detection else 1
    if detection:  # the class head compares text-width patch embeddings with the projected queries
        config["projection_dim"] = text["hidden_size"]

    def inputs(c, r):
        length = min(text["max_position_embeddings"], 6)
        ids = r.integers(1, text["vocab_size"] - 1, (2 * queries, length))
        ends = r.integers(1, length, 2 * queries)
        ids[np.arange(2 * queries), ends] = text["vocab_size"] - 1  # the end token: the largest id
        mask = (np.arange(length)[None, :] <= ends[:, None]).astype(np.int64)
        if detection and queries > 1:
            ids[-1] = 0  # a padded query of the second image: masked out of its logits
        found = {"input_ids": ids.astype(np.int64), "attention_mask": mask,
                 "pixel_values": _pixels(vision["image_size"], vision["num_channels"], r)}  # fmt: skip
        if not detection:
            found["return_loss"] = np.array(bool(r.integers(2)))
        return found

    family = "MODEL_FOR_ZERO_SHOT_OBJECT_DETECTION" if detection else "MODEL"
    return Draw("owlvit", config, (family,), inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True)


def _sam_vision(rng, width: int) -> dict:
    heads = _pick(rng, [1, 2])
    patch = _pick(rng, [2, 4])
    grid = int(rng.integers(2, 5))
    layers = int(rng.integers(1, 4))
    hidden = heads * _pick(rng, [4, 8])
    return {"hidden_size": hidden, "output_channels": width, "num_hidden_layers": layers, "num_attention_heads": heads,
            "num_channels": _pick(rng, [1, 3]), "image_size": patch * grid, "patch_size": patch,
            "hidden_act": _pick(rng, ACTIVATIONS), "layer_norm_eps": _eps(rng),
            "attention_dropout": _pick(rng, [0.0, 0.1]), "qkv_bias": bool(rng.integers(2)),
            "mlp_ratio": float(_pick(rng, [1.0, 1.5, 2.0])), "use_abs_pos": bool(rng.integers(2)),
            "use_rel_pos": bool(rng.integers(2)), "window_size": int(rng.integers(1, grid + 2)),
            "global_attn_indexes": sorted(int(i) for i in rng.choice(layers, int(rng.integers(0, layers + 1)),
                                                                     replace=False)),
            "num_pos_feats": width // 2, "mlp_dim": _pick(rng, [None, int(rng.integers(4, 20))])}  # fmt: skip


def _sam_inputs(vision: dict, grid: int, rng, batch: int = 2) -> dict:
    size = vision["image_size"]
    found = {}
    if rng.integers(2):
        found["pixel_values"] = _pixels(size, vision["num_channels"], rng, batch)
    else:
        found["image_embeddings"] = rng.standard_normal((batch, vision["output_channels"], grid, grid), np.float32)
    prompts = int(rng.integers(1, 3))
    kind = int(rng.integers(4))  # points, boxes, both, neither
    if kind in (0, 2):
        points = int(rng.integers(1, 3))
        found["input_points"] = rng.uniform(0, size, (batch, prompts, points, 2)).astype(np.float32)
        found["input_labels"] = rng.choice([1, 0, -1, -10], (batch, prompts, points)).astype(np.int64)
    if kind in (1, 2):
        corners = np.sort(rng.uniform(0, size, (batch, prompts, 2, 2)), axis=2)
        found["input_boxes"] = corners.reshape(batch, prompts, 4).astype(np.float32)
    if rng.integers(2):
        found["input_masks"] = rng.standard_normal((batch, 1, 4 * grid, 4 * grid), np.float32)
    return found


def sam(rng) -> Draw:
    decoder_heads = _pick(rng, [1, 2])
    width = 8 * decoder_heads * _pick(rng, [1, 2])
    vision = _sam_vision(rng, width)
    grid = vision["image_size"] // vision["patch_size"]
    prompt = {"hidden_size": width, "image_size": vision["image_size"], "patch_size": vision["patch_size"],
              "mask_input_channels": 4 * int(rng.integers(1, 3)), "num_point_embeddings": 4,
              "hidden_act": _pick(rng, ACTIVATIONS), "layer_norm_eps": _eps(rng)}  # fmt: skip
    decoder = {"hidden_size": width, "hidden_act": _pick(rng, ACTIVATIONS), "mlp_dim": int(rng.integers(4, 20)),
               "num_hidden_layers": int(rng.integers(1, 3)), "num_attention_heads": decoder_heads,
               "attention_downsample_rate": _pick(rng, [1, 2]), "num_multimask_outputs": int(rng.integers(1, 4)),
               "iou_head_depth": int(rng.integers(2, 4)), "iou_head_hidden_dim": int(rng.integers(4, 12)),
               "layer_norm_eps": _eps(rng)}  # fmt: skip
    config = {"vision_config": vision, "prompt_encoder_config": prompt, "mask_decoder_config": decoder}
    family = _pick(rng, ["MODEL", "MODEL_FOR_MASK_GENERATION"])
    call = {**WITH_ATTENTIONS, "multimask_output": bool(rng.integers(2))}
    return Draw("sam", config, (family,), inputs=lambda c, r: _sam_inputs(vision, grid, r), call_kwargs=call,
                jit_flax=True)  # fmt: skip


def sam_vision_model(rng) -> Draw:
    vision = _sam_vision(rng, 8 * _pick(rng, [1, 2]))
    return Draw("sam_vision_model", vision, ("MODEL",), call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True,
                inputs=lambda c, r: {"pixel_values": _pixels(c.image_size, c.num_channels, r)})  # fmt: skip


GENERATORS = {"owlvit": owlvit, "sam": sam, "sam_vision_model": sam_vision_model}
