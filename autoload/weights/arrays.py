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
