"""Wav2Vec2 feature extractor (also HuBERT, WavLM and other wav2vec2-style speech encoders)."""

from __future__ import annotations

from ..processing_utils import BatchFeature
from .base import SequenceFeatureExtractor, normalize_waveform


class Wav2Vec2FeatureExtractor(SequenceFeatureExtractor):
    """The raw waveform as `input_values`, normalised per example to zero mean and unit variance over its
    real samples (do_normalize), with an `attention_mask` marking them (return_attention_mask)."""

    defaults = {**SequenceFeatureExtractor.defaults, "do_normalize": True}
    model_input_names = ["input_values", "attention_mask"]

    def __call__(self, raw_speech, padding=False, max_length=None, truncation=False, pad_to_multiple_of=None,
                 return_attention_mask=None, return_tensors=None, sampling_rate=None, **kwargs) -> BatchFeature:  # fmt: skip
        """One waveform or a batch -> `input_values` (and `attention_mask`): one array per example, or one
        padded batch tensor with return_tensors="np" / "pt" / "tf" / "jax"."""
        self.check_sampling_rate(sampling_rate)
        self.warn_unused(kwargs)
        values, masks = self.pad_waveforms(
            self.to_waveforms(raw_speech), padding, max_length, truncation, pad_to_multiple_of
        )
        if self.do_normalize:
            values = [normalize_waveform(v, m, self.padding_value) for v, m in zip(values, masks)]
        features = {"input_values": values}
        if return_attention_mask if return_attention_mask is not None else self.return_attention_mask:
            features["attention_mask"] = masks
        return BatchFeature(features, tensor_type=return_tensors)
