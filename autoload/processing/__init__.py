"""Processors: a tokenizer paired with an image processor or feature extractor, and AutoProcessor."""

from __future__ import annotations

import importlib

_MODULE_OF = {
    "AutoProcessor": "auto",
    "ProcessorMixin": "base",
    "Wav2Vec2Processor": "audio",
    "WhisperProcessor": "audio",
    "CLIPProcessor": "vision_text",
    "SiglipProcessor": "vision_text",
    "LayoutLMv2Processor": "layoutlmv2",
    "SamProcessor": "sam",
    "OwlViTProcessor": "owlvit",
    "ViltProcessor": "vilt",
    "BlipProcessor": "blip",
    "LayoutLMv3Processor": "layoutlmv3",
    "SpeechT5Processor": "speecht5",
    "LlavaProcessor": "llava",
}


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
