"""flax_model.msgpack with msgpack alone: the fixture, flax compatibility both ways, chunked and bfloat16
arrays, and files that are not Flax state dicts."""

import msgpack
import numpy as np
import pytest
from conftest import MODELS
from safetensors.numpy import load_file

import autoload.weights.flax_msgpack as flax_msgpack
from autoload.errors import CheckpointFormatError
from autoload.weights import flatten_tree, read_flax_msgpack, unflatten_tree, write_flax_msgpack

BERT = MODELS / "bert"
FLAX_FILE = BERT / "formats" / "flax_msgpack" / "flax_model.msgpack"


def _array_ext(array: np.ndarray, dtype_name: str | None = None) -> msgpack.ExtType:
    return msgpack.ExtType(1, msgpack.packb((array.shape, dtype_name or array.dtype.name, array.tobytes())))


def test_reads_the_fixture():
    flat = flatten_tree(read_flax_msgpack(FLAX_FILE))
    reference = load_file(BERT / "BertModel" / "model.safetensors")
    assert len(flat) == len(reference) == 39
    np.testing.assert_array_equal(flat["encoder/layer/0/attention/self/query/kernel"],
                                  reference["encoder.layer.0.attention.self.query.weight"].T)  # fmt: skip
    np.testing.assert_array_equal(flat["embeddings/word_embeddings/embedding"], reference["embeddings.word_embeddings.weight"])
    np.testing.assert_array_equal(flat["embeddings/LayerNorm/scale"], reference["embeddings.LayerNorm.weight"])


def test_rewriting_the_fixture_gives_the_same_bytes(tmp_path):
    write_flax_msgpack(read_flax_msgpack(FLAX_FILE), tmp_path / "flax_model.msgpack")
    assert (tmp_path / "flax_model.msgpack").read_bytes() == FLAX_FILE.read_bytes()


def _mixed_tree():
    return {
        "dense": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3), "bias": np.zeros(3, np.float16)},
        "counts": np.array([1, 2], np.int64), "matrix": np.arange(6.0).reshape(2, 3).T,  # not C-contiguous
        "scale": np.array(2.0, np.float32), "step": np.int32(5), "phase": 1 + 2j, "flag": np.bool_(True),
    }  # fmt: skip


def _assert_same_tree(got, want):
    assert set(got) == set(want)
    for key, value in want.items():
        if isinstance(value, dict):
            _assert_same_tree(got[key], value)
        else:
            assert type(got[key]) is type(value), key
            assert np.shape(got[key]) == np.shape(value) and np.asarray(got[key]).dtype == np.asarray(value).dtype, key
            np.testing.assert_array_equal(got[key], value)


def test_round_trip_keeps_arrays_scalars_and_complex(tmp_path):
    write_flax_msgpack(_mixed_tree(), tmp_path / "m.msgpack")
    _assert_same_tree(read_flax_msgpack(tmp_path / "m.msgpack"), _mixed_tree())


def test_flax_restores_what_we_write(tmp_path):
    serialization = pytest.importorskip("flax.serialization")
    write_flax_msgpack(_mixed_tree(), tmp_path / "m.msgpack")
    _assert_same_tree(serialization.msgpack_restore((tmp_path / "m.msgpack").read_bytes()), _mixed_tree())


def test_we_read_what_flax_writes(tmp_path):
    serialization = pytest.importorskip("flax.serialization")
    (tmp_path / "m.msgpack").write_bytes(serialization.msgpack_serialize(_mixed_tree()))
    _assert_same_tree(read_flax_msgpack(tmp_path / "m.msgpack"), _mixed_tree())


def test_large_arrays_are_chunked_like_flax(tmp_path, monkeypatch):
    monkeypatch.setattr(flax_msgpack, "MAX_CHUNK_BYTES", 40)
    tree = {"big": np.arange(30, dtype=np.float32).reshape(5, 6), "small": np.ones(3, np.float32)}
    write_flax_msgpack(tree, tmp_path / "m.msgpack")
    raw = msgpack.unpackb((tmp_path / "m.msgpack").read_bytes(), strict_map_key=False)
    assert raw["big"]["__msgpack_chunked_array__"] and list(raw["big"]["chunks"]) == ["0", "1", "2"]
    _assert_same_tree(read_flax_msgpack(tmp_path / "m.msgpack"), tree)


def test_flax_reads_our_chunks_and_we_read_flax_chunks(tmp_path, monkeypatch):
    serialization = pytest.importorskip("flax.serialization")
    tree = {"layer": {"big": np.arange(30, dtype=np.float32).reshape(5, 6)}}
    monkeypatch.setattr(flax_msgpack, "MAX_CHUNK_BYTES", 40)
    write_flax_msgpack(tree, tmp_path / "ours.msgpack")
    _assert_same_tree(serialization.msgpack_restore((tmp_path / "ours.msgpack").read_bytes()), tree)
    monkeypatch.setattr(serialization, "MAX_CHUNK_SIZE", 40)
    (tmp_path / "flax.msgpack").write_bytes(serialization.msgpack_serialize(tree))
    assert b"__msgpack_chunked_array__" in (tmp_path / "flax.msgpack").read_bytes()
    _assert_same_tree(read_flax_msgpack(tmp_path / "flax.msgpack"), tree)


def test_bfloat16_is_widened_or_kept_as_bits(tmp_path):
    bits = np.array([[0x3F80, 0xC000]], dtype=np.uint16)  # 1.0, -2.0
    (tmp_path / "m.msgpack").write_bytes(msgpack.packb({"w": _array_ext(bits, "bfloat16")}))
    widened = read_flax_msgpack(tmp_path / "m.msgpack")["w"]
    assert widened.dtype == np.float32 and widened.shape == (1, 2)
    np.testing.assert_array_equal(widened, [[1.0, -2.0]])
    kept = read_flax_msgpack(tmp_path / "m.msgpack", keep_bf16=True)["w"]
    assert kept.dtype == np.uint16
    np.testing.assert_array_equal(kept, bits)


def test_bfloat16_written_by_flax(tmp_path):
    serialization = pytest.importorskip("flax.serialization")
    jnp = pytest.importorskip("jax.numpy")
    values = jnp.array([0.5, -3.0, 1e30], dtype=jnp.bfloat16)
    (tmp_path / "m.msgpack").write_bytes(serialization.to_bytes({"w": values}))
    np.testing.assert_array_equal(read_flax_msgpack(tmp_path / "m.msgpack")["w"], np.asarray(values.astype(jnp.float32)))


@pytest.mark.parametrize(
    "content",
    [b"garbage \xff\xfe\xc1", msgpack.packb([1, 2, 3]), msgpack.packb({"a": 1, "b": {"c": "text"}}), msgpack.packb({})],
    ids=["not-msgpack", "list", "no-arrays", "empty"],
)
def test_files_that_are_not_flax_state_dicts(tmp_path, content):
    (tmp_path / "flax_model.msgpack").write_bytes(content)
    with pytest.raises(CheckpointFormatError, match=r"flax_model\.msgpack .*not a Flax state dict"):
        read_flax_msgpack(tmp_path / "flax_model.msgpack")


def test_truncated_file(tmp_path):
    (tmp_path / "flax_model.msgpack").write_bytes(FLAX_FILE.read_bytes()[:-100])
    with pytest.raises(CheckpointFormatError, match="truncated or corrupt"):
        read_flax_msgpack(tmp_path / "flax_model.msgpack")


def test_dtype_numpy_lacks_is_named(tmp_path):
    (tmp_path / "m.msgpack").write_bytes(msgpack.packb({"w": _array_ext(np.zeros(2, np.uint8), "posit8")}))
    with pytest.raises(CheckpointFormatError, match="posit8"):
        read_flax_msgpack(tmp_path / "m.msgpack")


def test_flatten_and_unflatten():
    tree = {"a": {"b": {"c": 1}, "d": 2}, "e": 3}
    assert flatten_tree(tree) == {"a/b/c": 1, "a/d": 2, "e": 3}
    assert flatten_tree(tree, sep=".") == {"a.b.c": 1, "a.d": 2, "e": 3}
    assert unflatten_tree(flatten_tree(tree)) == tree
    assert unflatten_tree({"a.b": 1}, sep=".") == {"a": {"b": 1}}


# -- FlaxMsgpackReader: the lazy reader loading uses ------------------------------------------------------------
def _lazy_equals_eager(path, keep_bf16=False):
    reader = flax_msgpack.FlaxMsgpackReader(path, keep_bf16)
    eager = flatten_tree(read_flax_msgpack(path, keep_bf16))
    assert list(reader) == list(eager)
    for name, want in eager.items():
        got = reader[name]
        assert got.shape == np.shape(want) == reader.shape(name), name
        assert got.dtype == np.asarray(want).dtype, name
        np.testing.assert_array_equal(got, want)
    return reader


def test_lazy_reader_matches_the_eager_one(tmp_path, monkeypatch):
    reader = _lazy_equals_eager(FLAX_FILE)
    assert reader["embeddings/word_embeddings/embedding"].ctypes.data % 64 == 0  # frameworks can adopt it
    write_flax_msgpack(_mixed_tree(), tmp_path / "m.msgpack")
    _lazy_equals_eager(tmp_path / "m.msgpack")
    monkeypatch.setattr(flax_msgpack, "MAX_CHUNK_BYTES", 40)
    write_flax_msgpack({"big": np.arange(50, dtype=np.float32).reshape(5, 10)}, tmp_path / "chunked.msgpack")
    assert _lazy_equals_eager(tmp_path / "chunked.msgpack").shape("big") == (5, 10)


def test_lazy_reader_keeps_bfloat16_bits(tmp_path):
    bits = np.array([0x3F80, 0xC000], np.uint16)  # 1.0, -2.0
    (tmp_path / "m.msgpack").write_bytes(msgpack.packb({"w": _array_ext(bits, "bfloat16")}))
    reader = flax_msgpack.FlaxMsgpackReader(tmp_path / "m.msgpack", keep_bf16=True)
    assert reader.dtype("w") == "bfloat16"
    np.testing.assert_array_equal(reader["w"], bits)
    np.testing.assert_array_equal(flax_msgpack.FlaxMsgpackReader(tmp_path / "m.msgpack")["w"], [1.0, -2.0])


@pytest.mark.parametrize(
    "content,message",
    [(b"garbage \xff\xfe\xc1", "could not decode"), (msgpack.packb([1, 2, 3]), "not a Flax state dict"),
     (msgpack.packb({"a": 1, "b": {"c": "text"}}), "'b/c' is a str"), (msgpack.packb({}), "not a Flax state dict"),
     (msgpack.packb({"w": _array_ext(np.zeros(2, np.uint8), "posit8")}), "posit8"),
     (FLAX_FILE.read_bytes()[:-100], "truncated or corrupt"), (FLAX_FILE.read_bytes() + b"\x00", "1 bytes follow")],
    ids=["not-msgpack", "list", "string-leaf", "empty", "unknown-dtype", "truncated", "trailing-bytes"],
)
def test_lazy_reader_refuses_what_is_not_a_state_dict(tmp_path, content, message):
    (tmp_path / "flax_model.msgpack").write_bytes(content)
    with pytest.raises(CheckpointFormatError, match=message):
        flax_msgpack.FlaxMsgpackReader(tmp_path / "flax_model.msgpack")
