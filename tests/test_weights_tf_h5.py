"""tf_model.h5 with h5py alone: the fixture's names and values, a writer that reproduces its structure, the
Keras layouts around it, sharded checkpoints and damaged files."""

import json
import os

import h5py
import numpy as np
import pytest
from conftest import MODELS
from safetensors.numpy import load_file

import autoload.weights.tf_h5 as tf_h5
from autoload.errors import CheckpointFormatError
from autoload.weights import TFH5Reader, find_weights, open_weights, read_tf_h5, write_tf_h5

BERT = MODELS / "bert"
TF_FILE = BERT / "formats" / "tf_h5" / "tf_model.h5"
QUERY = "tf_bert_model/bert/encoder/layer_._0/attention/self/query/kernel:0"


def _layers_of(path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """The fixture's own grouping: layer -> [(weight name, array)]."""
    weights = read_tf_h5(path)
    with h5py.File(path) as f:
        return {tf_h5._text(layer): [(tf_h5._text(n), weights[tf_h5._text(n)]) for n in f[tf_h5._text(layer)].attrs["weight_names"]]
                for layer in f.attrs["layer_names"]}  # fmt: skip


def _structure(path) -> dict:
    """Everything load_tf_weights looks at: attributes (type and value), groups, dataset paths/shapes/dtypes."""
    found = {}

    def attributes(node, where):
        for key in node.attrs:
            kind = node.attrs.get_id(key).get_type()
            variable = isinstance(kind, h5py.h5t.TypeStringID) and kind.is_variable_str()
            value = np.atleast_1d(node.attrs[key])
            found[f"{where}@{key}"] = (type(kind).__name__, variable, [tf_h5._text(v) for v in value])

    def visit(name, node):
        attributes(node, name)
        found[name] = (node.shape, node.dtype.str) if isinstance(node, h5py.Dataset) else "group"

    with h5py.File(path) as f:
        attributes(f, "/")
        f.visititems(visit)
    return found


def test_reads_the_fixture_in_file_order():
    weights = read_tf_h5(TF_FILE)
    reference = load_file(BERT / "BertModel" / "model.safetensors")
    assert len(weights) == len(reference) == 39
    assert next(iter(weights)) == "tf_bert_model/bert/embeddings/word_embeddings/weight:0"
    np.testing.assert_array_equal(weights[QUERY], reference["encoder.layer.0.attention.self.query.weight"].T)
    np.testing.assert_array_equal(weights["tf_bert_model/bert/embeddings/LayerNorm/gamma:0"],
                                  reference["embeddings.LayerNorm.weight"])  # fmt: skip


def test_reader_is_lazy():
    reader = TFH5Reader(TF_FILE)
    assert QUERY in reader and reader.shape(QUERY) == (32, 32) and reader.dtype(QUERY) == "float32"
    np.testing.assert_array_equal(reader[QUERY], read_tf_h5(TF_FILE)[QUERY])


def test_contiguous_datasets_are_read_from_their_bytes_as_hdf5_reads_them(tmp_path):
    reader = TFH5Reader(TF_FILE)
    assert set(reader._raw) == set(reader)  # transformers writes every weight contiguous and unfiltered
    with h5py.File(TF_FILE) as f:
        for name in reader:
            stored = f[reader._datasets[name][0]][()]
            assert reader[name].dtype == stored.dtype and reader[name].shape == stored.shape
            np.testing.assert_array_equal(reader[name], stored)
    path = tmp_path / "tf_model.h5"  # a compressed and a chunked dataset: HDF5 reads them
    values = np.arange(24, dtype=">f4").reshape(4, 6)
    write_tf_h5(path, {"layer": [("model/layer/kernel:0", values), ("model/layer/bias:0", values[0])]})
    with h5py.File(path, "a") as f:
        for name, options in (("kernel:0", {"compression": "gzip"}), ("bias:0", {"chunks": (2,)})):
            data = f["layer/model/layer/" + name][()]
            del f["layer/model/layer/" + name]
            f["layer/model/layer"].create_dataset(name, data=data, **options)
    compressed = TFH5Reader(path)
    assert compressed._raw == {}
    np.testing.assert_array_equal(compressed["model/layer/kernel:0"], values)
    np.testing.assert_array_equal(compressed["model/layer/bias:0"], values[0])


def test_written_file_is_structurally_identical_to_the_fixture(tmp_path):
    write_tf_h5(tmp_path / "tf_model.h5", _layers_of(TF_FILE))
    assert _structure(tmp_path / "tf_model.h5") == _structure(TF_FILE)
    again, original = read_tf_h5(tmp_path / "tf_model.h5"), read_tf_h5(TF_FILE)
    assert list(again) == list(original)
    for name, array in original.items():
        np.testing.assert_array_equal(again[name], array)


def test_round_trip_with_top_level_weights_and_odd_shapes(tmp_path):
    layers = {"main": [("m/main/a/kernel:0", np.arange(6, dtype=np.float32).reshape(2, 3)),
                       ("m/main/step:0", np.array(7, np.int64))],
              "head": [("m/head/bias:0", np.zeros(0, np.float16))]}  # fmt: skip
    write_tf_h5(tmp_path / "tf_model.h5", layers, top_level_weights=[("m/scale:0", np.array([2.0]))])
    again = read_tf_h5(tmp_path / "tf_model.h5")
    expected = {name: array for pairs in layers.values() for name, array in pairs} | {"m/scale:0": np.array([2.0])}
    assert list(again) == list(expected)
    for name, array in expected.items():
        assert again[name].dtype == array.dtype and again[name].shape == array.shape
        np.testing.assert_array_equal(again[name], array)


def test_name_lists_too_large_for_one_attribute_are_split(tmp_path, monkeypatch):
    monkeypatch.setattr(tf_h5, "_NAMES_PER_ATTRIBUTE", 2)
    layers = {"main": [(f"m/main/w{i}:0", np.full(2, i, np.float32)) for i in range(5)]}
    write_tf_h5(tmp_path / "tf_model.h5", layers)
    with h5py.File(tmp_path / "tf_model.h5") as f:
        assert sorted(f["main"].attrs) == ["weight_names0", "weight_names1", "weight_names2"]
    assert list(read_tf_h5(tmp_path / "tf_model.h5")) == [name for name, _ in layers["main"]]


def test_full_model_keras_h5_reads_its_model_weights_group(tmp_path):
    with h5py.File(tmp_path / "model.h5", "w") as f:
        f.attrs["keras_version"] = "3.12.0"
        f.attrs["model_config"] = "{}"
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [b"dense"]
        weights.create_group("dense").attrs["weight_names"] = [b"dense/kernel", b"dense/bias"]
        weights["dense"].create_dataset("dense/kernel", data=np.ones((2, 3)))
        weights["dense"].create_dataset("dense/bias", data=np.zeros(3))
    reader = TFH5Reader(tmp_path / "model.h5")
    assert list(reader) == ["dense/kernel", "dense/bias"] and reader["dense/kernel"].shape == (2, 3)


def test_keras3_weights_h5_gets_a_clear_error(tmp_path):
    with h5py.File(tmp_path / "model.weights.h5", "w") as f:
        f.create_group("vars")
        f.create_group("layers/dense/vars").create_dataset("0", data=np.ones(2))
    with pytest.raises(CheckpointFormatError, match="Keras 3"):
        read_tf_h5(tmp_path / "model.weights.h5")


def _write_tf_shards(folder, weights: dict[str, np.ndarray], per_shard: int) -> None:
    """A sharded tf_model.h5 as transformers' TF save_pretrained writes it: each shard's root `layer_names`
    lists its datasets, stored under the weight name without the model scope; the index maps full names."""
    names = list(weights)
    groups = [names[i : i + per_shard] for i in range(0, len(names), per_shard)]
    weight_map = {}
    for number, group in enumerate(groups, start=1):
        file = f"tf_model-{number:05d}-of-{len(groups):05d}.h5"
        with h5py.File(folder / file, "w") as f:
            stored = [name.split("/", 1)[1] for name in sorted(group)]
            for name, full in zip(stored, sorted(group)):
                f.create_dataset(name, data=weights[full])
            f.attrs["layer_names"] = [name.encode() for name in stored]
        weight_map.update(dict.fromkeys(group, file))
    index = {"metadata": {"total_size": sum(a.nbytes for a in weights.values())}, "weight_map": weight_map}
    (folder / "tf_model.h5.index.json").write_text(json.dumps(index))


def test_sharded_tf_h5_reads_under_the_full_weight_names(tmp_path):
    weights = read_tf_h5(TF_FILE)
    _write_tf_shards(tmp_path, weights, per_shard=10)
    files = find_weights(tmp_path, backend="tf")
    assert files.format == "tf" and len(files.paths) == 4 and files.index is not None
    state = open_weights(files)
    assert set(state) == set(weights) and state.shape(QUERY) == (32, 32)
    for name, array in weights.items():
        np.testing.assert_array_equal(state[name], array)


def test_an_h5_without_layer_names(tmp_path):
    with h5py.File(tmp_path / "tf_model.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(CheckpointFormatError, match=r"tf_model\.h5 has no 'layer_names'"):
        read_tf_h5(tmp_path / "tf_model.h5")


def test_a_listed_weight_without_data(tmp_path):
    with h5py.File(tmp_path / "tf_model.h5", "w") as f:
        f.attrs["layer_names"] = [b"main"]
        f.create_group("main").attrs["weight_names"] = [b"m/main/kernel:0"]
    with pytest.raises(CheckpointFormatError, match="kernel:0"):
        read_tf_h5(tmp_path / "tf_model.h5")


@pytest.mark.parametrize("content", [b"not hdf5 at all", TF_FILE.read_bytes()[:5000]], ids=["garbage", "truncated"])
def test_not_an_hdf5_file(tmp_path, content):
    (tmp_path / "tf_model.h5").write_bytes(content)
    with pytest.raises(CheckpointFormatError, match=r"tf_model\.h5 is truncated or corrupt.*HDF5"):
        read_tf_h5(tmp_path / "tf_model.h5")


def test_missing_file(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        read_tf_h5(os.path.join(tmp_path, "tf_model.h5"))


def test_read_transposed_reads_dense_kernels_straight_into_the_pytorch_layout(tmp_path, monkeypatch):
    """A large contiguous kernel goes from the file into the transposed layout in one copy (the canonical view
    PyTorch reads through asks for it); small tensors and conv axes are read, then transposed; a file cut
    after opening is reported."""
    from autoload.convert.tf import tf_weights_to_canonical

    staged = []
    band_reader = tf_h5.read_transposed_into
    monkeypatch.setattr(tf_h5, "read_transposed_into", lambda out, *a: staged.append(a[2]) or band_reader(out, *a))
    rng = np.random.default_rng(3)
    kernel, conv, small = (rng.standard_normal(s, dtype=np.float32) for s in ((700, 400), (3, 3, 64, 96), (4, 5)))
    path = tmp_path / "tf_model.h5"
    write_tf_h5(path, {"m": [("m/dense/kernel:0", kernel), ("m/conv/kernel:0", conv), ("m/small/kernel:0", small)]})
    reader = TFH5Reader(path)
    view = tf_weights_to_canonical(reader)
    weights = {name: view[name] for name in ("dense.weight", "conv.weight", "small.weight")}
    assert staged == [(700, 400)] and all(weight.flags.c_contiguous for weight in weights.values())
    np.testing.assert_array_equal(weights["dense.weight"], kernel.T)
    np.testing.assert_array_equal(weights["conv.weight"], conv.transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(weights["small.weight"], small.T)
    os.truncate(path, reader._raw["m/dense/kernel:0"][0] + 4096)
    with pytest.raises(CheckpointFormatError, match="ended while reading 'm/dense/kernel:0'"):
        reader.read_transposed("m/dense/kernel:0", (1, 0))
