"""AutoFeatureExtractor: audio feature extractors, and image processors under their older name."""

from __future__ import annotations

import importlib
import os

from ..configuration import read_config_file
from ..hub import HubOptions, cached_file
from ..processing_utils import PREPROCESSOR_CONFIG_NAME

CLASS_MODULES = {"Wav2Vec2FeatureExtractor": "wav2vec2", "WhisperFeatureExtractor": "whisper"}
BY_MODEL_TYPE = {"wav2vec2": "Wav2Vec2FeatureExtractor", "whisper": "WhisperFeatureExtractor"}
_registered: dict[str, type] = {}


def feature_extractor_class(name: str) -> type:
    if name in _registered:
        return _registered[name]
    if name in CLASS_MODULES:
        return getattr(importlib.import_module(f"autoload.feature_extraction.{CLASS_MODULES[name]}"), name)
    from ..image_processing.auto import CLASS_MODULES as IMAGE_CLASSES
    from ..image_processing.auto import image_processor_class

    if name in IMAGE_CLASSES:
        return image_processor_class(name)
    raise ValueError(
        f"Unknown feature extractor class {name!r}. Known: {', '.join(sorted(CLASS_MODULES) + sorted(IMAGE_CLASSES))}. "
        "Add one with AutoFeatureExtractor.register(model_type_or_config_class, YourClass)."
    )


class AutoFeatureExtractor:
    def __init__(self, *args, **kwargs):
        raise OSError("AutoFeatureExtractor cannot be instantiated directly: use AutoFeatureExtractor.from_pretrained.")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        options = HubOptions(**{k: kwargs[k] for k in HubOptions.KEYS if kwargs.get(k) is not None})
        for key in (*HubOptions.KEYS, "trust_remote_code", "use_fast"):
            kwargs.pop(key, None)
        config = read_config_file(cached_file(pretrained_model_name_or_path, PREPROCESSOR_CONFIG_NAME, options))
        name = config.get("feature_extractor_type") or config.get("image_processor_type")
        if not name:
            model_config = cached_file(pretrained_model_name_or_path, "config.json", options, required=False)
            model_type = read_config_file(model_config).get("model_type") if model_config else None
            name = BY_MODEL_TYPE.get(model_type)
            if name is None:
                raise ValueError(
                    f"{os.fspath(pretrained_model_name_or_path)}: {PREPROCESSOR_CONFIG_NAME} names no "
                    f"feature_extractor_type and model type {model_type!r} has no known feature extractor."
                )
        return feature_extractor_class(name).from_dict(config, **kwargs)

    @staticmethod
    def register(config_class_or_model_type, feature_extractor_class, exist_ok: bool = False) -> None:
        key = getattr(config_class_or_model_type, "model_type", None) or str(config_class_or_model_type)
        if not exist_ok and key in BY_MODEL_TYPE:
            raise ValueError(f"{key!r} already has a feature extractor; pass exist_ok=True to replace it.")
        BY_MODEL_TYPE[key] = feature_extractor_class.__name__
        _registered[feature_extractor_class.__name__] = feature_extractor_class
