"""Reference outputs of transformers 4.57.6 for vision model behaviour the Auto-class fixtures do not reach:
classes outside the Auto mappings (BeitForMaskedImageModeling, SiglipTextModel, SiglipVisionModel), losses
(BEiT's masked visual tokens and semantic segmentation), head_mask, and position tables resized to non-square
inputs. Written to tests/fixtures/vision_extras/<case>/: config.json + model.safetensors (save_pretrained),
inputs.npz, expected.npz (every output field, flattened as the model fixtures are) and case.json (the class and
the non-array call arguments).

Run in the side environment that has transformers: `python scripts/reference/vision_model_extras.py`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
import transformers

assert transformers.__version__ == "4.57.6", transformers.__version__

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "vision_extras"
TINY = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 20,
        "image_size": 16, "patch_size": 4}  # fmt: skip


def flatten(output) -> dict:
    flat = {}
    for key, value in output.items():
        if value is None:
            continue
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                flat[f"{key}_{i}"] = item.detach().numpy()
        elif hasattr(value, "items"):
            flat.update({f"{key}_{k}": v for k, v in flatten(value).items()})
        else:
            flat[key] = value.detach().numpy()
    return flat


def write(name: str, model, inputs: dict, call: dict, seed: int = 0) -> None:
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    model.eval()
    folder = OUT / name
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)
    with torch.no_grad():
        output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **call)
    np.savez_compressed(folder / "inputs.npz", **inputs)
    np.savez_compressed(folder / "expected.npz", **flatten(output))
    (folder / "case.json").write_text(json.dumps({"class": type(model).__name__, "call": call}, indent=1) + "\n")
    print(name, sorted(flatten(output)))


def eager(config):
    """The config with the attention transformers computes probabilities for (sdpa returns none)."""
    config._attn_implementation = "eager"
    for part in ("text_config", "vision_config"):
        if hasattr(config, part):
            getattr(config, part)._attn_implementation = "eager"
    return config


def pixels(rng, batch, height, width, channels=3):
    return rng.standard_normal((batch, channels, height, width)).astype(np.float32)


def main() -> None:
    rng = np.random.default_rng(0)
    flags = {"output_hidden_states": True, "output_attentions": True}

    beit = transformers.BeitConfig(**TINY, vocab_size=24, use_mask_token=True, use_absolute_position_embeddings=True,
                                   use_relative_position_bias=True, use_shared_relative_position_bias=True,
                                   use_mean_pooling=False, layer_scale_init_value=0.5)  # fmt: skip
    mask = np.zeros((2, 16), bool)
    mask[0, [1, 5, 6]] = mask[1, [0, 15]] = True
    write("beit_masked_image_modeling", transformers.BeitForMaskedImageModeling(eager(beit)),
          {"pixel_values": pixels(rng, 2, 16, 16), "bool_masked_pos": mask, "labels": np.array([3, 7, 1, 0, 23])},
          flags)  # fmt: skip

    segmentation = transformers.BeitConfig(**{**TINY, "num_hidden_layers": 4}, out_indices=[1, 2, 3, 4], num_labels=3,
                                           use_relative_position_bias=True, auxiliary_channels=6,
                                           auxiliary_concat_input=True, pool_scales=[1, 2, 3])  # fmt: skip
    labels = rng.integers(0, 3, (2, 16, 16))
    labels[0, :3, :5] = 255  # semantic_loss_ignore_index
    write("beit_segmentation_loss", transformers.BeitForSemanticSegmentation(eager(segmentation)),
          {"pixel_values": pixels(rng, 2, 16, 16), "labels": labels}, {})

    text = transformers.SiglipTextConfig(vocab_size=50, hidden_size=16, intermediate_size=20, num_hidden_layers=2,
                                         num_attention_heads=2, max_position_embeddings=12, projection_size=8)  # fmt: skip
    ids = rng.integers(2, 50, (2, 7))
    attention = np.ones_like(ids)
    attention[1, 5:] = 0
    write("siglip_text_model", transformers.SiglipTextModel(eager(text)), {"input_ids": ids, "attention_mask": attention},
          flags)  # fmt: skip

    vision = transformers.SiglipVisionConfig(hidden_size=16, intermediate_size=20, num_hidden_layers=2,
                                             num_attention_heads=2, image_size=16, patch_size=4)  # fmt: skip
    write("siglip_vision_model_resized", transformers.SiglipVisionModel(eager(vision)), {"pixel_values": pixels(rng, 2, 20, 12)},
          {**flags, "interpolate_pos_encoding": True})  # fmt: skip

    vit = transformers.ViTConfig(**TINY)
    head_mask = np.array([[1.0, 0.0], [0.5, 1.0]], np.float32)
    write("vit_head_mask", transformers.ViTModel(eager(vit)), {"pixel_values": pixels(rng, 2, 16, 16), "head_mask": head_mask},
          flags)  # fmt: skip

    dinov2 = transformers.Dinov2Config(**{k: v for k, v in TINY.items() if k != "intermediate_size"}, mlp_ratio=2,
                                       use_swiglu_ffn=True, layerscale_value=0.3)  # fmt: skip
    write("dinov2_non_square", transformers.Dinov2Model(eager(dinov2)),
          {"pixel_values": pixels(rng, 2, 24, 12), "bool_masked_pos": rng.integers(0, 2, (2, 18)).astype(bool)}, flags)

    clip = transformers.CLIPConfig(text_config={"vocab_size": 40, "hidden_size": 16, "intermediate_size": 20,
                                                "num_hidden_layers": 1, "num_attention_heads": 2,
                                                "max_position_embeddings": 10, "eos_token_id": 5},
                                   vision_config={"hidden_size": 16, "intermediate_size": 20, "num_hidden_layers": 1,
                                                  "num_attention_heads": 2, "image_size": 16, "patch_size": 4},
                                   projection_dim=8)  # fmt: skip
    ids = rng.integers(6, 40, (2, 6))
    ids[:, -1] = 5
    write("clip_resized", transformers.CLIPModel(eager(clip)),
          {"input_ids": ids, "pixel_values": pixels(rng, 2, 12, 20)},
          {**flags, "interpolate_pos_encoding": True, "return_loss": True})  # fmt: skip


if __name__ == "__main__":
    main()
