"""Shard sizes, plans, names and indexes, and write_sharded for every format it writes."""

import json

import numpy as np
import pytest
from conftest import MODELS
from safetensors.numpy import load_file

from autoload.errors import CheckpointFormatError
from autoload.weights import (
    SafetensorsReader,
    find_weights,
    open_weights,
    parse_size,
    plan_shards,
    read_index,
    shard_name,
    write_sharded,
)  # fmt: skip


@pytest.fixture(scope="module")
def reference():
    return load_file(MODELS / "bert" / "BertModel" / "model.safetensors")


@pytest.mark.parametrize(
    "size, expected",
    [("2GB", 2 * 10**9), ("500MB", 500 * 10**6), ("2GiB", 2 * 2**30), ("10kib", 10 * 2**10), (" 1.5 GB ", 15 * 10**8),
     ("7B", 7), (123, 123), (np.int64(9), 9)],
)  # fmt: skip
def test_parse_size(size, expected):
    assert parse_size(size) == expected


@pytest.mark.parametrize("size", ["lots", "5", "1.2.3GB", "GB", True, 1.5])
def test_parse_size_rejects(size):
    with pytest.raises(ValueError, match="max_shard_size"):
        parse_size(size)


def test_plan_shards_keeps_order_and_isolates_oversized_tensors():
    assert plan_shards({"a": 3, "b": 3, "c": 3}, 10) == [["a", "b", "c"]]
    assert plan_shards({"a": 6, "b": 4, "c": 1}, 10) == [["a", "b"], ["c"]]
    assert plan_shards({"a": 6, "b": 6, "c": 20, "d": 1}, 10) == [["a"], ["b"], ["c"], ["d"]]
    assert plan_shards({"big": 50}, "10B") == [["big"]]
    assert plan_shards({}, 10) == []


def test_shard_names_follow_transformers():
    assert shard_name("safetensors", 1, 3) == "model-00001-of-00003.safetensors"
    assert shard_name("pt", 2, 3) == "pytorch_model-00002-of-00003.bin"
    assert shard_name("tf", 3, 3) == "tf_model-00003-of-00003.h5"
    assert shard_name("flax", 1, 12) == "flax_model-00001-of-00012.msgpack"


def test_single_file_when_everything_fits(tmp_path, reference):
    assert write_sharded(reference, tmp_path, "safetensors") == ["model.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


@pytest.mark.parametrize("fmt, backend", [("safetensors", "torch"), ("pt", "torch"), ("flax", "flax")])
def test_sharded_round_trip(tmp_path, reference, fmt, backend):
    state = {name.replace(".", "/"): array for name, array in reference.items()} if fmt == "flax" else reference
    written = write_sharded(state, tmp_path, fmt, max_shard_size="20KB")
    assert len(written) > 3 and written[-1] == {"safetensors": "model.safetensors", "pt": "pytorch_model.bin",
                                                "flax": "flax_model.msgpack"}[fmt] + ".index.json"  # fmt: skip
    weight_map, metadata = read_index(tmp_path / written[-1])
    assert list(weight_map) == list(state) and set(weight_map.values()) == set(written[:-1])
    assert metadata == {"total_size": sum(a.nbytes for a in state.values())}
    files = find_weights(tmp_path, backend=backend)
    assert files.format == fmt and [p.rsplit("/", 1)[-1] for p in files.paths] == written[:-1]
    opened = open_weights(files)
    for name, array in state.items():
        np.testing.assert_array_equal(opened[name], array)


def test_shards_are_planned_from_real_byte_sizes(tmp_path):
    state = {f"w{i}": np.zeros(1000, np.float16) for i in range(4)}  # 2000 bytes each
    assert len(write_sharded(state, tmp_path, "safetensors", max_shard_size=4000)) == 3  # 2 shards + index
    reader = SafetensorsReader(tmp_path / "model-00001-of-00002.safetensors")
    assert len(write_sharded(reader, tmp_path / "again", "pt", max_shard_size=4000)) == 1  # planned from its header


def test_torch_loads_our_shards(tmp_path, reference):
    torch = pytest.importorskip("torch")
    written = write_sharded(reference, tmp_path, "pt", max_shard_size="20KB")
    loaded = {}
    for file in written[:-1]:
        loaded.update(torch.load(tmp_path / file, weights_only=True))
    assert set(loaded) == set(reference)


def test_an_earlier_save_in_the_same_folder_cannot_shadow_the_new_one(tmp_path, reference):
    write_sharded(reference, tmp_path, "safetensors")
    (tmp_path / "model-00009-of-00009.safetensors").write_bytes(b"stale")
    (tmp_path / "unrelated.safetensors").write_bytes(b"keep me")
    written = write_sharded(reference, tmp_path, "safetensors", max_shard_size="20KB")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*written, "unrelated.safetensors"])
    write_sharded(reference, tmp_path, "safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors", "unrelated.safetensors"]


def test_write_sharded_rejects_other_formats(tmp_path):
    with pytest.raises(ValueError, match="not 'onnx'"):
        write_sharded({"w": np.zeros(1)}, tmp_path, "onnx")


def test_sharded_tf_h5_round_trip_in_transformers_layout(tmp_path):
    import h5py

    from autoload.weights import read_tf_h5

    state = read_tf_h5(MODELS / "bert" / "formats" / "tf_h5" / "tf_model.h5")
    written = write_sharded(state, tmp_path, "tf", max_shard_size="20KB")
    assert written[0] == f"tf_model-00001-of-{len(written) - 1:05d}.h5" and written[-1] == "tf_model.h5.index.json"
    weight_map, _ = read_index(tmp_path / written[-1])
    assert set(weight_map) == set(state)
    with h5py.File(tmp_path / written[0]) as shard:  # datasets at the root, without the model's scope
        listed = [str(n) for n in shard.attrs["layer_names"]]
        assert listed == sorted(listed) and all(not n.startswith("tf_bert_model/") for n in listed)
        assert all(n in shard for n in listed)
    opened = open_weights(find_weights(tmp_path, backend="tf"))
    for name, array in state.items():
        np.testing.assert_array_equal(opened[name], array)
    assert write_sharded(state, tmp_path, "tf") == ["tf_model.h5"]  # one file again; the shards are removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tf_model.h5"]
    np.testing.assert_array_equal(read_tf_h5(tmp_path / "tf_model.h5")[name], state[name])


@pytest.mark.parametrize(
    "content, message",
    [("{not json", "not valid JSON"), ("[1, 2]", "no 'weight_map'"), ('{"metadata": {}}', "no 'weight_map'"),
     ('{"weight_map": {"w": "../../elsewhere.bin"}}', "not a file name in its folder"),
     ('{"weight_map": {"w": 3}}', "not a file name")],
)  # fmt: skip
def test_read_index_rejects(tmp_path, content, message):
    (tmp_path / "model.safetensors.index.json").write_text(content)
    with pytest.raises(CheckpointFormatError, match=message):
        read_index(tmp_path / "model.safetensors.index.json")


def test_read_index_returns_map_and_metadata(tmp_path):
    index = {"metadata": {"total_size": 12}, "weight_map": {"a": "model-00001-of-00001.safetensors"}}
    (tmp_path / "i.json").write_text(json.dumps(index))
    assert read_index(tmp_path / "i.json") == (index["weight_map"], index["metadata"])
