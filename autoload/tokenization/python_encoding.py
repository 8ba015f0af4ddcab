"""The encoding path of transformers' pure-Python ("slow") tokenizers, for families that only have one.

Where transformers 4.57 has no fast class (SigLIP), its results come from `PreTrainedTokenizer`: text is
split on added tokens in Python, each piece tokenized on its own, then `prepare_for_model` truncates the
ids, adds the special tokens and pads. That path differs from the Rust one in visible ways, which this
mixin reproduces: overflowing tokens come back as `overflowing_tokens` / `num_truncated_tokens` instead of
extra rows, a pair that cannot be truncated as asked is left as it is (transformers only logs), `length`
is measured before batch padding, and offsets are not available at all.
"""

from __future__ import annotations

import itertools
import logging
import re

from .base import _as_id_list, _check_text, clean_up_tokenization
from .batch_encoding import BatchEncoding

logger = logging.getLogger(__name__)


class PythonEncodingMixin:
    """Mixed into a PreTrainedTokenizerFast subclass; the subclass gives `_tokenize(chunk) -> list[str]`."""

    is_fast = False

    # --- text to tokens ------------------------------------------------------------------------------

    def _tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    # Call keyword arguments that go to `tokenize` (and so to `prepare_for_tokenization`), e.g. VITS' normalize.
    tokenize_kwargs: tuple[str, ...] = ()

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs) -> tuple[str, dict]:
        """The text a family tokenizes (number spelling, normalisation …) and the keyword arguments it left."""
        return text, kwargs

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        """Tokens of a text: lower-cased when do_lower_case, split on added tokens, the rest by `_tokenize`."""
        split = kwargs.pop("split_special_tokens", None)
        if split is None:
            split = self.split_special_tokens
        text, _ = self.prepare_for_tokenization(text, **kwargs)
        if self.settings.get("do_lower_case"):
            text = self._lower_except_special(text)
        added = {token.content: token for token in self.added_tokens_decoder.values()} if not split else {}
        chunks = _split_on(text, added)
        for i, chunk in enumerate(chunks):
            token = added.get(chunk)
            if token is None:
                continue
            left = chunks[i - 1] if i > 0 else None
            right = chunks[i + 1] if i < len(chunks) - 1 else None
            # An added token's lstrip/rstrip take the whitespace from its neighbours, as transformers does.
            if token.rstrip and right:
                chunks[i + 1] = right.lstrip()
            if token.lstrip and left:
                chunks[i - 1] = left.rstrip()
            if token.single_word and left and left[-1] != " ":
                chunks[i - 1] += chunk
                chunks[i] = ""
            elif token.single_word and right and right[0] != " ":
                chunks[i] += right
                chunks[i + 1] = ""
        tokens: list[str] = []
        for chunk in chunks:
            if not chunk:
                continue
            if chunk in added:
                tokens.append(chunk)
            else:
                tokens.extend(self._tokenize(chunk))
        return tokens

    def _lower_except_special(self, text: str) -> str:
        keep = list(self.all_special_tokens)
        keep += [t.content for t in self.added_tokens_decoder.values() if not t.special and t.normalized]
        pattern = "(" + "|".join(re.escape(token) for token in keep) + r")|(.+?)"
        return re.sub(pattern, lambda match: match.group(1) or match.group(2).lower(), text)

    def _text_to_ids(self, text, is_split_into_words: bool, split_special_tokens, **tokenize_options) -> list[int]:
        options = {} if split_special_tokens is None else {"split_special_tokens": split_special_tokens}
        options.update(tokenize_options)
        if is_split_into_words:
            words = (self.tokenize(word, is_split_into_words=True, **options) for word in text)
            tokens = list(itertools.chain.from_iterable(words))
        else:
            tokens = self.tokenize(text, **options)
        return self.convert_tokens_to_ids(tokens)

    # --- special-token layout (T5 style by default: one eos after each sequence) ----------------------

    def build_inputs_with_special_tokens(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        raise NotImplementedError

    def create_token_type_ids_from_sequences(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        raise NotImplementedError

    def get_special_tokens_mask(self, ids: list[int], pair: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:  # fmt: skip
        raise NotImplementedError

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return len(self.build_inputs_with_special_tokens([], [] if pair else None))

    # --- calls ---------------------------------------------------------------------------------------

    def _call_one(self, text, text_pair=None, *, is_split_into_words: bool = False, return_tensors=None,
                  return_overflowing_tokens: bool = False, **options) -> BatchEncoding:  # fmt: skip
        _check_text(text, "text")
        if text_pair is not None:
            _check_text(text_pair, "text_pair")
        if is_split_into_words:
            batched = isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
        else:
            batched = isinstance(text, (list, tuple))
        if options.pop("return_offsets_mapping", False):
            raise NotImplementedError(
                f"return_offsets_mapping is not available with {type(self).__name__}: transformers has only a "
                "pure-Python class for it, which gives no offsets."
            )
        if batched:
            if isinstance(text_pair, str):
                raise TypeError("When tokenizing a batch, text_pair must be a list of the same length as text.")
            if text_pair is not None and len(text) != len(text_pair):
                raise ValueError(f"text has {len(text)} items but text_pair has {len(text_pair)}; they must match.")
            pairs = list(zip(text, text_pair)) if text_pair is not None else [(item, None) for item in text]
        else:
            pairs = [(text, text_pair)]
        split = options.pop("split_special_tokens", None)
        tokenize_options = {key: options.pop(key) for key in self.tokenize_kwargs if key in options}
        ids = [
            (
                self._text_to_ids(first, is_split_into_words, split, **tokenize_options),
                None if second is None else self._text_to_ids(second, is_split_into_words, split, **tokenize_options),
            )
            for first, second in pairs
        ]
        data = self._prepare_batch(
            ids, batched=batched, return_overflowing_tokens=return_overflowing_tokens, **options
        )
        return BatchEncoding(data, tensor_type=return_tensors, prepend_batch_axis=not batched and bool(return_tensors))

    def _prepare_batch(self, ids, *, batched: bool, add_special_tokens: bool = True, padding=False, truncation=None,
                       max_length=None, stride: int = 0, pad_to_multiple_of=None, padding_side=None,
                       return_token_type_ids=None, return_attention_mask=None, return_overflowing_tokens=False,
                       return_special_tokens_mask=False, return_length=False, verbose=True,
                       **unused) -> dict:  # fmt: skip
        if unused:
            logger.warning("Keyword arguments %s not recognized by %s; they are ignored.", unused, type(self).__name__)
        padding_strategy, truncation_strategy, max_length = self._strategies(
            padding, truncation, max_length, pad_to_multiple_of
        )
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        rows = [
            self._prepare_for_model(
                first, second, add_special_tokens=add_special_tokens, truncation_strategy=truncation_strategy,
                max_length=max_length, stride=stride, return_token_type_ids=return_token_type_ids,
                return_overflowing_tokens=return_overflowing_tokens,
                return_special_tokens_mask=return_special_tokens_mask,
            )  # fmt: skip
            for first, second in ids
        ]
        if batched:
            if return_length:
                for row in rows:
                    row["length"] = len(row["input_ids"])  # measured before padding, as transformers does
            data = {key: [row[key] for row in rows] for key in rows[0]} if rows else {}
        else:
            data = rows[0]
        if batched or padding_strategy != "do_not_pad" or return_attention_mask:
            data = dict(
                self.pad(
                    data, padding=padding_strategy, max_length=max_length, pad_to_multiple_of=pad_to_multiple_of,
                    padding_side=padding_side, return_attention_mask=return_attention_mask,
                )
            )  # fmt: skip
        if not batched and return_length:
            data["length"] = len(data["input_ids"])
        return data

    def _prepare_for_model(self, ids, pair_ids, *, add_special_tokens, truncation_strategy, max_length, stride,
                           return_token_type_ids, return_overflowing_tokens,
                           return_special_tokens_mask) -> dict:  # fmt: skip
        if return_token_type_ids and not add_special_tokens:
            raise ValueError(
                "return_token_type_ids=True with add_special_tokens=False is not defined for this tokenizer; "
                "set add_special_tokens=True or leave return_token_type_ids unset."
            )
        if return_overflowing_tokens and truncation_strategy == "longest_first" and pair_ids is not None:
            raise ValueError(
                "Overflowing tokens cannot be returned for a pair truncated with 'longest_first'; use "
                "truncation='only_first' or 'only_second'."
            )
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        pair = pair_ids is not None
        total = len(ids) + (len(pair_ids) if pair else 0)
        total += self.num_special_tokens_to_add(pair=pair) if add_special_tokens else 0
        overflowing: list[int] = []
        if truncation_strategy != "do_not_truncate" and max_length and total > max_length:
            ids, pair_ids, overflowing = self._truncate(ids, pair_ids, total - max_length, truncation_strategy, stride)
        row: dict = {}
        if return_overflowing_tokens:
            row["overflowing_tokens"] = overflowing
            row["num_truncated_tokens"] = total - max_length
        if add_special_tokens:
            sequence = self.build_inputs_with_special_tokens(ids, pair_ids)
            token_type_ids = self.create_token_type_ids_from_sequences(ids, pair_ids)
        else:
            sequence = ids + pair_ids if pair else ids
            token_type_ids = [0] * len(sequence)
        row["input_ids"] = sequence
        if return_token_type_ids:
            row["token_type_ids"] = token_type_ids
        if return_special_tokens_mask:
            row["special_tokens_mask"] = (
                self.get_special_tokens_mask(ids, pair_ids) if add_special_tokens else [0] * len(sequence)
            )
        return row

    def _truncate(self, ids, pair_ids, remove: int, strategy: str, stride: int):
        """transformers' truncate_sequences: (ids, pair_ids, overflowing tokens)."""
        left = self.truncation_side == "left"
        if strategy == "only_first" or (strategy == "longest_first" and pair_ids is None):
            if len(ids) <= remove:
                logger.error("Need to remove %d tokens but the first sequence has only %d.", remove, len(ids))
                return ids, pair_ids, []
            window = min(len(ids), stride + remove)
            return (ids[remove:], pair_ids, ids[:window]) if left else (ids[:-remove], pair_ids, ids[-window:])
        if strategy == "longest_first":
            first_remove = min(abs(len(pair_ids) - len(ids)), remove)
            second_remove = remove - first_remove
            if len(ids) > len(pair_ids):
                from_ids, from_pair = first_remove + second_remove // 2, second_remove - second_remove // 2
            else:
                from_ids, from_pair = second_remove // 2, first_remove + second_remove - second_remove // 2
            if left:
                return ids[from_ids:], pair_ids[from_pair:], []
            return (ids[:-from_ids] if from_ids else ids), (pair_ids[:-from_pair] if from_pair else pair_ids), []
        if strategy == "only_second" and pair_ids is not None:
            if len(pair_ids) <= remove:
                logger.error("Need to remove %d tokens but the second sequence has only %d.", remove, len(pair_ids))
                return ids, pair_ids, []
            window = min(len(pair_ids), stride + remove)
            if left:
                return ids, pair_ids[remove:], pair_ids[:window]
            return ids, pair_ids[:-remove], pair_ids[-window:]
        return ids, pair_ids, []

    # --- decoding ------------------------------------------------------------------------------------

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        raise NotImplementedError

    def decode(self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None,
               spaces_between_special_tokens: bool = True, **kwargs) -> str:  # fmt: skip
        """Text of ids as transformers' Python tokenizers build it: added tokens kept apart from the rest."""
        tokens = self.convert_ids_to_tokens(_as_id_list(token_ids), skip_special_tokens=skip_special_tokens)
        special = set(self.all_special_tokens)
        vocab_size = self.vocab_size
        kept_apart = (set(self.added_tokens_encoder) - special) | {
            token for token in self.additional_special_tokens if self.convert_tokens_to_ids(token) >= vocab_size
        }
        parts: list[str] = []
        current: list[str] = []
        for token in tokens:
            if skip_special_tokens and token in special:
                continue
            if token in kept_apart:
                if current:
                    text = self.convert_tokens_to_string(current)
                    if text:
                        parts.append(text)
                    current = []
                parts.append(token)
            else:
                current.append(token)
        if current:
            parts.append(self.convert_tokens_to_string(current))
        text = (" " if spaces_between_special_tokens else "").join(parts)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text


def _split_on(text: str, added: dict) -> list[str]:
    """Split text around the added tokens: leftmost match first, the longest token where several start."""
    if not added:
        return [text] if text else []
    pattern = "(" + "|".join(re.escape(token) for token in sorted(added, key=len, reverse=True)) + ")"
    return [part for part in re.split(pattern, text) if part]
