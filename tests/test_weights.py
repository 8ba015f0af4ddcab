"""Weight files without any framework: every reader, writer, the format choice and bad files."""

import json
import os
import pickle
import shutil
import zipfile

import numpy as np
import pytest
from conftest import MODELS
from safetensors.numpy import load_file

from autoload.errors import CheckpointFormatError, CheckpointNotFoundError, UnsafeCheckpointError
from autoload.hub import HubOptions
from autoload.weights import (
    SafetensorsReader,
    find_all_weights,
    find_weights,
    flatten_tree,
    open_weights,
    parse_size,
    plan_shards,
    read_flax_msgpack,
    read_tf_h5,
    read_torch_bin,
    unflatten_tree,
    write_flax_msgpack,
    write_sharded,
    write_tf_h5,
    write_torch_bin,
)  # fmt: skip

BERT = MODELS / "bert"
FORMATS = BERT / "formats"


@pytest.fixture(scope="module")
def reference():
    return load_file(BERT / "BertModel" / "model.safetensors")


def test_safetensors_reader_is_lazy_and_exact(reference):
    reader = SafetensorsReader(BERT / "BertModel" / "model.safetensors")
    assert set(reader) == set(reference)
    assert reader.shape("embeddings.word_embeddings.weight") == (99, 32)
    assert reader.dtype("pooler.dense.bias") == "float32"
    for name, array in reference.items():
        np.testing.assert_array_equal(reader[name], array)


def test_bfloat16_safetensors(tmp_path):
    bits = np.array([0x3F80, 0xC000], dtype=np.uint16)  # 1.0 and -2.0 in bfloat16
    header = json.dumps({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}).encode()
    (tmp_path / "m.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bits.tobytes())
    np.testing.assert_array_equal(SafetensorsReader(tmp_path / "m.safetensors")["w"], [1.0, -2.0])
    kept = SafetensorsReader(tmp_path / "m.safetensors", keep_bf16=True)
    assert kept.dtype("w") == "bfloat16" and kept["w"].dtype == np.uint16


@pytest.mark.parametrize("cut", [4, 100, -10])
def test_truncated_or_corrupt_safetensors(tmp_path, cut):
    data = (BERT / "BertModel" / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[:cut])
    with pytest.raises(CheckpointFormatError, match="model.safetensors"):
        SafetensorsReader(tmp_path / "model.safetensors")


def test_torch_bin_reader_matches_safetensors(reference):
    state = read_torch_bin(FORMATS / "pt_bin" / "pytorch_model.bin")
    assert set(state) == set(reference)
    for name, array in reference.items():
        np.testing.assert_array_equal(state[name], array)


def test_torch_bin_writer_round_trip(tmp_path, reference):
    write_torch_bin(reference, tmp_path / "pytorch_model.bin")
    again = read_torch_bin(tmp_path / "pytorch_model.bin")
    for name, array in reference.items():
        np.testing.assert_array_equal(again[name], array)


def test_torch_bin_written_without_torch_loads_in_torch(tmp_path, reference):
    torch = pytest.importorskip("torch")
    write_torch_bin(reference, tmp_path / "pytorch_model.bin")
    loaded = torch.load(tmp_path / "pytorch_model.bin", weights_only=True)
    np.testing.assert_array_equal(loaded["pooler.dense.weight"].numpy(), reference["pooler.dense.weight"])


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch pickle-ran-code",))


def test_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with zipfile.ZipFile(tmp_path / "pytorch_model.bin", "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": _RunsCode()}, protocol=2))
    with pytest.raises(UnsafeCheckpointError, match="system"):
        read_torch_bin(tmp_path / "pytorch_model.bin")
    assert not (tmp_path / "pickle-ran-code").exists()


def test_legacy_or_garbage_bin(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointFormatError, match="zip"):
        read_torch_bin(tmp_path / "pytorch_model.bin")


def test_tf_h5_reader_and_writer(tmp_path):
    import h5py

    weights = read_tf_h5(FORMATS / "tf_h5" / "tf_model.h5")
    name = "tf_bert_model/bert/encoder/layer_._0/attention/self/query/kernel:0"
    assert weights[name].shape == (32, 32)
    write_tf_h5(tmp_path / "tf_model.h5", {"bert": list(weights.items())})
    with h5py.File(FORMATS / "tf_h5" / "tf_model.h5") as original, h5py.File(tmp_path / "tf_model.h5") as ours:
        for attrs in (lambda f: f.attrs["layer_names"], lambda f: f["bert"].attrs["weight_names"]):
            assert [_text(n) for n in attrs(ours)] == [_text(n) for n in attrs(original)]
        np.testing.assert_array_equal(ours["bert"][name], original["bert"][name])


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def test_h5_without_layer_names(tmp_path):
    import h5py

    with h5py.File(tmp_path / "tf_model.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(CheckpointFormatError, match="layer_names"):
        read_tf_h5(tmp_path / "tf_model.h5")
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(CheckpointFormatError, match="HDF5"):
        read_tf_h5(tmp_path / "bad.h5")


def test_flax_msgpack_reader_and_round_trip(tmp_path):
    tree = read_flax_msgpack(FORMATS / "flax_msgpack" / "flax_model.msgpack")
    flat = flatten_tree(tree)
    assert flat["encoder/layer/0/attention/self/query/kernel"].shape == (32, 32)
    write_flax_msgpack(unflatten_tree(flat), tmp_path / "flax_model.msgpack")
    again = flatten_tree(read_flax_msgpack(tmp_path / "flax_model.msgpack"))
    for name, array in flat.items():
        np.testing.assert_array_equal(again[name], array)


def test_flax_msgpack_we_write_restores_in_flax(tmp_path):
    serialization = pytest.importorskip("flax.serialization")
    tree = {"a": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3)}, "scale": np.float32(2.0) * np.ones(())}
    write_flax_msgpack(tree, tmp_path / "m.msgpack")
    restored = serialization.msgpack_restore((tmp_path / "m.msgpack").read_bytes())
    np.testing.assert_array_equal(restored["a"]["kernel"], tree["a"]["kernel"])
    assert np.asarray(restored["scale"]).shape == ()


@pytest.mark.parametrize("content", [b"\x93\x01\x02\x03", b"garbage \xff\xfe", b"\x81\xa1a\x01"])
def test_msgpack_that_is_not_a_flax_state_dict(tmp_path, content):
    (tmp_path / "flax_model.msgpack").write_bytes(content)
    with pytest.raises(CheckpointFormatError, match="Flax state dict"):
        read_flax_msgpack(tmp_path / "flax_model.msgpack")


def test_sizes_and_shard_plans():
    assert parse_size("2GB") == 2 * 10**9 and parse_size("500MiB") == 500 * 2**20 and parse_size(7) == 7
    with pytest.raises(ValueError, match="max_shard_size"):
        parse_size("lots")
    assert plan_shards({"a": 6, "b": 6, "c": 20, "d": 1}, 10) == [["a"], ["b"], ["c"], ["d"]]
    assert plan_shards({"a": 3, "b": 3, "c": 3}, 10) == [["a", "b", "c"]]


@pytest.mark.parametrize("fmt", ["safetensors", "pt", "flax"])
def test_write_sharded_round_trip(tmp_path, reference, fmt):
    names = write_sharded(reference, tmp_path, fmt, max_shard_size="10KB")
    assert len(names) > 2 and names[-1].endswith(".index.json")
    files = find_weights(tmp_path, backend={"safetensors": "torch", "pt": "torch", "flax": "flax"}[fmt])
    assert files.format == fmt and len(files.paths) == len(names) - 1
    state = open_weights(files)
    for name, array in reference.items():
        np.testing.assert_array_equal(state[name], array)


def test_format_preferences(tmp_path):
    shutil.copy(BERT / "BertModel" / "model.safetensors", tmp_path)
    shutil.copy(FORMATS / "pt_bin" / "pytorch_model.bin", tmp_path)
    shutil.copy(FORMATS / "flax_msgpack" / "flax_model.msgpack", tmp_path)
    assert find_weights(tmp_path, backend="flax").format == "safetensors"
    assert find_weights(tmp_path, backend="torch", use_safetensors=False).format == "pt"
    assert find_weights(tmp_path, backend="flax", use_safetensors=False).format == "flax"
    assert find_weights(tmp_path, backend="tf", from_flax=True).format == "flax"
    assert [f.format for f in find_all_weights(tmp_path)] == ["safetensors", "pt", "flax"]


def test_missing_formats_name_the_flag(tmp_path):
    shutil.copy(FORMATS / "tf_h5" / "tf_model.h5", tmp_path)
    with pytest.raises(CheckpointNotFoundError, match="from_tf=True"):
        find_weights(tmp_path, backend="flax")
    with pytest.raises(CheckpointNotFoundError, match="flax_model.msgpack"):
        find_weights(tmp_path, backend="torch", from_flax=True)
    with pytest.raises(CheckpointNotFoundError, match="use_safetensors=True"):
        find_weights(tmp_path, backend="torch", use_safetensors=True)


def test_nothing_at_all_lists_what_was_looked_for(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="model.safetensors.*pytorch_model.bin"):
        find_weights(tmp_path, HubOptions(), backend="torch")


def test_index_with_a_missing_shard(tmp_path):
    shutil.copytree(FORMATS / "sharded_safetensors", tmp_path, dirs_exist_ok=True)
    (tmp_path / "model-00003-of-00006.safetensors").unlink()
    with pytest.raises(CheckpointNotFoundError, match="model-00003-of-00006"):
        find_weights(tmp_path, backend="torch")
    (tmp_path / "model.safetensors.index.json").write_text("{not json")
    with pytest.raises(CheckpointFormatError, match="index.json"):
        find_weights(tmp_path, backend="torch")


@pytest.mark.parametrize("view", ["tf", "flax"])
def test_canonical_views_of_kernel_layouts(view):
    """A tf_model.h5 / flax_model.msgpack reader's kernels seen as canonical weights: indexing gives a
    contiguous copy in the PyTorch layout (made where the tensor is read), read_transposed back into the
    kernel layout gives the stored array itself, uncopied."""
    from autoload.convert.flax import flax_weights_to_canonical
    from autoload.convert.tf import tf_weights_to_canonical
    from autoload.loading import read_transposed

    rng = np.random.default_rng(2)
    kernel, conv, bias = (rng.standard_normal(s, dtype=np.float32) for s in ((300, 500), (3, 3, 4, 8), (500,)))
    if view == "tf":
        state = tf_weights_to_canonical({"m/dense/kernel:0": kernel, "m/conv/kernel:0": conv, "m/dense/bias:0": bias})
    else:
        state = flax_weights_to_canonical({"dense/kernel": kernel, "conv/kernel": conv, "dense/bias": bias})
    weight = state["dense.weight"]
    assert weight.flags.c_contiguous and not np.shares_memory(weight, kernel)
    np.testing.assert_array_equal(weight, kernel.T)
    np.testing.assert_array_equal(state["conv.weight"], conv.transpose(3, 2, 0, 1))
    assert state["conv.weight"].flags.c_contiguous and np.shares_memory(state["dense.bias"], bias)
    assert np.shares_memory(read_transposed(state, "dense.weight", (1, 0)), kernel)
    assert np.shares_memory(read_transposed(state, "conv.weight", (2, 3, 1, 0)), conv)
