"""The arrays readers fill (autoload.weights.arrays): aligned blocks, and pages reserved on a thread while a
model is built (PageReserve), which loads take by size and which loads that convert dtypes do not reserve."""

import mmap
import os
import threading

import numpy as np
import pytest

from autoload import loading
from autoload.weights import arrays, blas_transpose
from autoload.weights.arrays import ALIGNMENT, PageReserve, aligned_empty, pages_reserved

MIB = 1 << 20


@pytest.mark.parametrize("shape", [(3,), (1000, 7), (512, 1024)])  # C heap, and a block of its own
def test_aligned_empty_is_aligned_writable_and_sized(shape):
    array = aligned_empty(shape, np.float32)
    assert array.shape == shape and array.ctypes.data % ALIGNMENT == 0 and array.flags.writeable
    array[...] = 2.5
    assert float(array.sum()) == 2.5 * array.size


def counting_blocks(monkeypatch, gate: threading.Event | None = None) -> list:
    made = []
    original = arrays._anonymous_block

    def block(nbytes):
        if gate is not None and threading.current_thread().name == "autoload-pages":
            gate.wait(10)
        made.append((threading.current_thread().name, nbytes))
        return original(nbytes)

    monkeypatch.setattr(arrays, "_anonymous_block", block)
    return made


def test_arrays_take_the_blocks_reserved_for_their_size(monkeypatch):
    made = counting_blocks(monkeypatch)
    with pages_reserved([2 * MIB, 2 * MIB, 3 * MIB, 100]):  # under 1 MiB: from the C heap, never reserved
        arrays._reserves[-1]._thread.join()
        taken = [aligned_empty((n // 4,), np.float32) for n in (2 * MIB, 3 * MIB, 2 * MIB)]
    assert sorted(n for _, n in made) == [2 * MIB, 2 * MIB, 3 * MIB]
    assert all(name == "autoload-pages" for name, _ in made)
    for array in taken:
        array[...] = 1.0
        assert array.ctypes.data % ALIGNMENT == 0 and float(array.sum()) == array.size


def test_an_array_asked_for_before_its_block_is_ready_maps_its_own_and_one_fewer_is_reserved(monkeypatch):
    monkeypatch.setattr(arrays, "_GROUP_BYTES", 1)  # one block at a time
    gate = threading.Event()
    made = counting_blocks(monkeypatch, gate)
    reserve = PageReserve([2 * MIB, 2 * MIB])
    arrays._reserves.append(reserve)
    try:
        early = aligned_empty((MIB // 2,), np.float32)  # the reserve thread is held at its first block
        gate.set()
        reserve._thread.join()
    finally:
        arrays._reserves.remove(reserve)
        reserve.close()
    assert early.nbytes == 2 * MIB
    assert sorted(made) == [("MainThread", 2 * MIB), ("autoload-pages", 2 * MIB)]


def test_an_array_waits_for_the_block_of_its_size_being_mapped_instead_of_mapping_a_second(monkeypatch):
    gate = threading.Event()
    made = counting_blocks(monkeypatch, gate)
    reserve = PageReserve([3 * MIB])
    arrays._reserves.append(reserve)
    try:
        while not reserve._mapping[3 * MIB]:  # the reserve thread has started on the block
            threading.Event().wait(0.001)
        taker = threading.Thread(target=lambda: made.append(("taken", aligned_empty((3 * MIB,), np.uint8).nbytes)))
        taker.start()
        taker.join(0.2)
        assert taker.is_alive()  # waiting for the block, not mapping its own
        gate.set()
        taker.join(10)
    finally:
        arrays._reserves.remove(reserve)
        reserve.close()
    assert made == [("autoload-pages", 3 * MIB), ("taken", 3 * MIB)]


def test_close_unmaps_blocks_nobody_took():
    reserve = PageReserve([2 * MIB, 4 * MIB])
    reserve._thread.join()
    blocks = [block for blocks in reserve._ready.values() for block in blocks]
    assert len(blocks) == 2 and not any(block.closed for block in blocks)
    reserve.close()
    assert all(block.closed for block in blocks) and reserve.take(2 * MIB) is None


class _State(dict):
    """A mapping that, like the readers, names each tensor's stored dtype (bfloat16 as raw bits)."""

    def __init__(self, tensors: dict):
        super().__init__({name: np.zeros(shape, np.uint16 if dtype == "bfloat16" else dtype)
                          for name, (shape, dtype) in tensors.items()})  # fmt: skip
        self._dtypes = {name: dtype for name, (_, dtype) in tensors.items()}

    def shape(self, name):
        return self[name].shape

    def dtype(self, name):
        return self._dtypes[name]


def test_only_tensors_kept_as_read_are_reserved(monkeypatch):
    asked = []
    monkeypatch.setattr(loading, "pages_reserved", lambda sizes: asked.append(list(sizes)) or _NoReserve())
    state = _State({"a": ((512, 1024), "float32"), "b": ((1024, 2048), "bfloat16"), "ids": ((4, 512), "int64"),
                    "c": ((16,), "float16")})  # fmt: skip
    with loading.reserve_pages(state, "float32"):
        pass
    with loading.reserve_pages(state, "bfloat16"):
        pass
    assert asked == [[2 * MIB, 16384], [4 * MIB, 16384]]


class _NoReserve:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def resident_bytes() -> int:  # Linux, the platform the page reserve is built for
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * mmap.PAGESIZE


def test_fault_in_makes_blocks_resident_and_leaves_them_zero_and_writable():
    blocks = [arrays._anonymous_block(n) for n in (4 * MIB, 2 * MIB, 3 * MIB)]
    before = resident_bytes()
    arrays.fault_in(blocks)
    assert resident_bytes() - before >= 8 * MIB  # 9 MiB faulted in (other allocations may come and go)
    for block in blocks:
        assert not any(block[:4096]) and not any(block[-4096:])
        block[:4] = b"abcd"
        assert block[:4] == b"abcd"
        block.close()  # fault_in holds no view of them


def test_fault_in_resumes_a_partial_read(monkeypatch):
    calls = []
    real = os.preadv

    def partial(fd, buffers, offset):  # as a signal may cut a long read short: at most 1.5 MiB per call
        room, parts = 3 * MIB // 2, []
        for buffer in buffers:
            take = min(room, len(buffer))
            if not take:
                break
            parts.append(memoryview(buffer)[:take])
            room -= take
        calls.append(len(buffers))
        return real(fd, parts, offset)

    monkeypatch.setattr(os, "preadv", partial)
    blocks = [bytearray(b"\xff" * n) for n in (MIB, 2 * MIB, MIB // 2)]
    arrays.fault_in(blocks)
    assert all(not any(block) for block in blocks)  # every byte was written
    assert len(calls) == 3


def test_the_reserve_faults_blocks_in_groups_and_hands_each_out_once(monkeypatch):
    monkeypatch.setattr(arrays, "_GROUP_BYTES", 5 * MIB)
    groups = []
    monkeypatch.setattr(arrays, "fault_in", lambda blocks: groups.append([len(b) for b in blocks]))
    reserve = PageReserve([2 * MIB, 2 * MIB, 2 * MIB, 3 * MIB])
    reserve._thread.join()
    assert groups == [[2 * MIB, 2 * MIB, 2 * MIB], [3 * MIB]]
    taken = [reserve.take(2 * MIB) for _ in range(3)]
    assert len({id(block) for block in taken}) == 3 and all(len(block) == 2 * MIB for block in taken)
    assert reserve.take(2 * MIB) is None
    reserve.close()


def test_a_reserve_that_cannot_map_lets_waiting_arrays_map_their_own(monkeypatch):
    def no_memory(nbytes):
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(arrays, "_anonymous_block", no_memory)
    reserve = PageReserve([2 * MIB])
    reserve._thread.join()
    assert reserve.take(2 * MIB) is None  # nothing left being mapped: the caller maps its own
    reserve.close()


# -- transposes through the bundled OpenBLAS (autoload.weights.blas_transpose) -------------------------------
BLAS_FOUND = bool(blas_transpose._library_paths())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(700, 400), (3, 5), (1, 9)])
def test_blas_transpose_writes_a_band_of_a_wider_matrix_bit_for_bit(dtype, shape):
    bits = np.dtype(f"u{np.dtype(dtype).itemsize}")
    source = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    source.reshape(-1).view(bits)[:2] = (1, 7)  # subnormals keep their bits
    out = np.full((shape[1], shape[0] + 10), -1, dtype)
    # pip's numpy bundles OpenBLAS with the routine: where it does, the fast path must be the one taken
    assert blas_transpose.transpose_matrix_into(out[:, 4 : 4 + shape[0]], source) is BLAS_FOUND
    if BLAS_FOUND:
        np.testing.assert_array_equal(out[:, 4 : 4 + shape[0]].view(bits), source.T.view(bits))
        assert (out[:, :4] == -1).all() and (out[:, 4 + shape[0] :] == -1).all()
        column = np.empty((2, 1), dtype)  # a NaN stays a NaN (a signalling one comes out quiet)
        assert blas_transpose.transpose_matrix_into(column, np.array([[np.nan, 1.0]], dtype))
        assert np.isnan(column[0, 0]) and column[1, 0] == 1.0


def test_blas_transpose_leaves_what_it_does_not_take_to_numpy():
    source = np.arange(12, dtype=np.float32).reshape(3, 4)
    for out, array in (
        (np.zeros((4, 3), np.float16), source.astype(np.float16)),  # no 16-bit routine
        (np.zeros((4, 3), np.int32), source.astype(np.int32)),  # integer bits could read as signalling NaNs
        (np.zeros((6, 3), np.float32)[::2], source),  # out's rows are not contiguous
        (np.zeros((4, 6), np.float32)[:, ::2], source),  # neither are its elements
        (np.zeros((2, 4), np.float32), np.zeros((4, 6), np.float32)[:, ::3]),  # the source is not C-contiguous
        (np.zeros((3, 4), np.float32), source),  # not the transposed shape
    ):
        assert not blas_transpose.transpose_matrix_into(out, array)
        assert not out.any()
    wide = np.zeros((4, 6), np.float32)
    np.testing.assert_array_equal(arrays.transpose_into(wide[:, ::2], source, (1, 0)), source.T)


def test_a_thread_whose_floating_point_unit_flushes_subnormals_transposes_with_numpy(monkeypatch):
    monkeypatch.setattr(blas_transpose, "_transposes_exactly", lambda routine, dtype: False)
    source = np.random.default_rng(1).standard_normal((300, 200)).astype(np.float32)
    results = {}

    def run():
        out = np.zeros((200, 300), np.float32)
        results["taken"] = blas_transpose.transpose_matrix_into(out, source)
        results["out"] = arrays.transpose_into(out, source, (1, 0))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert results["taken"] is False
    np.testing.assert_array_equal(results["out"], source.T)


def test_autoload_blas_transpose_0_turns_it_off(monkeypatch):
    monkeypatch.setenv("AUTOLOAD_BLAS_TRANSPOSE", "0")
    assert blas_transpose._load() == {}
    monkeypatch.delenv("AUTOLOAD_BLAS_TRANSPOSE")
    assert bool(blas_transpose._load()) is BLAS_FOUND
