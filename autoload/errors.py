"""Exception types raised by autoload.

Every error says what was wrong, which file or name it concerns and what to do about it.
The classes subclass the builtin type a caller would already catch (OSError for missing files,
ValueError for bad content, ImportError for missing frameworks).
"""


class CheckpointNotFoundError(OSError):
    """A repo, revision, folder or file that was asked for does not exist (locally or in the Hub cache)."""


class CheckpointFormatError(ValueError):
    """A checkpoint file exists but its content is not what its format requires."""


class UnsafeCheckpointError(CheckpointFormatError):
    """A checkpoint that would run code, build objects other than tensors (pickles) or make us read a file outside
    its folder (links); it is refused."""


class WeightMismatchError(ValueError):
    """Checkpoint tensors do not fit the model (wrong shapes) and the caller did not allow it."""


class BackendNotAvailableError(ImportError):
    """The framework a class needs is not installed."""


_EXTRA_FOR_BACKEND = {"torch": "torch", "tf": "tf", "flax": "flax"}
_MODULE_FOR_BACKEND = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def require_backend(backend: str, what: str) -> None:
    """Raise BackendNotAvailableError naming the pip extra when `backend`'s framework is missing."""
    import importlib.util

    module = _MODULE_FOR_BACKEND[backend]
    if importlib.util.find_spec(module) is None:
        raise BackendNotAvailableError(
            f"{what} needs {module}, which is not installed. "
            f"Install it with: pip install 'autoload-hf[{_EXTRA_FOR_BACKEND[backend]}]'"
        )
