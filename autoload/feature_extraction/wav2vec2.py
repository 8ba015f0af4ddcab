"""Wav2Vec2 feature extractor (also HuBERT, WavLM and other wav2vec2-style speech encoders)."""

from __future__ import annotations

import numpy as np

from ..processing_utils import BatchFeature
from .base import SequenceFeatureExtractor, _padding_strategy, normalize_waveform


class Wav2Vec2FeatureExtractor(SequenceFeatureExtractor):
    """The raw waveform as `input_values`, normalised per example to zero mean and unit variance (do_normalize),
    with an `attention_mask` marking the real samples (return_attention_mask).

    As transformers does, the statistics cover only the real samples when the batch is padded and the mask is
    returned; without the mask (HuBERT / Wav2Vec2 base checkpoints set return_attention_mask=False) the whole
    padded array is normalised, padding included."""

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
        with_mask = return_attention_mask if return_attention_mask is not None else self.return_attention_mask
        if self.do_normalize:
            if with_mask and _padding_strategy(padding, max_length) is not None:
                values = [normalize_waveform(v, m, self.padding_value) for v, m in zip(values, masks)]
            else:
                values = [(v - v.mean()) / np.sqrt(v.var() + 1e-7) for v in values]
        elif return_tensors is None:
            # transformers' pad() hands back numpy here: one 2-D array when the lengths agree, else an object array
            values = _as_numpy_batch(values)
        features = {"input_values": values}
        if with_mask:
            features["attention_mask"] = masks
        return BatchFeature(features, tensor_type=return_tensors)


def _as_numpy_batch(values: list[np.ndarray]) -> np.ndarray:
    if len({len(v) for v in values}) == 1:
        return np.stack(values)
    batch = np.empty(len(values), dtype=object)
    batch[:] = values
    return batch
