import numpy as np

from ..processing_utils import BatchFeature
from .base import SequenceFeatureExtractor


class Wav2Vec2FeatureExtractor(SequenceFeatureExtractor):
    """Raw waveforms, normalised per example to zero mean and unit variance over the real samples."""

    defaults = {**SequenceFeatureExtractor.defaults, "do_normalize": True}
    model_input_names = ["input_values", "attention_mask"]

    def __call__(self, raw_speech, padding=False, max_length=None, truncation=False, return_tensors=None,
                 sampling_rate=None, return_attention_mask=None, **kwargs) -> BatchFeature:  # fmt: skip
        self.check_sampling_rate(sampling_rate)
        values, mask = self.pad_batch(self.as_batch(raw_speech), padding, max_length, truncation)
        if self.do_normalize:
            for row, keep in zip(values, mask.astype(bool)):
                real = row[keep]
                row[keep] = (real - real.mean()) / np.sqrt(real.var() + 1e-7)
                row[~keep] = self.padding_value
        features = {"input_values": values}
        if return_attention_mask if return_attention_mask is not None else self.return_attention_mask:
            features["attention_mask"] = mask
        return BatchFeature(features, tensor_type=return_tensors)
