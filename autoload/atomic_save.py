"""Saving a checkpoint folder so that an interrupted save never leaves one that loads as a mix of old and new.

Everything is first written to a staging folder. A new folder is staged beside its final place and renamed
into it (one atomic step). An existing folder is staged inside itself (a hidden `.autoload-staging-*`
folder, so a mount point, a symlinked folder or the working directory are all fine); the new files are then
moved in one by one, under a marker file that makes every autoload load from the folder refuse it until the
moves are done. Files the save did not write are kept, except the previous files of a weight format it
wrote (a leftover shard or single file would otherwise be loaded with the new ones).

A save killed while writing leaves the old checkpoint untouched plus a staging folder, removed by the next
save into the folder. A save killed while moving leaves the marker: loads refuse the folder, and the next save
into it first finishes the moves (the staging folder holds the rest of them).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
from collections.abc import Iterator

STAGING_PREFIX = ".autoload-staging-"
MARKER = ".autoload-save-in-progress"


@contextlib.contextmanager
def staged_save(target, *, replace_all: bool = False) -> Iterator[str]:
    """Yield a staging folder to write a checkpoint into; on success its content replaces `target`'s.

    replace_all=True removes everything else from an existing `target` (a conversion's output folder);
    otherwise files the save did not write stay. On an exception the staging folder is removed and `target`
    is left as it was."""
    target = os.path.abspath(os.fspath(target))
    if os.path.isdir(target):
        finish_interrupted_save(target)
        staging = _make_staging(target, STAGING_PREFIX)
    else:
        parent, name = os.path.split(target)
        os.makedirs(parent, exist_ok=True)
        _remove_stale(parent, f".{name}.partial-")
        staging = _make_staging(parent, f".{name}.partial-")
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if os.path.dirname(staging) != target:
        try:
            os.rename(staging, target)  # atomic; fails if the folder appeared meanwhile
            return
        except OSError:
            if not os.path.isdir(target):
                shutil.rmtree(staging, ignore_errors=True)
                raise
        moved = _make_staging(target, STAGING_PREFIX)  # commit from inside the folder, as for an existing one
        os.rmdir(moved)
        os.rename(staging, moved)
        staging = moved
    _commit(target, staging, replace_all)


def saves_atomically(method):
    """Decorate a `save_pretrained(self, save_directory, ...)` so that it writes through `staged_save`; paths it
    returns are given under `save_directory`."""

    from .hub_push import pushes_after_save

    @functools.wraps(method)
    def save_pretrained(self, save_directory, *args, **kwargs):
        target = os.fspath(save_directory)
        if os.path.isfile(target):
            return method(self, save_directory, *args, **kwargs)  # the method's own error
        with staged_save(target) as staging:
            result = method(self, staging, *args, **kwargs)
        return _relocate(result, staging, target)

    return pushes_after_save(save_pretrained)


def write_text_atomically(path, text: str) -> None:
    """Write a text file through a temporary file and a rename, so it is never seen half-written."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def finish_interrupted_save(folder) -> None:
    """Finish the moves of a save into `folder` that was killed while moving (its marker is there), and remove
    staging folders that dead processes left."""
    folder = os.fspath(folder)
    marker = os.path.join(folder, MARKER)
    if os.path.isfile(marker):
        with open(marker, encoding="utf-8") as f:
            plan = json.load(f)
        if plan.get("pid") != os.getpid() and _alive(plan.get("pid")):
            raise OSError(f"Another process (pid {plan['pid']}) is saving into {folder} right now; wait for it.")
        _apply(folder, plan)
    _remove_stale(folder, STAGING_PREFIX)


def interrupted_save_message(folder) -> str | None:
    """Why a folder must not be loaded (a save into it was interrupted while moving files), or None."""
    if os.path.exists(os.path.join(folder, MARKER)):
        return (f"{folder} is half-written: a save_pretrained into it was interrupted while moving its new files in, "
                "so it holds a mix of old and new files. Save into it again (that finishes the interrupted save) or "
                "delete it.")  # fmt: skip
    return None


# -- internals -------------------------------------------------------------------------------------------------
def _commit(target: str, staging: str, replace_all: bool) -> None:
    written = set(os.listdir(staging))
    formats = {fmt for name in written if (fmt := _weight_format(name)) is not None}
    remove = []
    for name in os.listdir(target):
        if name in written or name == MARKER or name.startswith(STAGING_PREFIX):
            continue
        if replace_all or _weight_format(name) in formats:
            remove.append(name)
    plan = {"pid": os.getpid(), "staging": os.path.basename(staging), "remove": sorted(remove)}
    write_text_atomically(os.path.join(target, MARKER), json.dumps(plan))
    _apply(target, plan)


def _apply(target: str, plan: dict) -> None:
    """Carry out a commit plan; safe to repeat after an interruption at any point."""
    for name in plan["remove"]:
        _delete(os.path.join(target, name))
    staging = os.path.join(target, plan["staging"])
    if os.path.isdir(staging):
        for name in os.listdir(staging):
            _move(os.path.join(staging, name), os.path.join(target, name))
        shutil.rmtree(staging, ignore_errors=True)
    os.remove(os.path.join(target, MARKER))


def _move(source: str, destination: str) -> None:
    if os.path.isdir(source) and not os.path.islink(source) and os.path.isdir(destination):
        for name in os.listdir(source):  # merge: keep what the destination folder has that the save did not write
            _move(os.path.join(source, name), os.path.join(destination, name))
        os.rmdir(source)
        return
    if os.path.isdir(destination) and not os.path.islink(destination):
        shutil.rmtree(destination)
    os.replace(source, destination)


def _delete(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _weight_format(name: str) -> str | None:
    from .weights.sharding import weight_file_format

    return weight_file_format(name)


def _make_staging(folder: str, prefix: str) -> str:
    while True:
        staging = os.path.join(folder, f"{prefix}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            os.mkdir(staging)  # not mkdtemp: a folder renamed into place keeps the usual (umask) permissions
            return staging
        except FileExistsError:
            continue


def _remove_stale(folder: str, prefix: str) -> None:
    """Staging folders whose process has died (the pid is in the name)."""
    for name in os.listdir(folder):
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _relocate(result, staging: str, target: str):
    """Paths under the staging folder, as paths under the folder the caller named."""
    if isinstance(result, str) and (result == staging or result.startswith(staging + os.sep)):
        return target if result == staging else os.path.join(target, os.path.relpath(result, staging))
    if isinstance(result, (list, tuple)):
        return type(result)(_relocate(item, staging, target) for item in result)
    return result
