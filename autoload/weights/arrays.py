"""Arrays the readers fill: aligned so that frameworks can adopt their memory instead of copying it."""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

import numpy as np

from .blas_transpose import transpose_matrix_into

# XLA (JAX) and TensorFlow adopt a host buffer without copying only when it is aligned to 64 bytes; numpy
# itself aligns to 16.
ALIGNMENT = 64
# Larger arrays get pages of their own (POSIX), returned to the system the moment the array is freed. From
# the C heap, a freed tensor-sized block often stays with the process (glibc raises its mmap threshold to the
# largest block freed), so a load that frees each array after a framework copied it would keep growing.
_OWN_PAGES = 1 << 20
# transpose_into reads about this many bytes of rows per block (the best of 64-256 KiB measured).
_BLOCK_BYTES = 128 << 10
# Readers' read_transposed stage tensors from this size on through read_transposed_into (smaller ones are read
# whole and transposed in memory).
STAGE_FROM = 1 << 20
# read_transposed_into stages a tensor through a buffer of at most this size (one per reading thread).
_STAGING_BYTES = 2 << 20
_staging = threading.local()
_ANONYMOUS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS if hasattr(mmap, "MAP_ANONYMOUS") else None
# The page reserve faults its blocks in by reading /dev/zero into a group of them with one preadv: one call
# releases the GIL for the whole group, and the kernel faults each page in as it writes it, holding the
# process's memory-map lock only for that page. (madvise(MADV_POPULATE_WRITE) holds it for the whole range, so
# every allocation the building thread makes meanwhile, Python's arenas included, waits for it.)
_GROUP_BYTES = 48 << 20
_IOV_MAX = 1024


def _anonymous_block(nbytes: int) -> mmap.mmap:
    """A private anonymous map of nbytes; its pages fault in as they are first written."""
    return mmap.mmap(-1, nbytes, flags=_ANONYMOUS)


def _zero_source() -> int | None:
    try:
        return os.open("/dev/zero", os.O_RDONLY)
    except OSError:
        return None


def fault_in(blocks: list) -> None:
    """Fault every page of these writable buffers in (they hold zeros afterwards), with as few calls as the
    system allows; where it has no /dev/zero or preadv, they are left to fault in as they are written."""
    zero = _zero_source() if hasattr(os, "preadv") else None
    if zero is None:
        return
    try:
        views = [memoryview(block).cast("B") for block in blocks]
        while views:
            done = os.preadv(zero, views[:_IOV_MAX], 0)
            if done <= 0:
                return
            while views and done >= len(views[0]):
                done -= len(views.pop(0))
            if done:
                views[0] = views[0][done:]
    finally:
        os.close(zero)


class PageReserve:
    """Blocks for the arrays a load is about to read, mapped and faulted in on a thread of its own while the
    model is being built. aligned_empty takes a ready block of the exact size, waits for one of that size
    being mapped right now, or else maps its own (and one fewer of that size is reserved), so that no block
    is made twice. Blocks nobody took are unmapped by close()."""

    def __init__(self, sizes: Iterable[int]):
        self._order = [size for size in sizes if size >= _OWN_PAGES]
        self._wanted = Counter(self._order)
        self._mapping: Counter = Counter()
        self._ready: dict[int, list] = defaultdict(list)
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._fill, name="autoload-pages", daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        waiting = iter(self._order)
        while True:
            group: list[int] = []
            with self._changed:
                if self._closed:
                    return
                total = 0
                for size in waiting:
                    if self._wanted[size]:
                        self._wanted[size] -= 1
                        self._mapping[size] += 1
                        group.append(size)
                        total += size
                        if total >= _GROUP_BYTES:
                            break
            if not group:
                return
            blocks: list = []
            try:
                blocks = [_anonymous_block(size) for size in group]
                fault_in(blocks)
            except OSError:  # no memory for them now: whoever waits for these sizes maps their own
                pass
            finally:
                with self._changed:
                    for size, block in zip(group, blocks):
                        if self._closed:
                            block.close()
                        else:
                            self._ready[size].append(block)
                    for size in group:
                        self._mapping[size] -= 1
                    self._changed.notify_all()

    def take(self, nbytes: int) -> mmap.mmap | None:
        with self._changed:
            while not self._closed:
                if self._ready.get(nbytes):
                    return self._ready[nbytes].pop()
                if self._wanted[nbytes]:
                    self._wanted[nbytes] -= 1
                    return None
                if not self._mapping[nbytes]:
                    return None
                self._changed.wait()
        return None

    def close(self) -> None:
        with self._changed:
            self._closed = True
            left, self._ready = self._ready, defaultdict(list)
            self._changed.notify_all()
        self._thread.join()
        for blocks in left.values():
            for block in blocks:
                block.close()


_reserves: list[PageReserve] = []


@contextlib.contextmanager
def pages_reserved(sizes: Iterable[int]) -> Iterator[None]:
    """While the block runs, arrays of these byte sizes come from pages faulted in ahead on another thread."""
    if _ANONYMOUS is None:
        yield
        return
    reserve = PageReserve(sizes)
    _reserves.append(reserve)
    try:
        yield
    finally:
        _reserves.remove(reserve)
        reserve.close()


def aligned_empty(shape, dtype) -> np.ndarray:
    """np.empty(shape, dtype) whose data starts on an ALIGNMENT-byte boundary; from 1 MiB on, in an anonymous
    memory map of its own (page-aligned, faulted in) where the system has them."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes >= _OWN_PAGES and _ANONYMOUS is not None:
        block = next(filter(None, (reserve.take(nbytes) for reserve in list(_reserves))), None)
        return np.frombuffer(block or _anonymous_block(nbytes), dtype=dtype).reshape(shape)
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def read_into(path: str, offset: int, array: np.ndarray) -> bool:
    """Fill a C-contiguous array with the file's bytes from `offset`; False when the file ends first."""
    with open(path, "rb") as f:
        f.seek(offset)
        return f.readinto(array.reshape(-1).view(np.uint8).data) == array.nbytes


def read_transposed_into(out: np.ndarray, path: str, offset: int, shape: tuple, axes: tuple) -> bool:
    """out[...] = (the C-ordered tensor of `shape` and out's dtype at byte `offset` of the file).transpose(axes),
    for axes ending in 0 (a kernel's layout: the first axis becomes the last). The file is read one band of
    first-axis rows at a time into a small buffer the thread keeps, and each band is transposed into place:
    no memory map to set up and tear down per tensor (unmapping interrupts every core running the process), and
    a band is still in cache when it is transposed. False when the file ends first."""
    if tuple(axes)[-1] != 0:
        raise ValueError(f"read_transposed_into takes axes ending in 0 (a kernel layout), not {tuple(axes)}")
    row = math.prod(shape[1:]) * out.itemsize
    rows = max(1, _STAGING_BYTES // max(1, row))
    staging = _staging_buffer(min(rows, shape[0]) * row)
    with open(path, "rb") as f:
        f.seek(offset)
        for first in range(0, shape[0], rows):
            count = min(rows, shape[0] - first)
            band = staging[: count * row]
            if f.readinto(band.data) != band.nbytes:
                return False
            transpose_into(out[..., first : first + count], band.view(out.dtype).reshape(count, *shape[1:]), axes)
    return True


def _staging_buffer(nbytes: int) -> np.ndarray:
    buffer = getattr(_staging, "buffer", None)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = _staging.buffer = np.empty(nbytes, np.uint8)  # not aligned_empty: no reserved block for it
    return buffer[:nbytes]


def transpose_into(out: np.ndarray, array: np.ndarray, axes: tuple) -> np.ndarray:
    """out[...] = array.transpose(axes). A matrix goes through OpenBLAS where numpy bundles it
    (blas_transpose), else in blocks of rows, so that what is read and what is written both stay in cache: a
    plain strided copy of a large matrix runs at a fraction of memory speed."""
    if array.ndim == 2 and tuple(axes) == (1, 0):
        if transpose_matrix_into(out, array):
            return out
        rows = max(4, _BLOCK_BYTES // max(1, array.shape[1] * array.itemsize))
        for i in range(0, array.shape[0], rows):
            out[:, i : i + rows] = array[i : i + rows].T
    else:
        np.copyto(out, array.transpose(axes))
    return out


def transposed(array: np.ndarray, axes: tuple) -> np.ndarray:
    """array.transpose(axes) as a C-contiguous array (aligned where it is copied), without a copy where the
    view already is one."""
    view = array.transpose(axes)
    if view.flags.c_contiguous:
        return view
    return transpose_into(aligned_empty(view.shape, array.dtype), array, axes)
