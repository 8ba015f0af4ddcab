"""Wording shared by the readers' errors about damaged files."""

from __future__ import annotations

_LFS_POINTER = b"version https://git-lfs.github.com/spec/"


def damaged(path, problem: str, fix: str = "re-download it") -> str:
    """'<path> is truncated or corrupt (<problem>); <fix>.', or the real cause when it is a Git LFS pointer."""
    if is_lfs_pointer(path):
        return (f"{path} is a Git LFS pointer, not the weights themselves (the repository was cloned without "
                "git-lfs). Run `git lfs install && git lfs pull` in that folder, or download the file from the Hub.")  # fmt: skip
    return f"{path} is truncated or corrupt ({problem}); {fix}."


def is_lfs_pointer(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(_LFS_POINTER)) == _LFS_POINTER
    except OSError:
        return False
