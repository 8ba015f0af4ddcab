"""tf_model.h5 as transformers' TF classes write it (Keras 2 layout), read and written with h5py alone.

Root attribute `layer_names` lists the top-level layers; each layer's group has `weight_names`, the full
variable names (`tf_bert_model/bert/…/kernel:0`), and a dataset at each of those paths.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import CheckpointFormatError


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_tf_h5(path) -> dict[str, np.ndarray]:
    """Full weight name -> array, in file order."""
    import h5py

    path = os.fspath(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointFormatError(f"{path} is not a readable HDF5 file ({exc}); re-download it.") from exc
    with handle:
        if "layer_names" not in handle.attrs:
            raise CheckpointFormatError(
                f"{path} has no 'layer_names' attribute, so it is not a Keras/transformers tf_model.h5 weights file."
            )
        weights = {}
        for layer in handle.attrs["layer_names"]:
            group = handle[_text(layer)]
            for name in group.attrs.get("weight_names", []):
                name = _text(name)
                try:
                    weights[name] = np.asarray(group[name])
                except KeyError as exc:
                    raise CheckpointFormatError(f"{path} lists weight {name} but has no data for it.") from exc
        return weights


def write_tf_h5(path, layers: dict[str, list[tuple[str, np.ndarray]]], keras_version: str = "2.21.0") -> None:
    """Write top-level layer -> [(full weight name, array)] in the layout transformers' TF load reads."""
    import h5py

    with h5py.File(os.fspath(path), "w") as handle:
        handle.attrs["layer_names"] = [name.encode("utf-8") for name in layers]
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["keras_version"] = keras_version.encode("utf-8")
        for layer, weights in layers.items():
            group = handle.create_group(layer)
            group.attrs["weight_names"] = [name.encode("utf-8") for name, _ in weights]
            for name, array in weights:
                group.create_dataset(name, data=np.asarray(array))
