"""AutoProcessor: the processor a folder describes, or its lone tokenizer / image processor / feature
extractor when it has no processor (as transformers does)."""

from __future__ import annotations

import os

from ..errors import CheckpointNotFoundError
from ..hub import cached_file
from ..json_files import read_json_file
from .base import PROCESSOR_CONFIG_NAME, hub_options

PROCESSORS_BY_MODEL_TYPE = {
    "wav2vec2": "Wav2Vec2Processor",
    "hubert": "Wav2Vec2Processor",
    "wavlm": "Wav2Vec2Processor",
    "whisper": "WhisperProcessor",
    "clip": "CLIPProcessor",
    "siglip": "SiglipProcessor",
    "layoutlmv2": "LayoutLMv2Processor",
    "sam": "SamProcessor",
    "owlvit": "OwlViTProcessor",
    "vilt": "ViltProcessor",
    "blip": "BlipProcessor",
    "layoutlmv3": "LayoutLMv3Processor",
    "speecht5": "SpeechT5Processor",
    "llava": "LlavaProcessor",
}
_registered: dict[str, type] = {}


def _read(path) -> dict:
    data = read_json_file(path, expect=None)
    return data if isinstance(data, dict) else {}


class AutoProcessor:
    def __init__(self, *args, **kwargs):
        raise OSError("AutoProcessor cannot be instantiated directly: use AutoProcessor.from_pretrained(name_or_path).")

    @classmethod
    def processor_class_name(cls, pretrained_model_name_or_path, **kwargs) -> str | None:
        options = hub_options(kwargs)
        for name in (PROCESSOR_CONFIG_NAME, "preprocessor_config.json", "tokenizer_config.json"):
            path = cached_file(pretrained_model_name_or_path, name, options, required=False)
            if path and _read(path).get("processor_class"):
                return _read(path)["processor_class"]
        path = cached_file(pretrained_model_name_or_path, "config.json", options, required=False)
        if path:
            return PROCESSORS_BY_MODEL_TYPE.get(_read(path).get("model_type"))
        return None

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        import autoload

        from . import __getattr__ as processor_class

        name = cls.processor_class_name(pretrained_model_name_or_path, **kwargs)
        if name is not None:
            target = _registered.get(name) or processor_class(name)
            return target.from_pretrained(pretrained_model_name_or_path, **kwargs)
        errors = []
        for auto_name in ("AutoTokenizer", "AutoImageProcessor", "AutoFeatureExtractor"):
            try:
                return getattr(autoload, auto_name).from_pretrained(pretrained_model_name_or_path, **kwargs)
            except (OSError, ValueError) as exc:
                errors.append(f"{auto_name}: {exc}")
        where = os.fspath(pretrained_model_name_or_path)
        raise CheckpointNotFoundError(
            f"{where} has no processor, tokenizer, image processor or feature extractor files. Tried:\n  "
            + "\n  ".join(errors)
        )

    @staticmethod
    def register(name_or_config_class, processor_class, exist_ok: bool = False) -> None:
        key = getattr(name_or_config_class, "model_type", None) or str(name_or_config_class)
        if not exist_ok and (key in _registered or key in PROCESSORS_BY_MODEL_TYPE):
            raise ValueError(f"A processor is already registered for {key!r}; pass exist_ok=True to replace it.")
        PROCESSORS_BY_MODEL_TYPE[key] = processor_class.__name__
        _registered[processor_class.__name__] = processor_class
