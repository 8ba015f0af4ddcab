"""AutoImageProcessor: picks the class from preprocessor_config.json, else from the model's config."""

from __future__ import annotations

import importlib
import os

from ..configuration import read_config_file
from ..hub import HubOptions, cached_file
from ..processing_utils import PREPROCESSOR_CONFIG_NAME

CLASS_MODULES = {
    "ViTImageProcessor": "vit", "ViTFeatureExtractor": "vit", "ConvNextImageProcessor": "convnext",
    "ConvNextFeatureExtractor": "convnext", "CLIPImageProcessor": "clip", "CLIPFeatureExtractor": "clip",
    "LayoutLMv2ImageProcessor": "layoutlmv2", "LayoutLMv2FeatureExtractor": "layoutlmv2",
    "DeiTImageProcessor": "vit",
}  # fmt: skip
BY_MODEL_TYPE = {"vit": "ViTImageProcessor", "swin": "ViTImageProcessor", "deit": "ViTImageProcessor",
                 "convnext": "ConvNextImageProcessor", "resnet": "ConvNextImageProcessor",
                 "clip": "CLIPImageProcessor", "layoutlmv2": "LayoutLMv2ImageProcessor"}  # fmt: skip
_registered: dict[str, type] = {}


def image_processor_class(name: str) -> type:
    if name in _registered:
        return _registered[name]
    name = name.removesuffix("Fast")  # one implementation serves both names
    if name not in CLASS_MODULES:
        raise ValueError(
            f"Unknown image processor class {name!r}. Known: {', '.join(sorted(CLASS_MODULES))}. Add one with "
            "AutoImageProcessor.register(model_type_or_config_class, image_processor_class=YourClass)."
        )
    return getattr(importlib.import_module(f"autoload.image_processing.{CLASS_MODULES[name]}"), name)


def _class_name(config: dict, source, options) -> str:
    for key in ("image_processor_type", "feature_extractor_type"):
        if config.get(key):
            name = config[key]
            return name.replace("FeatureExtractor", "ImageProcessor") if name.replace(
                "FeatureExtractor", "ImageProcessor") in CLASS_MODULES else name  # fmt: skip
    model_config = cached_file(source, "config.json", options, required=False)
    model_type = read_config_file(model_config).get("model_type") if model_config else None
    if model_type in BY_MODEL_TYPE:
        return BY_MODEL_TYPE[model_type]
    raise ValueError(
        f"{os.fspath(source)}: {PREPROCESSOR_CONFIG_NAME} names no image_processor_type and the model type "
        f"{model_type!r} has no known image processor. Known model types: {', '.join(sorted(BY_MODEL_TYPE))}."
    )


class AutoImageProcessor:
    def __init__(self, *args, **kwargs):
        raise OSError("AutoImageProcessor cannot be instantiated directly: use AutoImageProcessor.from_pretrained.")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        options = HubOptions(**{k: kwargs[k] for k in HubOptions.KEYS if kwargs.get(k) is not None})
        for key in HubOptions.KEYS:
            kwargs.pop(key, None)
        kwargs.pop("use_fast", None)
        kwargs.pop("trust_remote_code", None)
        path = cached_file(pretrained_model_name_or_path, PREPROCESSOR_CONFIG_NAME, options)
        config = read_config_file(path)
        return image_processor_class(_class_name(config, pretrained_model_name_or_path, options)).from_dict(
            config, **kwargs
        )

    @staticmethod
    def register(config_class_or_model_type, image_processor_class=None, slow_image_processor_class=None,
                 fast_image_processor_class=None, exist_ok: bool = False) -> None:  # fmt: skip
        processor = image_processor_class or fast_image_processor_class or slow_image_processor_class
        key = getattr(config_class_or_model_type, "model_type", None) or str(config_class_or_model_type)
        if not exist_ok and key in BY_MODEL_TYPE and BY_MODEL_TYPE[key] != processor.__name__:
            raise ValueError(f"{key!r} already has an image processor; pass exist_ok=True to replace it.")
        BY_MODEL_TYPE[key] = processor.__name__
        _registered[processor.__name__] = processor
