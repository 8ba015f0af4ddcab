"""tf_model.h5 as transformers' TF classes write it (the Keras 2 weights layout), with h5py alone.

Root attributes: `layer_names` (the top-level layers, in model order), `backend`, `keras_version`. Each layer
has a group whose attribute `weight_names` lists its full variable names
(`tf_bert_model/bert/embeddings/word_embeddings/weight:0`); each weight is a dataset at that path inside the
layer's group. Weights owned by the model itself sit in the group `top_level_model_weights`. A list
attribute too large for an HDF5 object header is split into `<name>0`, `<name>1`, ...

Also read: a full-model Keras .h5 (Keras 2, or Keras 3's legacy `model.save("x.h5")`), whose weights are this
same layout inside the group `model_weights`; and the shards of a sharded tf_model.h5, whose root
`layer_names` lists datasets (the weight names without the model's own scope) instead of layer groups.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping

import numpy as np

from ..errors import CheckpointFormatError, CheckpointNotFoundError
from ._messages import damaged
from .arrays import STAGE_FROM, aligned_empty, read_into, read_transposed_into, transposed

TOP_LEVEL_GROUP = "top_level_model_weights"
_NAMES_PER_ATTRIBUTE = 4000  # variable-length strings take 16 bytes each in a 64 KiB object header


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_name_list(group, attribute: str) -> list[str]:
    """A list-of-strings attribute, joined back together when it was split into numbered chunks."""
    if attribute in group.attrs:
        return [_text(v) for v in np.atleast_1d(group.attrs[attribute])]
    names, chunk = [], 0
    while f"{attribute}{chunk}" in group.attrs:
        names += [_text(v) for v in np.atleast_1d(group.attrs[f"{attribute}{chunk}"])]
        chunk += 1
    return names


def has_name_list(group, attribute: str) -> bool:
    return attribute in group.attrs or f"{attribute}0" in group.attrs


def write_name_list(group, attribute: str, names: list[str]) -> None:
    encoded = [name.encode("utf-8") for name in names]
    if len(encoded) <= _NAMES_PER_ATTRIBUTE:
        # An empty list is stored as Keras stores it, an empty float array (h5py cannot store an empty str list).
        group.attrs[attribute] = encoded if encoded else np.zeros(0)
        return
    for chunk, start in enumerate(range(0, len(encoded), _NAMES_PER_ATTRIBUTE)):
        group.attrs[f"{attribute}{chunk}"] = encoded[start : start + _NAMES_PER_ATTRIBUTE]


def shard_dataset_name(weight_name: str) -> str:
    """Where a sharded tf_model.h5 stores a weight: its name without the model's scope (transformers' rule)."""
    if "model." in weight_name or "/" not in weight_name:
        return weight_name
    return weight_name.split("/", 1)[1]


def _open(path: str):
    import h5py

    if not os.path.isfile(path):
        raise CheckpointNotFoundError(f"{path} does not exist.")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointFormatError(damaged(path, f"not a readable HDF5 file: {exc}")) from exc


_STORED_KINDS = "biufc"  # bool, integers, floats, complex: what a weight can be
_DEFLATE_MAX_RATIO = 1032


class _Links:
    """Finds objects by path in one open file, every step a hard link: a soft link can lead anywhere in the file
    and an external link to another file, and a tf_model.h5 never needs either. Groups found on the way are
    kept, so the ~200 weights of a layer's group cost one step each (h5py's own path lookup walks and wraps
    every part of every path: two thirds of opening a bert-base tf_model.h5)."""

    def __init__(self, file_path: str):
        self.file_path = file_path
        self._found: dict[tuple, object] = {}

    def resolve(self, group, path: str):
        """The object at `path` under `group` (an h5py Group or Dataset), or None."""
        import h5py

        node, walked = group.id, (group.id.id,)
        for part in path.split("/"):
            if part in ("", "."):
                continue
            walked += (part,)
            if walked in self._found:
                node = self._found[walked]
                continue
            if not isinstance(node, h5py.h5g.GroupID):
                return None
            name = part.encode("utf-8", "surrogateescape")
            if not node.links.exists(name):
                return None
            kind = node.links.get_info(name).type
            if kind != h5py.h5l.TYPE_HARD:
                what = "an external link to another file" if kind == h5py.h5l.TYPE_EXTERNAL else "a soft link"
                raise CheckpointFormatError(
                    f"{self.file_path}: {path!r} is {what}. autoload reads only data stored in the file itself, so "
                    "the checkpoint is refused. Re-save it with transformers' or autoload's save_pretrained."
                )
            node = self._found[walked] = h5py.h5o.open(node, name)
        if isinstance(node, h5py.h5g.GroupID):
            return h5py.Group(node)
        if isinstance(node, h5py.h5d.DatasetID):
            return h5py.Dataset(node)
        return None


def _describe(dataset, name: str, file_path: str, file_size: int) -> tuple[tuple, np.dtype, int | None]:
    """(shape, dtype, file offset or None) of a weight's dataset. The offset is given for a numeric dataset
    stored as one contiguous run of its own bytes, unfiltered, inside the file; anything else (chunked,
    compressed, empty) HDF5 reads. Refuses what would read another file or allocate more than the file holds,
    before any data is read."""
    import h5py

    problem, dataset_id = None, dataset.id
    create = dataset_id.get_create_plist()
    shape, dtype = dataset.shape, dataset.dtype
    if create.get_layout() == getattr(h5py.h5d, "VIRTUAL", None):
        problem = "is a virtual dataset, whose data lives in other files"
    elif create.get_external_count() > 0:
        problem = "keeps its data in an external file"
    elif shape is None:
        problem = "is an empty (null) dataset, not an array"
    elif dtype.kind not in _STORED_KINDS:
        problem = f"holds {dtype} values (strings, records or objects), not numbers"
    if problem is not None:
        raise CheckpointFormatError(
            f"{file_path}: the dataset of weight {name!r} {problem}. autoload reads only numeric arrays stored in "
            "the file itself, so the checkpoint is refused."
        )
    nbytes = math.prod(shape) * dtype.itemsize
    stored = dataset_id.get_storage_size()
    unfiltered = create.get_nfilters() == 0
    limit = stored if unfiltered else stored * _DEFLATE_MAX_RATIO + 1024
    if nbytes > min(limit, file_size * _DEFLATE_MAX_RATIO):
        raise CheckpointFormatError(damaged(
            file_path, f"the dataset of weight {name!r} declares shape {shape} ({nbytes} bytes) but stores "
            f"only {stored} bytes"
        ))  # fmt: skip
    offset = None
    if shape and nbytes and dtype.kind in "biuf" and unfiltered and create.get_layout() == h5py.h5d.CONTIGUOUS:
        offset = dataset_id.get_offset()
        if offset is not None and (stored != nbytes or offset + nbytes > file_size):
            offset = None
    return shape, dtype, offset


class TFH5Reader(Mapping):
    """weight name -> numpy array over one tf_model.h5 (or one shard of a sharded one), in file order.

    Opening reads only the attributes and dataset headers; a dataset is read when its weight is asked for. Names are the full
    weight names as stored; for a shard file, the dataset names its `layer_names` lists.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        file_size = os.path.getsize(self.path) if os.path.isfile(self.path) else 0
        with _open(self.path) as handle:
            try:
                # dataset path, shape and dtype, kept so that only reading a tensor opens the file again
                self._datasets, self._raw = {}, {}
                for name, dataset in self._index(handle).items():
                    shape, dtype, offset = _describe(dataset, name, self.path, file_size)
                    self._datasets[name] = (dataset.name, shape, dtype.name)
                    if offset is not None:
                        self._raw[name] = offset, dtype
            except CheckpointFormatError:
                raise
            except (OSError, UnicodeError, ValueError, KeyError) as exc:  # HDF5's errors for damaged metadata
                raise CheckpointFormatError(damaged(self.path, f"its layout cannot be read: {exc}")) from exc

    def _index(self, handle) -> dict:
        """weight name -> its h5py dataset, in file order."""
        import h5py

        links = _Links(self.path)
        root = handle
        if not has_name_list(handle, "layer_names"):
            root = links.resolve(handle, "model_weights") or handle
        if not isinstance(root, h5py.Group):
            root = handle
        if not has_name_list(root, "layer_names"):
            keras3 = " It looks like a Keras 3 `.weights.h5` file, which autoload does not read." if (
                handle.get("vars", getlink=True) is not None) else ""  # fmt: skip
            raise CheckpointFormatError(
                f"{self.path} has no 'layer_names' attribute, so it is not a tf_model.h5 weights file in the "
                f"Keras 2 / transformers layout.{keras3} Save the model with transformers' save_pretrained, or as "
                "safetensors."
            )
        layers = read_name_list(root, "layer_names")
        if TOP_LEVEL_GROUP not in layers and links.resolve(root, TOP_LEVEL_GROUP) is not None:
            layers.append(TOP_LEVEL_GROUP)
        datasets = {}
        for layer in layers:
            node = links.resolve(root, layer)
            if isinstance(node, h5py.Dataset):  # a shard file lists its datasets directly
                datasets[layer] = node
                continue
            if not isinstance(node, h5py.Group):
                raise CheckpointFormatError(damaged(self.path, f"layer {layer!r} is listed but has no group"))
            for name in read_name_list(node, "weight_names"):
                dataset = links.resolve(node, name)
                if not isinstance(dataset, h5py.Dataset):
                    raise CheckpointFormatError(damaged(self.path, f"weight {name!r} is listed but has no data"))
                datasets[name] = dataset
        return datasets

    def __getitem__(self, name: str) -> np.ndarray:
        dataset_path, shape, _ = self._datasets[name]
        if name in self._raw:
            return self._read_raw(name, tuple(shape))
        with _open(self.path) as handle:
            try:
                dataset = handle[dataset_path]
                if not shape or 0 in shape or dataset.dtype.kind not in "biuf":
                    return np.asarray(dataset[()])
                array = aligned_empty(tuple(shape), dataset.dtype)  # aligned, so frameworks can adopt it
                dataset.read_direct(array)
                return array
            except OSError as exc:
                raise CheckpointFormatError(damaged(self.path, f"reading {name!r} failed: {exc}")) from exc

    def _read_raw(self, name: str, shape: tuple) -> np.ndarray:
        """A contiguous, unfiltered dataset read straight from its bytes in the file (HDF5 would open the file
        and walk its metadata again for every tensor)."""
        offset, dtype = self._raw[name]
        array = aligned_empty(shape, dtype)
        if not read_into(self.path, offset, array):
            raise CheckpointFormatError(damaged(self.path, f"it ended while reading {name!r}"))
        return array

    def read_transposed(self, name: str, axes: tuple) -> np.ndarray:
        """self[name].transpose(axes) as a C-contiguous aligned array: a large contiguous dataset with axes ending
        in 0 (a dense kernel into the PyTorch layout) is copied once from the file straight into it
        (arrays.read_transposed_into); any other is read first, then transposed."""
        shape = tuple(self._datasets[name][1])
        if name not in self._raw or not axes or tuple(axes)[-1] != 0:
            return transposed(self[name], axes)
        offset, dtype = self._raw[name]
        if math.prod(shape) * dtype.itemsize < STAGE_FROM:
            return transposed(self[name], axes)
        out = aligned_empty([shape[a] for a in axes], dtype)
        if not read_transposed_into(out, self.path, offset, shape, axes):
            raise CheckpointFormatError(damaged(self.path, f"it ended while reading {name!r}"))
        return out

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._datasets[name][1])

    def dtype(self, name: str) -> str:
        return self._datasets[name][2]

    def __contains__(self, name) -> bool:
        return name in self._datasets

    def __iter__(self) -> Iterator[str]:
        return iter(self._datasets)

    def __len__(self) -> int:
        return len(self._datasets)


def read_tf_h5(path) -> dict[str, np.ndarray]:
    """Full weight name -> array, in file order (layers as `layer_names` lists them, then top-level weights)."""
    reader = TFH5Reader(path)
    return {name: reader[name] for name in reader}


def write_tf_h5(path, layers: Mapping[str, list[tuple[str, np.ndarray]]], keras_version: str = "2.21.0",
                top_level_weights: list[tuple[str, np.ndarray]] = ()) -> None:  # fmt: skip
    """Write top-level layer name -> [(full weight name, array)] in the layout transformers' TF classes (and
    Keras 2's load_weights) read: the same attributes, groups and dataset paths a TF save_pretrained writes."""
    import h5py

    with h5py.File(os.fspath(path), "w") as handle:
        write_name_list(handle, "layer_names", list(layers))
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["keras_version"] = keras_version.encode("utf-8")
        for layer, weights in [*layers.items(), (TOP_LEVEL_GROUP, list(top_level_weights))]:
            group = handle.create_group(layer)
            write_name_list(group, "weight_names", [name for name, _ in weights])
            for name, array in weights:
                group.create_dataset(name, data=np.asarray(array))


def group_by_layer(weights: Mapping[str, np.ndarray], groups: Mapping[str, str] | None = None,
                   ) -> dict[str, list[tuple[str, np.ndarray]]]:  # fmt: skip
    """Full weight names (`tf_bert_model/bert/.../weight:0`) -> {top-level layer: [(name, array)]}, the
    grouping write_tf_h5 takes: the layer is the name's second part, under the model's own scope, unless
    `groups` names it (a weight whose name is not under the model scope, as transformers' `model.shared`)."""
    layers: dict[str, list] = {}
    for name, array in weights.items():
        parts = name.split("/")
        layer = (groups or {}).get(name) or (parts[1] if len(parts) > 1 else name)
        layers.setdefault(layer, []).append((name, array))
    return layers


def write_tf_h5_shard(path, weights: Mapping[str, np.ndarray]) -> None:
    """One shard of a sharded tf_model.h5 as transformers' TF save_pretrained writes it: datasets at the root,
    named as shard_dataset_name gives, sorted, and listed in the root `layer_names`."""
    import h5py

    with h5py.File(os.fspath(path), "w") as handle:
        stored = []
        for name in sorted(weights):
            dataset = shard_dataset_name(name)
            handle.create_dataset(dataset, data=np.asarray(weights[name]))
            stored.append(dataset)
        write_name_list(handle, "layer_names", stored)
