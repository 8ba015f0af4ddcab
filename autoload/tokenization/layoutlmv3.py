"""LayoutLMv3: RoBERTa's byte-level BPE over OCR words, each word with its bounding box.

`tokenizer(words, boxes=...)` encodes pre-split words (each word gets a leading space, add_prefix_space=True) and
gives every token its word's box; <s>, </s> and padding get `cls_token_box`, `sep_token_box` and `pad_token_box`
(all [0, 0, 0, 0] by default). With `text_pair`, `text` is a question (split on whitespace; its tokens get the pad
box) and `text_pair` the words. With `word_labels`, a word's label goes to its first token: a token that starts
its word (offset 0) unless the token before it was an empty one (a lone "Ġ"), the others get `pad_token_label`
(-100). As in transformers, question tokens also take labels, indexed by their question word.
"""

from __future__ import annotations

from .batch_encoding import BatchEncoding
from .byte_level import RobertaTokenizerFast

_BOX_DEFAULTS = {"cls_token_box": [0, 0, 0, 0], "sep_token_box": [0, 0, 0, 0], "pad_token_box": [0, 0, 0, 0],
                 "pad_token_label": -100, "only_label_first_subword": True}  # fmt: skip


def _is_words(value) -> bool:
    """A list of words (str), possibly empty."""
    return isinstance(value, (list, tuple)) and all(isinstance(word, str) for word in value)


class LayoutLMv3TokenizerFast(RobertaTokenizerFast):
    model_input_names = ["input_ids", "attention_mask"]
    defaults = {**RobertaTokenizerFast.defaults, "add_prefix_space": True, **_BOX_DEFAULTS}

    def _prepare_inputs(self, inputs, is_split_into_words):
        return inputs  # words are always pre-split, with or without add_prefix_space

    def __call__(self, text=None, text_pair=None, boxes=None, word_labels=None, return_tensors=None,
                 return_overflowing_tokens: bool = False, return_offsets_mapping: bool = False,
                 **kwargs) -> BatchEncoding:  # fmt: skip
        """Encode words (or questions and words) with their boxes; see the module docstring."""
        is_pair = text_pair is not None
        if is_pair:
            if not (isinstance(text, str) or _is_words(text)):
                raise ValueError("With text_pair, text must be a question (str) or a batch of questions (list of str).")
            if not isinstance(text_pair, (list, tuple)):
                raise ValueError("text_pair must be the words: a list of str (one example) or a list of lists (a batch).")
            is_batched = isinstance(text, (list, tuple))
        else:
            if not isinstance(text, (list, tuple)):
                raise ValueError(
                    "LayoutLMv3 tokenizers take words: a list of str (one example) or a list of lists of str (a batch); "
                    f"got {type(text).__name__}. Split the text into words and give one box per word."
                )
            is_batched = bool(text) and isinstance(text[0], (list, tuple))
        words = text_pair if is_pair else text
        if boxes is None:
            raise ValueError("LayoutLMv3 tokenizers need boxes= (one [x0, y0, x1, y1] box per word, 0-1000 scale).")
        batch_words = list(words) if is_batched else [words]
        batch_boxes = list(boxes) if is_batched else [boxes]
        batch_labels = (list(word_labels) if is_batched else [word_labels]) if word_labels is not None else None
        if len(batch_words) != len(batch_boxes):
            raise ValueError(f"{len(batch_words)} examples of words but {len(batch_boxes)} of boxes; they must match.")
        for example_words, example_boxes in zip(batch_words, batch_boxes):
            if len(example_words) != len(example_boxes):
                raise ValueError(f"{len(example_words)} words but {len(example_boxes)} boxes; give one box per word.")
        if is_pair:
            questions = list(text) if is_batched else [text]
            if len(questions) != len(batch_words):
                raise ValueError(f"{len(questions)} questions but {len(batch_words)} examples of words; they must match.")
            inputs = [(question.split(), list(example)) for question, example in zip(questions, batch_words)]
        else:
            inputs = [list(example) for example in batch_words]

        data, rows = self._encode_batch(inputs, is_split_into_words=True, return_overflowing_tokens=return_overflowing_tokens,
                                        return_offsets_mapping=return_offsets_mapping, **kwargs)  # fmt: skip
        samples = data.get("overflow_to_sample_mapping") or list(range(len(rows)))
        data["bbox"] = [self._token_boxes(row, batch_boxes[sample], is_pair) for row, sample in zip(rows, samples)]
        if batch_labels is not None:
            data["labels"] = [self._token_labels(row, batch_labels[sample]) for row, sample in zip(rows, samples)]
        if not is_batched and return_tensors is None and not return_overflowing_tokens:
            data = {key: value[0] if value and isinstance(value[0], list) else value for key, value in data.items()}
        return BatchEncoding(data, rows, tensor_type=return_tensors)

    def _token_boxes(self, row, boxes, is_pair: bool) -> list[list[int]]:
        settings = self.settings
        by_id = {self.cls_token_id: settings["cls_token_box"], self.sep_token_id: settings["sep_token_box"],
                 self.pad_token_id: settings["pad_token_box"]}  # fmt: skip
        result = []
        for token_id, sequence, word in zip(row.ids, row.sequence_ids, row.word_ids):
            if word is not None:
                result.append(list(settings["pad_token_box"] if is_pair and sequence == 0 else boxes[word]))
            elif token_id in by_id:
                result.append(list(by_id[token_id]))
            else:
                raise ValueError(
                    f"Token id {token_id} belongs to no word and is not <s>, </s> or <pad>, so it has no box (transformers "
                    "raises 'Id not recognized' here too)."
                )
        return result

    def _token_labels(self, row, labels) -> list[int]:
        pad_label = self.settings["pad_token_label"]
        first_only = self.settings.get("only_label_first_subword", True)
        result, previous_empty = [], False
        for offset, word in zip(row.offsets, row.word_ids):
            if word is None:
                result.append(pad_label)
            elif not first_only:
                result.append(labels[word])
            else:
                result.append(labels[word] if offset[0] == 0 and not previous_empty else pad_label)
                previous_empty = tuple(offset) == (0, 0)
        return result

    def _pad_values(self):
        return {**super()._pad_values(), "bbox": self.settings["pad_token_box"], "labels": self.settings["pad_token_label"]}


class LayoutLMv3Tokenizer(LayoutLMv3TokenizerFast):
    """transformers' pure-Python class; here the same fast implementation under its name."""
