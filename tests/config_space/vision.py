"""Random configs of the vision models (every field their transformers 4.57.6 modeling code reads), with
image inputs of the config's size (or, where the model resizes its positions, of another size). One head per
draw keeps each draw cheap; the fuzz run (AUTOLOAD_FUZZ_DRAWS) reaches every head and option."""

from __future__ import annotations

import numpy as np

from .harness import Draw

# The activations every framework implements (transformers' ACT2FN also has prelu and xielu, refused by name).
ACTIVATIONS = ["gelu", "relu", "gelu_new", "silu", "tanh", "quick_gelu", "gelu_pytorch_tanh", "sigmoid", "gelu_10",
               "gelu_fast", "gelu_python", "gelu_accurate", "laplace", "leaky_relu", "linear", "mish", "relu2", "relu6",
               "swish"]  # fmt: skip
WITH_ATTENTIONS = {"output_hidden_states": True, "output_attentions": True}


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def _eps(rng) -> float:
    return float(_pick(rng, [1e-12, 1e-6, 1e-5, 1e-3]))


def _pixels(size, channels: int, rng, batch: int = 2) -> np.ndarray:
    height, width = (size, size) if isinstance(size, int) else size
    return rng.standard_normal((batch, channels, height, width), dtype=np.float32)


def _mask(patches: int, rng, batch: int = 2) -> np.ndarray:
    return rng.integers(0, 2, (batch, patches)).astype(bool)


def _out_indices(rng, stages: int) -> list[int]:
    count = int(rng.integers(1, min(stages, 3) + 1))
    return sorted(int(i) for i in rng.choice(np.arange(stages + 1), size=count, replace=False))


def _vit_fields(rng) -> dict:
    heads = _pick(rng, [1, 2, 4])
    patch = _pick(rng, [2, 4])
    return {
        "hidden_size": heads * _pick(rng, [4, 8]),
        "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": heads,
        "intermediate_size": int(rng.integers(8, 40)),
        "hidden_act": _pick(rng, ACTIVATIONS),
        "hidden_dropout_prob": _pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": _pick(rng, [0.0, 0.1]),
        "layer_norm_eps": _eps(rng),
        "image_size": patch * int(rng.integers(2, 5)),
        "patch_size": patch,
        "num_channels": _pick(rng, [1, 3]),
        "qkv_bias": bool(rng.integers(2)),
        "num_labels": int(rng.integers(1, 5)),
    }


def vit_like(rng, model_type: str) -> Draw:
    config = _vit_fields(rng)
    config.update(
        encoder_stride=_pick(rng, [config["patch_size"], 2 * config["patch_size"]]),
        pooler_output_size=_pick(rng, [None, 12]),
        pooler_act=_pick(rng, ["tanh", "relu", "gelu"]),
    )
    families = ["MODEL", "MODEL_FOR_IMAGE_CLASSIFICATION", "MODEL_FOR_MASKED_IMAGE_MODELING"]
    if model_type == "deit" and rng.integers(2):  # the second class the image-classification family builds
        config["architectures"] = ["DeiTForImageClassificationWithTeacher"]
    chosen = (_pick(rng, families),)
    grid = (config["image_size"] // config["patch_size"]) ** 2
    # The masked loss compares the reconstruction with the input: only when it has the input's size (ViT refuses
    # other strides with a mask; DeiT fails in the loss, in transformers too).
    masked = (chosen[0] == "MODEL_FOR_MASKED_IMAGE_MODELING" and bool(rng.integers(2))
              and config["encoder_stride"] == config["patch_size"])  # fmt: skip

    def inputs(c, r):
        pixels = {"pixel_values": _pixels(c.image_size, c.num_channels, r)}
        return {**pixels, "bool_masked_pos": _mask(grid, r)} if masked else pixels

    return Draw(model_type, config, chosen, inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True)


def beit(rng) -> Draw:
    config = _vit_fields(rng)
    del config["qkv_bias"]
    families = ["MODEL", "MODEL_FOR_IMAGE_CLASSIFICATION", "MODEL_FOR_SEMANTIC_SEGMENTATION", "MODEL_FOR_BACKBONE"]
    family = _pick(rng, families)
    config.update(
        use_mask_token=bool(rng.integers(2)),
        use_absolute_position_embeddings=bool(rng.integers(2)),
        use_relative_position_bias=bool(rng.integers(2)),
        use_shared_relative_position_bias=bool(rng.integers(2)),
        layer_scale_init_value=_pick(rng, [0.0, 0.1, 1.0]),
        drop_path_rate=_pick(rng, [0.0, 0.1]),
        use_mean_pooling=bool(rng.integers(2)),
        pool_scales=_pick(rng, [[1, 2], [3]]),
        use_auxiliary_head=bool(rng.integers(2)),
        auxiliary_channels=int(rng.integers(4, 12)),
        auxiliary_num_convs=int(rng.integers(0, 2)),
        auxiliary_concat_input=bool(rng.integers(2)),
        reshape_hidden_states=bool(rng.integers(2)),
        vocab_size=int(rng.integers(8, 30)),
    )
    if config["auxiliary_num_convs"] == 0:  # the auxiliary classifier then reads the feature map itself
        config["auxiliary_channels"] = config["hidden_size"]
    four = family == "MODEL_FOR_SEMANTIC_SEGMENTATION" or (family == "MODEL_FOR_BACKBONE" and rng.integers(2))
    if four:  # four feature maps: the segmentation head and the backbone's feature pyramid need them
        config.update(num_hidden_layers=4, out_indices=[1, 2, 3, 4], reshape_hidden_states=True,
                      image_size=config["patch_size"] * 4, num_labels=max(config["num_labels"], 2))  # fmt: skip
        if family == "MODEL_FOR_BACKBONE":
            config.update(add_fpn=True, batch_norm_eps=_pick(rng, [1e-5, 1e-3]))
    else:
        config["out_indices"] = _out_indices(rng, config["num_hidden_layers"])
    size = config["image_size"] + (config["patch_size"] if family == "MODEL_FOR_BACKBONE" and not four else 0)

    def inputs(c, r):  # the backbone resizes its positions and bias tables to another image size
        return {"pixel_values": _pixels(size, c.num_channels, r)}

    return Draw("beit", config, (family,), inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True)


def dinov2(rng) -> Draw:
    config = _vit_fields(rng)
    del config["intermediate_size"]
    config.update(
        mlp_ratio=_pick(rng, [1, 2, 4]),
        layerscale_value=_pick(rng, [1.0, 0.1]),
        drop_path_rate=_pick(rng, [0.0, 0.1]),
        use_swiglu_ffn=bool(rng.integers(2)),
        apply_layernorm=bool(rng.integers(2)),
        reshape_hidden_states=bool(rng.integers(2)),
        use_mask_token=bool(rng.integers(2)),
    )
    config["out_indices"] = _out_indices(rng, config["num_hidden_layers"])
    family = _pick(rng, ["MODEL", "MODEL_FOR_IMAGE_CLASSIFICATION", "MODEL_FOR_BACKBONE"])
    # DINOv2 resizes its position table to every input: use another size half of the time.
    size = config["image_size"] + _pick(rng, [0, config["patch_size"]])
    grid = (size // config["patch_size"]) ** 2

    def inputs(c, r):
        pixels = {"pixel_values": _pixels(size, c.num_channels, r)}
        return {**pixels, "bool_masked_pos": _mask(grid, r)} if family == "MODEL" else pixels

    return Draw("dinov2", config, (family,), inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True)


def _text_tower(rng, eos_choices=(1, 2)) -> dict:
    heads = _pick(rng, [1, 2, 4])
    return {
        "vocab_size": int(rng.integers(20, 60)),
        "hidden_size": heads * _pick(rng, [4, 8]),
        "intermediate_size": int(rng.integers(8, 40)),
        "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": heads,
        "max_position_embeddings": int(rng.integers(8, 16)),
        "hidden_act": _pick(rng, ACTIVATIONS),
        "layer_norm_eps": _eps(rng),
        "attention_dropout": _pick(rng, [0.0, 0.1]),
        "eos_token_id": _pick(rng, list(eos_choices)),
        "bos_token_id": 0,
        "pad_token_id": 1,
    }


def _vision_tower(rng) -> dict:
    heads = _pick(rng, [1, 2, 4])
    patch = _pick(rng, [2, 4])
    return {
        "hidden_size": heads * _pick(rng, [4, 8]),
        "intermediate_size": int(rng.integers(8, 40)),
        "num_hidden_layers": int(rng.integers(1, 3)),
        "num_attention_heads": heads,
        "num_channels": _pick(rng, [1, 3]),
        "image_size": patch * int(rng.integers(2, 5)),
        "patch_size": patch,
        "hidden_act": _pick(rng, ACTIVATIONS),
        "layer_norm_eps": _eps(rng),
        "attention_dropout": _pick(rng, [0.0, 0.1]),
    }


def _text_inputs(text: dict, rng, batch: int = 2) -> dict:
    length = min(text["max_position_embeddings"], 7)
    ids = rng.integers(3, text["vocab_size"], (batch, length))
    ids[0, -1] = text["eos_token_id"]  # where the pooled token is read (CLIP: the end token's position)
    ids[1, length - 3] = text["eos_token_id"]
    mask = np.ones_like(ids)
    mask[1, length - 2 :] = 0
    return {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)}


def clip(rng) -> Draw:
    image_classification = bool(rng.integers(2))
    text, vision = _text_tower(rng, (2, 5)), _vision_tower(rng)
    config = {"text_config": text, "vision_config": vision, "projection_dim": int(rng.integers(4, 20)),
              "logit_scale_init_value": float(rng.uniform(1.0, 3.0)), "num_labels": int(rng.integers(1, 5))}  # fmt: skip
    if image_classification:
        return Draw("clip", config, ("MODEL_FOR_IMAGE_CLASSIFICATION",), call_kwargs=dict(WITH_ATTENTIONS),
                    inputs=lambda c, r: {"pixel_values": _pixels(vision["image_size"], vision["num_channels"], r)})  # fmt: skip

    def inputs(c, r):
        return {**_text_inputs(text, r), "pixel_values": _pixels(vision["image_size"], vision["num_channels"], r),
                "return_loss": np.array(bool(r.integers(2)))}  # fmt: skip

    return Draw("clip", config, ("MODEL",), inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS))


def siglip(rng) -> Draw:
    image_classification = bool(rng.integers(2))
    text, vision = _text_tower(rng), _vision_tower(rng)
    # The text head projects into the image tower's width (None: the text width, so only when they agree).
    text["projection_size"] = None if text["hidden_size"] == vision["hidden_size"] else vision["hidden_size"]
    if image_classification:
        vision["vision_use_head"] = bool(rng.integers(2))
    config = {"text_config": text, "vision_config": vision, "num_labels": int(rng.integers(1, 5))}
    pixels = (vision["image_size"], vision["num_channels"])
    if image_classification:
        return Draw("siglip", config, ("MODEL_FOR_IMAGE_CLASSIFICATION",), call_kwargs=dict(WITH_ATTENTIONS),
                    inputs=lambda c, r: {"pixel_values": _pixels(*pixels, r)})  # fmt: skip

    def inputs(c, r):
        return {**_text_inputs(text, r), "pixel_values": _pixels(*pixels, r), "return_loss": np.array(True)}

    return Draw("siglip", config, ("MODEL",), inputs=inputs, call_kwargs=dict(WITH_ATTENTIONS))


def siglip_vision_model(rng) -> Draw:
    vision = _vision_tower(rng)
    vision["vision_use_head"] = bool(rng.integers(2))
    return Draw("siglip_vision_model", vision, ("MODEL",), call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True,
                inputs=lambda c, r: {"pixel_values": _pixels(c.image_size, c.num_channels, r)})  # fmt: skip


def swin(rng) -> Draw:
    stages = int(rng.integers(1, 3))
    heads = [int(_pick(rng, [1, 2])) for _ in range(stages)]
    patch = _pick(rng, [1, 2])
    config = {
        "image_size": patch * int(rng.integers(4, 10)),
        "patch_size": patch,
        "num_channels": _pick(rng, [1, 3]),
        "embed_dim": 4 * _pick(rng, [2, 4]),
        "depths": [int(rng.integers(1, 3)) for _ in range(stages)],
        "num_heads": heads,
        "window_size": 2,
        "mlp_ratio": _pick(rng, [1.0, 2.0, 1.5]),
        "qkv_bias": bool(rng.integers(2)),
        "hidden_dropout_prob": _pick(rng, [0.0, 0.1]),
        "attention_probs_dropout_prob": _pick(rng, [0.0, 0.1]),
        "drop_path_rate": _pick(rng, [0.0, 0.1]),
        "hidden_act": _pick(rng, ACTIVATIONS),
        "layer_norm_eps": _eps(rng),
        "num_labels": int(rng.integers(1, 5)),
    }
    # Every stage's map must be at least a window (smaller ones fail in transformers too): the last is smallest.
    grid = config["image_size"] // patch
    for _ in range(stages - 1):
        grid = (grid + 1) // 2
    config["window_size"] = int(rng.integers(2, max(grid, 2) + 1)) if grid >= 2 else 1
    config["encoder_stride"] = patch * 2 ** (stages - 1)
    config["out_indices"] = _out_indices(rng, stages)
    families = ["MODEL", "MODEL_FOR_IMAGE_CLASSIFICATION", "MODEL_FOR_MASKED_IMAGE_MODELING", "MODEL_FOR_BACKBONE"]
    return Draw("swin", config, (_pick(rng, families),), call_kwargs=dict(WITH_ATTENTIONS), jit_flax=True)


def resnet(rng) -> Draw:
    stages = int(rng.integers(1, 4))
    bottleneck = bool(rng.integers(2))
    config = {
        "num_channels": _pick(rng, [1, 3]),
        "embedding_size": _pick(rng, [4, 8]),
        "hidden_sizes": [int(_pick(rng, [4, 8, 12])) * (4 if bottleneck else 1) for _ in range(stages)],
        "depths": [int(rng.integers(1, 3)) for _ in range(stages)],
        "layer_type": "bottleneck" if bottleneck else "basic",
        "hidden_act": _pick(rng, ["relu", "gelu", "silu", "tanh"]),
        "downsample_in_first_stage": bool(rng.integers(2)),
        "downsample_in_bottleneck": bool(rng.integers(2)),
        "num_labels": int(rng.integers(1, 5)),
        "out_indices": _out_indices(rng, stages),
    }
    families = ["MODEL", "MODEL_FOR_IMAGE_CLASSIFICATION", "MODEL_FOR_BACKBONE"]
    size = int(_pick(rng, [16, 20, 24]))
    return Draw("resnet", config, (_pick(rng, families),), jit_flax=True,
                inputs=lambda c, r: {"pixel_values": _pixels(size, c.num_channels, r)})  # fmt: skip


def convnext(rng) -> Draw:
    stages = int(rng.integers(1, 4))
    config = {
        "num_channels": _pick(rng, [1, 3]),
        "patch_size": _pick(rng, [2, 4]),
        "num_stages": stages,
        "hidden_sizes": [int(_pick(rng, [4, 8, 12])) for _ in range(stages)],
        "depths": [int(rng.integers(1, 3)) for _ in range(stages)],
        "hidden_act": _pick(rng, ACTIVATIONS),
        "layer_norm_eps": _eps(rng),
        "layer_scale_init_value": _pick(rng, [0.0, 1e-6, 0.5]),
        "drop_path_rate": _pick(rng, [0.0, 0.1]),
        "image_size": 16,
        "num_labels": int(rng.integers(1, 5)),
        "out_indices": _out_indices(rng, stages),
    }
    families = ["MODEL", "MODEL_FOR_IMAGE_CLASSIFICATION", "MODEL_FOR_BACKBONE"]
    return Draw("convnext", config, (_pick(rng, families),), jit_flax=True)


GENERATORS = {
    "vit": lambda rng: vit_like(rng, "vit"),
    "deit": lambda rng: vit_like(rng, "deit"),
    "beit": beit,
    "dinov2": dinov2,
    "clip": clip,
    "siglip": siglip,
    "siglip_vision_model": siglip_vision_model,
    "swin": swin,
    "resnet": resnet,
    "convnext": convnext,
}
