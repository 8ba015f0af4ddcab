"""Lazy tables: model_type -> config class, and (family, backend, config class) -> model class.

Built-in architectures are found by name: `autoload/models/<model_type>.py` declares CONFIG_CLASS,
ARCHITECTURES (family -> class name), BACKENDS and optionally ARCHITECTURE_VARIANTS (family -> further class
names the family builds when config.architectures names one, as transformers' tuple entries do); the model
class for a backend lives in `backends/<backend>/models/<model_type>.py` under the name with the backend's
prefix (TF, Flax).
Nothing is imported until a name is looked up. Users add their own with AutoConfig.register and
AutoModel….register.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from functools import cache

from . import with_lm_head
from .errors import BackendNotAvailableError, require_backend
from .families import BACKENDS, CLASS_PREFIX, FAMILIES, auto_class_name

_user_configs: dict[str, type] = {}
_user_models: dict[tuple[str, str], dict[type, type]] = {}


def _module_name(model_type: str) -> str:
    return model_type.replace("-", "_")


@cache
def builtin_model_types() -> tuple[str, ...]:
    import autoload.models

    return tuple(sorted(m.name for m in pkgutil.iter_modules(autoload.models.__path__)))


def all_model_types() -> list[str]:
    return sorted(set(builtin_model_types()) | set(_user_configs))


def arch_spec(model_type: str):
    """The core module describing a built-in architecture (config class, heads, backends), or None."""
    if _module_name(model_type) not in builtin_model_types():
        return None
    return importlib.import_module(f"autoload.models.{_module_name(model_type)}")


def architectures(spec) -> dict[str, str]:
    """family -> class name of a built-in architecture: its ARCHITECTURES plus the derived AutoModelWithLMHead."""
    out = dict(spec.ARCHITECTURES)
    name = with_lm_head.class_name(spec.CONFIG_CLASS.model_type, out)
    if name is not None:
        out[with_lm_head.FAMILY] = name
    return out


def config_class_for(model_type: str) -> type:
    if model_type in _user_configs:
        return _user_configs[model_type]
    spec = arch_spec(model_type)
    if spec is None:
        known = all_model_types()
        close = difflib.get_close_matches(model_type, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"Unrecognized model_type {model_type!r}.{hint} Known model types: {', '.join(known)}. "
            "A custom architecture can be added with AutoConfig.register(model_type, ConfigClass)."
        )
    return spec.CONFIG_CLASS


def register_config(model_type: str, config_class: type, exist_ok: bool = False) -> None:
    if getattr(config_class, "model_type", None) != model_type:
        raise ValueError(
            f"The config class {config_class.__name__} has model_type {getattr(config_class, 'model_type', None)!r} "
            f"but is registered as {model_type!r}; they must match."
        )
    if not exist_ok and (model_type in _user_configs or arch_spec(model_type) is not None):
        raise ValueError(f"model_type {model_type!r} is already registered; pass exist_ok=True to replace it.")
    _user_configs[model_type] = config_class


def register_model(family: str, backend: str, config_class: type, model_class: type, exist_ok: bool = False) -> None:
    declared = getattr(model_class, "config_class", None)
    if declared is not None and declared is not config_class:
        raise ValueError(
            f"{model_class.__name__}.config_class is {declared.__name__}, but it is being registered for "
            f"{config_class.__name__}. Set config_class = {config_class.__name__} on the model class."
        )
    table = _user_models.setdefault((family, backend), {})
    if not exist_ok and (config_class in table or _builtin_name(family, config_class) is not None):
        raise ValueError(
            f"{config_class.__name__} already has a model in {auto_class_name(family, backend)}; "
            "pass exist_ok=True to replace it."
        )
    table[config_class] = model_class


def _builtin_name(family: str, config_class: type) -> str | None:
    spec = arch_spec(getattr(config_class, "model_type", "") or "")
    if spec is None or spec.CONFIG_CLASS is not config_class:
        return None
    return architectures(spec).get(family)


def model_types_for_family(family: str, backend: str) -> list[str]:
    types = [t for t in builtin_model_types() if family in architectures(arch_spec(t))]
    types += [c.model_type for c in _user_models.get((family, backend), {})]
    return sorted(set(types))


def model_class_for(family: str, backend: str, config) -> type:
    """The model class that `auto_class_name(family, backend)` builds for `config`."""
    user = _user_models.get((family, backend), {})
    for config_class in type(config).__mro__:
        if config_class in user:
            return user[config_class]
    name = _builtin_name(family, type(config))
    spec = arch_spec(getattr(config, "model_type", "") or "")
    if name is None and spec is not None and isinstance(config, spec.CONFIG_CLASS):
        name = architectures(spec).get(family)
    if name is None:
        registered = [b for b in BACKENDS if b != backend
                      and any(c in _user_models.get((family, b), {}) for c in type(config).__mro__)]  # fmt: skip
        if registered:
            raise NotImplementedError(
                f"{config.model_type} has no {backend} implementation registered for "
                f"{auto_class_name(family, backend)} (available: {', '.join(registered)}). Pass backend= one of "
                f"those, or register a {backend} class with {auto_class_name(family, backend)}.register."
            )
        supported = model_types_for_family(family, backend)
        raise ValueError(
            f"Unrecognized configuration class {type(config).__name__} for {auto_class_name(family, backend)}. "
            f"Model type should be one of: {', '.join(supported) or '(none yet)'}."
        )
    variants = getattr(spec, "ARCHITECTURE_VARIANTS", {}).get(family, ())
    name = next((a for a in (getattr(config, "architectures", None) or []) if a in variants), name)
    if backend not in spec.BACKENDS:
        raise NotImplementedError(
            f"{spec.CONFIG_CLASS.model_type} has no {backend} implementation in autoload yet "
            f"(available: {', '.join(spec.BACKENDS)}). Pass backend= one of those."
        )
    return import_model_class(backend, spec.CONFIG_CLASS.model_type, CLASS_PREFIX[backend] + name)


def import_model_class(backend: str, model_type: str, class_name: str) -> type:
    require_backend(backend, class_name)
    module = importlib.import_module(f"autoload.backends.{backend}.models.{_module_name(model_type)}")
    try:
        return getattr(module, class_name)
    except AttributeError as exc:
        raise BackendNotAvailableError(f"autoload.backends.{backend}.models.{model_type} does not define {class_name}.") from exc


def architectures_table() -> dict[str, dict[str, list[str]]]:
    """model_type -> family -> backends implementing it (for docs and `autoload inspect`)."""
    out = {}
    for model_type in builtin_model_types():
        spec = arch_spec(model_type)
        out[model_type] = {family: list(spec.BACKENDS) for family in architectures(spec) if family in FAMILIES}
    return out
