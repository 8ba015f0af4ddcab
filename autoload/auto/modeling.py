"""The AutoModel… / TFAutoModel… / FlaxAutoModel… classes, one per (task family, backend)."""

from __future__ import annotations

import os
import warnings

from .. import registry, with_lm_head
from ..configuration import PretrainedConfig
from ..families import AUTO_CLASS_NAMES, BACKENDS
from ..hub import HubOptions
from .config import AutoConfig

BACKEND_ENV = "AUTOLOAD_BACKEND"

# Keyword arguments that steer weight loading; they never go to the config.
LOAD_KWARGS = frozenset(
    {
        "from_pt", "from_tf", "from_flax", "use_safetensors", "output_loading_info", "ignore_mismatched_sizes",
        "torch_dtype", "dtype", "device_map", "low_cpu_mem_usage", "state_dict", "_do_init", "seed",
        "input_shape", "variant", "weights_only", "channels_first", "max_memory", "offload_folder", "offload_buffers",
        "offload_state_dict", "tp_plan", "tp_size", "device_mesh", "mesh", "partition_rules",
    }
)  # fmt: skip


def default_backend() -> str:
    backend = os.environ.get(BACKEND_ENV, "torch") or "torch"
    return _check_backend(backend, f"the {BACKEND_ENV} environment variable")


def _check_backend(backend: str, source: str) -> str:
    aliases = {"pt": "torch", "pytorch": "torch", "tensorflow": "tf", "keras": "tf", "jax": "flax"}
    backend = aliases.get(backend.lower(), backend.lower())
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r} from {source}; use one of {', '.join(BACKENDS)}.")
    return backend


class _AutoModel:
    _family: str = "MODEL"
    _backend: str | None = None  # None: AutoModel…, chosen by backend= or AUTOLOAD_BACKEND

    def __init__(self, *args, **kwargs):
        raise OSError(
            f"{type(self).__name__} cannot be instantiated directly: use "
            f"{type(self).__name__}.from_pretrained(name_or_path) or {type(self).__name__}.from_config(config)."
        )

    @classmethod
    def _pick_backend(cls, backend: str | None) -> str:
        if cls._backend is not None:
            if backend is not None and _check_backend(backend, "backend=") != cls._backend:
                raise ValueError(f"{cls.__name__} always builds {cls._backend} models; drop backend={backend!r}.")
            return cls._backend
        return default_backend() if backend is None else _check_backend(backend, "backend=")

    @classmethod
    def model_class_for(cls, config: PretrainedConfig, backend: str | None = None) -> type:
        return registry.model_class_for(cls._family, cls._pick_backend(backend), config)

    @classmethod
    def _warn_if_deprecated(cls) -> None:
        if cls._family == with_lm_head.FAMILY:
            warnings.warn(with_lm_head.deprecation_message(cls.__name__), FutureWarning, stacklevel=3)

    @classmethod
    def from_config(cls, config: PretrainedConfig, backend: str | None = None, **kwargs):
        cls._warn_if_deprecated()
        return cls.model_class_for(config, backend)._from_config(config, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, backend: str | None = None, **kwargs):
        cls._warn_if_deprecated()
        config = kwargs.pop("config", None)
        if not isinstance(config, PretrainedConfig):
            hub_kwargs = {k: kwargs[k] for k in HubOptions.KEYS if k in kwargs}
            load_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in LOAD_KWARGS}
            config_source = pretrained_model_name_or_path if config is None else config
            config, kwargs = AutoConfig.from_pretrained(config_source, return_unused_kwargs=True, **kwargs)
            kwargs.update(hub_kwargs)
            kwargs.update(load_kwargs)
        model_class = cls.model_class_for(config, backend)
        return model_class.from_pretrained(pretrained_model_name_or_path, *model_args, config=config, **kwargs)

    @classmethod
    def register(cls, config_class: type, model_class: type, exist_ok: bool = False) -> None:
        backend = cls._backend or getattr(model_class, "backend", None) or "torch"
        registry.register_model(cls._family, backend, config_class, model_class, exist_ok=exist_ok)


def _make_auto_class(name: str, family: str, backend: str) -> type:
    return type(name, (_AutoModel,), {"_family": family, "_backend": None if backend == "torch" else backend})


AUTO_MODEL_CLASSES: dict[str, type] = {
    name: _make_auto_class(name, family, backend) for name, (family, backend) in AUTO_CLASS_NAMES.items()
}
globals().update(AUTO_MODEL_CLASSES)
