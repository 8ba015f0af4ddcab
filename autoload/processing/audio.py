"""Speech processors: a feature extractor for the audio and a tokenizer for the transcript."""

from __future__ import annotations

from .base import ProcessorMixin


class _SpeechProcessor(ProcessorMixin):
    parts = {"feature_extractor": "AutoFeatureExtractor", "tokenizer": "AutoTokenizer"}

    def __call__(self, audio=None, text=None, sampling_rate=None, **kwargs):
        """Audio -> model inputs; text -> token ids; both -> model inputs with the ids as `labels`."""
        if audio is None and text is None:
            raise ValueError(f"{type(self).__name__} needs audio, text, or both.")
        tensors = kwargs.get("return_tensors")
        inputs = None
        if audio is not None:
            inputs = self.feature_extractor(audio, sampling_rate=sampling_rate, **kwargs)
        if text is None:
            return inputs
        encoded = self.tokenizer(text, return_tensors=tensors)
        if inputs is None:
            return encoded
        inputs["labels"] = encoded["input_ids"]
        return inputs

    def pad(self, *args, **kwargs):
        return self.feature_extractor.pad(*args, **kwargs)


class Wav2Vec2Processor(_SpeechProcessor):
    pass


class WhisperProcessor(_SpeechProcessor):
    def get_decoder_prompt_ids(self, *args, **kwargs):
        return self.tokenizer.get_decoder_prompt_ids(*args, **kwargs)
