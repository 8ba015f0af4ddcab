"""Random configs of the DETR-style models (DETR, MaskFormer, MaskFormer's Swin): every field their transformers
4.57.6 modeling code reads for inference, one head per draw, on our own ResNet / MaskFormer-Swin backbones."""

from __future__ import annotations

import numpy as np

from .harness import Draw
from .vision import ACTIVATIONS, WITH_ATTENTIONS, _eps, _pick, _pixels

STAGES = ["stage1", "stage2", "stage3", "stage4"]


def _resnet(rng, out_features) -> dict:
    bottleneck = bool(rng.integers(2))
    return {
        "model_type": "resnet", "embedding_size": _pick(rng, [4, 8]), "layer_type": "bottleneck" if bottleneck else "basic",
        "hidden_sizes": [int(_pick(rng, [4, 8])) * (4 if bottleneck else 1) for _ in range(4)],
        "depths": [1, 1, 1, int(rng.integers(1, 3))], "hidden_act": _pick(rng, ["relu", "gelu", "silu"]),
        "downsample_in_first_stage": bool(rng.integers(2)), "downsample_in_bottleneck": bool(rng.integers(2)),
        "out_features": out_features,
    }  # fmt: skip


def _swin(rng) -> dict:
    return {
        "model_type": "maskformer-swin", "embed_dim": 4 * _pick(rng, [1, 2]), "patch_size": _pick(rng, [2, 4]),
        "depths": [int(rng.integers(1, 3)), 1, 1, 1], "num_heads": [1, 1, 2, 2],
        "window_size": _pick(rng, [2, 3]), "mlp_ratio": _pick(rng, [1.0, 2.0]), "qkv_bias": bool(rng.integers(2)),
        "hidden_act": _pick(rng, ACTIVATIONS), "layer_norm_eps": _eps(rng), "drop_path_rate": _pick(rng, [0.0, 0.1]),
        "hidden_dropout_prob": _pick(rng, [0.0, 0.1]), "attention_probs_dropout_prob": _pick(rng, [0.0, 0.1]),
        "out_features": STAGES,
    }  # fmt: skip


def _padded_pixels(size):
    """Two images, the second zero-padded at the bottom and right, with DetrImageProcessor's pixel_mask."""

    def inputs(config, rng):
        pixels = _pixels(size, config.num_channels, rng)
        mask = np.ones((2, size[0], size[1]), np.int64)
        mask[1, size[0] - int(rng.integers(1, 9)):, :] = 0
        mask[1, :, size[1] - int(rng.integers(1, 9)):] = 0
        return {"pixel_values": pixels * mask[:, None].astype(np.float32), "pixel_mask": mask}

    return inputs


def detr(rng) -> Draw:
    family = _pick(rng, ["MODEL", "MODEL_FOR_OBJECT_DETECTION", "MODEL_FOR_IMAGE_SEGMENTATION"])
    segmentation = family == "MODEL_FOR_IMAGE_SEGMENTATION"
    positions = _pick(rng, ["sine", "learned"])
    if segmentation:  # the mask head's GroupNorms: d_model + heads a multiple of 8, d_model / 16 at least 1
        d_model, heads = _pick(rng, [16, 32]), 8
        out_features = STAGES
    else:
        d_model = _pick(rng, [8, 16, 24])
        heads = _pick(rng, [h for h in (1, 2, 4) if d_model % h == 0])
        out_features = sorted(rng.choice(STAGES, size=int(rng.integers(1, 4)), replace=False).tolist())
    config = {
        "use_timm_backbone": False, "backbone": None, "use_pretrained_backbone": False,
        "backbone_config": _resnet(rng, out_features), "num_channels": 3,
        "d_model": d_model, "encoder_attention_heads": heads, "decoder_attention_heads": heads,
        "encoder_layers": int(rng.integers(1, 3)), "decoder_layers": int(rng.integers(1, 3)),
        "encoder_ffn_dim": int(rng.integers(4, 20)), "decoder_ffn_dim": int(rng.integers(4, 20)),
        "activation_function": _pick(rng, ["relu", "gelu", "silu"]), "dropout": _pick(rng, [0.0, 0.1]),
        "attention_dropout": _pick(rng, [0.0, 0.1]), "activation_dropout": _pick(rng, [0.0, 0.1]),
        "position_embedding_type": positions, "num_queries": int(rng.integers(1, 6)),
        "auxiliary_loss": bool(rng.integers(2)), "num_labels": int(rng.integers(1, 5)),
    }  # fmt: skip
    size = (int(rng.integers(33, 48)), int(rng.integers(33, 48)))
    return Draw("detr", config, (family,), inputs=_padded_pixels(size), call_kwargs=dict(WITH_ATTENTIONS),
                jit_flax=True)  # fmt: skip


def maskformer(rng) -> Draw:
    swin = bool(rng.integers(2))
    backbone = _swin(rng) if swin else {**_resnet(rng, STAGES), "downsample_in_first_stage": False}
    d_model = _pick(rng, [8, 16])
    heads = _pick(rng, [1, 2, 4])
    config = {
        # mask_feature_size is the config's hidden_size: autoload's config check wants it a multiple of the heads
        "backbone_config": backbone, "fpn_feature_size": _pick(rng, [32, 64]),
        "mask_feature_size": heads * int(rng.integers(1, 4)),
        "decoder_config": {
            "model_type": "detr", "d_model": d_model, "decoder_attention_heads": heads, "encoder_attention_heads": heads,
            "decoder_layers": int(rng.integers(1, 3)), "decoder_ffn_dim": int(rng.integers(4, 20)),
            "activation_function": _pick(rng, ["relu", "gelu"]), "num_queries": int(rng.integers(1, 6)),
            "auxiliary_loss": bool(rng.integers(2)), "dropout": 0.0,
        },
        "use_auxiliary_loss": bool(rng.integers(2)), "num_labels": int(rng.integers(1, 5)),
    }  # fmt: skip
    # the deepest map at least 2x2 (stride 32): the pixel decoder's GroupNorms over one value would amplify rounding
    size = (int(rng.integers(64, 80)), int(rng.integers(64, 80)))
    family = _pick(rng, ["MODEL", "MODEL_FOR_INSTANCE_SEGMENTATION"])
    return Draw("maskformer", config, (family,), inputs=lambda c, r: {"pixel_values": _pixels(size, 3, r)},
                jit_flax=True)  # fmt: skip


def maskformer_swin(rng) -> Draw:
    config = _swin(rng)
    del config["model_type"]
    config["out_features"] = sorted(rng.choice(STAGES, size=int(rng.integers(1, 5)), replace=False).tolist())
    size = (int(rng.integers(16, 48)), int(rng.integers(16, 48)))
    return Draw("maskformer-swin", config, (_pick(rng, ["MODEL", "MODEL_FOR_BACKBONE"]),),
                inputs=lambda c, r: {"pixel_values": _pixels(size, c.num_channels, r)}, jit_flax=True)  # fmt: skip


GENERATORS = {"detr": detr, "maskformer": maskformer, "maskformer-swin": maskformer_swin}
