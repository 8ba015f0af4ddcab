"""The hostile corpus: crafted checkpoints for every reader, each with the error it must end in.

Every case builds one checkpoint folder from the small valid fixtures, changed the way an attacker or a
careless uploader would change it. `outside` is a folder beside the checkpoints holding canary files that
cases point at (external links, `../` paths, vocab_file): no case may open anything there.
`build_corpus(root)` writes every case under root/cases/<name> and the canaries under root/outside.
"""

from __future__ import annotations

import json
import pickle
import shutil
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BERT = FIXTURES / "models" / "bert"
TOKENIZERS = FIXTURES / "tokenizers"
SECRET = b"CANARY: bytes outside the checkpoint folder, never to be read\n" * 4


@dataclass(frozen=True)
class Case:
    name: str
    loader: str  # see hostile.loaders
    build: Callable[[Path, Path], None]  # (checkpoint folder, outside folder)
    error: str  # the autoload.errors class the load must raise
    file: str  # the file the message must name
    problem: str  # a regular expression the message must match (case-insensitive)
    framework: str = ""  # the framework the loader needs, if any


# -- writing helpers ------------------------------------------------------------------------------------------
def _copy(source: Path, folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file() and (not names or path.name in names):
            shutil.copy(path, folder / path.name)


def _edit_json(path: Path, change: Callable[[dict], object]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def safetensors_bytes(header, data: bytes = b"", raw_header: bytes | None = None) -> bytes:
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def _f32(*shape) -> dict:
    return {"dtype": "F32", "shape": list(shape)}


def _bert_config(folder: Path, **changes) -> None:
    config = json.loads((BERT / "BertModel" / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def _with_safetensors(folder: Path, content: bytes) -> None:
    _bert_config(folder)
    (folder / "model.safetensors").write_bytes(content)


# -- pickles, written opcode by opcode -----------------------------------------------------------------------
def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _str(text: str) -> bytes:
    data = text.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    if 0 <= value < 2**31:
        return pickle.BININT + struct.pack("<i", value)
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return pickle.LONG1 + bytes([len(data)]) + data


def _tuple(*items: bytes) -> bytes:
    return pickle.MARK + b"".join(items) + pickle.TUPLE


def _storage(key: str, numel: int, storage_type: str = "FloatStorage") -> bytes:
    return _tuple(_str("storage"), _global("torch", storage_type), _str(key), _str("cpu"), _int(numel)) + pickle.BINPERSID


def _tensor(storage: bytes, offset: int, size: tuple, stride: tuple) -> bytes:
    hooks = _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
    arguments = _tuple(storage, _int(offset), _tuple(*map(_int, size)), _tuple(*map(_int, stride)), pickle.NEWFALSE,
                       hooks)  # fmt: skip
    return _global("torch._utils", "_rebuild_tensor_v2") + arguments + pickle.REDUCE


def state_dict_pickle(entries: list[tuple[str, bytes]], tail: bytes = b"") -> bytes:
    body = b"".join(_str(name) + value for name, value in entries)
    return (pickle.PROTO + b"\x02" + _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
            + pickle.MARK + body + pickle.SETITEMS + tail + pickle.STOP)  # fmt: skip


def torch_zip(path: Path, data_pkl: bytes, storages: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compress) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", data)
        archive.writestr("archive/version", "3\n")


def _one_tensor_pt(folder: Path, tensor: bytes, storage: bytes = bytes(16), tail: bytes = b"") -> None:
    _bert_config(folder)
    torch_zip(folder / "pytorch_model.bin", state_dict_pickle([("w", tensor)], tail), {"0": storage})


def _payload(folder: Path, outside: Path, module: str, name: str) -> None:
    """A pickle that would create a marker file (outside) if it ever called what it names."""
    command = f"touch {outside / ('executed-' + folder.name)}"
    call = _global(module, name) + _tuple(_str(command)) + pickle.REDUCE
    _bert_config(folder)
    torch_zip(folder / "pytorch_model.bin", state_dict_pickle([("w", call)]), {})


def _forge_member_size(path: Path, member: str, size: int, compressed_too: bool = True) -> None:
    """Rewrite the sizes a zip's central directory declares for one member (its bytes stay as they are)."""
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    while entry >= 0:
        name_length = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46 : entry + 46 + name_length].decode() == member:
            struct.pack_into("<I", data, entry + 24, size)  # uncompressed size
            if compressed_too:
                struct.pack_into("<I", data, entry + 20, size)
            break
        entry = data.find(b"PK\x01\x02", entry + 4)
    path.write_bytes(bytes(data))


# -- h5 -------------------------------------------------------------------------------------------------------
def _h5_base(path: Path, add: Callable | None = None, layer: str = "dense") -> None:
    """A tf_model.h5 in the transformers layout with one layer whose weight `add(group)` creates."""
    import h5py

    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [layer.encode()]
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["keras_version"] = b"2.21.0"
        group = handle.create_group(layer)
        name = f"tf_bert_model/{layer}/kernel:0"
        group.attrs["weight_names"] = [name.encode()]
        if add is None:
            group.create_dataset(name, data=np.ones((2, 2), np.float32))
        else:
            add(handle, group, name)


def _h5_case(add: Callable) -> Callable[[Path, Path], None]:
    def build(folder: Path, outside: Path) -> None:
        _bert_config(folder)
        _h5_base(folder / "tf_model.h5", lambda handle, group, name: add(handle, group, name, outside))

    return build


def _h5_external_link(handle, group, name, outside):
    import h5py

    with h5py.File(outside / "secret.h5", "w") as secret:
        secret.create_dataset("data", data=np.frombuffer(SECRET[:64], np.uint8).astype(np.float32).reshape(8, 8))
    *parents, leaf = name.split("/")
    node = group
    for part in parents:
        node = node.require_group(part)
    node[leaf] = h5py.ExternalLink(str(outside / "secret.h5"), "/data")


def _h5_external_storage(handle, group, name, outside):
    group.create_dataset(name, shape=(len(SECRET) // 4,), dtype=np.float32,
                         external=[(str(outside / "secret.bin"), 0, len(SECRET))])  # fmt: skip


def _h5_virtual(handle, group, name, outside):
    import h5py

    with h5py.File(outside / "secret-vds.h5", "w") as secret:
        secret.create_dataset("data", data=np.arange(16, dtype=np.float32))
    layout = h5py.VirtualLayout(shape=(16,), dtype=np.float32)
    layout[:] = h5py.VirtualSource(str(outside / "secret-vds.h5"), "data", shape=(16,))
    group.create_virtual_dataset(name, layout)


def _h5_soft_link(handle, group, name, outside):
    import h5py

    handle.create_dataset("elsewhere", data=np.ones(3, np.float32))
    *parents, leaf = name.split("/")
    node = group
    for part in parents:
        node = node.require_group(part)
    node[leaf] = h5py.SoftLink("/elsewhere")


def _h5_strings(handle, group, name, outside):
    import h5py

    group.create_dataset(name, data=np.array(["a", "b"], dtype=object), dtype=h5py.string_dtype())


def _h5_sparse(handle, group, name, outside):
    group.create_dataset(name, shape=(2**31,), dtype=np.float32, chunks=(1024,))  # declared, never written


def _h5_compound(handle, group, name, outside):
    group.create_dataset(name, data=np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))


def _h5_root_external(folder: Path, outside: Path) -> None:
    import h5py

    _bert_config(folder)
    _h5_base(outside / "secret-model.h5")
    with h5py.File(folder / "tf_model.h5", "w") as handle:
        handle["model_weights"] = h5py.ExternalLink(str(outside / "secret-model.h5"), "/")


# -- msgpack --------------------------------------------------------------------------------------------------
def _array_ext(array: np.ndarray, dtype_name: str | None = None, shape=None) -> object:
    import msgpack

    packed = msgpack.packb([list(array.shape if shape is None else shape), dtype_name or array.dtype.name,
                            array.tobytes()])  # fmt: skip
    return msgpack.ExtType(1, packed)


def _msgpack_case(tree_of: Callable[[], object]) -> Callable[[Path, Path], None]:
    def build(folder: Path, outside: Path) -> None:
        import msgpack

        _bert_config(folder)
        (folder / "flax_model.msgpack").write_bytes(msgpack.packb(tree_of(), use_bin_type=True))

    return build


def _deep_tree(depth: int) -> dict:
    tree: dict = {"kernel": _array_ext(np.ones(2, np.float32))}
    for _ in range(depth):
        tree = {"a": tree}
    return tree


# -- the cases ------------------------------------------------------------------------------------------------
def _safetensors_cases() -> list[Case]:
    def case(name: str, content: bytes, problem: str, error: str = "CheckpointFormatError") -> Case:
        return Case(f"safetensors-{name}", "weights:safetensors", lambda f, o: _with_safetensors(f, content), error,
                    "model.safetensors", problem)  # fmt: skip

    eight = bytes(8)
    deep = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    return [
        case("overlap", safetensors_bytes({"a": {**_f32(2), "data_offsets": [0, 8]},
                                           "b": {**_f32(2), "data_offsets": [4, 12]}}, bytes(12)),
             r"'b'.*overlaps.*'a'"),  # fmt: skip
        case("gap", safetensors_bytes({"a": {**_f32(1), "data_offsets": [0, 4]},
                                       "b": {**_f32(1), "data_offsets": [8, 12]}}, bytes(12)), r"'b'.*gap"),  # fmt: skip
        case("trailing-bytes", safetensors_bytes({"a": {**_f32(2), "data_offsets": [0, 8]}}, bytes(16)),
             r"cover 8 bytes of its 16"),
        case("duplicate-name", safetensors_bytes(None, eight + eight, raw_header=(
            b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
            b'"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}')), r"key 'w' twice"),  # fmt: skip
        case("shape-overflows-int64", safetensors_bytes({"w": {**_f32(2**62, 2**62), "data_offsets": [0, 8]}}, eight),
             r"'w'.*needs \d{30,} bytes"),
        case("huge-shape", safetensors_bytes({"w": {**_f32(10**12), "data_offsets": [0, 4 * 10**12]}}, eight),
             r"'w'.*ends at data byte 4000000000000"),
        case("unknown-dtype", safetensors_bytes({"w": {"dtype": "X99", "shape": [2], "data_offsets": [0, 8]}}, eight),
             r"'w'.*dtype 'X99'"),
        case("negative-dim", safetensors_bytes({"w": {**_f32(-2), "data_offsets": [0, 8]}}, eight), r"'w'.*not \{"),
        case("bool-dim", safetensors_bytes({"w": {**_f32(True), "data_offsets": [0, 4]}}, eight[:4]), r"'w'.*not \{"),
        case("float-offset", safetensors_bytes({"w": {**_f32(2), "data_offsets": [0.0, 8]}}, eight), r"'w'.*not \{"),
        case("three-offsets", safetensors_bytes({"w": {**_f32(2), "data_offsets": [0, 8, 8]}}, eight), r"'w'.*not \{"),
        case("header-not-object", safetensors_bytes([1, 2], eight), r"not start with '\{'"),
        case("header-leading-space", safetensors_bytes(None, eight, raw_header=b' {}'), r"not start with '\{'"),
        case("header-deep", safetensors_bytes(None, b"", raw_header=deep), r"more than 64 levels"),
        case("header-length-huge", struct.pack("<Q", 2**63) + b"{}", r"header length 9223372036854775808"),
        case("header-not-utf8", safetensors_bytes(None, b"", raw_header=b'{"\xff": 1}'), r"not UTF-8"),
        case("header-long-integer", safetensors_bytes(None, b"", raw_header=b'{"w": ' + b"9" * 5000 + b"}"),
             r"not valid JSON"),
        case("metadata-not-strings", safetensors_bytes({"__metadata__": {"format": 1}}), r"__metadata__"),
        case("entry-not-object", safetensors_bytes({"w": [1, 2, 3]}), r"'w'.*not \{"),
        case("lfs-pointer", b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 10\n", r"Git LFS pointer"),
    ]


def _index_case(name: str, change: Callable[[dict, Path], None], problem: str, fmt: str = "safetensors",
                error: str = "CheckpointFormatError") -> Case:  # fmt: skip
    source = BERT / "formats" / ("sharded_safetensors" if fmt == "safetensors" else "sharded_bin")
    index = "model.safetensors.index.json" if fmt == "safetensors" else "pytorch_model.bin.index.json"

    def build(folder: Path, outside: Path) -> None:
        _copy(source, folder)
        (outside / "secret.safetensors").write_bytes(safetensors_bytes({"w": {**_f32(2), "data_offsets": [0, 8]}},
                                                                       bytes(8)))  # fmt: skip
        _edit_json(folder / index, lambda data: change(data, outside))

    loader = "weights:safetensors" if fmt == "safetensors" else "weights:pt"
    return Case(f"index-{name}", loader, build, error, index, problem)


def _first_shard(data: dict) -> str:
    return next(iter(data["weight_map"].values()))


def _index_cases() -> list[Case]:
    def point(value):
        return lambda data, outside: data["weight_map"].update({"embeddings.word_embeddings.weight": value(outside)})

    return [
        _index_case("parent-path", point(lambda o: f"../{o.name}/secret.safetensors"), r"not a file name in its folder"),
        _index_case("absolute-path", point(lambda o: str(o / "secret.safetensors")), r"not a file name in its folder"),
        _index_case("backslash-path", point(lambda o: "..\\secret.safetensors"), r"not a file name in its folder"),
        _index_case("not-a-string", point(lambda o: 7), r"not a file name in its folder"),
        _index_case("parent-path-bin", point(lambda o: f"../{o.name}/secret.bin"), r"not a file name in its folder",
                    fmt="pt"),
        _index_case("missing-shard", point(lambda o: "model-00009-of-00009.safetensors"),
                    r"missing.*model-00009-of-00009", error="CheckpointNotFoundError"),
        _index_case("tensor-not-in-shard",
                    lambda data, o: data["weight_map"].update({"pooler.dense.weight": _first_shard(data)}),
                    r"'pooler.dense.weight'.*does not contain it"),  # fmt: skip
        _index_case("tensor-invented",
                    lambda data, o: data["weight_map"].update({"invented.weight": _first_shard(data)}),
                    r"'invented.weight'.*does not contain it"),  # fmt: skip
        _index_case("no-weight-map", lambda data, o: data.pop("weight_map"), r"no 'weight_map'"),
        _index_case("weight-map-list", lambda data, o: data.update(weight_map=[1]), r"no 'weight_map'"),
        _index_case("weight-map-empty", lambda data, o: data.update(weight_map={}), r"empty 'weight_map'"),
        _index_case("deep", lambda data, o: _deepen(data), r"more than 64 levels"),
    ] + [_duplicate_key_index()]


def _deepen(data: dict) -> None:
    nested: object = 1
    for _ in range(200):
        nested = {"x": nested}
    data["metadata"] = nested


def _duplicate_key_index() -> Case:
    def build(folder: Path, outside: Path) -> None:
        _copy(BERT / "formats" / "sharded_safetensors", folder)
        path = folder / "model.safetensors.index.json"
        data = json.loads(path.read_text())
        name, shard = next(iter(data["weight_map"].items()))
        text = json.dumps(data)
        path.write_text(text.replace('"weight_map": {', f'"weight_map": {{"{name}": "{shard}", ', 1))

    return Case("index-duplicate-name", "weights:safetensors", build, "CheckpointFormatError",
                "model.safetensors.index.json", r"twice")  # fmt: skip


def _pickle_cases() -> list[Case]:
    def case(name: str, build, problem: str, error: str = "CheckpointFormatError") -> Case:
        return Case(f"pickle-{name}", "weights:pt", build, error, "pytorch_model.bin", problem)

    def payload(module: str, name: str):
        return lambda f, o: _payload(f, o, module, name)

    one = _storage("0", 4)
    build_on_tensor = (_tensor(one, 0, (4,), (1,)) + pickle.EMPTY_DICT + _str("shape") + _tuple(_int(10**9))
                       + pickle.SETITEM + pickle.BUILD)  # fmt: skip
    codec = _global("_codecs", "encode") + _tuple(_str("x" * 1000), _str("punycode")) + pickle.REDUCE

    def huge_member(folder: Path, outside: Path) -> None:
        _one_tensor_pt(folder, _tensor(_storage("0", 4), 0, (4,), (1,)))
        _forge_member_size(folder / "pytorch_model.bin", "archive/data/0", 2**32 - 2)

    def bomb(folder: Path, outside: Path) -> None:
        _bert_config(folder)
        data = state_dict_pickle([("w", _tensor(_storage("0", 2**28), 0, (2**28,), (1,)))])
        torch_zip(folder / "pytorch_model.bin", data, {"0": bytes(2**20)}, compress=zipfile.ZIP_DEFLATED)
        _forge_member_size(folder / "pytorch_model.bin", "archive/data/0", 2**30, compressed_too=False)

    return [
        case("os-system", payload("os", "system"), r"global os\.system", "UnsafeCheckpointError"),
        case("posix-system", payload("posix", "system"), r"global posix\.system", "UnsafeCheckpointError"),
        case("builtins-eval", payload("builtins", "eval"), r"global builtins\.eval", "UnsafeCheckpointError"),
        case("subprocess", payload("subprocess", "getoutput"), r"global subprocess\.getoutput",
             "UnsafeCheckpointError"),
        case("storage-claims-more-than-member", lambda f, o: _one_tensor_pt(f, _tensor(_storage("0", 10**12), 0,
             (10**12,), (1,))), r"storage 0 is shorter than its 1000000000000 elements"),  # fmt: skip
        case("member-claims-4gb", huge_member, r"archive/data/0 claims \d+ bytes"),
        case("deflate-bomb-claims-1gb", bomb, r"archive/data/0 claims 1073741824 bytes from \d+ stored"),
        case("view-past-storage", lambda f, o: _one_tensor_pt(f, _tensor(_storage("0", 4), 2, (4,), (1,))),
             r"reaches past the end of storage"),
        case("stride-zero-huge", lambda f, o: _one_tensor_pt(f, _tensor(_storage("0", 4), 0, (10**12,), (0,))),
             r"'w' of shape \(1000000000000,\) would take"),
        case("build-rewrites-tensor", lambda f, o: _one_tensor_pt(f, build_on_tensor), r"BUILD"),
        case("codecs-punycode", lambda f, o: _one_tensor_pt(f, codec), r"punycode"),
        case("bytearray8", lambda f, o: _one_tensor_pt(f, pickle.BYTEARRAY8 + struct.pack("<Q", 2**40)),
             r"BYTEARRAY8"),
        case("persistent-id-not-storage", lambda f, o: _one_tensor_pt(
            f, _tuple(_str("module"), _str("os")) + pickle.BINPERSID), r"persistent reference", "UnsafeCheckpointError"),
        case("negative-size", lambda f, o: _one_tensor_pt(f, _tensor(_storage("0", 4), 0, (-4,), (1,))),
             r"invalid storage/offset/size/stride"),  # fmt: skip
        case("truncated", lambda f, o: (_one_tensor_pt(f, _tensor(_storage("0", 4), 0, (4,), (1,))),
                                        _truncate(f / "pytorch_model.bin", 0.6)), r"truncated or corrupt"),
        case("not-a-zip", lambda f, o: (_bert_config(f), (f / "pytorch_model.bin").write_bytes(
            pickle.dumps({"w": 1}, protocol=2))), r"not a zip archive"),  # fmt: skip
        case("deep-nesting", lambda f, o: _one_tensor_pt(f, _nested_lists(100_000)), r"holds no tensors"),
    ]


def _nested_lists(depth: int) -> bytes:
    """[[[...]]] `depth` deep: push the lists, then append each into the one below it."""
    return pickle.EMPTY_LIST * (depth + 1) + pickle.APPEND * depth


def _truncate(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def _h5_cases() -> list[Case]:
    def case(name: str, build, problem: str) -> Case:
        return Case(f"h5-{name}", "weights:tf", build, "CheckpointFormatError", "tf_model.h5", problem)

    return [
        case("external-link", _h5_case(_h5_external_link), r"external link to another file"),
        case("external-storage", _h5_case(_h5_external_storage), r"keeps its data in an external file"),
        case("virtual-dataset", _h5_case(_h5_virtual), r"virtual dataset"),
        case("soft-link", _h5_case(_h5_soft_link), r"soft link"),
        case("strings", _h5_case(_h5_strings), r"strings, records or objects"),
        case("compound", _h5_case(_h5_compound), r"strings, records or objects"),
        case("sparse-8gb", _h5_case(_h5_sparse), r"declares shape \(2147483648,\).*stores only 0 bytes"),
        case("root-external-link", _h5_root_external, r"external link to another file"),
        case("missing-layer", lambda f, o: (_bert_config(f), _h5_base(f / "tf_model.h5"), _h5_rename_layer(f)),
             r"layer 'dense' is listed but has no group"),
        case("not-hdf5", lambda f, o: (_bert_config(f), (f / "tf_model.h5").write_bytes(b"\x89HDF\r\n" + bytes(90))),
             r"not a readable HDF5 file"),
    ]


def _h5_rename_layer(folder: Path) -> None:
    import h5py

    with h5py.File(folder / "tf_model.h5", "a") as handle:
        handle.move("dense", "other")


def _msgpack_cases() -> list[Case]:
    def case(name: str, tree_of, problem: str) -> Case:
        return Case(f"msgpack-{name}", "weights:flax", _msgpack_case(tree_of), "CheckpointFormatError",
                    "flax_model.msgpack", problem)  # fmt: skip

    return [
        case("deep", lambda: _deep_tree(500), r"more than 64 levels"),
        case("string-leaf", lambda: {"params": {"kernel": "text"}}, r"'params/kernel' is a str"),
        case("object-dtype", lambda: {"kernel": _array_ext(np.ones(2, np.float32), "object")}, r"could not decode|dtype"),
        case("huge-void-dtype", lambda: {"kernel": _array_ext(np.ones(2, np.float32), "V1000000000")},
             r"could not decode|dtype"),
        case("shape-mismatch", lambda: {"kernel": _array_ext(np.ones(2, np.float32), shape=[10**6, 10**6])},
             r"could not decode"),
        case("unknown-extension", lambda: {"kernel": __import__("msgpack").ExtType(9, b"xx")}, r"could not decode"),
        case("chunks-missing", lambda: {"kernel": {"__msgpack_chunked_array__": True, "shape": {"0": 4},
                                                   "chunks": {"1": _array_ext(np.ones(2, np.float32))}}},
             r"could not decode"),  # fmt: skip
    ]


def _config_cases() -> list[Case]:
    def case(name: str, problem: str, **changes) -> Case:
        return Case(f"config-{name}", "config", lambda f, o: _bert_config(f, **changes), "CheckpointFormatError",
                    "config.json", problem)  # fmt: skip

    def raw(name: str, text: bytes, problem: str) -> Case:
        return Case(f"config-{name}", "config", lambda f, o: (f / "config.json").write_bytes(text),
                    "CheckpointFormatError", "config.json", problem)  # fmt: skip

    return [
        case("model-type-int", r"'model_type' is 7; expected a string", model_type=7),
        case("model-type-list", r"'model_type' is \['bert'\]; expected a string", model_type=["bert"]),
        case("hidden-size-string", r"'hidden_size' is '32'; expected an integer", hidden_size="32"),
        case("hidden-size-float", r"'hidden_size' is 32.5; expected an integer", hidden_size=32.5),
        case("hidden-size-bool", r"'hidden_size' is True; expected an integer", hidden_size=True),
        case("layers-negative", r"'num_hidden_layers' is -1; expected an integer from 0", num_hidden_layers=-1),
        case("vocab-1e12", r"'vocab_size' is 1000000000000; expected an integer from 1 to 2147483647",
             vocab_size=10**12),
        case("num-labels-1e9", r"'num_labels' is 1000000000; expected an integer from 1 to 100000",
             num_labels=10**9, id2label=None, label2id=None),
        case("id2label-keys", r"id2label key 'first'.*label ids written as integers", id2label={"first": "A"},
             label2id=None),
        case("label2id-values", r"label2id\['A'\]\" is \[0\]", label2id={"A": [0]}),
        case("pad-token-string", r"'pad_token_id' is '0'; expected a token id", pad_token_id="0"),
        case("eos-token-float", r"'eos_token_id' is 2.0; expected a token id", eos_token_id=2.0),
        case("architectures-string", r"'architectures' is 'BertModel'; expected a list", architectures="BertModel"),
        case("dropout-negative", r"'hidden_dropout_prob' is -1; expected a probability", hidden_dropout_prob=-1),
        case("dropout-null", r"'hidden_dropout_prob' is None; expected a number", hidden_dropout_prob=None),
        raw("deep", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", r"more than 64 levels"),
        raw("not-object", b"[1, 2]", r"must hold a JSON object, found an array"),
        raw("not-utf8", b'{"model_type": "b\xe9rt"}', r"not UTF-8"),
        raw("long-integer", b'{"model_type": "bert", "vocab_size": ' + b"9" * 5000 + b"}", r"not valid JSON"),
        raw("truncated", b'{"model_type": "bert", "hidden_', r"not valid JSON"),
        Case("config-sub-config-string", "config", lambda f, o: (f / "config.json").write_text(json.dumps(
            {"model_type": "clip", "text_config": {"hidden_size": "big"}})), "CheckpointFormatError", "config.json",
            r"'text_config.hidden_size' is 'big'"),  # fmt: skip
    ]


def _model_cases() -> list[Case]:
    """Configs whose sizes only the weights show to be absurd: refused before the model is built."""

    def case(name: str, problem: str, **changes) -> Case:
        def build(folder: Path, outside: Path) -> None:
            _copy(BERT / "BertModel", folder, "model.safetensors")
            _bert_config(folder, **changes)

        return Case(f"model-{name}", "model:torch", build, "CheckpointFormatError", "config.json", problem, "torch")

    return [
        case("vocab-1e9", r"'vocab_size' is 1000000000.*holds 19978 in all", vocab_size=10**9),
        case("layers-1e6", r"'num_hidden_layers' is 1000000.*layers x width 32", num_hidden_layers=10**6),
        case("layers-1e4", r"'num_hidden_layers' is 10000", num_hidden_layers=10**4),
        case("positions-1e8", r"'max_position_embeddings' is 100000000", max_position_embeddings=10**8),
        case("intermediate-1e8", r"'intermediate_size' is 100000000", intermediate_size=10**8),
        case("type-vocab-1e7", r"'type_vocab_size' is 10000000", type_vocab_size=10**7),
        case("pad-beyond-vocab", r"'pad_token_id' is 99.*vocab_size 99", pad_token_id=99),
        case("position-embedding-type", r"position_embedding_type='' is not supported.*cannot be built",
             position_embedding_type=""),
        case("unknown-activation", r"hidden_act='bert' is not a known activation", hidden_act="bert"),
    ]


def _tokenizer_cases() -> list[Case]:
    def case(name: str, source: str, change, file: str, problem: str) -> Case:
        def build(folder: Path, outside: Path) -> None:
            _copy(TOKENIZERS / source, folder)
            (folder / "cases.json").unlink(missing_ok=True)
            change(folder, outside)

        return Case(f"tokenizer-{name}", "tokenizer", build, "CheckpointFormatError", file, problem)

    def config(change):
        return lambda f, o: _edit_json(f / "tokenizer_config.json", lambda data: change(data, o))

    def vocab_json(change):
        return lambda f, o: _edit_json(f / "vocab.json", change)

    def append(name: str, data: bytes):
        return lambda f, o: (f / name).write_bytes((f / name).read_bytes() + data)

    def added(index, value):
        return config(lambda data, o: data["added_tokens_decoder"].update({index: value}))

    def spiece(folder: Path, outside: Path, name: str, data: bytes) -> None:
        (folder / "tokenizer.json").unlink(missing_ok=True)
        (folder / name).write_bytes(data)

    token = {"content": "[X]", "special": True}
    long_piece = _spm_piece("a" * 20_000)
    return [
        case("vocab-txt-not-utf8", "bert-cased-slow-files", append("vocab.txt", b"caf\xe9\n"), "vocab.txt",
             r"not UTF-8"),
        case("merges-not-utf8", "gpt2-slow-files", append("merges.txt", b"caf \xe9\n"), "merges.txt", r"not UTF-8"),
        case("vocab-txt-without-unk", "bert-cased-slow-files", lambda f, o: (f / "vocab.txt").write_text(
            "".join(line for line in (f / "vocab.txt").read_text().splitlines(keepends=True) if line != "[UNK]\n")),
             "vocab.txt", r"no entry for the special token '\[UNK\]'"),  # fmt: skip
        case("merges-three-parts", "gpt2-slow-files", append("merges.txt", b"a b c\n"), "merges.txt",
             r"not a merge of two tokens"),
        case("vocab-json-string-id", "gpt2-slow-files", vocab_json(lambda v: v.update(hello="7")), "vocab.json",
             r"'hello' to 7; expected a token id"),
        case("vocab-json-float-id", "gpt2-slow-files", vocab_json(lambda v: v.update(hello=1.5)), "vocab.json",
             r"'hello' to 1.5"),
        case("vocab-json-huge-id", "gpt2-slow-files", vocab_json(lambda v: v.update(hello=2**40)), "vocab.json",
             r"'hello' to 1099511627776"),
        case("vocab-json-deep", "gpt2-slow-files", lambda f, o: (f / "vocab.json").write_text(
            "{" + '"a":{' * 5000 + "}" * 5001), "vocab.json", r"more than 64 levels"),  # fmt: skip
        case("ctc-vocab-string-id", "wav2vec2-ctc", vocab_json(lambda v: v.update(q="x")), "vocab.json",
             r"'q' to x"),
        case("added-key-not-int", "bert-cased-slow-files", added("first", token), "tokenizer_config.json",
             r"added_tokens_decoder key is 'first'"),
        case("added-value-string", "bert-cased", added("5", "[X]"), "tokenizer_config.json",
             r"added_tokens_decoder\['5'\] is '\[X\]'"),
        case("added-flag-string", "bert-cased", added("5", {"content": "[X]", "special": "yes"}),
             "tokenizer_config.json", r"added_tokens_decoder\['5'\]"),
        case("added-id-beyond-vocab", "bert-cased", added("100000", token), "tokenizer_config.json",
             r"'\[X\]' at id 100000, beyond the vocabulary of 2001"),
        case("special-token-number", "bert-cased", config(lambda data, o: data.update(pad_token=0)),
             "tokenizer_config.json", r"pad_token is 0"),
        case("vocab-file-absolute", "bert-cased-slow-files",
             config(lambda data, o: data.update(vocab_file=str(o / "secret.txt"))), "tokenizer_config.json",
             r"vocab_file is '/.*; expected the name of a file in the tokenizer's folder"),
        case("vocab-file-parent", "bert-cased", config(lambda data, o: data.update(vocab_file=f"../{o.name}/secret.txt")),
             "tokenizer_config.json", r"vocab_file is '\.\./"),
        case("merges-file-absolute", "gpt2-slow-files",
             config(lambda data, o: data.update(merges_file=str(o / "secret.txt"))), "tokenizer_config.json",
             r"merges_file is"),
        case("config-deep", "bert-cased", lambda f, o: (f / "tokenizer_config.json").write_text(
            '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"), "tokenizer_config.json", r"more than 64 levels"),
        case("special-tokens-map-number", "bert-cased-slow-files", lambda f, o: (
            _edit_json(f / "tokenizer_config.json", lambda data: data.pop("added_tokens_decoder")),
            _edit_json(f / "special_tokens_map.json", lambda data: data.update(unk_token=[1]))),
             "special_tokens_map.json", r"unk_token is \[1\]"),  # fmt: skip
        case("added-tokens-json-string-id", "bert-cased-slow-files", lambda f, o: (
            _edit_json(f / "tokenizer_config.json", lambda data: data.pop("added_tokens_decoder")),
            (f / "added_tokens.json").write_text(json.dumps({"[NEW]": "2000"}))), "added_tokens.json",
             r"the id of '\[NEW\]' is '2000'"),  # fmt: skip
        case("tokenizer-json-deep", "bert-cased", lambda f, o: (f / "tokenizer.json").write_text(
            '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"), "tokenizer.json", r"not a valid tokenizer.json"),
        case("tokenizer-json-garbage", "bert-cased", lambda f, o: (f / "tokenizer.json").write_bytes(b"\xff\x00{"),
             "tokenizer.json", r"not a valid tokenizer.json"),
        case("chat-template-not-utf8", "bert-cased", lambda f, o: (f / "chat_template.jinja").write_bytes(b"{{ \xff }}"),
             "chat_template.jinja", r"not UTF-8"),
        case("spiece-long-varint", "t5", lambda f, o: spiece(f, o, "spiece.model", b"\x08" + b"\xff" * 300_000 + b"\x01"),
             "spiece.model", r"varint at byte 1 is longer than 10 bytes"),
        case("spiece-truncated", "t5", lambda f, o: spiece(f, o, "spiece.model", (TOKENIZERS / "t5" / "spiece.model")
             .read_bytes()[:5000]), "spiece.model", r"not a valid SentencePiece model file"),  # fmt: skip
        case("spiece-unk-id", "t5", lambda f, o: spiece(f, o, "spiece.model", (TOKENIZERS / "t5" / "spiece.model")
             .read_bytes() + _spm_trainer(unk_id=10**6)), "spiece.model", r"trainer_spec.unk_id is 1000000"),  # fmt: skip
        case("spiece-piece-type", "t5", lambda f, o: spiece(f, o, "spiece.model", (TOKENIZERS / "t5" / "spiece.model")
             .read_bytes() + _spm_piece("zz", kind=99)), "spiece.model", r"type of piece .* is 99"),  # fmt: skip
        case("spiece-bpe-long-piece", "llama", lambda f, o: spiece(f, o, "tokenizer.model", (
            TOKENIZERS / "llama" / "tokenizer.model").read_bytes() + long_piece), "tokenizer.model",
             r"length of its longest piece is 20000"),  # fmt: skip
        case("spiece-wrong-wire-type", "t5", lambda f, o: spiece(f, o, "spiece.model", b"\x0a\x02\x08\x05"),
             "spiece.model", r"not a valid SentencePiece model file"),
    ]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _spm_piece(text: str, kind: int = 1) -> bytes:
    body = b"\x0a" + _varint(len(text.encode())) + text.encode() + b"\x15" + struct.pack("<f", -1.0)
    body += b"\x18" + _varint(kind)
    return b"\x0a" + _varint(len(body)) + body


def _spm_trainer(unk_id: int) -> bytes:
    body = b"\x18\x01" + bytes([0xC0, 0x02]) + _varint(unk_id)  # model_type = 1, field 40 (unk_id)
    return b"\x12" + _varint(len(body)) + body


def _preprocessor_cases() -> list[Case]:
    def case(name: str, kind: str, problem: str, drop: tuple[str, ...] = (), **changes) -> Case:
        source = FIXTURES / ("image_processors/vit" if kind == "image_processor" else "feature_extractors/whisper")

        def edit(data: dict) -> None:
            data.update(changes)
            for key in drop:
                del data[key]

        def build(folder: Path, outside: Path) -> None:
            _copy(source, folder, "preprocessor_config.json")
            _edit_json(folder / "preprocessor_config.json", edit)

        return Case(f"preprocessor-{name}", kind, build, "CheckpointFormatError", "preprocessor_config.json", problem)

    return [
        case("size-60000", "image_processor", r"size\['height'\]\" is 60000", size={"height": 60000, "width": 60000}),
        case("size-pixels", "image_processor", r"height x width at most", size={"height": 16000, "width": 16000}),
        case("size-string", "image_processor", r"size\['height'\]\" is '224'", size={"height": "224", "width": 224}),
        case("size-negative", "image_processor", r"'size' is -5", size=-5),
        case("crop-huge", "image_processor", r"crop_size\['width'\]\" is 100000",
             crop_size={"height": 10, "width": 100000}),
        # do_normalize left to the class default (true) with no standard deviation to divide by
        case("normalize-without-std", "image_processor", r"'image_std' is None", drop=("do_normalize",),
             image_std=None),
        case("n-fft-huge", "feature_extractor", r"'n_fft' is 1000000000", n_fft=10**9),
        case("sampling-rate-string", "feature_extractor", r"'sampling_rate' is '16000'", sampling_rate="16000"),
        case("hop-length-1", "feature_extractor", r"spectrograms of at most", hop_length=1, n_samples=2**27),
        case("feature-size-huge", "feature_extractor", r"'feature_size' is 16384", feature_size=2**14, n_fft=2**14),
        case("chunk-length-huge", "feature_extractor", r"'chunk_length' is 100000", chunk_length=10**5),
    ]


def all_cases() -> list[Case]:
    cases = (_safetensors_cases() + _index_cases() + _pickle_cases() + _h5_cases() + _msgpack_cases()
             + _config_cases() + _model_cases() + _tokenizer_cases() + _preprocessor_cases())  # fmt: skip
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


@dataclass(frozen=True)
class Control:
    """A valid checkpoint that must still load, through the same runner: the checks refuse only what is wrong."""

    name: str
    loader: str
    source: Path
    framework: str = ""


def controls() -> list[Control]:
    models = FIXTURES / "models"
    weights = [Control(f"weights-{fmt}-{kind}", f"weights:{fmt}", BERT / "formats" / kind)
               for fmt, kind in (("safetensors", "sharded_safetensors"), ("pt", "pt_bin"), ("pt", "sharded_bin"),
                                 ("tf", "tf_h5"), ("flax", "flax_msgpack"))]  # fmt: skip
    configs = [Control(f"config-{family.name}", "config", next(p for p in sorted(family.iterdir()) if p.name != "formats"))
               for family in sorted(models.iterdir()) if family.is_dir()]  # fmt: skip
    built = [Control(f"model-{name}", "model:torch", models / name / folder, "torch")
             for name, folder in (("bert", "BertModel"), ("gpt2", "GPT2Model"), ("clip", "CLIPModel"),
                                  ("whisper", "WhisperModel"))]  # fmt: skip
    tokenizers = [Control(f"tokenizer-{name}", "tokenizer", TOKENIZERS / name)
                  for name in ("bert-cased", "bert-cased-slow-files", "gpt2", "gpt2-slow-files", "roberta", "t5",
                               "llama", "wav2vec2-ctc")]  # fmt: skip
    processors = [Control(f"image-processor-{name}", "image_processor", FIXTURES / "image_processors" / name)
                  for name in ("vit", "clip", "convnext", "swin")]  # fmt: skip
    processors += [Control(f"feature-extractor-{name}", "feature_extractor", FIXTURES / "feature_extractors" / name)
                   for name in ("whisper", "wav2vec2")]  # fmt: skip
    return weights + configs + built + tokenizers + processors


def build_corpus(root: Path, cases: list[Case]) -> tuple[Path, dict[str, Path]]:
    """Write the canaries under root/outside and each case under root/cases/<name>; (outside, folder by name)."""
    outside = root / "outside"
    outside.mkdir(parents=True)
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "secret.bin").write_bytes(SECRET)
    folders = {}
    for case in cases:
        folder = root / "cases" / case.name
        folder.mkdir(parents=True)
        case.build(folder, outside)
        folders[case.name] = folder
    return outside, folders


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time, to show nothing was written."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip

