"""Arrays the readers fill: aligned so that frameworks can adopt their memory instead of copying it."""

from __future__ import annotations

import contextlib
import ctypes
import math
import mmap
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

import numpy as np

# XLA (JAX) and TensorFlow adopt a host buffer without copying only when it is aligned to 64 bytes; numpy
# itself aligns to 16.
ALIGNMENT = 64
# Larger arrays get pages of their own (POSIX), returned to the system the moment the array is freed. From
# the C heap, a freed tensor-sized block often stays with the process (glibc raises its mmap threshold to the
# largest block freed), so a load that frees each array after a framework copied it would keep growing.
_OWN_PAGES = 1 << 20
# transpose_into reads about this many bytes of rows per block (the best of 64-256 KiB measured).
_BLOCK_BYTES = 128 << 10
# read_transposed_into stages a tensor through a buffer of at most this size (one per reading thread).
_STAGING_BYTES = 2 << 20
_staging = threading.local()
_ANONYMOUS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS if hasattr(mmap, "MAP_ANONYMOUS") else None
# Faulting a block's pages in with one call costs less than a page fault each as the read fills them. Linux
# 5.14+ does it with madvise(MADV_POPULATE_WRITE), called through ctypes so that the GIL is released (mmap's
# MAP_POPULATE flag holds it for the whole faulting: reads on other threads would wait on it).
_MADV_POPULATE_READ, _MADV_POPULATE_WRITE = 22, 23
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_madvise_works = _libc is not None
_MAP_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


def map_populated(fileno: int, length: int, *, flags: int, prot: int = mmap.PROT_READ | mmap.PROT_WRITE,
                  offset: int = 0) -> mmap.mmap:
    """mmap.mmap(fileno, length, ...) with its pages faulted in (read for a read-only map, written for the rest)
    without holding the GIL, where the system can; else with the MAP_POPULATE flag."""
    global _madvise_works
    if not _madvise_works:
        return mmap.mmap(fileno, length, flags=flags | _MAP_POPULATE, prot=prot, offset=offset)
    mapped = mmap.mmap(fileno, length, flags=flags, prot=prot, offset=offset)
    view = np.frombuffer(mapped, np.uint8)
    advice = _MADV_POPULATE_WRITE if prot & mmap.PROT_WRITE else _MADV_POPULATE_READ
    if _libc.madvise(ctypes.c_void_p(view.ctypes.data), ctypes.c_size_t(length), advice):
        _madvise_works = False  # an older kernel: pages fault in as they are touched, this once
    del view  # the map cannot close while an array views it
    return mapped


def _anonymous_block(nbytes: int) -> mmap.mmap:
    """A private anonymous map of nbytes, its pages faulted in."""
    return map_populated(-1, nbytes, flags=_ANONYMOUS)


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
        for size in self._order:
            with self._changed:
                if self._closed:
                    return
                if not self._wanted[size]:
                    continue
                self._wanted[size] -= 1
                self._mapping[size] += 1
            block = _anonymous_block(size)
            with self._changed:
                self._mapping[size] -= 1
                if self._closed:
                    block.close()
                else:
                    self._ready[size].append(block)
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
    """out[...] = array.transpose(axes). A matrix goes in blocks of rows, so that what is read and what is
    written both stay in cache: a plain strided copy of a large matrix runs at a fraction of memory speed."""
    if array.ndim == 2 and tuple(axes) == (1, 0):
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
