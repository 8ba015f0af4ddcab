"""Reading every tensor of a bert-base-sized checkpoint with autoload.weights, per format, against the
format's own library. Each row runs in a fresh interpreter. Run: python benchmarks/read_weights.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from common import bert_base_checkpoint, file_mb, has_module, measure_in_subprocess  # noqa: E402

READ_ALL = "result = {name: reader[name] for name in reader}"


def write_other_formats(folder: str) -> None:
    """pytorch_model.bin, tf_model.h5 (one layer group) and flax_model.msgpack beside the safetensors (once)."""
    from autoload.weights import SafetensorsReader, unflatten_tree, write_flax_msgpack, write_tf_h5, write_torch_bin

    state = SafetensorsReader(os.path.join(folder, "model.safetensors"))
    if not os.path.exists(os.path.join(folder, "pytorch_model.bin")):
        write_torch_bin(state, os.path.join(folder, "pytorch_model.bin"))
    if not os.path.exists(os.path.join(folder, "tf_model.h5")):
        weights = [("tf_bert_model/bert/" + name.replace(".", "/") + ":0", state[name]) for name in state]
        write_tf_h5(os.path.join(folder, "tf_model.h5"), {"bert": weights})
    if not os.path.exists(os.path.join(folder, "flax_model.msgpack")):
        tree = unflatten_tree({name: state[name] for name in state}, sep=".")
        write_flax_msgpack(tree, os.path.join(folder, "flax_model.msgpack"))


def cases(folder: str) -> list[tuple[str, str, str]]:
    """(label, setup, action) for every read we can run here."""
    path = lambda name: repr(os.path.join(folder, name))  # noqa: E731
    rows = [
        ("safetensors.numpy.load_file", "from safetensors.numpy import load_file",
         f"result = load_file({path('model.safetensors')})"),
        ("autoload SafetensorsReader", "from autoload.weights import SafetensorsReader",
         f"reader = SafetensorsReader({path('model.safetensors')})\n" + READ_ALL),
        ("autoload read_torch_bin", "from autoload.weights import read_torch_bin",
         f"result = read_torch_bin({path('pytorch_model.bin')})"),
        ("autoload read_tf_h5", "from autoload.weights import read_tf_h5", f"result = read_tf_h5({path('tf_model.h5')})"),
        ("autoload read_flax_msgpack", "from autoload.weights import read_flax_msgpack",
         f"result = read_flax_msgpack({path('flax_model.msgpack')})"),
    ]  # fmt: skip
    if has_module("torch"):
        rows.insert(3, ("torch.load(weights_only=True)", "import torch",
                        f"result = torch.load({path('pytorch_model.bin')}, weights_only=True)"))  # fmt: skip
    if has_module("flax"):
        rows.append(("flax.serialization.msgpack_restore", "from flax import serialization",
                     f"result = serialization.msgpack_restore(open({path('flax_model.msgpack')}, 'rb').read())"))  # fmt: skip
    return rows


def main() -> None:
    folder = bert_base_checkpoint()
    write_other_formats(folder)
    size = file_mb(os.path.join(folder, "model.safetensors"))
    print(f"checkpoint: {folder} ({size:.0f} MB of float32 tensors)\n")
    print(f"{'read every tensor':<40} {'seconds':>8} {'peak MB':>8} {'x size':>7}")
    for label, setup, action in cases(folder):
        result = measure_in_subprocess(setup, action)
        if "error" in result:
            print(f"{label:<40} failed: {result['error']}")
            continue
        print(f"{label:<40} {result['seconds']:8.3f} {result['peak_mb']:8.0f} {result['peak_mb'] / size:7.2f}")


if __name__ == "__main__":
    main()
