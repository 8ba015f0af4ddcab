"""Image processors (numpy + Pillow): AutoImageProcessor and the processor classes, loaded on first use."""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    auto = importlib.import_module(f"{__name__}.auto")

    if name == "AutoImageProcessor":
        return auto.AutoImageProcessor
    if name == "BaseImageProcessor":
        return importlib.import_module(f"{__name__}.base").BaseImageProcessor
    if name in auto.CLASS_MODULES:
        return auto.image_processor_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
