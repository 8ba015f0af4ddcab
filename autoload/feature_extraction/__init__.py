"""Audio feature extractors (numpy): AutoFeatureExtractor and the extractor classes, loaded on first use."""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    auto = importlib.import_module(f"{__name__}.auto")

    if name == "AutoFeatureExtractor":
        return auto.AutoFeatureExtractor
    if name == "SequenceFeatureExtractor":
        return importlib.import_module(f"{__name__}.base").SequenceFeatureExtractor
    if name in auto.CLASS_MODULES:
        return auto.feature_extractor_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
