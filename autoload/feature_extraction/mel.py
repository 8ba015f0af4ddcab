"""Log-mel spectrograms in numpy: Slaney-style mel filters and a centred, reflect-padded STFT."""

from __future__ import annotations

import numpy as np

_MIN_LOG_HERTZ, _MIN_LOG_MEL, _LOGSTEP = 1000.0, 15.0, 27.0 / np.log(6.4)


def hertz_to_mel(freq):
    freq = np.asarray(freq, dtype=np.float64)
    mels = 3.0 * freq / 200.0
    log_region = freq >= _MIN_LOG_HERTZ
    return np.where(log_region, _MIN_LOG_MEL + np.log(np.maximum(freq, 1e-10) / _MIN_LOG_HERTZ) * _LOGSTEP, mels)


def mel_to_hertz(mels):
    mels = np.asarray(mels, dtype=np.float64)
    freq = 200.0 * mels / 3.0
    log_region = mels >= _MIN_LOG_MEL
    return np.where(log_region, _MIN_LOG_HERTZ * np.exp((mels - _MIN_LOG_MEL) / _LOGSTEP), freq)


def mel_filter_bank(num_frequency_bins: int, num_mel_filters: int, min_frequency: float, max_frequency: float,
                    sampling_rate: int) -> np.ndarray:  # fmt: skip
    """[frequency bins, mel filters] triangular filters, each normalised to unit area (Slaney)."""
    mel_points = np.linspace(hertz_to_mel(min_frequency), hertz_to_mel(max_frequency), num_mel_filters + 2)
    filter_freqs = mel_to_hertz(mel_points)
    fft_freqs = np.linspace(0, sampling_rate // 2, num_frequency_bins)
    widths = np.diff(filter_freqs)
    slopes = filter_freqs[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    return filters * (2.0 / (filter_freqs[2 : num_mel_filters + 2] - filter_freqs[:num_mel_filters]))[None, :]


def hann_window(length: int) -> np.ndarray:
    """The periodic Hann window (the STFT convention)."""
    return np.hanning(length + 1)[:-1]


def log_mel_spectrogram(waveform: np.ndarray, mel_filters: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """[mel, frames] log10 power mel spectrogram of a mono waveform (frames centred, reflect padding)."""
    padded = np.pad(waveform.astype(np.float64), n_fft // 2, mode="reflect")
    count = 1 + (len(padded) - n_fft) // hop_length
    starts = np.arange(count) * hop_length
    frames = padded[starts[:, None] + np.arange(n_fft)[None, :]] * hann_window(n_fft)[None, :]
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=-1)) ** 2  # [frames, bins]
    mel = np.maximum(1e-10, power @ mel_filters)  # [frames, mel]
    return np.log10(mel).T
