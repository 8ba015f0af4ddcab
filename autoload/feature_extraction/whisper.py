"""Whisper feature extractor: log-mel spectrograms of 30-second windows."""

from __future__ import annotations

import numpy as np

from ..processing_utils import BatchFeature
from .base import SequenceFeatureExtractor, normalize_waveform
from .mel import log_mel_spectrogram, mel_filter_bank

MAX_FREQUENCY = 8000.0


class WhisperFeatureExtractor(SequenceFeatureExtractor):
    """`input_features` [batch, feature_size mel bins (80 or 128), frames]: audio padded or cut to
    chunk_length seconds (30 s = 3000 frames of hop_length samples), log10-mel, floored 8 below each
    example's maximum and scaled as (x + 4) / 4."""

    defaults = {
        "feature_size": 80, "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400,
        "padding_value": 0.0, "padding_side": "right", "dither": 0.0, "return_attention_mask": False,
    }  # fmt: skip
    model_input_names = ["input_features"]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.n_samples = int(self.chunk_length * self.sampling_rate)
        self.nb_max_frames = self.n_samples // self.hop_length

    @property
    def mel_filters(self) -> np.ndarray:
        """[n_fft // 2 + 1, feature_size] Slaney mel filters from 0 to 8 kHz."""
        return mel_filter_bank(1 + self.n_fft // 2, self.feature_size, 0.0, MAX_FREQUENCY, self.sampling_rate)

    def __call__(self, raw_speech, truncation=True, pad_to_multiple_of=None, return_tensors=None,
                 return_attention_mask=None, padding="max_length", max_length=None, sampling_rate=None,
                 do_normalize=None, device="cpu", return_token_timestamps=None, **kwargs) -> BatchFeature:  # fmt: skip
        """One waveform or a batch -> `input_features` (a numpy array, or a tensor per return_tensors).
        By default every example is padded or truncated to n_samples (30 s); padding=True pads to the longest."""
        self.check_sampling_rate(sampling_rate)
        self.warn_unused(kwargs)
        waveforms = self.to_waveforms(raw_speech)
        values, masks = self.pad_waveforms(
            waveforms, padding, max_length or self.n_samples, truncation, pad_to_multiple_of
        )
        if do_normalize:
            values = [normalize_waveform(v, m, self.padding_value) for v, m in zip(values, masks)]
        features = [self.log_mel_features(v) for v in values]
        result = {"input_features": _stack_if_same_shape(features)}
        if return_attention_mask if return_attention_mask is not None else self.return_attention_mask:
            result["attention_mask"] = _stack_if_same_shape([m[:: self.hop_length] for m in masks])
        if return_token_timestamps:
            result["num_frames"] = [len(wave) // self.hop_length for wave in waveforms]
        return BatchFeature(result, tensor_type=return_tensors)

    def log_mel_features(self, waveform: np.ndarray) -> np.ndarray:
        """[feature_size, frames] float32 features of one (padded) waveform."""
        log_mel = log_mel_spectrogram(waveform, self.mel_filters, self.n_fft, self.hop_length, self.dither)
        log_mel = log_mel[:, :-1]  # the STFT's last frame is dropped
        log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
        return ((log_mel + 4.0) / 4.0).astype(np.float32)


def _stack_if_same_shape(arrays: list[np.ndarray]):
    return np.stack(arrays) if len({a.shape for a in arrays}) == 1 else arrays
