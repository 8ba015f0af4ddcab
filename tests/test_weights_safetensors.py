"""SafetensorsReader and write_safetensors: exact values, lazy header-only queries, bfloat16, damaged files."""

import json
import os
import threading

import numpy as np
import pytest
from conftest import MODELS
from safetensors.numpy import load_file

from autoload.errors import CheckpointFormatError
from autoload.weights import SafetensorsReader, write_safetensors

MODEL_FILE = MODELS / "bert" / "BertModel" / "model.safetensors"


def _safetensors_bytes(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data


def test_reader_matches_the_safetensors_library():
    reference = load_file(MODEL_FILE)
    reader = SafetensorsReader(MODEL_FILE)
    assert set(reader) == set(reference) and len(reader) == len(reference)
    assert reader.metadata == {"format": "pt"}
    for name, array in reference.items():
        assert reader.shape(name) == array.shape and reader.dtype(name) == array.dtype.name
        np.testing.assert_array_equal(reader[name], array)


def test_keys_shapes_and_dtypes_come_from_the_header_alone(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(MODEL_FILE.read_bytes())
    reader = SafetensorsReader(path)
    os.remove(path)  # nothing below may need the file again
    assert "pooler.dense.weight" in reader and "nope" not in reader
    assert reader.shape("embeddings.word_embeddings.weight") == (99, 32)
    assert reader.dtype("pooler.dense.bias") == "float32"


def test_every_dtype_round_trips(tmp_path):
    state = {
        "f64": np.linspace(0, 1, 6).reshape(2, 3), "f16": np.array([1.5, -2], np.float16),
        "i64": np.array([2**40], np.int64), "i8": np.array([-3], np.int8), "u16": np.array([65535], np.uint16),
        "u32": np.array([2**32 - 1], np.uint32), "bool": np.array([True, False]), "c64": np.array([1 + 2j], np.complex64),
        "scalar": np.array(3.0, np.float32), "empty": np.zeros((0, 4), np.float32),
        "transposed": np.arange(6, dtype=np.int32).reshape(2, 3).T,
    }  # fmt: skip
    write_safetensors(state, tmp_path / "m.safetensors", metadata={"format": "np", "note": "x"})
    reader = SafetensorsReader(tmp_path / "m.safetensors")
    assert reader.metadata == {"format": "np", "note": "x"}
    for name, array in state.items():
        assert reader[name].dtype == array.dtype and reader[name].shape == array.shape, name
        np.testing.assert_array_equal(reader[name], array)


def test_default_metadata_is_what_transformers_expects(tmp_path):
    write_safetensors({"w": np.ones(2, np.float32)}, tmp_path / "m.safetensors")
    assert SafetensorsReader(tmp_path / "m.safetensors").metadata == {"format": "pt"}


def test_bfloat16_is_widened_or_kept_as_bits(tmp_path):
    bits = np.array([0x3F80, 0xC000, 0x3FC0], dtype=np.uint16)  # 1.0, -2.0, 1.5 in bfloat16
    header = {"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}
    (tmp_path / "m.safetensors").write_bytes(_safetensors_bytes(header, bits.tobytes()))
    widened = SafetensorsReader(tmp_path / "m.safetensors")
    assert widened.dtype("w") == "bfloat16" and widened["w"].dtype == np.float32
    np.testing.assert_array_equal(widened["w"], [1.0, -2.0, 1.5])
    kept = SafetensorsReader(tmp_path / "m.safetensors", keep_bf16=True)
    assert kept.dtype("w") == "bfloat16" and kept["w"].dtype == np.uint16
    np.testing.assert_array_equal(kept["w"], bits)


def test_kept_bfloat16_bits_view_as_torch_bfloat16(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    original = torch.tensor([[0.1, -3.25], [1e30, 7.0]], dtype=torch.bfloat16)
    save_file({"w": original}, tmp_path / "m.safetensors")
    bits = SafetensorsReader(tmp_path / "m.safetensors", keep_bf16=True)["w"]
    assert torch.equal(torch.from_numpy(bits).view(torch.bfloat16), original)
    widened = SafetensorsReader(tmp_path / "m.safetensors")["w"]
    assert torch.equal(torch.from_numpy(widened), original.float())


_GOOD = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x10\x00\x00",
        (10**6).to_bytes(8, "little") + b"{}",  # header length beyond the file
        (5).to_bytes(8, "little") + b"{not",  # header is not JSON
        _safetensors_bytes([1, 2], b""),  # header is not an object
        _safetensors_bytes({"w": {"dtype": "F32", "shape": [2]}}, bytes(8)),  # no offsets
        _safetensors_bytes({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, bytes(8)),
        _safetensors_bytes({"w": {"dtype": "F32", "shape": [2], "data_offsets": ["0", 8]}}, bytes(8)),
        _safetensors_bytes(_GOOD, bytes(4)),  # data cut short
        _safetensors_bytes({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)),  # size != shape
    ],
    ids=["empty", "short", "length", "json", "list", "offsets", "negative", "type", "truncated", "mismatch"],
)
def test_damaged_files_are_refused_on_open(tmp_path, content):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointFormatError, match=r"model\.safetensors is truncated or corrupt .*re-download"):
        SafetensorsReader(path)


def test_a_real_file_cut_anywhere_is_refused(tmp_path):
    data = MODEL_FILE.read_bytes()
    for cut in (7, 100, len(data) // 2, len(data) - 1):
        (tmp_path / "model.safetensors").write_bytes(data[:cut])
        with pytest.raises(CheckpointFormatError, match="truncated or corrupt"):
            SafetensorsReader(tmp_path / "model.safetensors")


def test_unsupported_dtype_is_named(tmp_path):
    header = {"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}
    (tmp_path / "m.safetensors").write_bytes(_safetensors_bytes(header, bytes(2)))
    with pytest.raises(CheckpointFormatError, match="F8_E4M3"):
        SafetensorsReader(tmp_path / "m.safetensors")


def test_git_lfs_pointer_says_so(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n")
    with pytest.raises(CheckpointFormatError, match="git lfs pull"):
        SafetensorsReader(path)


# The staging buffer's size: one band per tensor; several bands with a short last one; a row larger than it.
@pytest.mark.parametrize("staging", [2 << 20, 96 << 10, 1000])
def test_read_transposed_gives_the_kernel_layout_in_one_copy(tmp_path, monkeypatch, staging):
    from autoload.loading import RenamedMapping, read_transposed
    from autoload.weights import arrays

    monkeypatch.setattr(arrays, "_STAGING_BYTES", staging)
    monkeypatch.setattr(arrays, "_staging", threading.local())

    rng = np.random.default_rng(0)
    state = {
        "bias": rng.standard_normal(5, dtype=np.float32),  # first, so the large tensors start off a page boundary
        "dense": rng.standard_normal((700, 400), dtype=np.float32),  # over 1 MiB: staged in bands
        "conv": rng.standard_normal((96, 64, 7, 7), dtype=np.float32),
        "small": rng.standard_normal((3, 4), dtype=np.float32),
    }
    write_safetensors(state, tmp_path / "m.safetensors")
    reader = SafetensorsReader(tmp_path / "m.safetensors")
    for name, axes in (("dense", (1, 0)), ("conv", (2, 3, 1, 0)), ("small", (1, 0)), ("bias", (0,))):
        out = reader.read_transposed(name, axes)
        assert out.flags.c_contiguous and out.ctypes.data % 64 == 0, name
        np.testing.assert_array_equal(out, state[name].transpose(axes))
    renamed = RenamedMapping(reader, {"kernel": "dense"})
    np.testing.assert_array_equal(read_transposed(renamed, "kernel", (1, 0)), state["dense"].T)
    held = np.ascontiguousarray(state["dense"].T)  # a reader that already holds the kernel layout: no copy
    assert np.shares_memory(read_transposed({"w": held.T}, "w", (1, 0)), held)


def test_read_transposed_bfloat16_and_a_file_cut_after_opening(tmp_path):
    bits = np.random.default_rng(1).integers(0, 0x7F00, (800, 700), dtype=np.uint16)
    header = {"w": {"dtype": "BF16", "shape": [800, 700], "data_offsets": [0, bits.nbytes]}}
    path = tmp_path / "m.safetensors"
    path.write_bytes(_safetensors_bytes(header, bits.tobytes()))
    kept = SafetensorsReader(path, keep_bf16=True).read_transposed("w", (1, 0))
    assert kept.dtype == np.uint16
    np.testing.assert_array_equal(kept, bits.T)
    widened = SafetensorsReader(path)
    np.testing.assert_array_equal(widened.read_transposed("w", (1, 0)), widened["w"].T)
    os.truncate(path, os.path.getsize(path) - 100)
    with pytest.raises(CheckpointFormatError, match="ended while reading 'w'"):
        widened.read_transposed("w", (1, 0))
