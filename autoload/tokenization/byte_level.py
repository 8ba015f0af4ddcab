"""Byte-level BPE tokenizers: GPT-2, RoBERTa, BART, CLIP, Whisper and Qwen2.

All read vocab.json + merges.txt when tokenizer.json is absent; they differ in special tokens, in the
post-processor that adds them, and (CLIP, Qwen2) in how text is split before the byte-level step.
"""

from __future__ import annotations

import json
import re

from tokenizers import models, pre_tokenizers, processors

from .base import PreTrainedTokenizerFast, clean_up_tokenization
from .batch_encoding import BatchEncoding
from .converters import byte_level_bpe, clip_bpe, qwen2_bpe, read_json_vocab, read_merges
from .whisper_normalizer import basic_normalize as whisper_basic_normalize

_NO_ENGLISH_NORMALIZER = (
    "Whisper's English text normalizer (WhisperTokenizer.normalize, decode(normalize=True)) is not implemented in "
    "autoload; use basic_normalize / decode(basic_normalize=True), or normalise the text yourself."
)


class ByteLevelBPETokenizerFast(PreTrainedTokenizerFast):
    """Shared loading and saving of the vocab.json + merges.txt families."""

    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt"}
    model_input_names = ["input_ids", "attention_mask"]
    merges_limit: int | None = None

    @property
    def add_prefix_space(self) -> bool:
        return bool(self.settings.get("add_prefix_space"))

    def _read_vocab_files(self, files) -> tuple[dict, list]:
        return read_json_vocab(files["vocab_file"]), read_merges(files["merges_file"], self.merges_limit)

    def _backend_from_vocab_files(self, files):
        vocab, merges = self._read_vocab_files(files)
        tokenizer = byte_level_bpe(vocab, merges, add_prefix_space=self.add_prefix_space)
        tokenizer.post_processor = self._post_processor(vocab)
        return tokenizer

    def _post_processor(self, vocab: dict):
        return processors.ByteLevel(trim_offsets=False)

    def _sync_backend(self) -> None:
        # An add_prefix_space given to the constructor wins over the one stored in tokenizer.json.
        if self.settings.get("add_prefix_space") is None:
            return
        pre_tokenizer = self._tokenizer.pre_tokenizer
        if pre_tokenizer is None:
            return
        state = json.loads(pre_tokenizer.__getstate__())
        if state.get("type") == "ByteLevel" and state.get("add_prefix_space") != self.add_prefix_space:
            self._tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(
                add_prefix_space=self.add_prefix_space,
                trim_offsets=state.get("trim_offsets", True),
                use_regex=state.get("use_regex", True),
            )

    def _prepare_inputs(self, inputs, is_split_into_words):
        if is_split_into_words and not self.add_prefix_space:
            raise ValueError(
                f"{type(self).__name__} needs add_prefix_space=True to encode text already split into words: "
                "load it with from_pretrained(..., add_prefix_space=True)."
            )
        return inputs

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return isinstance(self._tokenizer.model, models.BPE)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        if not self.can_save_slow_tokenizer:
            return ()
        return tuple(self._tokenizer.model.save(save_directory, filename_prefix))


class GPT2TokenizerFast(ByteLevelBPETokenizerFast):
    defaults = {"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                "add_prefix_space": False, "add_bos_token": False}  # fmt: skip
    # Declared as plain strings (older checkpoints: GPT-J, OPT), they are added as normalized tokens.
    special_token_flags = {name: {"normalized": True} for name in ("bos_token", "eos_token", "unk_token", "pad_token")}

    def _post_processor(self, vocab):
        if self.settings.get("add_bos_token"):
            bos = self.bos_token
            return processors.TemplateProcessing(
                single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 $B:1", special_tokens=[(bos, vocab[bos])]
            )
        return processors.ByteLevel(trim_offsets=False)


class RobertaTokenizerFast(ByteLevelBPETokenizerFast):
    defaults = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
                "pad_token": "<pad>", "mask_token": "<mask>", "add_prefix_space": False, "trim_offsets": True}  # fmt: skip
    special_token_flags = {"mask_token": {"lstrip": True}}

    def _post_processor(self, vocab):
        return processors.RobertaProcessing(
            (self.sep_token, vocab[self.sep_token]),
            (self.cls_token, vocab[self.cls_token]),
            add_prefix_space=self.add_prefix_space,
            trim_offsets=bool(self.settings.get("trim_offsets", True)),
        )

    def _sync_backend(self) -> None:
        super()._sync_backend()
        post_processor = self._tokenizer.post_processor
        if post_processor is None:
            return
        state = json.loads(post_processor.__getstate__())
        if state.get("type") != "RobertaProcessing":
            return
        wanted = {
            "add_prefix_space": self.add_prefix_space,
            "trim_offsets": bool(self.settings.get("trim_offsets", True)),
        }
        if any(state.get(key, value) != value for key, value in wanted.items()):
            self._tokenizer.post_processor = processors.RobertaProcessing(
                tuple(state["sep"]), tuple(state["cls"]), **wanted
            )


class BartTokenizerFast(RobertaTokenizerFast):
    pass


class CLIPTokenizerFast(ByteLevelBPETokenizerFast):
    defaults = {"unk_token": "<|endoftext|>", "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                "pad_token": "<|endoftext|>"}  # fmt: skip
    merges_limit = 49152 - 256 - 2  # CLIP reads only this many merges from merges.txt

    def _backend_from_vocab_files(self, files):
        vocab, merges = self._read_vocab_files(files)
        tokenizer = clip_bpe(vocab, merges, unk_token=self.unk_token)
        tokenizer.post_processor = processors.RobertaProcessing(
            (self.eos_token, vocab[self.eos_token]),
            (self.bos_token, vocab[self.bos_token]),
            add_prefix_space=False,
            trim_offsets=False,
        )
        return tokenizer

    def _sync_backend(self) -> None:
        pass

    def _prepare_inputs(self, inputs, is_split_into_words):
        return inputs

    def decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None, **kwargs) -> str:
        # Word ends are marked with '</w>' in CLIP's vocabulary; they decode to spaces.
        suffix = getattr(self._tokenizer.model, "end_of_word_suffix", None) or "</w>"
        text = super().decode(token_ids, skip_special_tokens, clean_up_tokenization_spaces=False)
        text = text.replace(suffix, " ").strip()
        cleanup = (
            self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None else clean_up_tokenization_spaces
        )
        return clean_up_tokenization(text) if cleanup else text


class Qwen2TokenizerFast(ByteLevelBPETokenizerFast):
    defaults = {"unk_token": "<|endoftext|>", "bos_token": None, "eos_token": "<|endoftext|>",
                "pad_token": "<|endoftext|>", "add_prefix_space": False}  # fmt: skip

    def _backend_from_vocab_files(self, files):
        vocab, merges = self._read_vocab_files(files)
        return qwen2_bpe(vocab, merges, add_prefix_space=self.add_prefix_space)

    def _sync_backend(self) -> None:
        pass


TIMESTAMP_PATTERN = re.compile(r"<\|(\d+\.\d+)\|>")
# Timestamp positions in one 30-second window of Whisper's input (1500 encoder frames of 20 ms).
_WINDOW_POSITIONS = 1500


class WhisperTokenizerFast(ByteLevelBPETokenizerFast):
    """Whisper's byte-level BPE; special prefix tokens (start of transcript, language, task) open each text."""

    defaults = {"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                "add_prefix_space": False, "language": None, "task": None, "predict_timestamps": False}  # fmt: skip

    def _backend_from_vocab_files(self, files):
        vocab, merges = self._read_vocab_files(files)
        self._needs_prefix_post_processor = True  # set in _sync_backend, once the added special tokens have ids
        return byte_level_bpe(vocab, merges, add_prefix_space=self.add_prefix_space)

    def _sync_backend(self) -> None:
        super()._sync_backend()
        if getattr(self, "_needs_prefix_post_processor", False):
            self.set_prefix_tokens()

    @property
    def prefix_tokens(self) -> list[int]:
        """<|startoftranscript|>, then the language and task tokens when set, then <|notimestamps|> unless timestamps are predicted."""
        tokens = ["<|startoftranscript|>"]
        language, task = self.settings.get("language"), self.settings.get("task")
        if language is not None:
            tokens.append(language if language.startswith("<|") else f"<|{language.lower()}|>")
        if task is not None:
            tokens.append(f"<|{task}|>")
        if not self.settings.get("predict_timestamps"):
            tokens.append("<|notimestamps|>")
        ids = [self._tokenizer.token_to_id(token) for token in tokens]
        unknown = [token for token, index in zip(tokens, ids) if index is None]
        if unknown:
            raise ValueError(f"Whisper prefix tokens {unknown} are not in the vocabulary (language/task misspelled?).")
        return ids

    def set_prefix_tokens(
        self, language: str | None = None, task: str | None = None, predict_timestamps: bool | None = None
    ) -> None:
        """Choose the language/task prefix that every encoded text starts with."""
        for key, value in (("language", language), ("task", task), ("predict_timestamps", predict_timestamps)):
            if value is not None:
                self.settings[key] = value
                self.init_kwargs[key] = value
        prefix_ids = self.prefix_tokens
        prefixes = [self._tokenizer.id_to_token(i) for i in prefix_ids]
        eos, eos_id = self.eos_token, self.eos_token_id
        prefix_template = " ".join(f"{token}:0" for token in prefixes)
        self._tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{prefix_template} $A:0 {eos}:0",
            pair=f"{prefix_template} $A:0 $B:1 {eos}:1",
            special_tokens=[(eos, eos_id), *zip(prefixes, prefix_ids)],
        )

    def get_decoder_prompt_ids(self, task=None, language=None, no_timestamps=True) -> list[tuple[int, int]]:
        """[(position, token id)] of the prompt after <|startoftranscript|>, for generate's forced_decoder_ids;
        sets the tokenizer's prefix like set_prefix_tokens does."""
        self.set_prefix_tokens(task=task, language=language, predict_timestamps=not no_timestamps)
        return [(position, token) for position, token in enumerate(self.prefix_tokens[1:], start=1)]

    def get_prompt_ids(self, text: str, return_tensors="np"):
        """The ids of a text prompt for generate(prompt_ids=...): <|startofprev|>, then " " + the stripped text
        without special tokens, as `return_tensors` ("np", "pt", "tf", "jax"; None for a list). Text that
        encodes to a special token (one from the first special id on, timestamps included) is refused."""
        ids = self.encode("<|startofprev|>", add_special_tokens=False) + self.encode(" " + text.strip(),
                                                                                    add_special_tokens=False)
        first_special = self.all_special_ids[0]
        special = next((index for index in ids[1:] if index >= first_special), None)
        if special is not None:
            raise ValueError(f"The prompt text {text!r} contains the special token "
                             f"{self.convert_ids_to_tokens(special)!r}, which a Whisper prompt may not hold; "
                             "remove it from the text.")  # fmt: skip
        return BatchEncoding({"input_ids": ids}).convert_to_tensors(return_tensors)["input_ids"]

    def decode(self, token_ids, skip_special_tokens=False, clean_up_tokenization_spaces=None, output_offsets=False,
               time_precision=0.02, decode_with_timestamps=False, normalize=False, basic_normalize=False,
               remove_diacritics=False, **kwargs):  # fmt: skip
        """The text of the ids, timestamp tokens left out; with decode_with_timestamps, each timestamp written
        as <|seconds|> and counted on across 30-second windows; with output_offsets, a dict of that text and
        the `offsets` of each timestamped segment ({"text", "timestamp": (start, end)} in seconds)."""
        if normalize:
            raise NotImplementedError(_NO_ENGLISH_NORMALIZER)
        ids = _as_list(token_ids)
        kept = self._strip_prompt(ids) if skip_special_tokens else ids
        if decode_with_timestamps:  # never normalised: transformers 4.57 decodes the text again without it
            text = self._text_with_timestamps(kept, skip_special_tokens, time_precision)
        else:
            text = super().decode(kept, skip_special_tokens, clean_up_tokenization_spaces)
            if basic_normalize:
                text = self.basic_normalize(text, remove_diacritics=remove_diacritics)
            text = TIMESTAMP_PATTERN.sub("", text)
        if output_offsets:
            return {"text": text, "offsets": self._segment_offsets(ids, time_precision)}
        return text

    @staticmethod
    def basic_normalize(text: str, remove_diacritics: bool = False) -> str:
        """Whisper's basic text normalizer (for multilingual text): lower case, words in brackets or parentheses
        dropped, marks, symbols and punctuation made spaces, whitespace runs made one space; remove_diacritics
        also drops accents and spells out letters such as ø, æ and ß."""
        return whisper_basic_normalize(text, remove_diacritics)

    def normalize(self, text: str) -> str:
        raise NotImplementedError(_NO_ENGLISH_NORMALIZER)

    @property
    def _timestamp_begin(self) -> int:
        """The first timestamp token (<|0.00|>): the id after the last special token, as transformers counts it."""
        return self.all_special_ids[-1] + 1

    def _text_with_timestamps(self, ids: list[int], skip_special_tokens: bool, time_precision: float) -> str:
        """Text with each timestamp token written as <|seconds|>. Whisper's timestamps restart at each 30-second
        window: a timestamp below the latest one begins a new window, which starts 30 s on after a single closing
        timestamp, and at the closing timestamp after a repeated one (the repeat is then dropped)."""
        begin = self._timestamp_begin
        pieces: list = [[]]  # text id runs and timestamp strings, alternating
        latest = before_latest = offset = 0.0
        for i, token in enumerate(ids):
            if token < begin:
                pieces[-1].append(token)
                continue
            seconds = float((token - begin) * time_precision)
            if seconds < latest:
                if i >= 2 and not (ids[i - 1] >= begin and ids[i - 2] >= begin):
                    offset += time_precision * _WINDOW_POSITIONS
                else:
                    latest = before_latest
                    offset += before_latest
                    pieces = pieces[:-2]
            before_latest, latest = latest, seconds
            pieces += [f"<|{seconds + offset:.2f}|>", []]
        return "".join(piece if isinstance(piece, str) else self.decode(piece, skip_special_tokens=skip_special_tokens)
                       for piece in pieces)  # fmt: skip

    def _segment_offsets(self, ids: list[int], time_precision: float) -> list[dict]:
        """Each segment between timestamps (a pair closes one, as does the last timestamp): its text and its
        (start, end) in seconds, counted on across 30-second windows."""
        begin = self._timestamp_begin
        stamps = [i for i, token in enumerate(ids) if token >= begin]
        ends = [i for i in stamps if i >= 1 and ids[i - 1] >= begin]
        if not ends and len(stamps) <= 1:
            return []
        if stamps[-1] + 1 not in ends:
            ends.append(stamps[-1] + 1)
        offsets, start, latest, window = [], stamps[0], 0, 0
        for end in ends:
            piece = ids[start:end]
            if len(piece) > 1:
                first, last = piece[0] - begin, piece[-1] - begin
                if first < latest:  # a new window: see _text_with_timestamps
                    single_ending = start >= 2 and not (ids[start - 2] >= begin and ids[start - 1] >= begin)
                    window += _WINDOW_POSITIONS if single_ending else latest
                latest = last
                text = TIMESTAMP_PATTERN.sub("", super().decode(piece))
                shift = window * time_precision
                timestamp = (first * time_precision + shift, last * time_precision + shift)
                offsets.append({"text": text, "timestamp": timestamp})
            start = end
        return offsets

    def _strip_prompt(self, ids: list[int]) -> list[int]:
        """Drop a <|startofprev|> prompt that precedes <|startoftranscript|>."""
        prompt_id = self._tokenizer.token_to_id("<|startofprev|>")
        start_id = self._tokenizer.token_to_id("<|startoftranscript|>")
        if ids and prompt_id is not None and ids[0] == prompt_id:
            return ids[ids.index(start_id) :] if start_id in ids else []
        return ids


def _as_list(ids) -> list[int]:
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    return [ids] if isinstance(ids, int) else list(ids)


class GPT2Tokenizer(GPT2TokenizerFast):
    pass


class RobertaTokenizer(RobertaTokenizerFast):
    pass


class BartTokenizer(BartTokenizerFast):
    pass


class CLIPTokenizer(CLIPTokenizerFast):
    pass


class WhisperTokenizer(WhisperTokenizerFast):
    pass


class Qwen2Tokenizer(Qwen2TokenizerFast):
    pass
