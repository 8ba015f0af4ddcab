"""SequenceFeatureExtractor: the sampling-rate check, waveform validation, padding / truncation and
per-example normalisation shared by the audio feature extractors."""

from __future__ import annotations

import warnings

import numpy as np

from ..processing_utils import BatchFeature, PreprocessorMixin

_PAD_LONGEST, _PAD_MAX_LENGTH = "longest", "max_length"


class SequenceFeatureExtractor(PreprocessorMixin):
    type_key = "feature_extractor_type"
    defaults: dict = {"feature_size": 1, "sampling_rate": 16000, "padding_value": 0.0, "padding_side": "right",
                      "return_attention_mask": True}  # fmt: skip
    model_input_names = ["input_values", "attention_mask"]

    def check_sampling_rate(self, sampling_rate) -> None:
        """Refuse audio recorded at another rate (the model would hear it sped up or slowed down)."""
        if sampling_rate is None:
            warnings.warn(
                f"No sampling_rate was passed to {type(self).__name__}; pass sampling_rate={self.sampling_rate} to "
                "check that the audio was recorded at the rate the model expects.",
                stacklevel=3,
            )
        elif sampling_rate != self.sampling_rate:
            raise ValueError(
                f"{type(self).__name__} expects audio sampled at {self.sampling_rate} Hz, but sampling_rate="
                f"{sampling_rate} Hz was passed. Resample the audio to {self.sampling_rate} Hz first."
            )

    def warn_unused(self, kwargs: dict) -> None:
        if kwargs:
            warnings.warn(f"{type(self).__name__} ignores the unknown arguments {sorted(kwargs)}.", stacklevel=3)

    @staticmethod
    def to_waveforms(raw_speech) -> list[np.ndarray]:
        """One waveform (1-D array or list of numbers) or a batch of them -> list of 1-D float32 arrays."""
        if hasattr(raw_speech, "__array__"):  # numpy arrays and framework tensors
            array = np.asarray(raw_speech)
            # (batch, samples) is a batch; a tall array with a few columns is channels-last audio, not a batch
            # of waveforms a few samples long.
            if array.ndim == 2 and array.shape[1] < array.shape[0] and array.shape[1] <= 8:
                raise ValueError(
                    f"Got audio of shape {array.shape}, which looks like {array.shape[1]} channels (samples x "
                    "channels); only mono audio is supported. Average the channels (audio.mean(axis=1)) or pick one. "
                    "A batch of waveforms is a list of 1-D arrays or a (batch, samples) array."
                )
            batch = list(array) if array.ndim >= 2 else [array]
        elif isinstance(raw_speech, (list, tuple)):
            if not raw_speech:
                raise ValueError("Got no audio (an empty list).")
            batch = [raw_speech] if np.isscalar(raw_speech[0]) else list(raw_speech)
        else:
            raise TypeError(
                f"Audio must be a numpy array or a list of numbers / arrays, got {type(raw_speech).__name__}."
            )
        return [_mono_waveform(wave) for wave in batch]

    def pad_waveforms(self, waveforms, padding=False, max_length=None, truncation=False, pad_to_multiple_of=None):
        """(values, attention masks): lists of float32 / int32 arrays, truncated and padded as asked.

        padding: True or "longest" (to the longest), "max_length" (to max_length), False (not at all);
        lengths are rounded up to a multiple of pad_to_multiple_of when given.
        """
        strategy = _padding_strategy(padding, max_length)
        if truncation:
            if max_length is None:
                raise ValueError("truncation=True needs max_length.")
            limit = _round_up(max_length, pad_to_multiple_of)
            waveforms = [wave[:limit] for wave in waveforms]
        target = {_PAD_LONGEST: max(map(len, waveforms)), _PAD_MAX_LENGTH: max_length}.get(strategy)
        target = _round_up(target, pad_to_multiple_of) if target is not None else None
        if self.padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {self.padding_side!r}.")
        values, masks = [], []
        for wave in waveforms:
            missing = max(target - len(wave), 0) if target is not None else 0
            before, after = (missing, 0) if self.padding_side == "left" else (0, missing)
            values.append(np.pad(wave, (before, after), constant_values=self.padding_value))
            masks.append(np.pad(np.ones(len(wave), dtype=np.int32), (before, after)))
        return values, masks

    def pad(self, processed_features, padding=True, max_length=None, truncation=False, pad_to_multiple_of=None,
            return_attention_mask=None, return_tensors=None) -> BatchFeature:  # fmt: skip
        """Pad already extracted examples (a dict of lists, or a list of dicts, keyed by the model's first
        input name) to one length, as a data collator does. Returns numpy arrays unless return_tensors says."""
        key = self.model_input_names[0]
        if isinstance(processed_features, (list, tuple)):
            processed_features = {key: [example[key] for example in processed_features]}
        if key not in processed_features:
            raise ValueError(f"pad needs the field {key!r}; got {sorted(processed_features)}.")
        waveforms = [np.asarray(example, dtype=np.float32) for example in processed_features[key]]
        values, masks = self.pad_waveforms(waveforms, padding, max_length, truncation, pad_to_multiple_of)
        padded = {key: values}
        if return_attention_mask if return_attention_mask is not None else self.return_attention_mask:
            padded["attention_mask"] = masks
        return BatchFeature(padded, tensor_type=return_tensors or "np")


def normalize_waveform(values: np.ndarray, mask: np.ndarray, padding_value: float) -> np.ndarray:
    """Zero mean and unit variance over the real (unmasked) samples; padding keeps padding_value."""
    real = mask.astype(bool)
    out = np.full_like(values, padding_value)
    samples = values[real]
    out[real] = (samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)
    return out


def _mono_waveform(wave) -> np.ndarray:
    array = np.asarray(wave)
    if array.dtype.kind not in "uif":
        raise TypeError(f"Audio samples must be numbers (float or int), got dtype {array.dtype}.")
    if array.ndim != 1:
        raise ValueError(
            f"Only mono audio is supported; got a waveform of shape {array.shape}. Average the channels "
            "(e.g. audio.mean(axis=0)) or pick one."
        )
    if array.size == 0:
        raise ValueError("Got an empty waveform; every example needs at least one sample.")
    return array.astype(np.float32)


def _padding_strategy(padding, max_length) -> str | None:
    if padding is True or padding == _PAD_LONGEST:
        return _PAD_LONGEST
    if padding == _PAD_MAX_LENGTH:
        if max_length is None:
            raise ValueError("padding='max_length' needs max_length.")
        return _PAD_MAX_LENGTH
    if padding in (False, None, "do_not_pad"):
        return None
    raise ValueError(f"padding must be True, 'longest', 'max_length' or False, got {padding!r}.")


def _round_up(length: int, multiple: int | None) -> int:
    return -(-length // multiple) * multiple if multiple else length
