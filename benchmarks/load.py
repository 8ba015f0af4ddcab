"""from_pretrained time and peak memory for a bert-base-sized checkpoint, as ratios to the raw file read.

Every measurement runs in a fresh interpreter whose framework is already imported, so the numbers are
the loading cost alone. Run: python benchmarks/load.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from common import bert_base_checkpoint, file_mb, has_module, measure_in_subprocess  # noqa: E402

IMPORTS = {
    "numpy": "import numpy",
    "torch": "import torch",
    "tf": "import tensorflow as tf, keras",
    "flax": "import jax, flax",
}


def cases(folder: str) -> list[tuple[str, str, str, str]]:
    """(label, framework, setup imports, action) for every load we can run here."""
    path = repr(folder)
    rows = [("raw safetensors read (numpy)", "numpy", "from safetensors.numpy import load_file",
             f"result = load_file({path} + '/model.safetensors')")]  # fmt: skip
    if has_module("torch"):
        rows.append(("raw safetensors read (torch)", "torch", "from safetensors.torch import load_file",
                     f"result = load_file({path} + '/model.safetensors')"))  # fmt: skip
        rows.append(("autoload torch  <- safetensors", "torch", "from autoload import AutoModel",
                     f"result = AutoModel.from_pretrained({path})"))  # fmt: skip
        if os.path.exists(os.path.join(folder, "pytorch_model.bin")):
            rows.append(("autoload torch  <- pytorch_model.bin", "torch", "from autoload import AutoModel",
                         f"result = AutoModel.from_pretrained({path}, use_safetensors=False)"))  # fmt: skip
        if has_module("transformers"):
            rows.append(("transformers torch <- safetensors", "torch", "from transformers import AutoModel",
                         f"result = AutoModel.from_pretrained({path})"))  # fmt: skip
    if has_module("tensorflow"):
        rows.append(("autoload tf     <- safetensors", "tf", "from autoload import TFAutoModel",
                     f"result = TFAutoModel.from_pretrained({path})"))  # fmt: skip
        if os.path.exists(os.path.join(folder, "tf_model.h5")):
            rows.append(("autoload tf     <- tf_model.h5", "tf", "from autoload import TFAutoModel",
                         f"result = TFAutoModel.from_pretrained({path}, use_safetensors=False)"))  # fmt: skip
        if os.path.exists(os.path.join(folder, "flax_model.msgpack")):
            rows.append(("autoload tf     <- flax (from_flax)", "tf", "from autoload import TFAutoModel",
                         f"result = TFAutoModel.from_pretrained({path}, from_flax=True)"))  # fmt: skip
    if has_module("flax"):
        rows.append(("autoload flax   <- safetensors", "flax", "from autoload import FlaxAutoModel",
                     f"result = FlaxAutoModel.from_pretrained({path})"))  # fmt: skip
        if os.path.exists(os.path.join(folder, "flax_model.msgpack")):
            rows.append(("autoload flax   <- flax_model.msgpack", "flax", "from autoload import FlaxAutoModel",
                         f"result = FlaxAutoModel.from_pretrained({path}, use_safetensors=False)"))  # fmt: skip
        if os.path.exists(os.path.join(folder, "tf_model.h5")):
            rows.append(("autoload flax   <- tf (from_tf)", "flax", "from autoload import FlaxAutoModel",
                         f"result = FlaxAutoModel.from_pretrained({path}, from_tf=True)"))  # fmt: skip
    return rows


def add_other_formats(folder: str) -> None:
    """Write pytorch_model.bin, tf_model.h5 and flax_model.msgpack beside the safetensors (once)."""
    from autoload.commands.convert import convert_checkpoint

    for target, name in (("pt", "pytorch_model.bin"), ("tf", "tf_model.h5"), ("flax", "flax_model.msgpack")):
        if os.path.exists(os.path.join(folder, name)):
            continue
        out = folder + "-" + target
        try:
            if not os.path.exists(out):
                convert_checkpoint(folder, to=target, out=out)
            os.link(os.path.join(out, name), os.path.join(folder, name))
        except Exception as exc:  # noqa: BLE001 - a missing framework only drops rows
            print(f"(no {name}: {exc})")


def main() -> None:
    folder = bert_base_checkpoint()
    add_other_formats(folder)
    size = file_mb(os.path.join(folder, "model.safetensors"))
    print(f"checkpoint: {folder} ({size:.0f} MB model.safetensors)\n")
    print(f"{'load':<40} {'seconds':>8} {'x raw':>7} {'peak MB':>8} {'x size':>7}")
    raw = None
    for label, framework, setup, action in cases(folder):
        result = measure_in_subprocess(IMPORTS[framework] + "\n" + setup, action)
        if "error" in result:
            print(f"{label:<40} failed: {result['error']}")
            continue
        raw = raw or result["seconds"]
        print(f"{label:<40} {result['seconds']:8.3f} {result['seconds'] / raw:7.2f} "
              f"{result['peak_mb']:8.0f} {result['peak_mb'] / size:7.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
