"""pytorch_model.bin without torch: the restricted reader, the writer, and files that try to run code."""

import os
import pickle
import zipfile

import numpy as np
import pytest
from conftest import MODELS
from safetensors.numpy import load_file

from autoload.errors import CheckpointFormatError, UnsafeCheckpointError
from autoload.weights import TorchBinReader, read_torch_bin, write_torch_bin

BERT = MODELS / "bert"


@pytest.fixture(scope="module")
def reference():
    return load_file(BERT / "BertModel" / "model.safetensors")


def test_reads_the_fixture_exactly(reference):
    state = read_torch_bin(BERT / "formats" / "pt_bin" / "pytorch_model.bin")
    assert list(state) == list(TorchBinReader(BERT / "formats" / "pt_bin" / "pytorch_model.bin"))
    assert set(state) == set(reference)
    for name, array in reference.items():
        assert state[name].dtype == array.dtype
        np.testing.assert_array_equal(state[name], array)


def test_opening_reads_only_the_pickle(tmp_path):
    write_torch_bin({"a": np.ones((2, 3), np.float16), "b": np.arange(4)}, tmp_path / "pytorch_model.bin")
    reader = TorchBinReader(tmp_path / "pytorch_model.bin")
    os.remove(tmp_path / "pytorch_model.bin")
    assert list(reader) == ["a", "b"] and "a" in reader and "c" not in reader
    assert reader.shape("a") == (2, 3) and reader.dtype("a") == "float16" and reader.dtype("b") == "int64"


def test_writer_round_trips_every_dtype_and_layout(tmp_path):
    state = {
        "f32": np.arange(12, dtype=np.float32).reshape(3, 4), "f64": np.array([0.1]), "f16": np.array([1.5], np.float16),
        "i64": np.array([2**40, -1]), "i8": np.array([-3], np.int8), "u8": np.array([255], np.uint8),
        "bool": np.array([True, False]), "scalar": np.array(3.0, np.float32), "empty": np.zeros((0, 5), np.float32),
        "transposed": np.arange(6, dtype=np.int32).reshape(2, 3).T, "big_endian": np.arange(3, dtype=">f4"),
    }  # fmt: skip
    write_torch_bin(state, tmp_path / "pytorch_model.bin")
    again = read_torch_bin(tmp_path / "pytorch_model.bin")
    assert list(again) == list(state)
    for name, array in state.items():
        assert again[name].shape == array.shape and again[name].dtype == array.dtype.newbyteorder("="), name
        np.testing.assert_array_equal(again[name], array)


def test_writer_refuses_dtypes_torch_has_no_storage_for(tmp_path):
    with pytest.raises(ValueError, match="uint32"):
        write_torch_bin({"w": np.zeros(2, np.uint32)}, tmp_path / "pytorch_model.bin")


def test_big_endian_archives_are_byte_swapped(tmp_path):
    values = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array([1, -2], np.int64)}
    write_torch_bin(values, tmp_path / "little.bin")
    with zipfile.ZipFile(tmp_path / "little.bin") as src, zipfile.ZipFile(tmp_path / "big.bin", "w") as dst:
        dtypes = {"little/data/0": "<f4", "little/data/1": "<i8"}
        for info in src.infolist():
            data = src.read(info)
            if info.filename in dtypes:
                data = np.frombuffer(data, dtypes[info.filename]).byteswap().tobytes()
            dst.writestr(info, b"big" if info.filename.endswith("byteorder") else data)
    again = read_torch_bin(tmp_path / "big.bin")
    for name, array in values.items():
        np.testing.assert_array_equal(again[name], array)


def test_an_archive_recompressed_by_another_zip_tool_still_reads(tmp_path):
    values = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "t": np.arange(6, dtype=np.int64).reshape(2, 3).T}
    write_torch_bin(values, tmp_path / "stored.bin")
    with zipfile.ZipFile(tmp_path / "stored.bin") as src, \
            zipfile.ZipFile(tmp_path / "deflated.bin", "w", zipfile.ZIP_DEFLATED) as dst:  # fmt: skip
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    again = read_torch_bin(tmp_path / "deflated.bin")
    for name, array in values.items():
        np.testing.assert_array_equal(again[name], array)


# -- compatibility with torch itself ---------------------------------------------------------------------
def test_torch_loads_what_we_write_with_weights_only(tmp_path, reference):
    torch = pytest.importorskip("torch")
    state = {**reference, "scalar": np.array(2.5, np.float32), "mask": np.array([True, False]),
             "ids": np.arange(3), "transposed": np.arange(6, dtype=np.float16).reshape(2, 3).T}  # fmt: skip
    write_torch_bin(state, tmp_path / "pytorch_model.bin")
    loaded = torch.load(tmp_path / "pytorch_model.bin", weights_only=True)
    assert list(loaded) == list(state)
    for name, array in state.items():
        assert tuple(loaded[name].shape) == array.shape
        np.testing.assert_array_equal(loaded[name].numpy(), array)


def test_tensors_torch_saved_as_views_of_shared_storage(tmp_path):
    torch = pytest.importorskip("torch")
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state = {"whole": base, "rows": base[1:3], "transposed": base.t(), "strided": base[::2, 1::3],
             "tied": base, "bf16": torch.tensor([1.0, -2.5, 3e38], dtype=torch.bfloat16),
             "param": torch.nn.Parameter(torch.ones(2))}  # fmt: skip
    torch.save(state, tmp_path / "pytorch_model.bin")
    ours = read_torch_bin(tmp_path / "pytorch_model.bin")
    for name, tensor in state.items():
        np.testing.assert_array_equal(ours[name], tensor.detach().float().numpy())
    bits = TorchBinReader(tmp_path / "pytorch_model.bin", keep_bf16=True)["bf16"]
    assert bits.dtype == np.uint16 and torch.equal(torch.from_numpy(bits).view(torch.bfloat16), state["bf16"])


def test_legacy_torch_format_asks_to_resave(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointFormatError, match="legacy format.*re-save"):
        read_torch_bin(tmp_path / "pytorch_model.bin")


# -- files that are damaged or try to run code -------------------------------------------------------------
class _RunsCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Evaluates:
    def __reduce__(self):
        return (eval, ("__import__('pathlib').Path('evaluated').touch()",))


def _zip_with_pickle(path, payload) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(payload, protocol=2))
        archive.writestr("archive/byteorder", "little")


@pytest.mark.parametrize(
    "payload, global_name",
    [
        ({"w": _RunsCommand("touch command-ran")}, "system"),
        ({"w": _Evaluates()}, "eval"),  # protocol 2 spells it __builtin__.eval
        ([_RunsCommand("touch command-ran")], "system"),
    ],
)
def test_pickles_that_would_run_code_are_refused_before_running(tmp_path, monkeypatch, payload, global_name):
    monkeypatch.chdir(tmp_path)
    _zip_with_pickle(tmp_path / "pytorch_model.bin", payload)
    with pytest.raises(UnsafeCheckpointError, match=rf"pytorch_model\.bin .*{global_name}.*not loaded"):
        read_torch_bin(tmp_path / "pytorch_model.bin")
    assert not (tmp_path / "command-ran").exists() and not (tmp_path / "evaluated").exists()


def test_persistent_ids_other_than_storages_are_refused(tmp_path):
    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("module", "os") if obj == "x" else None

    with zipfile.ZipFile(tmp_path / "pytorch_model.bin", "w") as archive, archive.open("a/data.pkl", "w") as f:
        _Pickler(f, protocol=2).dump({"w": "x"})
    with pytest.raises(UnsafeCheckpointError, match="persistent reference"):
        read_torch_bin(tmp_path / "pytorch_model.bin")


def _rewrite_member(path, member: str, edit) -> None:
    with zipfile.ZipFile(path) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    contents[member] = edit(contents[member])
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def test_a_view_reaching_past_its_storage_is_refused(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    write_torch_bin({"w": np.zeros(4, np.float32)}, path)
    # The storage's element count ends its persistent id (BININT 4, TUPLE, BINPERSID): claim 2 elements, so the
    # size-4 tensor would overrun it.
    def shrink(pkl: bytes) -> bytes:
        assert pkl.count(b"J\x04\x00\x00\x00tQ") == 1
        return pkl.replace(b"J\x04\x00\x00\x00tQ", b"J\x02\x00\x00\x00tQ")

    _rewrite_member(path, "pytorch_model/data.pkl", shrink)
    with pytest.raises(CheckpointFormatError, match="past the end of storage"):
        read_torch_bin(path)


def test_a_storage_shorter_than_declared_is_refused(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    write_torch_bin({"w": np.zeros(4, np.float32)}, path)
    _rewrite_member(path, "pytorch_model/data/0", lambda data: data[:8])
    with pytest.raises(CheckpointFormatError, match="truncated or corrupt.*storage 0"):
        read_torch_bin(path)


@pytest.mark.parametrize(
    "pkl",
    [b"\x80\x05\x96" + (2**40).to_bytes(8, "little") + b".",  # BYTEARRAY8 claiming 1 TiB
     # {"a": 1} memoised at index 2**27: torch-free readers built on the C unpickler allocate a 1 GiB memo here
     b"\x80\x02}r" + (2**27).to_bytes(4, "little") + b"(X\x01\x00\x00\x00aJ\x01\x00\x00\x00u."],
    ids=["bytearray8", "huge-memo-index"],
)  # fmt: skip
def test_pickles_that_claim_huge_allocations_are_cheap_to_refuse(tmp_path, pkl):
    with zipfile.ZipFile(tmp_path / "pytorch_model.bin", "w") as archive:
        archive.writestr("archive/data.pkl", pkl)
    with pytest.raises(CheckpointFormatError, match="truncated or corrupt|holds no tensors"):
        read_torch_bin(tmp_path / "pytorch_model.bin")


def test_truncated_archive(tmp_path):
    data = (BERT / "formats" / "pt_bin" / "pytorch_model.bin").read_bytes()
    (tmp_path / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointFormatError, match=r"pytorch_model\.bin is truncated or corrupt"):
        read_torch_bin(tmp_path / "pytorch_model.bin")


def test_not_a_state_dict(tmp_path):
    (tmp_path / "plain.bin").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointFormatError, match="legacy format"):
        read_torch_bin(tmp_path / "plain.bin")
    with zipfile.ZipFile(tmp_path / "no_pickle.bin", "w") as archive:
        archive.writestr("archive/version", "3")
    with pytest.raises(CheckpointFormatError, match="without data.pkl"):
        read_torch_bin(tmp_path / "no_pickle.bin")
    _zip_with_pickle(tmp_path / "list.bin", [1, 2])
    with pytest.raises(CheckpointFormatError, match="holds a list"):
        read_torch_bin(tmp_path / "list.bin")
    _zip_with_pickle(tmp_path / "nested.bin", {"model": {}, "epoch": 3})
    with pytest.raises(CheckpointFormatError, match="training checkpoint"):
        read_torch_bin(tmp_path / "nested.bin")


def test_read_transposed_reads_kernels_straight_into_their_layout(tmp_path, monkeypatch):
    """A large tensor that is its whole storage goes from the file into the kernel layout in one copy (through
    the staging bands); views of a storage and small tensors are read, then transposed; bfloat16 as
    __getitem__ gives it; a file cut after opening is reported."""
    torch = pytest.importorskip("torch")
    from autoload.weights import torch_pickle

    staged = []
    band_reader = torch_pickle.read_transposed_into
    monkeypatch.setattr(torch_pickle, "read_transposed_into", lambda out, *a: staged.append(a[2]) or band_reader(out, *a))
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(900, 700, generator=generator)
    state = {"dense": torch.randn(700, 400, generator=generator), "conv": torch.randn(96, 64, 7, 7, generator=generator),
             "small": torch.randn(3, 4, generator=generator), "half": base[:450], "bf16": base.to(torch.bfloat16)}  # fmt: skip
    torch.save(state, tmp_path / "pytorch_model.bin")
    axes = {"dense": (1, 0), "conv": (2, 3, 1, 0), "small": (1, 0), "half": (1, 0), "bf16": (1, 0)}
    for keep_bf16 in (False, True):
        reader = TorchBinReader(tmp_path / "pytorch_model.bin", keep_bf16=keep_bf16)
        staged.clear()
        for name, order in axes.items():
            out = reader.read_transposed(name, order)
            assert out.flags.c_contiguous and out.dtype == reader[name].dtype, name
            np.testing.assert_array_equal(out, reader[name].transpose(order))
        assert staged == [(700, 400), (96, 64, 7, 7), (900, 700)]  # not "small" (under 1 MiB) nor the view "half"

    offset = reader._data_offset(reader._storages[reader._tensors["dense"].storage.key])
    os.truncate(tmp_path / "pytorch_model.bin", offset + 4096)
    with pytest.raises(CheckpointFormatError, match="reading 'dense' failed: the file ends inside it"):
        reader.read_transposed("dense", (1, 0))
