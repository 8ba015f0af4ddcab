"""Image processors (numpy + Pillow): AutoImageProcessor and the processor classes."""

from __future__ import annotations


def __getattr__(name: str):
    from .auto import CLASS_MODULES, AutoImageProcessor, image_processor_class

    if name == "AutoImageProcessor":
        return AutoImageProcessor
    if name in CLASS_MODULES:
        return image_processor_class(name)
    if name == "BaseImageProcessor":
        from .base import BaseImageProcessor

        return BaseImageProcessor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
