from __future__ import annotations

import os

from .. import registry
from ..configuration import PretrainedConfig, config_from_file
from ..errors import CheckpointFormatError


class AutoConfig:
    """Builds the config class that matches a checkpoint's `model_type`."""

    def __init__(self, *args, **kwargs):
        raise OSError(
            "AutoConfig cannot be instantiated directly: use AutoConfig.from_pretrained(name_or_path) "
            "or AutoConfig.for_model(model_type, **kwargs)."
        )

    @classmethod
    def for_model(cls, model_type: str, *args, **kwargs) -> PretrainedConfig:
        return registry.config_class_for(model_type)(*args, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> PretrainedConfig:
        config_dict, kwargs = PretrainedConfig.get_config_dict(pretrained_model_name_or_path, **kwargs)
        model_type = config_dict.get("model_type")
        if not model_type:
            where = os.fspath(pretrained_model_name_or_path)
            raise CheckpointFormatError(
                f"The config.json of {where} has no 'model_type' key, so the architecture is unknown. "
                f"Add \"model_type\" (one of: {', '.join(registry.all_model_types())})."
            )
        try:
            config_class = registry.config_class_for(model_type)
        except ValueError as exc:  # a model_type nothing is registered for: the file names it
            raise CheckpointFormatError(f"The config.json of {os.fspath(pretrained_model_name_or_path)}: {exc}") from exc
        return config_from_file(config_class, config_dict, pretrained_model_name_or_path, **kwargs)

    @staticmethod
    def register(model_type: str, config, exist_ok: bool = False) -> None:
        registry.register_config(model_type, config, exist_ok=exist_ok)
