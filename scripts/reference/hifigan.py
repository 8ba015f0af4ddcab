"""Reference fixture for the SpeechT5 HiFi-GAN vocoder (transformers' SpeechT5HifiGan, model_type "hifigan").

A tiny random config (odd upsampling kernel, two residual kernels with different dilations, normalize_before with
random mean / scale buffers), transformers' init plus Gaussian noise (std 0.05) on every weight, and transformers'
waveforms for a fixed batched spectrogram and for one unbatched spectrogram. Also the same weights saved as
pytorch_model.bin and as weight-normalised checkpoints (torch's parametrizations and the older weight_g /
weight_v names), which give the same waveform once folded. No AutoModel mapping of transformers 4.57.6 lists
hifigan, so the fixture names its class (family null). Run with the side environment that has transformers 4.57.6:

    python scripts/reference/hifigan.py tests/fixtures/models/hifigan
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np

CONFIG = {
    "model_in_dim": 8,
    "sampling_rate": 16000,
    "upsample_initial_channel": 16,
    "upsample_rates": [2, 3],
    "upsample_kernel_sizes": [4, 6],
    "resblock_kernel_sizes": [3, 5],
    "resblock_dilation_sizes": [[1, 3], [1, 2]],
    "initializer_range": 0.01,
    "leaky_relu_slope": 0.2,
    "normalize_before": True,
}
SEED = 4217


def fixture_json(inputs: dict, outputs: dict, fmt: str, files: list[str], notes: list[str]) -> dict:
    spec = lambda arrays: {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}  # noqa: E731
    return {"model_type": "hifigan", "family": None, "auto_class": None, "pt_class": "SpeechT5HifiGan",
            "tf_class": None, "flax_class": None, "call_kwargs": {}, "atol": 1e-4, "notes": notes, "seed": SEED,
            "format": fmt, "weights_files": files, "families": [], "inputs": spec(inputs),
            "outputs": spec(outputs)}  # fmt: skip


def write(folder: str, model, config, inputs: dict, outputs: dict, fmt: str, notes: list[str], state=None) -> None:
    from safetensors.torch import save_file

    os.makedirs(folder, exist_ok=True)
    config.save_pretrained(folder)
    if state is not None:
        save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(folder, "model.safetensors"),
                  metadata={"format": "pt"})  # fmt: skip
    else:
        model.save_pretrained(folder, safe_serialization=fmt == "safetensors")
    np.savez(os.path.join(folder, "inputs.npz"), **inputs)
    np.savez(os.path.join(folder, "expected.npz"), **outputs)
    files = sorted(f for f in os.listdir(folder) if f.endswith((".safetensors", ".bin")))
    with open(os.path.join(folder, "fixture.json"), "w") as f:
        json.dump(fixture_json(inputs, outputs, fmt, files, notes), f, indent=2)
        f.write("\n")


def main(out: str) -> None:
    import torch
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    torch.manual_seed(SEED)
    config = SpeechT5HifiGanConfig(**CONFIG)
    model = SpeechT5HifiGan(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
        model.mean.normal_(0.0, 0.5)
        model.scale.uniform_(0.5, 1.5)
    rng = np.random.default_rng(SEED)
    spectrogram = rng.normal(size=(2, 7, CONFIG["model_in_dim"])).astype(np.float32)
    single = rng.normal(size=(5, CONFIG["model_in_dim"])).astype(np.float32)
    with torch.no_grad():
        batched = model(torch.from_numpy(spectrogram)).numpy()
        unbatched = model(torch.from_numpy(single)).numpy()
    inputs, outputs = {"spectrogram": spectrogram}, {"output": batched}
    notes = ["random weights: transformers init + Gaussian noise (std 0.05) on every parameter; mean ~ N(0, 0.5), "
             "scale ~ U(0.5, 1.5) so normalize_before matters",
             "forward returns a bare waveform tensor: stored as 'output' ([batch, samples] for [batch, frames, mel])",
             "unbatched.npz: a [frames, mel] spectrogram and its 1-D waveform"]  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    main_folder = os.path.join(out, "SpeechT5HifiGan")
    write(main_folder, model, config, inputs, outputs, "safetensors", notes)
    np.savez(os.path.join(main_folder, "unbatched.npz"), spectrogram=single, waveform=unbatched)
    write(os.path.join(out, "formats", "pt_bin"), model, config, inputs, outputs, "pt", notes)

    # Weight-normalised checkpoints: transformers' apply_weight_norm (torch parametrizations: original0 = g,
    # original1 = v), and the same tensors under the older weight_g / weight_v names.
    normed = SpeechT5HifiGan(config).eval()
    normed.load_state_dict(model.state_dict())
    normed.apply_weight_norm()
    state = {k: v.detach().clone() for k, v in normed.state_dict().items()}
    with torch.no_grad():
        again = normed(torch.from_numpy(spectrogram)).numpy()
    assert np.abs(again - batched).max() < 1e-5, np.abs(again - batched).max()
    assert any(".parametrizations.weight.original0" in k for k in state), sorted(state)[:5]
    wn_notes = notes[:2] + ["weights saved after apply_weight_norm(): g and v instead of each conv's weight; "
                            "transformers 4.57.6's SpeechT5HifiGan does not fold them on load (its convs are plain), "
                            "autoload folds weight = g * v / |v| (expected: the plain model's waveform)"]  # fmt: skip
    write(os.path.join(out, "formats", "weight_norm"), model, config, inputs, outputs, "safetensors", wn_notes,
          state=state)  # fmt: skip
    legacy = {k.replace(".parametrizations.weight.original0", ".weight_g")
               .replace(".parametrizations.weight.original1", ".weight_v"): v for k, v in state.items()}  # fmt: skip
    write(os.path.join(out, "formats", "weight_norm_legacy"), model, config, inputs, outputs, "safetensors",
          wn_notes, state=legacy)  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/models/hifigan")
