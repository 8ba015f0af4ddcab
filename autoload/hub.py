"""Finding checkpoint files: a local folder, or a Hub repo id through huggingface_hub's standard cache.

Everything that reads a file from a model folder goes through `cached_file`, so local folders, the Hub
cache, `HF_HUB_OFFLINE`, revisions and subfolders behave the same for configs, weights and tokenizers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .atomic_save import interrupted_save_message
from .errors import CheckpointFormatError, CheckpointNotFoundError, UnsafeCheckpointError


@dataclass(frozen=True)
class HubOptions:
    """The download keyword arguments every `from_pretrained` accepts."""

    subfolder: str = ""
    revision: str | None = None
    cache_dir: str | None = None
    local_files_only: bool = False
    token: str | bool | None = None
    force_download: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    KEYS = ("subfolder", "revision", "cache_dir", "local_files_only", "token", "force_download")

    @classmethod
    def pop_from(cls, kwargs: dict) -> HubOptions:
        """Take the download options out of `kwargs` (in place) and return them."""
        values = {k: kwargs.pop(k) for k in cls.KEYS if k in kwargs}
        kwargs.pop("use_auth_token", None)
        kwargs.pop("proxies", None)
        kwargs.pop("resume_download", None)
        kwargs.pop("trust_remote_code", None)
        kwargs.pop("_from_auto", None)
        if values.get("subfolder") is None:
            values.pop("subfolder", None)
        return cls(**values)


def is_local(path_or_repo_id: str | os.PathLike) -> bool:
    return os.path.isdir(os.fspath(path_or_repo_id))


def cached_file(
    path_or_repo_id: str | os.PathLike,
    filename: str,
    options: HubOptions | None = None,
    *,
    required: bool = True,
) -> str | None:
    """Return the local path of `filename` in a folder or Hub repo, or None when absent and not required.

    Raises CheckpointNotFoundError naming the repo, revision, file and cache location when the file,
    revision or repo cannot be found (including offline with nothing cached).
    """
    options = options or HubOptions()
    source = os.fspath(path_or_repo_id)
    _check_inside(filename)
    if is_local(source):
        problem = interrupted_save_message(os.path.join(source, options.subfolder))
        if problem is not None:
            raise CheckpointFormatError(problem)
        path = os.path.join(source, options.subfolder, filename)
        if os.path.isfile(path):
            _check_link_target(path, source)
            return path
        if required:
            raise CheckpointNotFoundError(
                f"{os.path.join(source, options.subfolder)} does not contain a file named {filename}."
            )
        return None
    if os.path.sep in source and (source.startswith((".", os.path.sep)) or source.count("/") > 1):
        raise CheckpointNotFoundError(f"{source} is neither a local folder nor a Hub repo id (org/name).")
    return _hub_file(source, filename, options, required)


def _check_inside(filename: str) -> None:
    """A file of a checkpoint is named relative to its folder and never leaves it (names can come from files)."""
    parts = filename.replace("\\", "/").split("/")
    if os.path.isabs(filename) or ".." in parts or "\0" in filename:
        raise CheckpointFormatError(
            f"{filename!r} is not a file name inside a checkpoint folder; autoload never reads files outside it."
        )


def _check_link_target(path: str, folder: str) -> None:
    """A symbolic link in a checkpoint folder may point inside the folder, or (a Hub cache snapshot used as a
    folder) into its repository's blobs; anything else could make a crafted checkpoint read a private file."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    if os.path.commonpath([real, root]) == root:
        return
    snapshots = os.path.dirname(root)
    if os.path.basename(snapshots) == "snapshots":
        blobs = os.path.join(os.path.dirname(snapshots), "blobs")
        if os.path.commonpath([real, blobs]) == blobs:
            return
    raise UnsafeCheckpointError(
        f"{path} is a link to {real}, outside the checkpoint folder {folder}; autoload never reads files outside "
        "it. Copy the file into the folder if you trust it."
    )


def _hub_file(repo_id: str, filename: str, options: HubOptions, required: bool) -> str | None:
    import huggingface_hub
    import huggingface_hub.constants
    from huggingface_hub import errors as hub_errors

    where = f"{repo_id} (revision {options.revision or 'main'})"
    cache = options.cache_dir or huggingface_hub.constants.HF_HUB_CACHE
    try:
        return huggingface_hub.hf_hub_download(
            repo_id,
            filename,
            subfolder=options.subfolder or None,
            revision=options.revision,
            cache_dir=options.cache_dir,
            local_files_only=options.local_files_only,
            token=options.token,
            force_download=options.force_download,
        )
    except hub_errors.RepositoryNotFoundError as exc:
        raise CheckpointNotFoundError(
            f"{repo_id} is not a local folder and not a repo on the Hub (or it is private: pass token=)."
        ) from exc
    except hub_errors.RevisionNotFoundError as exc:
        raise CheckpointNotFoundError(f"Revision {options.revision!r} does not exist in {repo_id}.") from exc
    except hub_errors.LocalEntryNotFoundError as exc:
        if not required and _repo_is_cached(repo_id, options, cache):
            return None
        if not required and not _offline(options):
            return None
        raise CheckpointNotFoundError(
            f"{_join(options.subfolder, filename)} of {where} is not in the Hub cache at {cache}, and the Hub "
            "cannot be reached (offline mode, local_files_only=True or no network). Download it while online "
            "or pass a local folder."
        ) from exc
    except hub_errors.EntryNotFoundError as exc:
        if required:
            raise CheckpointNotFoundError(f"{where} has no file named {_join(options.subfolder, filename)}.") from exc
        return None
    except (ValueError, hub_errors.HFValidationError) as exc:
        raise CheckpointNotFoundError(f"{repo_id!r} is neither a local folder nor a valid Hub repo id: {exc}") from exc


def _offline(options: HubOptions) -> bool:
    import huggingface_hub
    import huggingface_hub.constants

    return options.local_files_only or huggingface_hub.constants.HF_HUB_OFFLINE


def _repo_is_cached(repo_id: str, options: HubOptions, cache: str) -> bool:
    """True when the cache holds a snapshot of the repo at the revision (so a missing file is really absent)."""
    folder = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    revision = options.revision or "main"
    ref = os.path.join(folder, "refs", revision)
    if os.path.isfile(ref):
        with open(ref) as f:
            revision = f.read().strip()
    return os.path.isdir(os.path.join(folder, "snapshots", revision))


def _join(subfolder: str, filename: str) -> str:
    return f"{subfolder}/{filename}" if subfolder else filename


def resolve_folder(path_or_repo_id, options: HubOptions | None = None) -> str:
    """Return a readable description of where files come from (for messages)."""
    options = options or HubOptions()
    source = os.fspath(path_or_repo_id)
    return os.path.join(source, options.subfolder) if options.subfolder else source
