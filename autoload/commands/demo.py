"""`autoload demo`: one tiny checkpoint shipped with autoload, loaded and run in every installed framework.

It shows the three things autoload is for: the Auto API users know, the same safetensors file loading
into PyTorch, Keras and Flax with identical outputs, and conversion to the frameworks' native formats.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time

import numpy as np

DEMO_CHECKPOINT = os.path.join(os.path.dirname(os.path.dirname(__file__)), "_demo", "tiny-bert")
SENTENCE = "Paris is the [MASK] of France."
_FRAMEWORK_MODULE = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
_NATIVE = {"tf": "tf", "flax": "flax", "torch": "pt"}


def run_demo(backends=("torch", "tf", "flax"), checkpoint: str = DEMO_CHECKPOINT) -> int:
    from autoload import AutoModelForMaskedLM, AutoTokenizer

    from .inspect import inspect_checkpoint

    print(inspect_checkpoint(checkpoint), "\n")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    encoded = tokenizer(SENTENCE, return_tensors="np")
    mask_at = int(np.argmax(encoded["input_ids"][0] == tokenizer.mask_token_id))
    print(f"input: {SENTENCE!r} -> {tokenizer.convert_ids_to_tokens(encoded['input_ids'][0].tolist())}\n")

    installed = [b for b in backends if importlib.util.find_spec(_FRAMEWORK_MODULE[b]) is not None]
    logits = {}
    for backend in installed:
        start = time.perf_counter()
        model = AutoModelForMaskedLM.from_pretrained(checkpoint, backend=backend)
        loaded = time.perf_counter() - start
        logits[backend] = _mask_logits(model, backend, dict(encoded), mask_at)
        top = np.argsort(-logits[backend])[:5]
        print(f"{backend:<5} {type(model).__name__:<24} loaded in {loaded:.2f}s  top-5 for [MASK]: "
              f"{tokenizer.convert_ids_to_tokens(top.tolist())}")  # fmt: skip
    for backend in installed[1:]:
        diff = float(np.abs(logits[backend] - logits[installed[0]]).max())
        print(f"max |{installed[0]} - {backend}| = {diff:.2e}")

    ok = all(np.abs(logits[b] - logits[installed[0]]).max() < 1e-4 for b in installed)
    ok = _round_trip_native_formats(checkpoint, installed, logits, dict(encoded), mask_at) and ok
    print("\ndemo", "OK" if ok else "FAILED")
    return 0 if ok else 1


def _round_trip_native_formats(checkpoint, installed, logits, inputs, mask_at) -> bool:
    """Convert to each framework's native file and load it back elsewhere through from_tf / from_flax."""
    from autoload import AutoModelForMaskedLM

    from .convert import convert_checkpoint

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for target in installed:
            out = convert_checkpoint(checkpoint, to=_NATIVE[target], out=os.path.join(tmp, target), progress=False)
            files = sorted(f for f in os.listdir(out) if f.endswith((".bin", ".h5", ".msgpack")))
            for reader in installed:
                flag = {"tf": {"from_tf": True}, "flax": {"from_flax": True}, "torch": {"from_pt": True}}[target]
                model = AutoModelForMaskedLM.from_pretrained(out, backend=reader, **flag)
                diff = float(np.abs(_mask_logits(model, reader, inputs, mask_at) - logits[installed[0]]).max())
                ok = ok and diff < 1e-4
                print(f"{files[0]:<20} -> {reader:<5} max diff {diff:.2e}")
    return ok


def _mask_logits(model, backend: str, inputs: dict, mask_at: int) -> np.ndarray:
    if backend == "torch":
        import torch

        with torch.no_grad():
            out = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        return out.logits[0, mask_at].numpy()
    return np.asarray(model(**inputs).logits[0, mask_at])
