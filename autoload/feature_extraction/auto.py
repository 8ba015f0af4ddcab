"""AutoFeatureExtractor: audio feature extractors, and image processors under their older
*FeatureExtractor names (as transformers still allows)."""

from __future__ import annotations

import importlib

from ..configuration import read_config_file
from ..errors import CheckpointFormatError
from ..hub import HubOptions, cached_file
from ..image_processing import auto as image_auto
from ..processing_utils import PREPROCESSOR_CONFIG_NAME

CLASS_MODULES = {"Wav2Vec2FeatureExtractor": "wav2vec2", "WhisperFeatureExtractor": "whisper",
                 "SpeechT5FeatureExtractor": "speecht5"}  # fmt: skip
_WAV2VEC2_LIKE = ("wav2vec2", "wav2vec2-conformer", "hubert", "wavlm", "data2vec-audio", "sew", "sew-d", "unispeech",
                  "unispeech-sat")  # fmt: skip
BY_MODEL_TYPE = {
    **dict.fromkeys(_WAV2VEC2_LIKE, "Wav2Vec2FeatureExtractor"),
    "whisper": "WhisperFeatureExtractor",
    "speecht5": "SpeechT5FeatureExtractor",
}
BUILTIN_MODEL_TYPES = frozenset(BY_MODEL_TYPE)
_registered_classes: dict[str, type] = {}


def known_class_names() -> list[str]:
    return sorted({*CLASS_MODULES, *_registered_classes, *image_auto.known_class_names()})


def feature_extractor_class(name: str) -> type:
    """The class named `name`: a registered or built-in feature extractor, else an image processor."""
    if name in _registered_classes:
        return _registered_classes[name]
    if name in CLASS_MODULES:
        return getattr(importlib.import_module(f"{__package__}.{CLASS_MODULES[name]}"), name)
    try:
        return image_auto.image_processor_class(name)
    except ValueError:
        pass
    raise ValueError(
        f"Unknown feature extractor type {name!r}. Known: {', '.join(known_class_names())}. Register your own with "
        "AutoFeatureExtractor.register(model_type_or_config_class, YourClass)."
    )


def _class_name_for_model_type(model_type: str | None) -> str | None:
    if model_type in BY_MODEL_TYPE:
        return BY_MODEL_TYPE[model_type]
    image_name = image_auto.BY_MODEL_TYPE.get(model_type)
    return image_name.replace("ImageProcessor", "FeatureExtractor") if image_name else None


class AutoFeatureExtractor:
    """`AutoFeatureExtractor.from_pretrained(folder_or_repo_id)` -> the feature extractor the folder describes."""

    def __init__(self, *args, **kwargs):
        raise OSError(
            "AutoFeatureExtractor is not instantiated: use AutoFeatureExtractor.from_pretrained(name_or_path)."
        )

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """Keyword arguments naming a config field (feature_size=…, do_normalize=…) override it."""
        kwargs.pop("use_fast", None)
        model_config = kwargs.pop("config", None)
        options = HubOptions.pop_from(kwargs)
        path = cached_file(pretrained_model_name_or_path, PREPROCESSOR_CONFIG_NAME, options)
        config = read_config_file(path)
        name = config.get("feature_extractor_type") or config.get("image_processor_type")
        if not name:
            model_config = image_auto.model_config_of(pretrained_model_name_or_path, options, model_config)
            model_type = model_config.get("model_type")
            name = _class_name_for_model_type(model_type)
            if name is None:
                known_types = sorted({*BY_MODEL_TYPE, *image_auto.BY_MODEL_TYPE})
                raise CheckpointFormatError(
                    f"{path} names no feature_extractor_type, and "
                    f"{image_auto.why_no_class(model_type, 'feature extractor')}. Known model types: "
                    f"{', '.join(known_types)}. Add feature_extractor_type to the file, or register a class with "
                    "AutoFeatureExtractor.register."
                )
        return feature_extractor_class(name).from_dict(config, **kwargs)

    @staticmethod
    def register(config_class_or_model_type, feature_extractor_class, exist_ok: bool = False) -> None:
        """Map a model type (or config class) to a feature extractor class; its name in
        feature_extractor_type then resolves too."""
        key = image_auto.registry_key(config_class_or_model_type)
        current = BY_MODEL_TYPE.get(key)
        if (
            not exist_ok
            and current is not None
            and (key in BUILTIN_MODEL_TYPES or current != feature_extractor_class.__name__)
        ):
            raise ValueError(f"{key!r} already has the feature extractor {current}; pass exist_ok=True to replace it.")
        BY_MODEL_TYPE[key] = feature_extractor_class.__name__
        _registered_classes[feature_extractor_class.__name__] = feature_extractor_class
