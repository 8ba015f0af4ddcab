"""Random configs of the dense-prediction, super-resolution, keypoint and video models (SegFormer, DPT, Swin2SR,
SuperPoint, VideoMAE): every field their transformers 4.57.6 modeling code reads, one head per draw."""

from __future__ import annotations

import numpy as np

from .harness import Draw
from .vision import ACTIVATIONS, WITH_ATTENTIONS, _eps, _pick, _pixels


def _segformer_reductions(rng, size, patch_sizes, strides) -> list[int]:
    """Per block a key/value reduction no larger than the block's map (a larger one fails in every framework)."""
    ratios, (height, width) = [], size
    for patch, stride in zip(patch_sizes, strides):
        height, width = (height + 2 * (patch // 2) - patch) // stride + 1, (width + 2 * (patch // 2) - patch) // stride + 1
        ratios.append(_pick(rng, [r for r in (1, 2, 4) if r <= min(height, width)]))
    return ratios


def segformer(rng) -> Draw:
    blocks = int(rng.integers(1, 4))
    heads = [_pick(rng, [1, 2]) for _ in range(blocks)]
    size = (int(rng.integers(12, 33)), int(rng.integers(12, 33)))
    patch_sizes = [_pick(rng, [3, 5, 7]) for _ in range(blocks)]
    strides = [_pick(rng, [1, 2, 4]) for _ in range(blocks)]
    family = _pick(rng, ["MODEL", "MODEL_FOR_IMAGE_CLASSIFICATION", "MODEL_FOR_SEMANTIC_SEGMENTATION"])
    config = {
        "num_channels": _pick(rng, [1, 3]),
        "num_encoder_blocks": blocks,
        "depths": [int(rng.integers(1, 3)) for _ in range(blocks)],
        "sr_ratios": _segformer_reductions(rng, size, patch_sizes, strides),
        "hidden_sizes": [h * _pick(rng, [2, 4]) for h in heads],
        "patch_sizes": patch_sizes,
        "strides": strides,
        "num_attention_heads": heads,
        "mlp_ratios": [_pick(rng, [1, 2, 4]) for _ in range(blocks)],
        "hidden_act": _pick(rng, ACTIVATIONS),
        "hidden_dropout_prob": _pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": _pick(rng, [0.0, 0.1]),
        "classifier_dropout_prob": _pick(rng, [0.0, 0.1]),
        "drop_path_rate": _pick(rng, [0.0, 0.1]),
        "layer_norm_eps": _eps(rng),  # not read: every LayerNorm keeps PyTorch's default
        "decoder_hidden_size": int(rng.integers(4, 12)),
        "semantic_loss_ignore_index": 255,
        "reshape_last_stage": family == "MODEL_FOR_SEMANTIC_SEGMENTATION" or bool(rng.integers(2)),
        "num_labels": int(rng.integers(1, 4)),
    }

    def inputs(c, r):
        return {"pixel_values": _pixels(size, c.num_channels, r)}

    return Draw("segformer", config, (family,), inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True)


def dpt(rng) -> Draw:
    heads = _pick(rng, [1, 2, 4])
    layers = int(rng.integers(4, 6))
    family = _pick(rng, ["MODEL", "MODEL_FOR_DEPTH_ESTIMATION", "MODEL_FOR_SEMANTIC_SEGMENTATION"])
    projection = family == "MODEL_FOR_DEPTH_ESTIMATION" and rng.integers(4) == 0
    hidden = heads * _pick(rng, [4, 8])
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": int(rng.integers(8, 40)),
        "hidden_act": _pick(rng, ACTIVATIONS),
        "hidden_dropout_prob": _pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": _pick(rng, [0.0, 0.1]),
        "layer_norm_eps": _eps(rng),
        "image_size": 16,
        "patch_size": _pick(rng, [4, 8]),
        "num_channels": _pick(rng, [1, 3]),
        "qkv_bias": bool(rng.integers(2)),
        "backbone_out_indices": sorted(int(i) for i in rng.choice(layers, 4, replace=False)),
        "readout_type": _pick(rng, ["ignore", "add", "project"]),
        "reassemble_factors": _pick(rng, [[4, 2, 1, 0.5], [2, 2, 1, 1], [1, 1, 1, 0.5], [4, 2, 1, 0.25]]),
        "neck_hidden_sizes": [int(rng.integers(2, 9)) for _ in range(4)],
        "fusion_hidden_size": 256 if projection else int(rng.integers(4, 12)),
        "head_in_index": _pick(rng, [-1, 0, 3]),
        "use_batch_norm_in_fusion_residual": bool(rng.integers(2)),
        "use_bias_in_fusion_residual": _pick(rng, [None, True, False]),
        "add_projection": bool(projection),
        "use_auxiliary_head": bool(rng.integers(2)),
        "semantic_classifier_dropout": _pick(rng, [0.0, 0.1]),
        "auxiliary_loss_weight": 0.4,
        "semantic_loss_ignore_index": 255,
        "pooler_output_size": _pick(rng, [None, int(rng.integers(4, 12))]),
        "pooler_act": _pick(rng, ["tanh", "relu"]),
        "num_labels": int(rng.integers(2, 4)),
    }
    side = config["patch_size"] * int(rng.integers(2, 5))  # positions are resized to every (square) input

    def inputs(c, r):
        return {"pixel_values": _pixels(side, c.num_channels, r)}

    return Draw("dpt", config, (family,), inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True)


def swin2sr(rng) -> Draw:
    stages = int(rng.integers(1, 3))
    heads = [_pick(rng, [1, 2]) for _ in range(stages)]
    upsampler = _pick(rng, ["pixelshuffle", "pixelshuffle_aux", "pixelshuffledirect", "nearest+conv", ""])
    upscale = {"pixelshuffle": _pick(rng, [2, 3, 4]), "pixelshuffle_aux": 2, "pixelshuffledirect": _pick(rng, [1, 2, 3]),
               "nearest+conv": 4, "": 1}[upsampler]  # fmt: skip
    channels = 3 if upsampler == "pixelshuffle_aux" else _pick(rng, [1, 3])
    window = _pick(rng, [2, 4])
    config = {
        "image_size": window * int(rng.integers(1, 4)),
        "patch_size": 1,
        "num_channels": channels,
        "num_channels_out": channels if upsampler in ("pixelshuffle_aux", "") else _pick(rng, [1, 3]),
        "embed_dim": 4 * _pick(rng, [2, 4]),
        "depths": [int(rng.integers(1, 3)) for _ in range(stages)],
        "num_heads": heads,
        "window_size": window,
        "mlp_ratio": _pick(rng, [1.0, 2.0]),
        "qkv_bias": bool(rng.integers(2)),
        "hidden_dropout_prob": _pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": _pick(rng, [0.0, 0.1]),
        "drop_path_rate": _pick(rng, [0.0, 0.1]),  # not read: transformers builds the layers without stochastic depth
        "hidden_act": _pick(rng, ACTIVATIONS),
        "use_absolute_embeddings": False,
        "layer_norm_eps": _eps(rng),
        "upscale": upscale,
        "img_range": _pick(rng, [1.0, 255.0]),
        "resi_connection": _pick(rng, ["1conv", "3conv"]),
        "upsampler": upsampler,
    }
    size = (window * int(rng.integers(1, 4)), window * int(rng.integers(1, 4)))
    family = "MODEL_FOR_IMAGE_TO_IMAGE" if rng.integers(3) else "MODEL"

    def inputs(c, r):
        return {"pixel_values": _pixels(size, c.num_channels, r)}

    return Draw("swin2sr", config, (family,), inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True)


def superpoint(rng) -> Draw:
    blocks = int(rng.integers(2, 5))
    config = {
        "encoder_hidden_sizes": [int(rng.integers(2, 9)) for _ in range(blocks)],
        "decoder_hidden_size": int(rng.integers(4, 17)),
        "keypoint_decoder_dim": 65,
        "descriptor_decoder_dim": int(rng.integers(4, 17)),
        "keypoint_threshold": _pick(rng, [0.005, 0.01, 0.05]),
        "max_keypoints": _pick(rng, [-1, 0, 3, 10]),
        "nms_radius": _pick(rng, [0, 1, 4]),
        "border_removal_distance": _pick(rng, [0, 4]),
        # large initial weights make the scores peaked, so threshold and NMS decisions are not near-ties
        "initializer_range": 0.2,
    }
    size = (8 * int(rng.integers(2, 5)), 8 * int(rng.integers(2, 5)))
    grey = bool(rng.integers(2))

    def inputs(c, r):
        image = _pixels(size, 1, r)
        return {"pixel_values": image if grey else np.repeat(image, 3, axis=1)}

    return Draw("superpoint", config, ("MODEL_FOR_KEYPOINT_DETECTION",), inputs=inputs)


def videomae(rng) -> Draw:
    heads = _pick(rng, [1, 2])
    family = _pick(rng, ["MODEL", "MODEL_FOR_VIDEO_CLASSIFICATION", "MODEL_FOR_PRETRAINING"])
    channels = _pick(rng, [1, 3])
    patch, tubelet = _pick(rng, [2, 4]), _pick(rng, [1, 2])
    config = {
        "image_size": patch * int(rng.integers(1, 3)),
        "patch_size": patch,
        "num_channels": channels,
        "num_frames": tubelet * int(rng.integers(1, 3)),
        "tubelet_size": tubelet,
        "hidden_size": heads * _pick(rng, [4, 8]),
        "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": heads,
        "intermediate_size": int(rng.integers(8, 30)),
        "hidden_act": _pick(rng, ACTIVATIONS),
        "hidden_dropout_prob": _pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": _pick(rng, [0.0, 0.1]),
        "layer_norm_eps": _eps(rng),
        "qkv_bias": bool(rng.integers(2)),
        "use_mean_pooling": bool(rng.integers(2)),
        "decoder_num_attention_heads": heads,
        "decoder_hidden_size": heads * _pick(rng, [4, 8]),
        "decoder_num_hidden_layers": int(rng.integers(1, 3)),
        "decoder_intermediate_size": int(rng.integers(8, 30)),
        "norm_pix_loss": channels != 3 or bool(rng.integers(2)),  # non-RGB inputs cannot be unnormalised
        "num_labels": int(rng.integers(1, 4)),
    }
    tubelets = (config["num_frames"] // tubelet) * (config["image_size"] // patch) ** 2
    hidden = int(rng.integers(1, tubelets)) if tubelets > 1 else 0

    def inputs(c, r):
        video = r.standard_normal((2, c.num_frames, c.num_channels, c.image_size, c.image_size), dtype=np.float32)
        if family != "MODEL_FOR_PRETRAINING":
            return {"pixel_values": video}
        mask = np.zeros((2, tubelets), bool)
        for row in mask:  # every video hides as many tubelets
            row[r.choice(tubelets, hidden, replace=False)] = True
        return {"pixel_values": video, "bool_masked_pos": mask}

    return Draw("videomae", config, (family,), inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS))


GENERATORS = {"segformer": segformer, "dpt": dpt, "swin2sr": swin2sr, "superpoint": superpoint, "videomae": videomae}
