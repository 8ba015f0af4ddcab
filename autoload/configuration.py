"""PretrainedConfig: the model configuration every architecture's config class builds on.

Field names, defaults and the config.json layout are those of transformers 4.x, so files written by
either library load in the other. Keys a config class does not know are kept as attributes and written
back, so a round trip never loses information.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from typing import Any

from .errors import CheckpointFormatError
from .hub import HubOptions, cached_file
from .hub_push import PushToHubMixin, pushes_after_save
from .json_files import read_json_file

CONFIG_NAME = "config.json"
FORMAT_VERSION = "4.57.6"  # the transformers version whose config.json layout we write

_COMMON_DEFAULTS: dict[str, Any] = {
    "return_dict": True,
    "output_hidden_states": False,
    "output_attentions": False,
    "torchscript": False,
    "dtype": None,
    "use_bfloat16": False,
    "tf_legacy_loss": False,
    "pruned_heads": {},
    "tie_word_embeddings": True,
    "chunk_size_feed_forward": 0,
    "is_encoder_decoder": False,
    "is_decoder": False,
    "cross_attention_hidden_size": None,
    "add_cross_attention": False,
    "tie_encoder_decoder": False,
    "architectures": None,
    "finetuning_task": None,
    "tokenizer_class": None,
    "prefix": None,
    "bos_token_id": None,
    "pad_token_id": None,
    "eos_token_id": None,
    "sep_token_id": None,
    "decoder_start_token_id": None,
    "task_specific_params": None,
    "problem_type": None,
}
_PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")


def _accepting_aliases(init):
    """Wrap a config __init__ so an alias (GPT-2's hidden_size for n_embd) arrives under the field's own
    name: otherwise the field's default, set in the body, would overwrite the value given by alias."""

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        for alias, field in type(self).attribute_map.items():
            if alias in kwargs:
                value = kwargs.pop(alias)
                if field in kwargs and kwargs[field] != value:
                    raise ValueError(
                        f"{type(self).__name__}: {alias}={value!r} and {field}={kwargs[field]!r} name the same "
                        "field with different values; pass one of them."
                    )
                kwargs[field] = value
        init(self, *args, **kwargs)

    return __init__


class PretrainedConfig(PushToHubMixin):
    """Base configuration. Subclasses set `model_type` and declare their fields in `__init__`."""

    model_type: str = ""
    attribute_map: dict[str, str] = {}
    sub_configs: dict[str, type[PretrainedConfig]] = {}
    keys_to_ignore_at_inference: list[str] = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _accepting_aliases(init)

    def __setattr__(self, key, value):
        key = type(self).attribute_map.get(key, key)
        super().__setattr__(key, value)

    def __getattr__(self, key):
        # Only called when normal lookup fails: resolve aliases such as GPT-2's n_embd -> hidden_size.
        mapped = type(self).attribute_map.get(key)
        if mapped is not None:
            return getattr(self, mapped)
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    def __init__(self, **kwargs):
        kwargs.pop("transformers_version", None)
        kwargs.pop("model_type", None)
        if "torch_dtype" in kwargs and "dtype" not in kwargs:
            kwargs["dtype"] = kwargs.pop("torch_dtype")
        kwargs.pop("torch_dtype", None)
        self._attn_implementation = kwargs.pop("attn_implementation", None)
        for key, default in _COMMON_DEFAULTS.items():
            setattr(self, key, copy.deepcopy(kwargs.pop(key, default)))
        id2label = kwargs.pop("id2label", None)
        label2id = kwargs.pop("label2id", None)
        num_labels = kwargs.pop("num_labels", None)
        if id2label is not None:
            self.id2label = {int(k): v for k, v in id2label.items()}
            if num_labels is not None and num_labels != len(self.id2label):
                raise ValueError(
                    f"num_labels={num_labels} does not match id2label, which has {len(self.id2label)} labels; "
                    "pass one of them, or both consistently."
                )
        else:
            self.id2label = {i: f"LABEL_{i}" for i in range(2 if num_labels is None else num_labels)}
        if label2id is not None:
            self.label2id = {k: int(v) for k, v in label2id.items()}
        else:
            self.label2id = {v: k for k, v in self.id2label.items()}
        if self.problem_type is not None and self.problem_type not in _PROBLEM_TYPES:
            raise ValueError(f"problem_type must be one of {_PROBLEM_TYPES}, got {self.problem_type!r}.")
        # Everything else (generation defaults, keys of newer versions, user metadata) is kept verbatim.
        for key, value in kwargs.items():
            try:
                setattr(self, key, value)
            except AttributeError as exc:
                raise AttributeError(f"Cannot set {key}={value!r} on {type(self).__name__}: {exc}") from exc

    # -- labels -------------------------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    @num_labels.setter
    def num_labels(self, n: int) -> None:
        if self.id2label is None or len(self.id2label) != n:
            self.id2label = {i: f"LABEL_{i}" for i in range(n)}
            self.label2id = {v: k for k, v in self.id2label.items()}

    @property
    def use_return_dict(self) -> bool:
        return self.return_dict and not self.torchscript

    @property
    def torch_dtype(self):
        return self.dtype

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, config_dict: dict, **kwargs):
        """Build a config from a dict; keyword overrides win. With return_unused_kwargs=True, also return
        the overrides that are not attributes of the config."""
        return_unused = kwargs.pop("return_unused_kwargs", False)
        config = cls(**copy.deepcopy(config_dict))
        if hasattr(config, "set_backbone_outputs") and {"out_features", "out_indices"} & kwargs.keys():
            config.set_backbone_outputs(kwargs.pop("out_features", None), kwargs.pop("out_indices", None))
        unused = {}
        for key, value in kwargs.items():
            if key == "num_labels" or key == "attn_implementation" or hasattr(config, key):
                setattr(config, "_attn_implementation" if key == "attn_implementation" else key, value)
                if key in ("id2label",):
                    config.id2label = {int(k): v for k, v in value.items()}
                    config.label2id = {v: k for k, v in config.id2label.items()}
            else:
                unused[key] = value
        return (config, unused) if return_unused else config

    @classmethod
    def from_json_file(cls, path: str | os.PathLike):
        return cls.from_dict(read_model_config_file(path))

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path, **kwargs) -> tuple[dict, dict]:
        options = HubOptions.pop_from(kwargs)
        source = os.fspath(pretrained_model_name_or_path)
        if os.path.isfile(source):
            return read_model_config_file(source), kwargs
        path = cached_file(source, CONFIG_NAME, options)
        return read_model_config_file(path), kwargs

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        config_dict, kwargs = cls.get_config_dict(pretrained_model_name_or_path, **kwargs)
        found = config_dict.get("model_type")
        if cls.model_type and found and found != cls.model_type:
            # Same behaviour as transformers: allowed, but usually a mistake worth saying.
            import warnings

            warnings.warn(
                f"Loading a {found!r} config into {cls.__name__} (model_type {cls.model_type!r}); "
                "use AutoConfig to get the matching class.",
                stacklevel=2,
            )
        return config_from_file(cls, config_dict, pretrained_model_name_or_path, **kwargs)

    # -- serialisation ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {}
        for key, value in self.__dict__.items():
            if key.startswith("_"):
                continue
            if isinstance(value, PretrainedConfig):
                value = value.to_dict()
            out[key] = copy.deepcopy(value)
        out["id2label"] = {str(k): v for k, v in self.id2label.items()}
        out["model_type"] = type(self).model_type
        out["transformers_version"] = FORMAT_VERSION
        if out.get("dtype") is not None and not isinstance(out["dtype"], str):
            out["dtype"] = str(out["dtype"]).split(".")[-1]
        return out

    def to_diff_dict(self) -> dict[str, Any]:
        """The fields that differ from a default config of this class (what config.json stores)."""
        full = self.to_dict()
        try:
            defaults = type(self)().to_dict()
        except TypeError:  # a config class whose __init__ has required arguments
            defaults = {}
        base = PretrainedConfig().to_dict()
        keep = {"model_type", "transformers_version", "architectures"}
        # Architecture fields are always written; common fields when they differ from either default.
        return {
            k: v
            for k, v in full.items()
            if k in keep or k not in base or v != base[k] or (k in defaults and v != defaults[k])
        }

    def to_json_string(self, use_diff: bool = True) -> str:
        data = self.to_diff_dict() if use_diff else self.to_dict()
        return json.dumps(_jsonable(data), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path, use_diff: bool = True) -> None:
        from .atomic_save import write_text_atomically

        write_text_atomically(path, self.to_json_string(use_diff))

    @pushes_after_save
    def save_pretrained(self, save_directory, **kwargs) -> None:
        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory {save_directory} is a file; pass a folder.")
        os.makedirs(save_directory, exist_ok=True)
        self.to_json_file(os.path.join(save_directory, CONFIG_NAME))

    def update(self, values: dict) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def __eq__(self, other):
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f"{type(self).__name__} {self.to_json_string(use_diff=False)}"


def as_config(config_class, value):
    """A nested config (text_config, vision_config …) given as an instance of `config_class`, a dict of its
    fields or None (the defaults)."""
    if isinstance(value, config_class):
        return value
    return config_class(**(value or {}))


def read_config_file(path) -> dict:
    """Read a config.json (or any JSON config file of a checkpoint), raising CheckpointFormatError naming the file
    when it is not a JSON object (or too large or too deeply nested to be one). A preprocessor_config.json also
    has its image and audio sizes checked (autoload.config_checks) before any processor is sized by them."""
    data = read_json_file(path)
    if os.path.basename(os.fspath(path)).endswith("preprocessor_config.json"):
        from .config_checks import check_preprocessor_config

        check_preprocessor_config(data, path)
    return data


def read_model_config_file(path) -> dict:
    """A model's config.json, with the fields that size the model, name its labels and its type checked (see
    autoload.config_checks) before any config object is built from it."""
    from .config_checks import check_config_dict, check_config_types, known_config_class

    data = read_config_file(path)
    check_config_dict(data, path)
    config_class = known_config_class(data.get("model_type"))
    if config_class is not None:
        check_config_types(data, config_class, path)
    return data


def config_from_file(config_class, config_dict: dict, source, **kwargs):
    """`config_class.from_dict(config_dict, **kwargs)` for a dict read from `source`'s config.json: a value the
    class refuses (a ValueError or TypeError from its checks) becomes a CheckpointFormatError naming the file."""
    try:
        return config_class.from_dict(config_dict, **kwargs)
    except CheckpointFormatError:
        raise
    except (ValueError, TypeError) as exc:
        where = os.fspath(source)
        where = where if where.endswith(".json") else os.path.join(where, CONFIG_NAME)
        raise CheckpointFormatError(f"{where}: {exc}") from exc


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value
