"""Speech processors: a feature extractor for the audio and a tokenizer for the transcript."""

from __future__ import annotations

from .base import ProcessorMixin
from .kwargs import split_kwargs


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
    def __call__(self, audio=None, text=None, images=None, videos=None, **kwargs):
        """Audio -> feature extractor, text -> tokenizer, each given the keyword arguments it takes (`padding`
        and `return_tensors` both), as transformers 4.57 sorts them; both -> audio inputs with `labels`."""
        if "raw_speech" in kwargs:  # the older name of `audio`
            audio = kwargs.pop("raw_speech")
        if audio is None and text is None:
            raise ValueError(f"{type(self).__name__} needs audio, text, or both.")
        options = split_kwargs(kwargs, tokenizer=self.tokenizer, processor=type(self).__name__)
        inputs = self.feature_extractor(audio, **options["audio_kwargs"]) if audio is not None else None
        if text is None:
            return inputs
        encoded = self.tokenizer(text, **options["text_kwargs"])
        if inputs is None:
            return encoded
        inputs["labels"] = encoded["input_ids"]
        return inputs


class WhisperProcessor(_SpeechProcessor):
    def get_decoder_prompt_ids(self, *args, **kwargs):
        return self.tokenizer.get_decoder_prompt_ids(*args, **kwargs)

    def get_prompt_ids(self, text: str, return_tensors="np"):
        return self.tokenizer.get_prompt_ids(text, return_tensors=return_tensors)
