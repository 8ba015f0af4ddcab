import numpy as np

from ..processing_utils import BatchFeature
from .base import SequenceFeatureExtractor
from .mel import log_mel_spectrogram, mel_filter_bank


class WhisperFeatureExtractor(SequenceFeatureExtractor):
    """Log-mel features (80 or 128 bins) of audio padded or cut to chunk_length seconds (30 by default)."""

    defaults = {**SequenceFeatureExtractor.defaults, "feature_size": 80, "hop_length": 160, "chunk_length": 30,
                "n_fft": 400, "padding_value": 0.0, "return_attention_mask": False, "dither": 0.0}  # fmt: skip
    model_input_names = ["input_features"]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.n_samples = int(self.chunk_length * self.sampling_rate)
        self.nb_max_frames = self.n_samples // self.hop_length
        self._mel_filters = mel_filter_bank(1 + self.n_fft // 2, self.feature_size, 0.0, 8000.0, self.sampling_rate)

    def __call__(self, raw_speech, truncation=True, padding="max_length", max_length=None, return_tensors=None,
                 sampling_rate=None, return_attention_mask=None, do_normalize=None, **kwargs) -> BatchFeature:  # fmt: skip
        self.check_sampling_rate(sampling_rate)
        values, mask = self.pad_batch(self.as_batch(raw_speech), padding, max_length or self.n_samples, truncation)
        if do_normalize:
            for row, keep in zip(values, mask.astype(bool)):
                real = row[keep]
                row[keep] = (real - real.mean()) / np.sqrt(real.var() + 1e-7)
        features = []
        for wave in values:
            log_spec = log_mel_spectrogram(wave, self._mel_filters, self.n_fft, self.hop_length)[:, :-1]
            log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
            features.append(((log_spec + 4.0) / 4.0).astype(np.float32))
        result = {"input_features": np.stack(features)}
        if return_attention_mask:
            result["attention_mask"] = mask[:, :: self.hop_length]
        return BatchFeature(result, tensor_type=return_tensors)

    def to_dict(self):
        data = super().to_dict()
        data.pop("_mel_filters", None)
        return data
