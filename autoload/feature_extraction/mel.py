"""Log-mel spectrograms in numpy: Slaney-scale mel filters and a centred, reflect-padded STFT."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Slaney's mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above.
_LINEAR_HZ_PER_MEL = 200.0 / 3.0
_LOG_START_HZ = 1000.0
_LOG_START_MEL = _LOG_START_HZ / _LINEAR_HZ_PER_MEL
_MELS_PER_LOG_UNIT = 27.0 / np.log(6.4)


def hertz_to_mel(hertz):
    hertz = np.asarray(hertz, dtype=np.float64)
    above = _LOG_START_MEL + np.log(np.maximum(hertz, _LOG_START_HZ) / _LOG_START_HZ) * _MELS_PER_LOG_UNIT
    return np.where(hertz >= _LOG_START_HZ, above, hertz / _LINEAR_HZ_PER_MEL)


def mel_to_hertz(mels):
    mels = np.asarray(mels, dtype=np.float64)
    above = _LOG_START_HZ * np.exp((np.maximum(mels, _LOG_START_MEL) - _LOG_START_MEL) / _MELS_PER_LOG_UNIT)
    return np.where(mels >= _LOG_START_MEL, above, mels * _LINEAR_HZ_PER_MEL)


@lru_cache(maxsize=8)
def mel_filter_bank(num_frequency_bins: int, num_mel_filters: int, min_frequency: float, max_frequency: float,
                    sampling_rate: int) -> np.ndarray:  # fmt: skip
    """[frequency bins, mel filters]: triangles evenly spaced on the mel scale, each scaled to unit area
    (Slaney normalisation). Cached and read-only."""
    edges_mel = np.linspace(hertz_to_mel(min_frequency), hertz_to_mel(max_frequency), num_mel_filters + 2)
    edges = mel_to_hertz(edges_mel)  # lower edge, peak and upper edge of filter m: edges[m], [m + 1], [m + 2]
    bin_hz = np.linspace(0, sampling_rate // 2, num_frequency_bins)[:, None]
    lower, peak, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_hz - lower) / (peak - lower)
    falling = (upper - bin_hz) / (upper - peak)
    filters = np.clip(np.minimum(rising, falling), 0.0, None) * (2.0 / (upper - lower))
    filters.flags.writeable = False
    return filters


def periodic_hann(length: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)


def power_spectrogram(waveform: np.ndarray, n_fft: int, hop_length: int, dither: float = 0.0) -> np.ndarray:
    """[frames, n_fft // 2 + 1] |STFT|^2 of a mono waveform, frames centred (reflect padding), Hann window.
    `dither` adds that much Gaussian noise to every frame before windowing (0 for none)."""
    padded = np.pad(waveform.astype(np.float64), n_fft // 2, mode="reflect")
    starts = np.arange(1 + (len(padded) - n_fft) // hop_length) * hop_length
    frames = padded[starts[:, None] + np.arange(n_fft)]
    if dither:
        frames = frames + dither * np.random.standard_normal(frames.shape)
    return np.abs(np.fft.rfft(frames * periodic_hann(n_fft), axis=-1)) ** 2


def log_mel_spectrogram(waveform: np.ndarray, mel_filters: np.ndarray, n_fft: int, hop_length: int,
                        dither: float = 0.0) -> np.ndarray:  # fmt: skip
    """[mel bins, frames] log10 of the mel power spectrogram, floored at 1e-10."""
    mel = power_spectrogram(waveform, n_fft, hop_length, dither) @ mel_filters
    return np.log10(np.maximum(mel, 1e-10)).T
