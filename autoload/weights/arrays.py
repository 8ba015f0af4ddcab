"""Arrays the readers fill: aligned so that frameworks can adopt their memory instead of copying it."""

from __future__ import annotations

import math
import mmap

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
# Faulting the pages in with the mapping (one call) costs less than a page fault each as the read fills them.
_ANONYMOUS = (mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)
              if hasattr(mmap, "MAP_ANONYMOUS") else None)  # fmt: skip


def aligned_empty(shape, dtype) -> np.ndarray:
    """np.empty(shape, dtype) whose data starts on an ALIGNMENT-byte boundary; from 1 MiB on, in an anonymous
    memory map of its own (page-aligned) where the system has them."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes >= _OWN_PAGES and _ANONYMOUS is not None:
        return np.frombuffer(mmap.mmap(-1, nbytes, flags=_ANONYMOUS), dtype=dtype).reshape(shape)
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def read_into(path: str, offset: int, array: np.ndarray) -> bool:
    """Fill a C-contiguous array with the file's bytes from `offset`; False when the file ends first."""
    with open(path, "rb") as f:
        f.seek(offset)
        return f.readinto(array.reshape(-1).view(np.uint8).data) == array.nbytes


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
