"""Property-based fuzzing of every checkpoint reader: valid files, mutated (bytes, JSON structure, pickle
opcodes, HDF5 objects), must load or end in one of autoload's own errors, within a time and memory bound.

Used two ways: tests/hostile/test_fuzz_readers.py runs each target briefly with a fixed seed in the normal
suite; `python -m hostile.fuzz --seconds N` (what `nox -s fuzz-readers` runs) fuzzes each target for N seconds
with fresh random seeds and writes what it found as JSON.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, reject, settings

from hostile.corpus import BERT, FIXTURES, TOKENIZERS
from hostile.loaders import load

MEMORY_MB = 1024  # more than any valid seed needs, far less than a crafted size would take
SECONDS = 10  # CPU seconds per example (valid seeds load in well under one): wall time would also count the
# time a busy machine gives to other processes, which says nothing about the reader


@dataclass(frozen=True)
class Target:
    name: str
    source: Path  # a valid checkpoint folder
    file: str  # the file mutated
    kind: str  # how: "bytes", "json", "safetensors-header", "pickle" or "h5"
    loader: str  # see hostile.loaders
    framework: str = ""
    drop: tuple[str, ...] = ()  # files removed from the copy (tokenizer.json, so the older files are read)


TARGETS = [
    Target("safetensors-bytes", BERT / "BertModel", "model.safetensors", "bytes", "weights:safetensors"),
    Target("safetensors-header", BERT / "BertModel", "model.safetensors", "safetensors-header", "weights:safetensors"),
    Target("safetensors-index", BERT / "formats" / "sharded_safetensors", "model.safetensors.index.json", "json",
           "weights:safetensors"),
    Target("pickle-opcodes", BERT / "formats" / "pt_bin", "pytorch_model.bin", "pickle", "weights:pt"),
    Target("pickle-zip-bytes", BERT / "formats" / "pt_bin", "pytorch_model.bin", "bytes", "weights:pt"),
    Target("h5-objects", BERT / "formats" / "tf_h5", "tf_model.h5", "h5", "weights:tf"),
    Target("msgpack-bytes", BERT / "formats" / "flax_msgpack", "flax_model.msgpack", "bytes", "weights:flax"),
    Target("config-json", BERT / "BertModel", "config.json", "json", "config"),
    Target("config-json-model", BERT / "BertModel", "config.json", "json", "model:torch", "torch"),
    Target("vocab-txt", TOKENIZERS / "bert-cased-slow-files", "vocab.txt", "bytes", "tokenizer"),
    Target("merges-txt", TOKENIZERS / "gpt2-slow-files", "merges.txt", "bytes", "tokenizer"),
    Target("vocab-json", TOKENIZERS / "gpt2-slow-files", "vocab.json", "json", "tokenizer"),
    Target("tokenizer-config", TOKENIZERS / "bert-cased", "tokenizer_config.json", "json", "tokenizer"),
    Target("special-tokens-map", TOKENIZERS / "roberta", "special_tokens_map.json", "json", "tokenizer"),
    Target("tokenizer-json", TOKENIZERS / "bert-cased", "tokenizer.json", "json", "tokenizer"),
    Target("spiece-model", TOKENIZERS / "t5", "spiece.model", "bytes", "tokenizer", drop=("tokenizer.json",)),
    Target("llama-model", TOKENIZERS / "llama", "tokenizer.model", "bytes", "tokenizer", drop=("tokenizer.json",)),
    Target("image-processor", FIXTURES / "image_processors" / "vit", "preprocessor_config.json", "json",
           "image_processor"),
    Target("feature-extractor", FIXTURES / "feature_extractors" / "whisper", "preprocessor_config.json", "json",
           "feature_extractor"),
]  # fmt: skip
TARGETS_BY_NAME = {target.name: target for target in TARGETS}


# -- mutations ------------------------------------------------------------------------------------------------
_INTERESTING = [0, 1, 2**7, 2**8 - 1, 2**15, 2**16 - 1, 2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, 2**64 - 1]
byte_edits = st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(0, 2**20), st.integers(0, 255)),
    st.tuples(st.just("flip"), st.integers(0, 2**20), st.integers(0, 7)),
    st.tuples(st.just("insert"), st.integers(0, 2**20), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 2**20), st.integers(1, 64)),
    st.tuples(st.just("truncate"), st.integers(0, 2**20)),
    st.tuples(st.just("int32"), st.integers(0, 2**20), st.sampled_from(_INTERESTING)),
    st.tuples(st.just("int64"), st.integers(0, 2**20), st.sampled_from(_INTERESTING)),
    st.tuples(st.just("repeat"), st.integers(0, 2**20), st.integers(1, 32), st.integers(2, 2000)),
), min_size=1, max_size=6)  # fmt: skip

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 1, 2**31, 2**63, 10**12, 10**9]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["../secret", "/etc/passwd", "vocab.txt", "F32", "BF16", "bert", "[PAD]", "</s>"]),
)  # fmt: skip
json_values = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)  # fmt: skip
json_edits = st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(0, 10**6), json_values),
    st.tuples(st.just("delete"), st.integers(0, 10**6)),
    st.tuples(st.just("add"), st.integers(0, 10**6), st.text(max_size=12), json_values),
    st.tuples(st.just("deepen"), st.integers(0, 10**6), st.integers(2, 3000)),
), min_size=1, max_size=5)  # fmt: skip
h5_edits = st.lists(st.one_of(
    st.tuples(st.just("names"), st.integers(0, 10**6), st.lists(st.one_of(st.text(max_size=30), st.just("..")), max_size=4)),
    st.tuples(st.just("delete"), st.integers(0, 10**6)),
    st.tuples(st.just("replace"), st.integers(0, 10**6), st.sampled_from(
        ["strings", "compound", "scalar", "int8", "soft", "external", "sparse", "empty", "group", "reshaped"])),
), min_size=1, max_size=4)  # fmt: skip


def apply_byte_edits(data: bytes, edits) -> bytes:
    data = bytearray(data)
    for edit in edits:
        if not data:
            break
        op, position = edit[0], edit[1] % (len(data) + 1)
        if op == "set" and position < len(data):
            data[position] = edit[2]
        elif op == "flip" and position < len(data):
            data[position] ^= 1 << edit[2]
        elif op == "insert":
            data[position:position] = edit[2]
        elif op == "delete":
            del data[position : position + edit[2]]
        elif op == "truncate":
            del data[position:]
        elif op in ("int32", "int64"):
            size = 4 if op == "int32" else 8
            data[position : position + size] = (edit[2] % 2 ** (8 * size)).to_bytes(size, "little")
        elif op == "repeat":
            chunk = bytes(data[position : position + edit[2]])
            data[position:position] = chunk * edit[3]
    return bytes(data)


def _paths(node, prefix=()) -> list[tuple]:
    """Every path into a JSON document (the root is the empty path)."""
    found, stack = [], [(node, prefix)]
    while stack:
        value, path = stack.pop()
        found.append(path)
        if isinstance(value, dict):
            stack.extend((child, (*path, key)) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(value))
    return found


def _get(node, path):
    for key in path:
        node = node[key]
    return node


def apply_json_edits(document, edits):
    for edit in edits:
        paths = _paths(document)
        path = paths[edit[1] % len(paths)]
        op = edit[0]
        if op == "set":
            document = edit[2] if not path else _set(document, path, edit[2])
        elif op == "delete" and path:
            parent = _get(document, path[:-1])
            del parent[path[-1]]
        elif op == "add":
            target = _get(document, path)
            if isinstance(target, dict):
                target[edit[2]] = edit[3]
            elif isinstance(target, list):
                target.append(edit[3])
        elif op == "deepen":
            value = _Deep(_get(document, path), edit[2])
            document = value if not path else _set(document, path, value)
    return document


class _Deep:
    """A value wrapped in `depth` one-element arrays, kept as a leaf so that nothing walks it recursively."""

    def __init__(self, value, depth: int):
        self.value, self.depth = value, depth


def _set(document, path, value):
    _get(document, path[:-1])[path[-1]] = value
    return document


def _dump_json(document) -> bytes:
    deep: list[_Deep] = []

    def placeholder(value):
        if isinstance(value, _Deep):
            deep.append(value)
            return f"@@deep{len(deep) - 1}@@"
        raise TypeError(type(value))

    text = json.dumps(document, default=placeholder)
    for index, value in enumerate(deep):
        inner = _dump_json(value.value).decode("utf-8", "surrogatepass")
        text = text.replace(f'"@@deep{index}@@"', "[" * value.depth + inner + "]" * value.depth)
    return text.encode("utf-8", "surrogatepass")


def mutate_safetensors_header(data: bytes, edits) -> bytes:
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    text = _dump_json(apply_json_edits(header, edits))
    return struct.pack("<Q", len(text)) + text + data[8 + length :]


def mutate_pickle(path: Path, edits) -> None:
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for info, data in members:
            archive.writestr(info.filename, apply_byte_edits(data, edits) if info.filename.endswith("data.pkl") else data)


def mutate_h5(path: Path, edits) -> None:
    import h5py
    import numpy as np

    with h5py.File(path, "a") as handle:
        for edit in edits:
            objects: list[str] = []
            handle.visit(objects.append)
            if not objects:
                return
            name = objects[edit[1] % len(objects)]
            if edit[0] == "names":
                owner = handle[name] if isinstance(handle.get(name, getlink=True), h5py.HardLink) else handle
                attribute = "weight_names" if "weight_names" in owner.attrs else "layer_names"
                owner.attrs[attribute] = [n.encode("utf-8", "surrogatepass") for n in edit[2]] or np.zeros(0)
                continue
            parent, leaf = name.rsplit("/", 1) if "/" in name else ("/", name)
            del handle[name]
            if edit[0] == "delete":
                continue
            group, kind = handle[parent], edit[2]
            if kind == "strings":
                group.create_dataset(leaf, data=np.array(["a", "b"], dtype=object), dtype=h5py.string_dtype())
            elif kind == "compound":
                group.create_dataset(leaf, data=np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
            elif kind == "scalar":
                group.create_dataset(leaf, data=np.float32(1.5))
            elif kind == "int8":
                group.create_dataset(leaf, data=np.arange(6, dtype=np.int8).reshape(2, 3))
            elif kind == "soft":
                group[leaf] = h5py.SoftLink("/" + objects[0])
            elif kind == "external":
                group[leaf] = h5py.ExternalLink("missing-file.h5", "/data")
            elif kind == "sparse":
                group.create_dataset(leaf, shape=(2**30,), dtype=np.float32, chunks=(1024,))
            elif kind == "empty":
                group.create_dataset(leaf, data=h5py.Empty("f4"))
            elif kind == "group":
                group.create_group(leaf)
            elif kind == "reshaped":
                group.create_dataset(leaf, data=np.zeros((3, 5), np.int64))


def write_mutant(target: Target, folder: Path, edits) -> None:
    path = folder / target.file
    if target.kind == "bytes":
        path.write_bytes(apply_byte_edits(path.read_bytes(), edits))
    elif target.kind == "json":
        path.write_bytes(_dump_json(apply_json_edits(json.loads(path.read_text()), edits)))
    elif target.kind == "safetensors-header":
        path.write_bytes(mutate_safetensors_header(path.read_bytes(), edits))
    elif target.kind == "pickle":
        mutate_pickle(path, edits)
    elif target.kind == "h5":
        mutate_h5(path, edits)
    else:
        raise ValueError(target.kind)


EDITS = {"bytes": byte_edits, "json": json_edits, "safetensors-header": json_edits, "pickle": byte_edits,
         "h5": h5_edits}  # fmt: skip


# -- running one input ---------------------------------------------------------------------------------------
class Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise Timeout(f"took more than {SECONDS} s of CPU time")


def _virtual_memory() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))


@contextlib.contextmanager
def limits() -> Iterator[None]:
    """Address space capped at what the process has now plus MEMORY_MB, and a CPU-time timer, for one input."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    capped = sys.platform.startswith("linux")
    if capped:
        resource.setrlimit(resource.RLIMIT_AS, (_virtual_memory() + MEMORY_MB * 2**20, hard))
    previous = signal.signal(signal.SIGPROF, _on_alarm)
    signal.setitimer(signal.ITIMER_PROF, SECONDS)  # CPU time of the process
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        if capped:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


_SEEDS: dict[str, Path] = {}


def _seed(target: Target) -> Path:
    """A copy of the target's valid folder (made once), without the files the target drops."""
    if target.name not in _SEEDS:
        folder = Path(tempfile.mkdtemp(prefix=f"fuzz-seed-{target.name}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        for path in target.source.iterdir():
            if path.is_file() and path.name not in target.drop and path.suffix != ".npz" and path.name != "cases.json":
                shutil.copy(path, folder / path.name)
        _SEEDS[target.name] = folder
    return _SEEDS[target.name]


INPUTS = [0]  # how many inputs check_input has loaded


def check_input(target: Target, edits) -> None:
    """Load one mutant: it must load, or raise one of autoload's errors, within the limits."""
    from autoload import errors

    INPUTS[0] += 1
    ours = tuple(value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, Exception))
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch:
        folder = Path(scratch) / "checkpoint"
        shutil.copytree(_seed(target), folder)
        try:
            write_mutant(target, folder, edits)
        except (ValueError, TypeError, OSError, UnicodeError, KeyError):
            reject()  # an edit the writing library cannot express (h5py refuses NUL in names): not an input
        start = time.process_time()
        try:
            with limits():
                load(target.loader, str(folder))
        except ours:
            pass
        elapsed = time.process_time() - start
    assert elapsed < SECONDS, f"{target.name}: one input took {elapsed:.1f} s of CPU time"


def fuzz_test(target: Target, max_examples: int, derandomize: bool) -> Callable[[], None]:
    """A Hypothesis test of `target` (call it to run)."""

    @settings(max_examples=max_examples, derandomize=derandomize, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), print_blob=True)  # fmt: skip
    @given(EDITS[target.kind])
    def run(edits):
        check_input(target, edits)

    return run


# -- long runs ------------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120, help="fuzzing time per target")
    parser.add_argument("--targets", default=",".join(TARGETS_BY_NAME), help="comma-separated target names")
    parser.add_argument("--report", default="fuzz-report.json")
    args = parser.parse_args(argv)
    logging.getLogger("autoload").setLevel(logging.ERROR)  # loads of mutants warn about missing weights a lot
    report = {}
    for name in args.targets.split(","):
        target = TARGETS_BY_NAME[name]
        start, findings, INPUTS[0] = time.monotonic(), [], 0
        while time.monotonic() - start < args.seconds:
            try:
                fuzz_test(target, max_examples=100, derandomize=False)()
            except Exception:  # a falsifying example, already shrunk by Hypothesis
                findings.append(traceback.format_exc()[-4000:])
        report[name] = {"seconds": round(time.monotonic() - start, 1), "inputs": INPUTS[0], "findings": findings}
        print(f"{name}: {report[name]['seconds']} s, {INPUTS[0]} inputs (shrinking included), {len(findings)} "
              "findings", flush=True)
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    return 1 if any(entry["findings"] for entry in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
