"""Shared checks and padding for audio feature extractors."""

from __future__ import annotations

import warnings

import numpy as np

from ..processing_utils import PreprocessorMixin


class SequenceFeatureExtractor(PreprocessorMixin):
    type_key = "feature_extractor_type"
    defaults: dict = {"feature_size": 1, "sampling_rate": 16000, "padding_value": 0.0, "padding_side": "right",
                      "return_attention_mask": True}  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(**{**self.defaults, **kwargs})

    def check_sampling_rate(self, sampling_rate) -> None:
        if sampling_rate is None:
            warnings.warn(
                f"No sampling_rate was passed to {type(self).__name__}; pass sampling_rate={self.sampling_rate} to "
                "make sure the audio was recorded at the rate the model expects.",
                stacklevel=3,
            )
        elif sampling_rate != self.sampling_rate:
            raise ValueError(
                f"{type(self).__name__} expects audio sampled at {self.sampling_rate} Hz but got {sampling_rate} Hz. "
                f"Resample the audio to {self.sampling_rate} Hz first."
            )

    @staticmethod
    def as_batch(raw_speech) -> list[np.ndarray]:
        """One waveform or a batch of them -> list of 1-D float32 arrays; stereo or empty audio raises."""
        if isinstance(raw_speech, np.ndarray):
            batch = [raw_speech] if raw_speech.ndim == 1 else list(raw_speech) if raw_speech.ndim == 2 else None
            if batch is None:
                raise ValueError(f"Audio must be 1-D (samples) or a batch of 1-D waveforms; got shape {raw_speech.shape}.")
        elif isinstance(raw_speech, (list, tuple)) and raw_speech and not np.isscalar(raw_speech[0]):
            batch = list(raw_speech)
        else:
            batch = [raw_speech]
        waveforms = []
        for wave in batch:
            wave = np.asarray(wave, dtype=np.float32)
            if wave.ndim > 1:
                raise ValueError(
                    f"Only mono audio is supported; got a waveform of shape {wave.shape}. Average the channels "
                    "(wave.mean(axis=0)) or pick one."
                )
            if wave.size == 0:
                raise ValueError("Got an empty waveform; every example needs at least one sample.")
            waveforms.append(wave)
        return waveforms

    def pad_batch(self, waveforms, padding, max_length, truncation) -> tuple[np.ndarray, np.ndarray]:
        """(padded [batch, length] float32, attention mask int32)."""
        if truncation and max_length:
            waveforms = [w[:max_length] for w in waveforms]
        lengths = [len(w) for w in waveforms]
        if padding in (True, "longest"):
            target = max(lengths)
        elif padding == "max_length":
            if not max_length:
                raise ValueError("padding='max_length' needs max_length.")
            target = max_length
        elif padding in (False, None, "do_not_pad"):
            if len(set(lengths)) > 1:
                raise ValueError("Waveforms of different lengths need padding=True to be batched.")
            target = lengths[0]
        else:
            raise ValueError(f"padding must be True, 'longest', 'max_length' or False, got {padding!r}.")
        values = np.full((len(waveforms), target), self.padding_value, dtype=np.float32)
        mask = np.zeros((len(waveforms), target), dtype=np.int32)
        for i, wave in enumerate(waveforms):
            n = min(len(wave), target)
            if self.padding_side == "left":
                values[i, target - n :], mask[i, target - n :] = wave[:n], 1
            else:
                values[i, :n], mask[i, :n] = wave[:n], 1
        return values, mask
