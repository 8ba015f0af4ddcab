"""Shared by image processors and feature extractors: BatchFeature, tensor conversion, and reading and
writing preprocessor_config.json."""

from __future__ import annotations

import copy
import json
import os

import numpy as np

from .configuration import read_config_file
from .hub import HubOptions, cached_file

PREPROCESSOR_CONFIG_NAME = "preprocessor_config.json"


def to_framework(value, return_tensors: str | None):
    """A numpy array (or nested lists) as the framework's tensor; the framework is imported only here."""
    if return_tensors is None:
        return value
    array = np.asarray(value)
    if return_tensors == "np":
        return array
    if return_tensors == "pt":
        import torch

        return torch.from_numpy(np.ascontiguousarray(array))
    if return_tensors == "tf":
        import tensorflow as tf

        return tf.constant(array)
    if return_tensors in ("jax", "flax"):
        import jax.numpy as jnp

        return jnp.asarray(array)
    raise ValueError(f"return_tensors must be one of 'np', 'pt', 'tf', 'jax' (or None), got {return_tensors!r}.")


class BatchFeature(dict):
    """A dict of model inputs with attribute access (`batch.pixel_values`)."""

    def __init__(self, data=None, tensor_type: str | None = None):
        super().__init__(data or {})
        self.convert_to_tensors(tensor_type)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def convert_to_tensors(self, tensor_type: str | None = None) -> BatchFeature:
        if tensor_type is not None:
            for key in list(self):
                self[key] = to_framework(self[key], tensor_type)
        return self

    def to(self, *args, **kwargs) -> BatchFeature:
        return BatchFeature({k: (v.to(*args, **kwargs) if hasattr(v, "to") else v) for k, v in self.items()})


class PreprocessorMixin:
    """from_pretrained / save_pretrained / to_dict for classes configured by preprocessor_config.json."""

    type_key = "image_processor_type"  # feature extractors write feature_extractor_type

    def __init__(self, **kwargs):
        kwargs.pop(self.type_key, None)
        kwargs.pop("processor_class", None)
        for key, value in kwargs.items():  # keys of other versions are kept and written back
            setattr(self, key, value)

    @classmethod
    def from_dict(cls, config: dict, **kwargs):
        return cls(**{**copy.deepcopy(config), **kwargs})

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path, **kwargs) -> tuple[dict, dict]:
        options = HubOptions.pop_from(kwargs)
        path = cached_file(pretrained_model_name_or_path, PREPROCESSOR_CONFIG_NAME, options)
        return read_config_file(path), kwargs

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        config, kwargs = cls.get_config_dict(pretrained_model_name_or_path, **kwargs)
        kwargs.pop("use_fast", None)
        return cls.from_dict(config, **kwargs)

    def to_dict(self) -> dict:
        data = {k: copy.deepcopy(v) for k, v in vars(self).items() if not k.startswith("_")}
        data[self.type_key] = type(self).__name__
        return data

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save_pretrained(self, save_directory, **kwargs) -> list[str]:
        os.makedirs(save_directory, exist_ok=True)
        path = os.path.join(save_directory, PREPROCESSOR_CONFIG_NAME)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json_string())
        return [path]

    def __repr__(self):
        return f"{type(self).__name__} {self.to_json_string()}"
