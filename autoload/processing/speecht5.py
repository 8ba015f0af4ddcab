"""SpeechT5Processor: SpeechT5's feature extractor for speech and its character tokenizer for text."""

from __future__ import annotations

from .base import ProcessorMixin


class SpeechT5Processor(ProcessorMixin):
    """Inputs from `audio` (waveforms) or `text`, targets from `audio_target` (log-mel spectrograms) or
    `text_target` (token ids): the targets become `labels` and their mask `decoder_attention_mask`. Other keyword
    arguments go to the part called (padding, return_tensors …)."""

    parts = {"feature_extractor": "AutoFeatureExtractor", "tokenizer": "AutoTokenizer"}

    def __init__(self, feature_extractor=None, tokenizer=None):
        super().__init__(feature_extractor=feature_extractor, tokenizer=tokenizer)

    def __call__(self, *args, audio=None, text=None, text_target=None, audio_target=None, sampling_rate=None,
                 **kwargs):  # fmt: skip
        if audio is not None and text is not None:
            raise ValueError("Cannot process both `audio` and `text` inputs. Did you mean `audio_target` or `text_target`?")
        if audio_target is not None and text_target is not None:
            raise ValueError("Cannot process both `audio_target` and `text_target` inputs. Did you mean `audio` or `text`?")
        if audio is None and audio_target is None and text is None and text_target is None:
            raise ValueError("You need to specify either an `audio`, `audio_target`, `text`, or `text_target` input.")
        if audio is not None:
            inputs = self.feature_extractor(audio, *args, sampling_rate=sampling_rate, **kwargs)
        elif text is not None:
            inputs = self.tokenizer(text, **kwargs)
        else:
            inputs = None
        if audio_target is not None:
            targets = self.feature_extractor(*args, audio_target=audio_target, sampling_rate=sampling_rate, **kwargs)
            labels = targets["input_values"]
        elif text_target is not None:
            targets = self.tokenizer(text_target, **kwargs)
            labels = targets["input_ids"]
        else:
            return inputs
        if inputs is None:
            return targets
        inputs["labels"] = labels
        if targets.get("attention_mask") is not None:
            inputs["decoder_attention_mask"] = targets["attention_mask"]
        return inputs

    def pad(self, *args, input_values=None, input_ids=None, labels=None, **kwargs):
        """Collate examples: input_values by the feature extractor, input_ids by the tokenizer, labels by the one
        they came from (token ids when they hold input_ids, else log-mel frames)."""
        if input_values is not None and input_ids is not None:
            raise ValueError("Cannot process both `input_values` and `input_ids` inputs.")
        if input_values is None and input_ids is None and labels is None:
            raise ValueError("You need to specify either an `input_values`, `input_ids`, or `labels` input to be padded.")
        if input_values is not None:
            inputs = self.feature_extractor.pad(input_values, *args, **kwargs)
        elif input_ids is not None:
            inputs = self.tokenizer.pad(input_ids, **kwargs)
        else:
            inputs = None
        if labels is None:
            return inputs
        if "input_ids" in labels or (isinstance(labels, list) and "input_ids" in labels[0]):
            targets = self.tokenizer.pad(labels, **kwargs)
            labels = targets["input_ids"]
        else:
            targets = self.feature_extractor.pad(labels, *args, **kwargs)
            labels = targets["input_values"]
        if inputs is None:
            return targets
        inputs["labels"] = labels
        if targets.get("attention_mask") is not None:
            inputs["decoder_attention_mask"] = targets["attention_mask"]
        return inputs
