"""AutoImageProcessor: picks the class from preprocessor_config.json, else from the model's config.json."""

from __future__ import annotations

import importlib

from ..configuration import read_config_file
from ..errors import CheckpointFormatError
from ..hub import HubOptions, cached_file
from ..processing_utils import PREPROCESSOR_CONFIG_NAME

# Class name -> module of this package. The *FeatureExtractor names are transformers' older names.
CLASS_MODULES = {
    "ViTImageProcessor": "vit", "ViTFeatureExtractor": "vit", "DeiTImageProcessor": "vit", "DeiTFeatureExtractor": "vit",
    "ConvNextImageProcessor": "convnext", "ConvNextFeatureExtractor": "convnext",
    "CLIPImageProcessor": "clip", "CLIPFeatureExtractor": "clip",
    "LayoutLMv2ImageProcessor": "layoutlmv2", "LayoutLMv2FeatureExtractor": "layoutlmv2",
    "BeitImageProcessor": "beit", "BeitFeatureExtractor": "beit", "BitImageProcessor": "bit",
    "SiglipImageProcessor": "siglip", "SegformerImageProcessor": "segformer", "SegformerFeatureExtractor": "segformer",
    "DetrImageProcessor": "detr", "DetrFeatureExtractor": "detr",
    "MaskFormerImageProcessor": "maskformer", "MaskFormerFeatureExtractor": "maskformer",
    "SamImageProcessor": "sam", "OwlViTImageProcessor": "owlvit", "OwlViTFeatureExtractor": "owlvit",
    "DPTImageProcessor": "dpt", "DPTFeatureExtractor": "dpt", "Swin2SRImageProcessor": "swin2sr",
    "SuperPointImageProcessor": "superpoint", "VideoMAEImageProcessor": "videomae",
    "VideoMAEFeatureExtractor": "videomae",
    "ViltImageProcessor": "vilt", "ViltFeatureExtractor": "vilt", "BlipImageProcessor": "blip",
    "LayoutLMv3ImageProcessor": "layoutlmv3", "LayoutLMv3FeatureExtractor": "layoutlmv3",
    "LlavaImageProcessor": "llava",
}  # fmt: skip
# model_type -> class, as transformers maps them.
BY_MODEL_TYPE = {
    **dict.fromkeys(("vit", "vit_mae", "vit_msn", "swin", "swinv2", "dinat", "swiftformer"), "ViTImageProcessor"),
    "deit": "DeiTImageProcessor",
    **dict.fromkeys(("convnext", "convnextv2", "resnet", "regnet", "van", "cvt"), "ConvNextImageProcessor"),
    **dict.fromkeys(("clip", "xclip", "groupvit", "altclip", "git"), "CLIPImageProcessor"),
    "layoutlmv2": "LayoutLMv2ImageProcessor",
    **dict.fromkeys(("beit", "data2vec-vision"), "BeitImageProcessor"),
    **dict.fromkeys(("bit", "dinov2", "focalnet", "hiera"), "BitImageProcessor"),
    **dict.fromkeys(("siglip", "paligemma", "gemma3n"), "SiglipImageProcessor"),
    **dict.fromkeys(("segformer", "upernet"), "SegformerImageProcessor"),
    **dict.fromkeys(("detr", "table-transformer"), "DetrImageProcessor"),
    "maskformer": "MaskFormerImageProcessor",
    **dict.fromkeys(("sam", "sam_hq"), "SamImageProcessor"),
    "owlvit": "OwlViTImageProcessor",
    **dict.fromkeys(("dpt", "depth_anything"), "DPTImageProcessor"),
    "swin2sr": "Swin2SRImageProcessor",
    "superpoint": "SuperPointImageProcessor",
    **dict.fromkeys(("videomae", "timesformer"), "VideoMAEImageProcessor"),
    "vilt": "ViltImageProcessor",
    **dict.fromkeys(("blip", "blip-2", "instructblip"), "BlipImageProcessor"),
    "layoutlmv3": "LayoutLMv3ImageProcessor",
    "llava": "LlavaImageProcessor",
}
BUILTIN_MODEL_TYPES = frozenset(BY_MODEL_TYPE)
_registered_classes: dict[str, type] = {}


def known_class_names() -> list[str]:
    return sorted({*CLASS_MODULES, *_registered_classes})


def image_processor_class(name: str) -> type:
    """The class named `name` (a registered one, or a built-in; a trailing "Fast" is accepted, as one
    implementation serves transformers' slow and fast names)."""
    if name in _registered_classes:
        return _registered_classes[name]
    base_name = name.removesuffix("Fast")
    if base_name not in CLASS_MODULES:
        raise ValueError(
            f"Unknown image processor type {name!r}. Known: {', '.join(known_class_names())}. Register your own "
            "with AutoImageProcessor.register(model_type_or_config_class, image_processor_class=YourClass)."
        )
    return getattr(importlib.import_module(f"{__package__}.{CLASS_MODULES[base_name]}"), base_name)


def class_name_from_config(config: dict) -> str | None:
    """image_processor_type, or an older feature_extractor_type under its image processor name."""
    if config.get("image_processor_type"):
        return config["image_processor_type"]
    if config.get("feature_extractor_type"):
        return config["feature_extractor_type"].replace("FeatureExtractor", "ImageProcessor")
    return None


def model_config_of(source, options: HubOptions, config=None) -> dict:
    """A model config passed in (dict or config object), else the folder's config.json ({} without one)."""
    if config is not None:
        return config if isinstance(config, dict) else config.to_dict()
    path = cached_file(source, "config.json", options, required=False)
    return read_config_file(path) if path else {}


def why_no_class(model_type: str | None, what: str) -> str:
    if model_type is None:
        return "there is no config.json with a model_type to go by"
    return f"the model type {model_type!r} has no known {what}"


def registry_key(config_class_or_model_type) -> str:
    if isinstance(config_class_or_model_type, str):
        return config_class_or_model_type
    model_type = getattr(config_class_or_model_type, "model_type", None)
    if not model_type:
        raise TypeError(
            f"Register under a model_type string or a config class with a model_type, got {config_class_or_model_type!r}."
        )
    return model_type


class AutoImageProcessor:
    """`AutoImageProcessor.from_pretrained(folder_or_repo_id)` -> the image processor the folder describes."""

    def __init__(self, *args, **kwargs):
        raise OSError("AutoImageProcessor is not instantiated: use AutoImageProcessor.from_pretrained(name_or_path).")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """Keyword arguments naming a config field (size=…, do_normalize=…) override it; `use_fast` is
        accepted and changes nothing (results equal transformers' slow, Pillow-based processors)."""
        kwargs.pop("use_fast", None)
        model_config = kwargs.pop("config", None)
        options = HubOptions.pop_from(kwargs)
        path = cached_file(pretrained_model_name_or_path, PREPROCESSOR_CONFIG_NAME, options)
        config = read_config_file(path)
        name = class_name_from_config(config)
        if name is None:
            model_config = model_config_of(pretrained_model_name_or_path, options, model_config)
            model_type = model_config.get("model_type")
            name = model_config.get("image_processor_type") or BY_MODEL_TYPE.get(model_type)
            if name is None:
                raise CheckpointFormatError(
                    f"{path} names no image_processor_type, and {why_no_class(model_type, 'image processor')}. "
                    f"Known model types: {', '.join(sorted(BY_MODEL_TYPE))}. Add image_processor_type to the file, "
                    "or register a class with AutoImageProcessor.register."
                )
        return image_processor_class(name).from_dict(config, **kwargs)

    @staticmethod
    def register(config_class_or_model_type, image_processor_class=None, slow_image_processor_class=None,
                 fast_image_processor_class=None, exist_ok: bool = False) -> None:  # fmt: skip
        """Map a model type (or config class) to an image processor class; its name in image_processor_type
        then resolves too."""
        processor = image_processor_class or fast_image_processor_class or slow_image_processor_class
        if processor is None:
            raise ValueError("AutoImageProcessor.register needs an image_processor_class.")
        key = registry_key(config_class_or_model_type)
        current = BY_MODEL_TYPE.get(key)
        if not exist_ok and current is not None and (key in BUILTIN_MODEL_TYPES or current != processor.__name__):
            raise ValueError(f"{key!r} already has the image processor {current}; pass exist_ok=True to replace it.")
        BY_MODEL_TYPE[key] = processor.__name__
        _registered_classes[processor.__name__] = processor
