"""SpeechT5 feature extractor: the raw waveform for the speech encoder (`audio`), log-mel spectrogram targets for
the speech decoder (`audio_target`)."""

from __future__ import annotations

import warnings

import numpy as np

from ..processing_utils import BatchFeature
from .base import SequenceFeatureExtractor, _padding_strategy, _round_up
from .mel import mel_filter_bank, periodic_hann


class SpeechT5FeatureExtractor(SequenceFeatureExtractor):
    """`audio` -> `input_values` (each waveform as float32, zero-mean unit-variance with do_normalize) and
    `attention_mask`; `audio_target` -> `input_values` of [frames, num_mel_bins] log10-mel spectrograms (a Hann
    window of win_length ms every hop_length ms, Slaney mel filters from fmin to fmax, floored at mel_floor). With
    both, the targets become `labels` and their mask `decoder_attention_mask`. Padding, truncation and
    pad_to_multiple_of count samples for waveforms and frames for spectrograms."""

    defaults = {
        "feature_size": 1, "sampling_rate": 16000, "padding_value": 0.0, "do_normalize": False, "num_mel_bins": 80,
        "hop_length": 16, "win_length": 64, "win_function": "hann_window", "frame_signal_scale": 1.0, "fmin": 80,
        "fmax": 7600, "mel_floor": 1e-10, "reduction_factor": 2, "return_attention_mask": True, "padding_side": "right",
    }  # fmt: skip
    model_input_names = ["input_values", "attention_mask"]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.win_function != "hann_window":
            raise ValueError(f"SpeechT5FeatureExtractor supports win_function='hann_window' only, got {self.win_function!r}.")
        if self.frame_signal_scale != 1.0:
            warnings.warn("frame_signal_scale is deprecated (transformers ignores it too).", FutureWarning, stacklevel=2)
        if self.reduction_factor != 2:
            warnings.warn("reduction_factor is deprecated (transformers ignores it too).", FutureWarning, stacklevel=2)

    @property
    def sample_size(self) -> int:
        """Samples in one analysis window."""
        return self.win_length * self.sampling_rate // 1000

    @property
    def sample_stride(self) -> int:
        """Samples between the starts of two windows."""
        return self.hop_length * self.sampling_rate // 1000

    @property
    def n_fft(self) -> int:
        """The FFT length: the window length rounded up to a power of two."""
        return 1 << max(self.sample_size - 1, 0).bit_length()

    @property
    def mel_filters(self) -> np.ndarray:
        return mel_filter_bank(self.n_fft // 2 + 1, self.num_mel_bins, float(self.fmin), float(self.fmax),
                               self.sampling_rate)  # fmt: skip

    def log_mel_features(self, waveform: np.ndarray) -> np.ndarray:
        """[frames, num_mel_bins] float32 log10-mel spectrogram of one waveform: frames of sample_size samples
        centred by reflect padding, Hann-windowed, zero-padded at the end to n_fft for the FFT."""
        size = self.sample_size
        padded = np.pad(waveform.astype(np.float64), size // 2, mode="reflect")
        starts = np.arange(1 + (len(padded) - size) // self.sample_stride) * self.sample_stride
        frames = padded[starts[:, None] + np.arange(size)] * periodic_hann(size)
        magnitude = np.abs(np.fft.rfft(frames, n=self.n_fft, axis=-1))
        mel = np.maximum(self.mel_floor, magnitude @ self.mel_filters)
        return np.log10(mel).astype(np.float32)

    def __call__(self, audio=None, audio_target=None, padding=False, max_length=None, truncation=False,
                 pad_to_multiple_of=None, return_attention_mask=None, return_tensors=None, sampling_rate=None,
                 **kwargs) -> BatchFeature:  # fmt: skip
        """Waveforms (`audio`) and / or spectrogram targets (`audio_target`); see the class docstring."""
        if audio is None and audio_target is None:
            raise ValueError("You must provide either `audio` or `audio_target` values.")
        self.check_sampling_rate(sampling_rate)
        self.warn_unused(kwargs)
        options = dict(padding=padding, max_length=max_length, truncation=truncation,
                       pad_to_multiple_of=pad_to_multiple_of, return_attention_mask=return_attention_mask,
                       return_tensors=return_tensors)  # fmt: skip
        inputs = self._process(audio, False, **options) if audio is not None else None
        if audio_target is None:
            return inputs
        targets = self._process(audio_target, True, **options)
        if inputs is None:
            return targets
        inputs["labels"] = targets["input_values"]
        if targets.get("attention_mask") is not None:
            inputs["decoder_attention_mask"] = targets["attention_mask"]
        return inputs

    def _process(self, speech, is_target: bool, padding, max_length, truncation, pad_to_multiple_of,
                 return_attention_mask, return_tensors) -> BatchFeature:  # fmt: skip
        waveforms = [_as_float32(wave) for wave in self.to_waveforms(speech)]
        values = [self.log_mel_features(wave) for wave in waveforms] if is_target else waveforms
        padded, masks = self._padded(values, padding, max_length, truncation, pad_to_multiple_of)
        with_mask = self.return_attention_mask if return_attention_mask is None else return_attention_mask
        if not is_target and self.do_normalize:
            # transformers normalises over the unpadded samples only when it pads and returns the mask; otherwise
            # over the whole (padded) waveform
            keep = with_mask and _padding_strategy(padding, max_length) is not None
            padded = [_normalized(value, mask if keep else None, self.padding_value)
                      for value, mask in zip(padded, masks)]  # fmt: skip
        features = {"input_values": padded}
        if with_mask:
            features["attention_mask"] = masks
        return BatchFeature(features, tensor_type=return_tensors)

    def _padded(self, values, padding, max_length, truncation, pad_to_multiple_of):
        """(values, masks): waveforms ([samples]) or spectrograms ([frames, bins]) truncated and padded along time
        as transformers' SequenceFeatureExtractor.pad does (truncation first, then the longest or max_length)."""
        strategy = _padding_strategy(padding, max_length)
        if truncation:
            if max_length is None:
                raise ValueError("truncation=True needs max_length.")
            values = [value[: _round_up(max_length, pad_to_multiple_of)] for value in values]
        if strategy == "longest":
            max_length = max(len(value) for value in values)
        target = _round_up(max_length, pad_to_multiple_of) if strategy else None
        padded, masks = [], []
        for value in values:
            missing = max(target - len(value), 0) if target is not None else 0
            before, after = (missing, 0) if self.padding_side == "left" else (0, missing)
            widths = ((before, after),) + ((0, 0),) * (value.ndim - 1)
            padded.append(np.pad(value, widths, constant_values=self.padding_value).astype(np.float32))
            masks.append(np.pad(np.ones(len(value), dtype=np.int32), (before, after)))
        return padded, masks

    def pad(self, processed_features, padding=True, max_length=None, truncation=False, pad_to_multiple_of=None,
            return_attention_mask=None, return_tensors=None) -> BatchFeature:  # fmt: skip
        """Pad extracted examples (a dict of lists, or a list of dicts, of `input_values`: waveforms or
        spectrogram frames) to one length, as a data collator does. Numpy arrays unless return_tensors says."""
        key = self.model_input_names[0]
        if isinstance(processed_features, (list, tuple)):
            processed_features = {key: [example[key] for example in processed_features]}
        if key not in processed_features:
            raise ValueError(f"pad needs the field {key!r}; got {sorted(processed_features)}.")
        values = [np.asarray(example, dtype=np.float32) for example in processed_features[key]]
        padded, masks = self._padded(values, padding, max_length, truncation, pad_to_multiple_of)
        features = {key: padded}
        if self.return_attention_mask if return_attention_mask is None else return_attention_mask:
            features["attention_mask"] = masks
        return BatchFeature(features, tensor_type=return_tensors or "np")


def _as_float32(wave: np.ndarray) -> np.ndarray:
    return wave.astype(np.float32) if wave.dtype != np.float32 else wave


def _normalized(values: np.ndarray, mask: np.ndarray | None, padding_value: float) -> np.ndarray:
    """Zero mean, unit variance over the first mask.sum() samples (transformers' rule, which assumes right padding);
    the rest set to padding_value."""
    if mask is None:
        return (values - values.mean()) / np.sqrt(values.var() + 1e-7)
    length = int(mask.sum())
    result = (values - values[:length].mean()) / np.sqrt(values[:length].var() + 1e-7)
    result[length:] = padding_value
    return result
