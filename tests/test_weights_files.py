"""Choosing a checkpoint's weight files (find_weights) and reading them lazily (open_weights)."""

import json
import shutil

import numpy as np
import pytest
from conftest import MODELS
from safetensors.numpy import load_file

from autoload.errors import CheckpointFormatError, CheckpointNotFoundError
from autoload.hub import HubOptions
from autoload.weights import WeightFiles, find_weights, open_weights

BERT = MODELS / "bert"
FORMATS = BERT / "formats"
SOURCES = {
    "safetensors": [BERT / "BertModel" / "model.safetensors"],
    "sharded_safetensors": sorted((FORMATS / "sharded_safetensors").glob("model*")),
    "pt": [FORMATS / "pt_bin" / "pytorch_model.bin"],
    "sharded_pt": sorted((FORMATS / "sharded_bin").glob("pytorch_model*")),
    "tf": [FORMATS / "tf_h5" / "tf_model.h5"],
    "flax": [FORMATS / "flax_msgpack" / "flax_model.msgpack"],
}


@pytest.fixture(scope="module")
def reference():
    return load_file(BERT / "BertModel" / "model.safetensors")


def _folder(tmp_path, *contents: str):
    for key in contents:
        for path in SOURCES[key]:
            shutil.copy(path, tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "contents, kwargs, expected",
    [
        (("safetensors", "pt", "tf", "flax"), {"backend": "torch"}, "safetensors"),
        (("safetensors", "pt", "tf", "flax"), {"backend": "tf"}, "safetensors"),
        (("safetensors", "pt", "tf", "flax"), {"backend": "flax"}, "safetensors"),
        (("sharded_safetensors", "tf"), {"backend": "tf"}, "safetensors"),
        (("safetensors", "pt", "tf", "flax"), {"backend": "torch", "use_safetensors": False}, "pt"),
        (("safetensors", "pt", "tf", "flax"), {"backend": "tf", "use_safetensors": False}, "tf"),
        (("safetensors", "pt", "tf", "flax"), {"backend": "flax", "use_safetensors": False}, "flax"),
        (("pt", "tf", "flax"), {"backend": "tf"}, "tf"),
        (("safetensors", "pt", "tf", "flax"), {"backend": "torch", "from_tf": True}, "tf"),
        (("safetensors", "pt", "tf", "flax"), {"backend": "torch", "from_flax": True}, "flax"),
        (("safetensors", "pt", "flax"), {"backend": "flax", "from_pt": True}, "safetensors"),
        (("pt", "flax"), {"backend": "flax", "from_pt": True}, "pt"),
        (("sharded_pt", "flax"), {"backend": "tf", "from_pt": True}, "pt"),
        (("safetensors",), {"backend": "flax", "use_safetensors": True}, "safetensors"),
    ],
)
def test_format_choice(tmp_path, contents, kwargs, expected):
    assert find_weights(_folder(tmp_path, *contents), HubOptions(), **kwargs).format == expected


@pytest.mark.parametrize(
    "contents, kwargs, message",
    [
        (("tf",), {"backend": "torch"}, r"contains tf_model\.h5 but no PyTorch weights: pass from_tf=True"),
        (("flax",), {"backend": "tf"}, r"contains flax_model\.msgpack but no TensorFlow weights: pass from_flax=True"),
        (("pt",), {"backend": "flax"}, r"pytorch_model\.bin but no Flax weights: pass from_pt=True"),
        (("tf", "flax"), {"backend": "torch"}, "pass from_tf=True or from_flax=True"),
        (("sharded_pt",), {"backend": "tf"}, r"pytorch_model\.bin\.index\.json but no TensorFlow weights"),
        (("safetensors",), {"backend": "torch", "use_safetensors": False}, "drop use_safetensors=False"),
        (("pt",), {"backend": "torch", "use_safetensors": True}, "use_safetensors=True requires.*drop use_safetensors"),
        (("safetensors",), {"backend": "torch", "from_tf": True}, "no tf_model.h5.*loads directly: drop from_tf=True"),
        (("pt",), {"backend": "torch", "from_flax": True}, "drop from_flax=True"),
    ],
)
def test_missing_format_names_what_would_load(tmp_path, contents, kwargs, message):
    with pytest.raises(CheckpointNotFoundError, match=message):
        find_weights(_folder(tmp_path, *contents), **kwargs)


def test_an_empty_folder_lists_every_name_looked_for(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointNotFoundError) as caught:
        find_weights(tmp_path, backend="torch")
    message = str(caught.value)
    assert str(tmp_path) in message
    for name in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json",
                 "tf_model.h5", "tf_model.h5.index.json", "flax_model.msgpack", "flax_model.msgpack.index.json"):  # fmt: skip
        assert name in message


def test_subfolder(tmp_path):
    (tmp_path / "weights").mkdir()
    _folder(tmp_path / "weights", "pt")
    files = find_weights(tmp_path, HubOptions(subfolder="weights"), backend="torch")
    assert files.format == "pt" and files.paths[0].endswith("weights/pytorch_model.bin")


def test_sharded_checkpoint_in_the_hub_cache(tmp_path, hub_cache, reference):
    cache = hub_cache("org/tiny-bert", FORMATS / "sharded_safetensors")
    files = find_weights("org/tiny-bert", HubOptions(cache_dir=str(cache)), backend="flax")
    assert files.format == "safetensors" and len(files.paths) == 6
    state = open_weights(files)
    np.testing.assert_array_equal(state["pooler.dense.weight"], reference["pooler.dense.weight"])


@pytest.mark.parametrize("contents", ["safetensors", "sharded_safetensors", "pt", "sharded_pt"])
def test_open_weights_reads_torch_formats_exactly(tmp_path, reference, contents):
    state = open_weights(find_weights(_folder(tmp_path, contents), backend="torch"))
    assert set(state) == set(reference) and "pooler.dense.bias" in state and "nope" not in state
    for name, array in reference.items():
        assert state.shape(name) == array.shape and state.dtype(name) == "float32"
        np.testing.assert_array_equal(state[name], array)


@pytest.mark.parametrize("contents, name", [("tf", "tf_bert_model/bert/pooler/dense/kernel:0"),
                                            ("flax", "pooler/dense/kernel")])  # fmt: skip
def test_open_weights_uses_the_format_names(tmp_path, reference, contents, name):
    state = open_weights(find_weights(_folder(tmp_path, contents), backend=contents))
    assert len(state) == len(reference) and state.shape(name) == (32, 32)
    np.testing.assert_array_equal(state[name], reference["pooler.dense.weight"].T)


@pytest.mark.parametrize("contents", ["sharded_safetensors", "sharded_pt"])
def test_reading_one_weight_touches_only_its_shard(tmp_path, reference, contents):
    folder = _folder(tmp_path, contents)
    state = open_weights(find_weights(folder, backend="torch"))
    index = json.loads(next(folder.glob("*.index.json")).read_text())["weight_map"]
    keep = index["pooler.dense.weight"]
    for path in folder.iterdir():
        if path.name != keep and not path.name.endswith(".json"):
            path.unlink()
    np.testing.assert_array_equal(state["pooler.dense.weight"], reference["pooler.dense.weight"])


def test_index_naming_a_missing_shard(tmp_path):
    folder = _folder(tmp_path, "sharded_safetensors")
    (folder / "model-00003-of-00006.safetensors").unlink()
    with pytest.raises(CheckpointNotFoundError, match="model-00003-of-00006.safetensors"):
        find_weights(folder, backend="torch")


def test_open_weights_checks_every_indexed_shard_exists(tmp_path):
    folder = _folder(tmp_path, "sharded_pt")
    files = find_weights(folder, backend="torch")
    (folder / "pytorch_model-00002-of-00006.bin").unlink()
    with pytest.raises(CheckpointNotFoundError, match="missing: pytorch_model-00002-of-00006.bin"):
        open_weights(files)
    partial = WeightFiles("pt", files.paths[:1], files.index)
    with pytest.raises(CheckpointNotFoundError, match="pytorch_model-00003-of-00006.bin"):
        open_weights(partial)


def test_index_and_shards_that_disagree(tmp_path):
    folder = _folder(tmp_path, "sharded_safetensors")
    index_path = folder / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    index["weight_map"]["pooler.dense.weight"] = "model-00001-of-00006.safetensors"
    index_path.write_text(json.dumps(index))
    files = find_weights(folder, backend="torch")
    with pytest.raises(CheckpointFormatError, match="pooler.dense.weight.*does not contain it"):
        open_weights(files)  # found when the shards are opened, before any tensor is read


def test_bfloat16_checkpoint_opened_with_keep_bf16(tmp_path):
    torch = pytest.importorskip("torch")
    original = {"w": torch.tensor([1.0, -2.5, 0.1], dtype=torch.bfloat16)}
    torch.save(original, tmp_path / "pytorch_model.bin")
    files = find_weights(tmp_path, backend="torch")
    assert open_weights(files)["w"].dtype == np.float32
    kept = open_weights(files, keep_bf16=True)
    assert kept.dtype("w") == "bfloat16"
    assert torch.equal(torch.from_numpy(kept["w"]).view(torch.bfloat16), original["w"])
