"""Audio feature extractors (numpy): AutoFeatureExtractor, Wav2Vec2FeatureExtractor, WhisperFeatureExtractor."""

from __future__ import annotations


def __getattr__(name: str):
    from .auto import CLASS_MODULES, AutoFeatureExtractor, feature_extractor_class

    if name == "AutoFeatureExtractor":
        return AutoFeatureExtractor
    if name in CLASS_MODULES:
        return feature_extractor_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
