"""Which files of a folder were opened, seen by the kernel (inotify), so reads by C libraries (HDF5, the Rust
tokenizers library) count as much as Python's own. Linux only; elsewhere `FolderWatch.available` is False."""

from __future__ import annotations

import ctypes
import os
import struct
import sys

IN_ACCESS, IN_OPEN = 0x1, 0x20
_HEADER = struct.Struct("iIII")


class FolderWatch:
    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self._fd = -1
        if not sys.platform.startswith("linux"):
            return
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return
        if libc.inotify_add_watch(fd, self.folder.encode(), IN_OPEN | IN_ACCESS) < 0:
            os.close(fd)
            return
        self._fd = fd

    @property
    def available(self) -> bool:
        return self._fd >= 0

    def opened(self) -> set[str]:
        """Names of the folder's files opened or read since the watch started (or the last call)."""
        names: set[str] = set()
        while self._fd >= 0:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                _, _, _, length = _HEADER.unpack_from(data, offset)
                start = offset + _HEADER.size
                names.add(data[start : start + length].rstrip(b"\0").decode() or ".")
                offset = start + length
        names.discard(".")  # listing the folder itself is not reading a file in it
        return names

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
