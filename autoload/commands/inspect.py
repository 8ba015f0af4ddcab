"""`autoload inspect`: what a checkpoint is and who can load it, without loading the model."""

from __future__ import annotations

import importlib.util
from collections import Counter

from .. import registry
from ..auto.config import AutoConfig
from ..families import CLASS_PREFIX
from ..hub import HubOptions
from ..weights import find_all_weights, open_weights

_FRAMEWORK_MODULE = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def inspect_checkpoint(name_or_path: str, **hub_kwargs) -> str:
    options = HubOptions(**{k: v for k, v in hub_kwargs.items() if v is not None})
    config = AutoConfig.from_pretrained(name_or_path, **hub_kwargs)
    lines = [f"checkpoint:    {name_or_path}", f"config class:  {type(config).__name__} (model_type {config.model_type!r})"]
    architectures = config.architectures or []
    lines.append(f"architecture:  {', '.join(architectures) or '(not recorded in config.json)'}")

    found = find_all_weights(name_or_path, options)
    if not found:
        lines.append("weights:       none found")
    for files in found:
        weights = open_weights(files)
        count, dtypes = 0, Counter()
        for key in weights:
            shape = weights.shape(key) if hasattr(weights, "shape") else weights[key].shape
            n = 1
            for dim in shape:
                n *= dim
            count += n
            dtypes[str(weights.dtype(key)) if hasattr(weights, "dtype") else str(weights[key].dtype)] += n
        names = ", ".join(p.rsplit("/", 1)[-1] for p in files.paths)
        main_dtype = dtypes.most_common(1)[0][0] if dtypes else "-"
        lines.append(f"weights:       [{files.format}] {names}: {count:,} parameters, {main_dtype}")

    spec = registry.arch_spec(config.model_type)
    lines.append("backends:")
    for backend, prefix in CLASS_PREFIX.items():
        installed = importlib.util.find_spec(_FRAMEWORK_MODULE[backend]) is not None
        supported = spec is not None and backend in spec.BACKENDS
        classes = [prefix + a for a in architectures if spec is not None and a in spec.ARCHITECTURES.values()]
        status = "yes" if installed and supported else ("framework not installed" if supported else "not supported")
        lines.append(f"  {backend:<6} {status}{' -> ' + ', '.join(classes) if classes and supported else ''}")
    return "\n".join(lines)
