"""Reading a checkpoint's tensors on worker threads while the loading thread puts the ones already read into
the model. Reads are file reads and numpy copies (a kernel's transpose), which release the GIL, so on several
cores they run beside the framework's own per-weight work instead of before it."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Job = TypeVar("Job")

# AUTOLOAD_READ_THREADS=1 reads each tensor on the loading thread, just before it is put.
_THREADS_VARIABLE = "AUTOLOAD_READ_THREADS"
# At most this many bytes are read ahead of what has been put (always at least the next tensor), so that a
# framework that copies what it is given (a dtype cast) never holds much more than one tensor twice.
_AHEAD_BYTES = 256 << 20


def read_threads() -> int:
    """How many threads read: AUTOLOAD_READ_THREADS, else one per core up to 4."""
    value = os.environ.get(_THREADS_VARIABLE, "").strip()
    if value:
        try:
            threads = int(value)
        except ValueError:
            raise ValueError(f"{_THREADS_VARIABLE}={value!r} is not a number of threads; set it to 1 or more.") from None
        if threads < 1:
            raise ValueError(f"{_THREADS_VARIABLE}={threads}: set it to 1 (read on the loading thread) or more.")
        return threads
    return max(1, min(4, os.cpu_count() or 1))


def read_in_order(jobs: Iterable[Job], read: Callable[[Job], object], nbytes: Callable[[Job], int],
                  threads: int | None = None) -> Iterator[tuple[Job, object]]:
    """(job, read(job)) for each job in order, with the next jobs' reads running on `threads` threads while
    the caller handles this one. A read's exception is raised when its job's turn comes; the reads not
    started yet are then dropped."""
    threads = read_threads() if threads is None else threads
    if threads <= 1:
        for job in jobs:
            yield job, read(job)
        return
    waiting = iter(jobs)
    running: deque = deque()  # (job, size, future), in order
    ahead = 0
    with ThreadPoolExecutor(threads, thread_name_prefix="autoload-read") as pool:
        try:
            while True:
                for job in waiting:
                    size = nbytes(job)
                    running.append((job, size, pool.submit(read, job)))
                    ahead += size
                    if ahead >= _AHEAD_BYTES or len(running) >= 4 * threads:
                        break
                if not running:
                    return
                job, size, future = running.popleft()
                ahead -= size
                yield job, future.result()
        finally:
            for _, _, future in running:
                future.cancel()
