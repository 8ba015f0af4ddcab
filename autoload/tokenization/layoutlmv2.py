"""LayoutLMv2: a BERT WordPiece tokenizer over OCR words, each word with its bounding box.

`tokenizer(words, boxes=...)` gives every token its word's box; [CLS] and padding get `cls_token_box` /
`pad_token_box` ([0, 0, 0, 0]) and [SEP] `sep_token_box` ([1000, 1000, 1000, 1000]). With `word_labels`,
the first token of each word carries the word's label and the others `pad_token_label` (-100).
With `text_pair`, `text` is a question (split on whitespace) and `text_pair` the words.
"""

from __future__ import annotations

from .batch_encoding import BatchEncoding
from .bert import WORDPIECE_SPECIAL_TOKENS, BertTokenizerFast


class LayoutLMv2TokenizerFast(BertTokenizerFast):
    model_input_names = ["input_ids", "token_type_ids", "attention_mask", "bbox"]
    defaults = {**BertTokenizerFast.defaults, **WORDPIECE_SPECIAL_TOKENS, "cls_token_box": [0, 0, 0, 0],
                "sep_token_box": [1000, 1000, 1000, 1000], "pad_token_box": [0, 0, 0, 0], "pad_token_label": -100,
                "only_label_first_subword": True}  # fmt: skip

    def __call__(self, text=None, text_pair=None, boxes=None, word_labels=None, return_tensors=None,
                 return_overflowing_tokens: bool = False, **kwargs) -> BatchEncoding:  # fmt: skip
        """Encode words (or a question and words) with their boxes; see the module docstring."""
        is_pair = text_pair is not None
        words = text_pair if is_pair else text
        if is_pair:
            if not isinstance(text, (str, list, tuple)):
                raise ValueError("With text_pair, text must be a question (str) or a batch of questions (list of str).")
            is_batched = isinstance(text, (list, tuple))
        else:
            if not isinstance(text, (list, tuple)):
                raise ValueError("Words must be a list of str (one example) or a list of lists of str (a batch).")
            is_batched = bool(text) and isinstance(text[0], (list, tuple))
        if boxes is None:
            raise ValueError("LayoutLMv2 tokenizers need boxes= (one [x0, y0, x1, y1] box per word).")
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
            inputs = [(question.split(), example) for question, example in zip(questions, batch_words)]
        else:
            inputs = [list(example) for example in batch_words]

        data, rows = self._encode_batch(
            inputs, is_split_into_words=True, return_overflowing_tokens=return_overflowing_tokens, **kwargs
        )
        samples = data.get("overflow_to_sample_mapping") or list(range(len(rows)))
        data["bbox"] = [self._token_boxes(row, batch_boxes[sample], is_pair) for row, sample in zip(rows, samples)]
        if batch_labels is not None:
            data["labels"] = [
                self._token_labels(row, batch_labels[sample], is_pair) for row, sample in zip(rows, samples)
            ]
        if not is_batched and return_tensors is None and not return_overflowing_tokens:
            data = {key: value[0] if value and isinstance(value[0], list) else value for key, value in data.items()}
        return BatchEncoding(data, rows, tensor_type=return_tensors)

    def _token_boxes(self, row, boxes, is_pair: bool) -> list[list[int]]:
        settings = self.settings
        by_id = {self.cls_token_id: settings["cls_token_box"], self.sep_token_id: settings["sep_token_box"],
                 self.pad_token_id: settings["pad_token_box"]}  # fmt: skip
        result = []
        for token_id, sequence, word in zip(row.ids, row.sequence_ids, row.word_ids):
            if word is None:
                result.append(list(by_id.get(token_id, settings["pad_token_box"])))
            elif is_pair and sequence == 0:
                result.append(list(settings["pad_token_box"]))  # question tokens have no box
            else:
                result.append(list(boxes[word]))
        return result

    def _token_labels(self, row, labels, is_pair: bool) -> list[int]:
        pad_label = self.settings["pad_token_label"]
        first_only = self.settings.get("only_label_first_subword", True)
        result, previous = [], None
        for sequence, word in zip(row.sequence_ids, row.word_ids):
            is_words = sequence == (1 if is_pair else 0)
            if word is None or not is_words:
                result.append(pad_label)
            elif first_only and word == previous:
                result.append(pad_label)
            else:
                result.append(labels[word])
            previous = word if is_words else None
        return result

    def _pad_values(self):
        return {
            **super()._pad_values(),
            "bbox": self.settings["pad_token_box"],
            "labels": self.settings["pad_token_label"],
        }


class LayoutLMv2Tokenizer(LayoutLMv2TokenizerFast):
    pass
