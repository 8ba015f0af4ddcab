"""autoload: load Hugging Face-format checkpoints into PyTorch, TensorFlow (Keras 3) or JAX/Flax.

Importing this package is cheap: every public name is resolved on first use, and no framework is
imported until a class that needs it is used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "AutoConfig": "autoload.auto.config",
    "PretrainedConfig": "autoload.configuration",
    "PreTrainedConfig": "autoload.configuration:PretrainedConfig",
    "AutoTokenizer": "autoload.tokenization",
    "PreTrainedTokenizerFast": "autoload.tokenization",
    "AutoImageProcessor": "autoload.image_processing",
    "AutoFeatureExtractor": "autoload.feature_extraction",
    "AutoProcessor": "autoload.processing",
    "BatchFeature": "autoload.processing_utils",
    "PreTrainedModel": "autoload.backends.torch.modeling",
    "TFPreTrainedModel": "autoload.backends.tf.modeling",
    "FlaxPreTrainedModel": "autoload.backends.flax.modeling",
    "ModelOutput": "autoload.outputs",
    "DataCollatorWithPadding": "autoload.data_collators",
    "DataCollatorForTokenClassification": "autoload.data_collators",
    "DataCollatorForSeq2Seq": "autoload.data_collators",
    "DataCollatorForLanguageModeling": "autoload.data_collators",
    "default_data_collator": "autoload.data_collators",
}
_BACKEND_OF_BASE = {"PreTrainedModel": "torch", "TFPreTrainedModel": "tf", "FlaxPreTrainedModel": "flax"}


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None and (name.startswith("__") or name.islower()):
        # Submodules (autoload.registry …) are found by the import system, not here.
        raise AttributeError(f"module 'autoload' has no attribute {name!r}")
    from .families import AUTO_CLASS_NAMES

    if name in AUTO_CLASS_NAMES:
        return importlib.import_module("autoload.auto.modeling").AUTO_MODEL_CLASSES[name]
    if target is not None:
        if name in _BACKEND_OF_BASE:
            from .errors import require_backend

            require_backend(_BACKEND_OF_BASE[name], name)
        module_name, _, attr = target.partition(":")
        value = getattr(importlib.import_module(module_name), attr or name)
        globals()[name] = value
        return value
    value = _architecture_class(name)
    if value is not None:
        return value
    raise AttributeError(f"module 'autoload' has no attribute {name!r}")


def _architecture_class(name: str):
    """Config and model classes of built-in architectures by name (BertConfig, BertModel, TFBertModel …)."""
    from . import registry
    from .families import CLASS_PREFIX

    for model_type in registry.builtin_model_types():
        spec = registry.arch_spec(model_type)
        if spec.CONFIG_CLASS.__name__ == name:
            return spec.CONFIG_CLASS
        for backend, prefix in CLASS_PREFIX.items():
            # CLASSES: classes no Auto family builds, loaded by name (SpeechT5HifiGan)
            known = (*spec.ARCHITECTURES.values(), *getattr(spec, "CLASSES", ()))
            if name.startswith(prefix) and name[len(prefix) :] in known:
                if backend in spec.BACKENDS:
                    return registry.import_model_class(backend, model_type, name)
    return None


def __dir__():
    from .families import AUTO_CLASS_NAMES

    return sorted(set(globals()) | set(_LAZY) | set(AUTO_CLASS_NAMES))
