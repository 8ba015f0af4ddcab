"""Shared by image processors and feature extractors: BatchFeature (model inputs with `return_tensors`
conversion) and reading / writing preprocessor_config.json."""

from __future__ import annotations

import copy
import importlib
import json
import os
from collections.abc import Mapping

import numpy as np

from .atomic_save import write_text_atomically
from .configuration import read_config_file
from .errors import BackendNotAvailableError
from .hub import HubOptions, cached_file
from .hub_push import PushToHubMixin, pushes_after_save

PREPROCESSOR_CONFIG_NAME = "preprocessor_config.json"
TENSOR_TYPES = ("np", "pt", "tf", "jax")
_FRAMEWORK_MODULES = {"pt": "torch", "tf": "tensorflow", "jax": "jax"}


def check_tensor_type(tensor_type) -> str | None:
    """Normalise `return_tensors` ("np", "pt", "tf", "jax", an enum holding one, or None)."""
    tensor_type = getattr(tensor_type, "value", tensor_type)
    if tensor_type == "flax":
        tensor_type = "jax"
    if tensor_type is not None and tensor_type not in TENSOR_TYPES:
        raise ValueError(
            f"return_tensors must be one of {', '.join(map(repr, TENSOR_TYPES))} or None, got {tensor_type!r}."
        )
    return tensor_type


def to_tensor(value, tensor_type: str, name: str = "value"):
    """One model input as a numpy array or framework tensor; the framework is imported only here."""
    module = _FRAMEWORK_MODULES.get(tensor_type)
    if module is not None and type(value).__module__.split(".")[0] in (module, module + "lib"):
        return value  # already a tensor of that framework (jax arrays live in jaxlib)
    try:
        array = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise _ragged_error(tensor_type, name) from exc
    if array.dtype == object:
        raise _ragged_error(tensor_type, name)
    if module is None:
        return array
    try:
        framework = importlib.import_module(module)
    except ImportError as exc:
        raise BackendNotAvailableError(
            f"return_tensors={tensor_type!r} needs {module}, which is not installed. Install it, or use "
            "return_tensors='np'."
        ) from exc
    if tensor_type == "pt":
        return framework.from_numpy(np.ascontiguousarray(array))
    if tensor_type == "tf":
        return framework.convert_to_tensor(array)
    return importlib.import_module("jax.numpy").asarray(array)


def _ragged_error(tensor_type: str, name: str) -> ValueError:
    return ValueError(
        f"Cannot make one {tensor_type} tensor of {name!r}: its items have different shapes. Pad them to one length "
        "(padding=True), resize images to one size (do_resize=True), or leave return_tensors=None for a list."
    )


class BatchFeature(dict):
    """Model inputs by name (`pixel_values`, `input_values`, …), readable as items or attributes.

    A plain dict underneath, so a processor can merge a tokenizer's output into it (`features.update(encoding)`)
    and convert everything at once with `convert_to_tensors`.
    """

    def __init__(self, data: Mapping | None = None, tensor_type=None):
        super().__init__(data or {})
        self.convert_to_tensors(tensor_type)

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}; it has {sorted(self)}.") from None

    @property
    def data(self) -> dict:
        """The fields (transformers' BatchFeature keeps them in `.data`); this dict itself."""
        return self

    def convert_to_tensors(self, tensor_type=None) -> BatchFeature:
        """Turn every field into a `tensor_type` tensor in place ("np", "pt", "tf", "jax"; None leaves them)."""
        tensor_type = check_tensor_type(tensor_type)
        if tensor_type is not None:
            for key, value in self.items():
                if value is not None and not isinstance(value, str):
                    self[key] = to_tensor(value, tensor_type, key)
        return self

    def to(self, *args, **kwargs) -> BatchFeature:
        """PyTorch tensors only, in place: `batch.to("cuda")`, `batch.to(torch.float16)`. A dtype applies to
        floating-point fields only, so ids and masks keep their integer type."""
        import torch

        device = kwargs.get("device")
        if device is None and args and not isinstance(args[0], torch.dtype):
            device = args[0]
        for key, value in self.items():
            if isinstance(value, torch.Tensor):
                self[key] = value.to(*args, **kwargs) if value.is_floating_point() else value.to(device=device)
        return self


class PreprocessorMixin(PushToHubMixin):
    """from_pretrained / save_pretrained / to_dict for classes configured by preprocessor_config.json.

    Every config field becomes an attribute, including fields this class does not use, so a saved config
    keeps what it was loaded with. Subclasses list their own fields and defaults in `defaults`.
    """

    type_key = "image_processor_type"  # feature extractors write feature_extractor_type
    defaults: dict = {}

    def __init__(self, **kwargs):
        kwargs.pop("image_processor_type", None)
        kwargs.pop("feature_extractor_type", None)
        self._processor_class = kwargs.pop("processor_class", None)
        for key, value in {**copy.deepcopy(self.defaults), **kwargs}.items():
            setattr(self, key, value)

    @classmethod
    def from_dict(cls, config: dict, **kwargs):
        """Build from a config dict; keyword arguments naming one of its fields (or a default) override it.

        Other keyword arguments are ignored, as transformers does; `return_unused_kwargs=True` returns them too.
        """
        return_unused = kwargs.pop("return_unused_kwargs", False)
        known = {*cls.defaults, *config, "processor_class"}
        overrides = {k: v for k, v in kwargs.items() if k in known}
        unused = {k: v for k, v in kwargs.items() if k not in known}
        instance = cls(**{**copy.deepcopy(config), **overrides})
        return (instance, unused) if return_unused else instance

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path, **kwargs) -> tuple[dict, dict]:
        """(the folder's preprocessor_config.json as a dict, the kwargs left after taking the Hub options)."""
        kwargs = dict(kwargs)
        options = HubOptions.pop_from(kwargs)
        path = cached_file(pretrained_model_name_or_path, PREPROCESSOR_CONFIG_NAME, options)
        return read_config_file(path), kwargs

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        config, kwargs = cls.get_config_dict(pretrained_model_name_or_path, **kwargs)
        kwargs.pop("use_fast", None)
        kwargs.pop("config", None)
        return cls.from_dict(config, **kwargs)

    @classmethod
    def from_json_file(cls, path):
        return cls.from_dict(read_config_file(path))

    def to_dict(self) -> dict:
        data = {k: copy.deepcopy(v) for k, v in vars(self).items() if not k.startswith("_")}
        data[self.type_key] = type(self).__name__
        return data

    def to_json_string(self) -> str:
        data = _jsonable(self.to_dict())
        if self._processor_class is not None:
            data["processor_class"] = self._processor_class
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path) -> None:
        write_text_atomically(path, self.to_json_string())

    @pushes_after_save
    def save_pretrained(self, save_directory, **kwargs) -> list[str]:
        """Write preprocessor_config.json (as transformers writes it) into `save_directory`."""
        if os.path.isfile(save_directory):
            raise OSError(f"{save_directory} is a file; save_pretrained needs a folder.")
        os.makedirs(save_directory, exist_ok=True)
        path = os.path.join(save_directory, PREPROCESSOR_CONFIG_NAME)
        self.to_json_file(path)
        return [path]

    def __repr__(self):
        return f"{type(self).__name__} {self.to_json_string()}"


def _jsonable(value):
    """Config values as JSON types (numpy scalars and arrays, tuples, enums of Pillow's filters)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)  # IntEnum (PIL.Image.Resampling) -> its number
    return value
