"""PreTrainedTokenizerFast: a `tokenizers.Tokenizer` behind the call API of transformers' tokenizers.

Family classes (bert.py, byte_level.py, t5.py, llama.py …) subclass it and add three things: the class
defaults (special tokens, options), how to build the backend from the older vocabulary files
(`_backend_from_vocab_files`), and how their options adjust a loaded backend (`_sync_backend`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import shutil
import warnings
from typing import Any, ClassVar

from tokenizers import AddedToken, Tokenizer

from ..atomic_save import saves_atomically
from ..errors import CheckpointFormatError, CheckpointNotFoundError
from ..hub import HubOptions, resolve_folder
from ..hub_push import PushToHubMixin
from . import loading
from .batch_encoding import BatchEncoding
from .special_tokens import SPECIAL_TOKEN_NAMES, SpecialTokensMixin, token_content

logger = logging.getLogger(__name__)

VERY_LARGE_INTEGER = int(1e30)  # model_max_length of a tokenizer whose model has no maximum length
LARGE_INTEGER = int(1e20)

PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")


class PreTrainedTokenizerFast(SpecialTokensMixin, PushToHubMixin):
    """A tokenizer backed by the Rust `tokenizers` library, loaded from tokenizer.json or older vocab files."""

    vocab_files_names: ClassVar[dict[str, str]] = {}
    model_input_names: ClassVar[list[str]] = ["input_ids", "token_type_ids", "attention_mask"]
    padding_side: str = "right"
    truncation_side: str = "right"
    defaults: ClassVar[dict[str, Any]] = {}
    # AddedToken flags for special tokens declared as plain strings (e.g. RoBERTa's <mask> eats the space before it).
    special_token_flags: ClassVar[dict[str, dict]] = {}
    # False for tokenizers that transformers only has as a slow class: they ignore and never write tokenizer.json.
    uses_tokenizer_file: ClassVar[bool] = True
    is_fast = True

    def __init__(self, *args, tokenizer_object: Tokenizer | None = None, tokenizer_file: str | None = None, **kwargs):
        if args:
            # Positional vocabulary files, as BertTokenizer("vocab.txt") takes them.
            kwargs.update(zip(self.vocab_files_names, args))
        config = {**self.defaults, **kwargs}
        vocab_files = {key: config.pop(key) for key in self.vocab_files_names if key in config}
        vocab_files = {key: path for key, path in vocab_files.items() if path is not None}
        from_slow = config.pop("from_slow", False)
        self.name_or_path = config.pop("name_or_path", "")
        for key in loading.NON_SETTING_KEYS:
            config.pop(key, None)
        self.init_kwargs = {k: v for k, v in config.items() if k != "added_tokens_decoder"}

        self._init_special_tokens(config)
        declared = config.pop("added_tokens_decoder", None) or {}
        self._declared_added_tokens = {
            int(k): _added_token_spec(v) for k, v in sorted(declared.items(), key=lambda kv: int(kv[0]))
        }
        legacy_max_len = config.pop("max_len", None)
        self.model_max_length = config.pop("model_max_length", None) or legacy_max_len or VERY_LARGE_INTEGER
        self.padding_side = _choice(
            "padding_side", config.pop("padding_side", None) or type(self).padding_side, ("right", "left")
        )
        self.truncation_side = _choice(
            "truncation_side", config.pop("truncation_side", None) or type(self).truncation_side, ("right", "left")
        )
        self.model_input_names = list(config.pop("model_input_names", None) or type(self).model_input_names)
        self.clean_up_tokenization_spaces = bool(config.pop("clean_up_tokenization_spaces", False))
        self.split_special_tokens = bool(config.pop("split_special_tokens", False))
        self.pad_token_type_id = config.pop("pad_token_type_id", 0)
        self.chat_template = _read_chat_template(config.pop("chat_template", None))
        self.settings = config  # family options (do_lower_case, add_prefix_space …) for the subclass hooks

        self._vocab_files = vocab_files
        if tokenizer_object is not None:
            backend = copy.deepcopy(tokenizer_object)
        elif tokenizer_file is not None and not (from_slow and vocab_files):
            backend = load_backend_file(tokenizer_file)
        elif vocab_files:
            backend = loading.build_from_vocab_files(self._backend_from_vocab_files, vocab_files, type(self).__name__)
        else:
            names = ", ".join([loading.TOKENIZER_FILE, *self.vocab_files_names.values()])
            raise ValueError(
                f"{type(self).__name__} needs tokenizer_object=, tokenizer_file= or its vocabulary files ({names})."
            )
        self._tokenizer = backend
        # The truncation/padding stored in tokenizer.json are kept for saving; each call sets its own.
        self._stored_truncation, self._stored_padding = backend.truncation, backend.padding
        if self._stored_padding is not None and self.pad_token is None and "pad_token" not in kwargs:
            self.pad_token = self._stored_padding["pad_token"]
        backend.no_truncation()
        backend.no_padding()
        self._add_missing_tokens(self._declared_added_tokens)
        loading.check_added_token_ids(self._tokenizer, self._declared_added_tokens, self.name_or_path)
        self._sync_backend()

    # --- construction hooks for the family classes ---------------------------------------------------

    def _backend_from_vocab_files(self, files: dict[str, str]) -> Tokenizer:
        names = ", ".join(self.vocab_files_names.values()) or "none"
        raise ValueError(
            f"{type(self).__name__} can only be built from tokenizer.json (older files it reads: {names})."
        )

    def _sync_backend(self) -> None:
        """Make a loaded backend follow the options given to the constructor (no-op by default)."""

    def _add_missing_tokens(self, added_tokens_decoder: dict[int, dict]) -> None:
        """Add the tokens of `added_tokens_decoder` and the special tokens to the backend, as transformers does.

        A declared token the backend holds with other flags is added again (the backend takes the new flags).
        A special token is added when the backend lacks it, or, when the class or the caller gives it flags
        (RoBERTa's <mask> eats the space before it), when the backend holds it with other flags.
        """
        present = {token.content: token for token in self._tokenizer.get_added_tokens_decoder().values()}
        specials = set(self.all_special_tokens)
        new: dict[str, AddedToken] = {}
        for _, spec in sorted(added_tokens_decoder.items()):
            token = AddedToken(**{**spec, "special": spec.get("special", False) or spec["content"] in specials})
            if not _same_token(present.get(token.content), token):
                new[token.content] = token
        declared = {spec["content"] for spec in added_tokens_decoder.values()}
        attribute_of = {v: k for k, v in self._special_tokens.items() if v is not None}
        for content in self.all_special_tokens:
            class_flags = self.special_token_flags.get(attribute_of.get(content, ""))
            given_flags = self._token_flags.get(content)
            if content in declared or (content in present and class_flags is None and given_flags is None):
                continue
            flags = {"normalized": False, **(class_flags or {}), **(given_flags or {}), "special": True}
            token = AddedToken(content, **flags)
            if not _same_token(present.get(content), token):
                new.setdefault(content, token)
        if new:
            self._tokenizer.add_tokens(list(new.values()))

    # --- loading --------------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *init_inputs, **kwargs):
        """Load from a folder or Hub repo: tokenizer.json when present, else the family's older vocab files."""
        options = HubOptions.pop_from(kwargs)
        return cls._from_source(pretrained_model_name_or_path, options, None, init_inputs, kwargs)

    @classmethod
    def _from_source(cls, source, options: HubOptions, tokenizer_config: dict | None, init_inputs, kwargs: dict):
        if tokenizer_config is None:
            tokenizer_config = loading.read_tokenizer_config(source, options)
        settings = loading.read_tokenizer_settings(source, options, tokenizer_config)
        # File names a tokenizer_config.json gives (checked to be names in the folder) are looked up there.
        named = {key: settings.pop(key) for key in cls.vocab_files_names if key in settings}
        settings.update(kwargs)
        tokenizer_file = settings.pop("tokenizer_file", None)  # a caller's explicit file wins
        if tokenizer_file is None and cls.uses_tokenizer_file and not settings.get("from_slow"):
            tokenizer_file = loading.find_file(source, loading.TOKENIZER_FILE, options)
        legacy = "added_tokens_decoder" not in tokenizer_config and "added_tokens_decoder" not in kwargs
        if legacy and tokenizer_file and settings.get("added_tokens_decoder"):
            # Legacy folders (added_tokens.json, no added_tokens_decoder): tokenizer.json's tokens win, by id.
            settings["added_tokens_decoder"] = {**settings["added_tokens_decoder"], **_added_tokens_of(tokenizer_file)}
        files = {key: (isinstance(named.get(key), str) and loading.find_file(source, named[key], options))
                 or loading.find_file(source, name, options) for key, name in cls.vocab_files_names.items()}  # fmt: skip
        files = {key: path for key, path in files.items() if path is not None and key not in settings}
        if tokenizer_file is None and not cls._has_vocab_files(files):
            looked_for = [loading.TOKENIZER_FILE] if cls.uses_tokenizer_file else []
            looked_for += cls.vocab_files_names.values()
            raise CheckpointNotFoundError(
                f"{resolve_folder(source, options)} has no files to build a {cls.__name__} from: looked for "
                f"{', '.join(looked_for)}. Pass the folder a tokenizer was saved to (save_pretrained writes them)."
            )
        settings.setdefault("name_or_path", str(source))
        return cls(*init_inputs, tokenizer_file=tokenizer_file, **files, **settings)

    @classmethod
    def _has_vocab_files(cls, files: dict[str, str]) -> bool:
        return bool(cls.vocab_files_names) and all(key in files for key in cls.vocab_files_names)

    # --- vocabulary -----------------------------------------------------------------------------------

    @property
    def backend_tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary (without tokens added on top)."""
        return self._tokenizer.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict[str, int]:
        return self._tokenizer.get_vocab(with_added_tokens=True)

    @property
    def vocab(self) -> dict[str, int]:
        return self.get_vocab()

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        return dict(sorted(self._tokenizer.get_added_tokens_decoder().items()))

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        return {token.content: index for index, token in self.added_tokens_decoder.items()}

    def get_added_vocab(self) -> dict[str, int]:
        return self.added_tokens_encoder

    def convert_tokens_to_ids(self, tokens):
        """Id of a token (the unk id when unknown), or a list of ids for a list of tokens."""
        if tokens is None:
            return None
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(token) for token in tokens]

    def _token_to_id(self, token: str) -> int | None:
        index = self._tokenizer.token_to_id(token)
        if index is None:
            unk = self._special_tokens.get("unk_token")
            return None if unk is None else self._tokenizer.token_to_id(unk)
        return index

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        """Token of an id, or a list of tokens for a list of ids."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        own_text = self._normalized_added_tokens()
        if isinstance(ids, int):
            return own_text[ids] if ids in own_text else self._tokenizer.id_to_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [
            own_text[i] if i in own_text else self._tokenizer.id_to_token(i) for i in map(int, ids) if i not in skip
        ]

    def _normalized_added_tokens(self) -> dict[int, str]:
        """id -> text of the added tokens the backend normalizes: tokenizers 0.23 gives them back normalized
        (MPNet's [UNK] as '[unk]'), 0.22 (transformers 4.57's) as written. Cached until add_tokens runs."""
        cached = self.__dict__.get("_normalized_added_cache")
        if cached is None:
            added = self._tokenizer.get_added_tokens_decoder()
            cached = self._normalized_added_cache = {i: t.content for i, t in added.items() if t.normalized}
        return cached

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        decoder = self._tokenizer.decoder
        return decoder.decode(tokens) if decoder is not None else " ".join(tokens)

    def add_tokens(self, new_tokens, special_tokens: bool = False) -> int:
        """Add tokens to the vocabulary (never split, matched before the model); returns how many were added."""
        if not new_tokens:
            return 0
        if not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        for token in new_tokens:
            token_content(token)  # type check with a clear message
        self.__dict__.pop("_normalized_added_cache", None)  # flags of a token already there may change
        if special_tokens:
            return self._tokenizer.add_special_tokens(list(new_tokens))
        return self._tokenizer.add_tokens(list(new_tokens))

    def add_special_tokens(self, special_tokens_dict: dict, replace_additional_special_tokens: bool = True) -> int:
        """Set special tokens ({"pad_token": "[PAD]", "additional_special_tokens": [...]}) and add them."""
        to_add = []
        for key, value in special_tokens_dict.items():
            if key not in self.SPECIAL_TOKENS_ATTRIBUTES:
                raise ValueError(
                    f"{key!r} is not a special token attribute; use one of {self.SPECIAL_TOKENS_ATTRIBUTES}."
                )
            if key == "additional_special_tokens":
                values = [
                    v
                    for v in value
                    if replace_additional_special_tokens or token_content(v) not in self._additional_special_tokens
                ]
                if replace_additional_special_tokens:
                    self.additional_special_tokens = values
                else:
                    self.additional_special_tokens = self._additional_special_tokens + values
                to_add += values
            else:
                token_content(value)
                setattr(self, key, value)
                to_add.append(value)
        tokens = [v if not isinstance(v, str) else AddedToken(v, normalized=False, special=True) for v in to_add]
        return self.add_tokens(tokens, special_tokens=True)

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return self._tokenizer.num_special_tokens_to_add(pair)

    # --- encoding -------------------------------------------------------------------------------------

    def __call__(
        self,
        text=None,
        text_pair=None,
        text_target=None,
        text_pair_target=None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors=None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        **kwargs,
    ) -> BatchEncoding:
        """Tokenize one text, a pair, or a batch of either; returns input_ids, attention_mask … per model inputs."""
        if text is None and text_target is None:
            raise ValueError(
                "You need to specify either `text` or `text_target` (a str, or a list of str for a batch)."
            )
        options = dict(
            add_special_tokens=add_special_tokens, padding=padding, truncation=truncation, max_length=max_length,
            stride=stride, is_split_into_words=is_split_into_words, pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side, return_tensors=return_tensors, return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask, return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask, return_offsets_mapping=return_offsets_mapping,
            return_length=return_length, **kwargs,
        )  # fmt: skip
        encoded = target = None
        if text is not None:
            if not self._in_target_context_manager:
                self._switch_to_input_mode()
            encoded = self._call_one(text, text_pair, **options)
        if text_target is not None:
            self._switch_to_target_mode()
            target = self._call_one(text_target, text_pair_target, **options)
        # As in transformers 4.57, every call ends in input mode, even inside as_target_tokenizer().
        self._switch_to_input_mode()
        if target is None or encoded is None:
            return target if encoded is None else encoded
        encoded["labels"] = target["input_ids"]
        return encoded

    # --- source and target modes (seq2seq families whose targets are encoded differently) ---------------

    _in_target_context_manager = False

    def _switch_to_input_mode(self) -> None:
        """Encode what follows as model inputs (Marian: source model; mBART: source language codes)."""

    def _switch_to_target_mode(self) -> None:
        """Encode what follows as labels (Marian: target model; mBART: target language codes)."""

    @contextlib.contextmanager
    def as_target_tokenizer(self):
        """Deprecated in transformers (use `text_target=`): calls inside encode targets, but each call leaves
        the tokenizer in input mode again, so only the first call inside the block is a target encoding."""
        warnings.warn(
            "as_target_tokenizer is deprecated; pass the labels' texts as text_target= instead.",
            FutureWarning,
            stacklevel=3,  # the caller's `with` line, past contextlib
        )
        self._switch_to_target_mode()
        self._in_target_context_manager = True
        try:
            yield
        finally:
            self._in_target_context_manager = False
            self._switch_to_input_mode()

    def encode_plus(self, text, text_pair=None, **kwargs) -> BatchEncoding:
        return self._call_one(text, text_pair, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs, **kwargs) -> BatchEncoding:
        items = list(batch_text_or_text_pairs)
        if items and isinstance(items[0], tuple) and not kwargs.get("is_split_into_words"):
            return self._call_one([a for a, _ in items], [b for _, b in items], **kwargs)
        return self._call_one(items, None, **kwargs)

    def encode(self, text, text_pair=None, add_special_tokens: bool = True, **kwargs) -> list[int]:
        """The input ids of one text (or pair)."""
        return self._call_one(text, text_pair, add_special_tokens=add_special_tokens, **kwargs)["input_ids"]

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        """The token strings of a text, without special tokens unless asked."""
        return self._call_one(text, pair, add_special_tokens=add_special_tokens, **kwargs).tokens()

    def _call_one(self, text, text_pair=None, *, is_split_into_words: bool = False, return_tensors=None,
                  return_overflowing_tokens: bool = False, **options) -> BatchEncoding:  # fmt: skip
        _check_text(text, "text")
        if text_pair is not None:
            _check_text(text_pair, "text_pair")
        if is_split_into_words:
            is_batched = isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
        else:
            is_batched = isinstance(text, (list, tuple))
        if is_batched:
            if isinstance(text_pair, str):
                raise TypeError("When tokenizing a batch, text_pair must be a list of the same length as text.")
            if text_pair is not None and len(text) != len(text_pair):
                raise ValueError(f"text has {len(text)} items but text_pair has {len(text_pair)}; they must match.")
            inputs = list(zip(text, text_pair)) if text_pair is not None else list(text)
        else:
            inputs = [(text, text_pair)] if text_pair is not None else [text]
        data, encodings = self._encode_batch(
            inputs,
            is_split_into_words=is_split_into_words,
            return_overflowing_tokens=return_overflowing_tokens,
            **options,
        )
        if not is_batched and return_tensors is None and not return_overflowing_tokens:
            data = {key: value[0] if value and isinstance(value[0], list) else value for key, value in data.items()}
        return BatchEncoding(data, encodings, tensor_type=return_tensors)

    def _encode_batch(
        self,
        inputs: list,
        *,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        split_special_tokens: bool | None = None,
        verbose: bool = True,
        **unused,
    ) -> tuple[dict, list]:
        if unused:
            logger.warning("Keyword arguments %s not recognized by %s; they are ignored.", unused, type(self).__name__)
        padding_strategy, truncation_strategy, max_length = self._strategies(
            padding, truncation, max_length, pad_to_multiple_of
        )
        self._configure_backend(
            padding_strategy, truncation_strategy, max_length, stride, pad_to_multiple_of, padding_side
        )
        split = self.split_special_tokens if split_special_tokens is None else split_special_tokens
        if self._tokenizer.encode_special_tokens != split:
            self._tokenizer.encode_special_tokens = split
        inputs = self._prepare_inputs(inputs, is_split_into_words)
        try:
            encodings = self._tokenizer.encode_batch(
                inputs, add_special_tokens=add_special_tokens, is_pretokenized=is_split_into_words
            )
        except Exception as exc:
            if type(exc) is not Exception:
                raise
            # The Rust library raises a bare Exception, e.g. for a pair too long to truncate as asked.
            raise ValueError(f"{type(self).__name__} could not encode the input: {exc}") from exc

        rows = encodings
        if return_overflowing_tokens:
            rows = [row for encoding in encodings for row in (encoding, *encoding.overflowing)]
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        data: dict[str, list] = {"input_ids": [row.ids for row in rows]}
        if return_token_type_ids:
            data["token_type_ids"] = [row.type_ids for row in rows]
        if return_attention_mask:
            data["attention_mask"] = [row.attention_mask for row in rows]
        if return_special_tokens_mask:
            data["special_tokens_mask"] = [row.special_tokens_mask for row in rows]
        if return_offsets_mapping:
            data["offset_mapping"] = [row.offsets for row in rows]
        if return_length:
            data["length"] = [len(row.ids) for row in rows]
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = [
                index for index, encoding in enumerate(encodings) for _ in range(1 + len(encoding.overflowing))
            ]
        return data, rows

    def _prepare_inputs(self, inputs: list, is_split_into_words: bool) -> list:
        """Hook for families that must adjust the text before the backend sees it."""
        return inputs

    def _strategies(self, padding, truncation, max_length, pad_to_multiple_of) -> tuple[str, str, int | None]:
        """Resolve the padding/truncation arguments the way transformers does."""
        if max_length is not None and padding is False and truncation is None:
            truncation = "longest_first"  # max_length alone asks for truncation
        padding_strategy = _strategy(
            "padding", padding, PADDING_STRATEGIES, {True: "longest", False: "do_not_pad", None: "do_not_pad"}
        )
        truncation_strategy = _strategy(
            "truncation",
            truncation,
            TRUNCATION_STRATEGIES,
            {True: "longest_first", False: "do_not_truncate", None: "do_not_truncate"},
        )
        if max_length is None:
            has_model_max = self.model_max_length <= LARGE_INTEGER
            if padding_strategy == "max_length":
                if not has_model_max:
                    raise ValueError(
                        "padding='max_length' needs a length: pass max_length=, or set tokenizer.model_max_length "
                        "(this tokenizer's model declares no maximum length)."
                    )
                max_length = self.model_max_length
            if truncation_strategy != "do_not_truncate":
                if has_model_max:
                    max_length = self.model_max_length
                else:
                    logger.warning("Truncation was asked for but no max_length is given and the model has no maximum "
                                   "length; the input is not truncated.")  # fmt: skip
                    truncation_strategy = "do_not_truncate"
        if padding_strategy != "do_not_pad" and (self.pad_token is None or self.pad_token_id is None):
            raise ValueError(
                f"Asking to pad but {type(self).__name__} has no padding token. Set one, e.g. "
                "`tokenizer.pad_token = tokenizer.eos_token`, or add one with "
                "`tokenizer.add_special_tokens({'pad_token': '[PAD]'})`."
            )
        if (
            truncation_strategy != "do_not_truncate"
            and padding_strategy != "do_not_pad"
            and pad_to_multiple_of is not None
            and max_length is not None
            and max_length % pad_to_multiple_of != 0
        ):
            raise ValueError(
                f"Truncation and padding are both on but max_length={max_length} is not a multiple of "
                f"pad_to_multiple_of={pad_to_multiple_of}."
            )
        return padding_strategy, truncation_strategy, max_length

    def _configure_backend(
        self, padding_strategy, truncation_strategy, max_length, stride, pad_to_multiple_of, padding_side
    ):
        backend = self._tokenizer
        if truncation_strategy == "do_not_truncate":
            if backend.truncation is not None:
                backend.no_truncation()
        else:
            target = {
                "max_length": max_length,
                "stride": stride,
                "strategy": truncation_strategy,
                "direction": self.truncation_side,
            }
            if backend.truncation != target:
                try:
                    backend.enable_truncation(**target)
                except Exception as exc:
                    raise ValueError(f"Invalid truncation settings {target}: {exc}") from exc
        if padding_strategy == "do_not_pad":
            if backend.padding is not None:
                backend.no_padding()
        else:
            target = {
                "length": max_length if padding_strategy == "max_length" else None,
                "direction": _choice("padding_side", padding_side or self.padding_side, ("right", "left")),
                "pad_id": self.pad_token_id,
                "pad_token": self.pad_token,
                "pad_type_id": self.pad_token_type_id,
                "pad_to_multiple_of": pad_to_multiple_of,
            }
            if backend.padding != target:
                backend.enable_padding(**target)

    def pad(
        self,
        encoded_inputs,
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors=None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Pad already-encoded inputs (a dict of lists, or a list of such dicts) to one length."""
        if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], dict):
            encoded_inputs = {key: [example[key] for example in encoded_inputs] for key in encoded_inputs[0]}
        data = {key: _to_list(value) for key, value in encoded_inputs.items()}
        main = self.model_input_names[0]
        if main not in data:
            raise ValueError(f"pad() needs the field {main!r}; got {sorted(data)}.")
        batched = bool(data[main]) and isinstance(data[main][0], (list, tuple))
        if not batched:
            data = {key: [value] for key, value in data.items()}
        strategy = _strategy(
            "padding", padding, PADDING_STRATEGIES, {True: "longest", False: "do_not_pad", None: "do_not_pad"}
        )
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        if return_attention_mask and "attention_mask" not in data:
            data["attention_mask"] = [[1] * len(ids) for ids in data[main]]
        if strategy != "do_not_pad":
            if self.pad_token_id is None:
                raise ValueError(
                    f"Asking to pad but {type(self).__name__} has no padding token; set tokenizer.pad_token."
                )
            target = (
                max_length
                if strategy == "max_length" and max_length is not None
                else max(map(len, data[main]), default=0)
            )
            if pad_to_multiple_of and target % pad_to_multiple_of:
                target += pad_to_multiple_of - target % pad_to_multiple_of
            left = (padding_side or self.padding_side) == "left"
            # Every field of a row gets as many pads as its input ids need, as transformers pads (a Python
            # tokenizer's token_type_ids may be shorter than its input ids, and stay so).
            missing = [target - len(ids) for ids in data[main]]
            for key, value in self._pad_values().items():
                if key in data:
                    data[key] = [_pad_row(row, count, value, left) for row, count in zip(data[key], missing)]
        if not batched:
            data = {key: value[0] for key, value in data.items()}
        return BatchEncoding(
            data, tensor_type=return_tensors, prepend_batch_axis=not batched and return_tensors is not None
        )

    def _pad_values(self) -> dict[str, Any]:
        """The value each padded field is filled with."""
        return {
            self.model_input_names[0]: self.pad_token_id,
            "attention_mask": 0,
            "token_type_ids": self.pad_token_type_id,
            "special_tokens_mask": 1,
        }

    # --- decoding -------------------------------------------------------------------------------------

    def decode(
        self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None, **kwargs
    ) -> str:
        """Text of a sequence of ids (an int, list, numpy array or tensor)."""
        ids = _as_id_list(token_ids)
        own_text = self._normalized_added_tokens()
        if any(index in own_text for index in ids):
            text = _decode_with_own_text(self._tokenizer, ids, skip_special_tokens)
        else:
            text = self._tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(
        self, sequences, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None, **kwargs
    ) -> list[str]:
        if hasattr(sequences, "tolist"):
            sequences = sequences.tolist()
        return [self.decode(s, skip_special_tokens, clean_up_tokenization_spaces, **kwargs) for s in sequences]

    # --- chat templates -------------------------------------------------------------------------------

    def apply_chat_template(self, conversation, tools=None, documents=None, chat_template=None, add_generation_prompt=False,
                            continue_final_message=False, tokenize=True, padding=False, truncation=False, max_length=None,
                            return_tensors=None, return_dict=False, return_assistant_tokens_mask=False,
                            tokenizer_kwargs=None, **kwargs):  # fmt: skip
        """Render a conversation with the tokenizer's Jinja chat template, and tokenize it unless tokenize=False."""
        from .chat_template import apply_chat_template

        return apply_chat_template(
            self, conversation, tools=tools, documents=documents, chat_template=chat_template,
            add_generation_prompt=add_generation_prompt, continue_final_message=continue_final_message,
            tokenize=tokenize, padding=padding, truncation=truncation, max_length=max_length,
            return_tensors=return_tensors, return_dict=return_dict,
            return_assistant_tokens_mask=return_assistant_tokens_mask, tokenizer_kwargs=tokenizer_kwargs, **kwargs,
        )  # fmt: skip

    def get_chat_template(self, chat_template: str | None = None, tools=None) -> str:
        """The template apply_chat_template would use: `chat_template` (a template or a name), else our own."""
        from .chat_template import resolve_template

        return resolve_template(self.chat_template, chat_template, tools)

    # --- saving ---------------------------------------------------------------------------------------

    @property
    def can_save_slow_tokenizer(self) -> bool:
        """Whether save_pretrained can also write the older vocabulary files."""
        return False

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write the older vocabulary files (vocab.txt, vocab.json + merges.txt, *.model) where possible."""
        return ()

    @saves_atomically  # staged: an interrupted save never leaves a mix of old and new files
    def save_pretrained(self, save_directory: str | os.PathLike, legacy_format: bool | None = None,
                        filename_prefix: str | None = None, **kwargs) -> tuple[str, ...]:  # fmt: skip
        """Write tokenizer_config.json, special_tokens_map.json, the vocab files and tokenizer.json; return their
        paths (push_to_hub=True then uploads them: autoload/hub_push.py)."""
        save_directory = os.fspath(save_directory)
        if os.path.isfile(save_directory):
            raise ValueError(f"save_pretrained needs a directory, but {save_directory} is a file.")
        os.makedirs(save_directory, exist_ok=True)
        prefix = f"{filename_prefix}-" if filename_prefix else ""

        def path(name: str) -> str:
            return os.path.join(save_directory, prefix + name)

        save_slow = legacy_format in (None, True) and self.can_save_slow_tokenizer
        written = [path(loading.TOKENIZER_CONFIG_FILE), path(loading.SPECIAL_TOKENS_MAP_FILE)]
        config = self._tokenizer_config(slow_class=save_slow)
        if kwargs.get("save_jinja_files", True) and config.pop("chat_template", None) is not None:
            from .chat_template import write_template_files

            written += write_template_files(self.chat_template, save_directory, prefix)
        _write_json(written[0], config)
        _write_json(written[1], self._special_tokens_map_json())
        if legacy_format in (None, True):
            written += self.save_vocabulary(save_directory, filename_prefix)
            added = {tok: index for tok, index in self.added_tokens_encoder.items() if index >= self.vocab_size}
            if added and save_slow:
                written.append(path(loading.ADDED_TOKENS_FILE))
                _write_json(written[-1], added, sort_keys=False)
        if legacy_format in (None, False) and self.uses_tokenizer_file:
            written.append(path(loading.TOKENIZER_FILE))
            with open(written[-1], "w", encoding="utf-8") as f:
                f.write(self._backend_json())
        return tuple(written)

    def _backend_json(self) -> str:
        """tokenizer.json content, with the truncation and padding sections it was loaded with."""
        backend = self._tokenizer
        if self._stored_truncation is not None:
            backend.enable_truncation(**self._stored_truncation)
        if self._stored_padding is not None:
            backend.enable_padding(**self._stored_padding)
        try:
            return backend.to_str(pretty=True)
        finally:
            backend.no_truncation()
            backend.no_padding()

    def _tokenizer_config(self, slow_class: bool) -> dict:
        config = {k: v for k, v in self.init_kwargs.items() if k not in SPECIAL_TOKEN_NAMES}
        for key in (*self.vocab_files_names, "additional_special_tokens", "extra_special_tokens", "chat_template"):
            config.pop(key, None)
        config.update(
            {
                name: value
                for name, value in self._special_tokens.items()
                if value is not None or name in self.init_kwargs
            }
        )
        if self._additional_special_tokens:
            config["additional_special_tokens"] = list(self._additional_special_tokens)
        config["extra_special_tokens"] = dict(self.extra_special_tokens)
        config.update(
            model_max_length=self.model_max_length,
            padding_side=self.padding_side,
            truncation_side=self.truncation_side,
            clean_up_tokenization_spaces=self.clean_up_tokenization_spaces,
            added_tokens_decoder={str(i): _added_token_json(t) for i, t in self.added_tokens_decoder.items()},
        )
        if self.model_input_names != type(self).model_input_names:
            config["model_input_names"] = list(self.model_input_names)
        if self.split_special_tokens:
            config["split_special_tokens"] = True
        if self.chat_template is not None:
            template = self.chat_template
            config["chat_template"] = template if isinstance(template, str) else [
                {"name": name, "template": text} for name, text in template.items()
            ]  # fmt: skip
        name = type(self).__name__
        config["tokenizer_class"] = name[: -len("Fast")] if slow_class and name.endswith("Fast") else name
        return config

    def _special_tokens_map_json(self) -> dict:
        flags = {token.content: _added_token_json(token) for token in self.added_tokens_decoder.values()}
        result: dict[str, Any] = {}
        for name, token in self._special_tokens.items():
            if token is not None:
                spec = flags.get(token)
                result[name] = {k: v for k, v in spec.items() if k != "special"} if spec else token
        if self._additional_special_tokens:
            result["additional_special_tokens"] = list(self._additional_special_tokens)
        return result

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size}, "
            f"model_max_length={self.model_max_length}, is_fast={self.is_fast}, padding_side={self.padding_side!r}, "
            f"truncation_side={self.truncation_side!r}, special_tokens={self.special_tokens_map}, "
            f"added_tokens={len(self.added_tokens_decoder)})"
        )


# --- helpers -------------------------------------------------------------------------------------------


def load_backend_file(path: str) -> Tokenizer:
    """Read tokenizer.json; CheckpointFormatError naming the file when the library cannot parse it."""
    try:
        return Tokenizer.from_file(path)
    except Exception as exc:  # the Rust library raises a bare Exception for malformed files
        raise CheckpointFormatError(
            f"{path} is not a valid tokenizer.json ({exc}). Re-download or re-save the tokenizer, or delete the "
            "file to rebuild the tokenizer from its vocabulary files."
        ) from exc


def _decode_with_own_text(backend: Tokenizer, ids: list[int], skip_special_tokens: bool) -> str:
    """`Tokenizer.decode` as tokenizers 0.22 does it: added tokens by their own text, then the decoder."""
    added = backend.get_added_tokens_decoder()
    special = {token.content for token in added.values() if token.special} if skip_special_tokens else set()
    tokens = [added[index].content if index in added else backend.model.id_to_token(index) for index in ids]
    tokens = [token for token in tokens if token is not None and token not in special]
    decoder = backend.decoder
    return decoder.decode(tokens) if decoder is not None else " ".join(tokens)


def clean_up_tokenization(text: str) -> str:
    """Remove the spaces that word-level decoding leaves before punctuation and English contractions."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                          (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):  # fmt: skip
        text = text.replace(before, after)
    return text


def copy_vocab_file(
    source: str | None, save_directory: str, filename: str, filename_prefix: str | None
) -> tuple[str, ...]:
    """Copy an original vocabulary file (e.g. a SentencePiece model) into the save directory."""
    if not source:
        return ()
    target = os.path.join(save_directory, f"{filename_prefix}-{filename}" if filename_prefix else filename)
    if os.path.abspath(source) != os.path.abspath(target):
        shutil.copyfile(source, target)
    return (target,)


def _check_text(value, name: str) -> None:
    """A str, a list of str, or a list of lists of str (pre-split words); anything else is refused."""
    if isinstance(value, str):
        return
    if isinstance(value, (list, tuple)):
        if all(isinstance(item, str) for item in value):
            return
        if all(isinstance(item, (list, tuple)) and all(isinstance(w, str) for w in item) for item in value):
            return
    raise ValueError(
        f"{name} must be a str (one text), a list of str (a batch, or one text split into words) or a list of "
        f"lists of str (a batch of texts split into words); got {_describe(value)}."
    )


def _describe(value) -> str:
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(item).__name__ for item in value})
        return f"a {type(value).__name__} of {', '.join(kinds)}"
    return f"a {type(value).__name__}"


def _strategy(name: str, value, allowed: tuple[str, ...], shortcuts: dict) -> str:
    if isinstance(value, bool) or value is None:
        return shortcuts[value]
    value = getattr(value, "value", value)
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not valid; use True, False or one of {allowed}.")
    return value


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")
    return value


def _as_id_list(ids) -> list[int]:
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if isinstance(ids, int):
        return [ids]
    return list(ids)


def _to_list(value):
    return value.tolist() if hasattr(value, "tolist") else value


def _pad_row(row: list, missing: int, value, left: bool) -> list:
    if missing <= 0:
        return row
    filler = [value] * missing
    return filler + list(row) if left else list(row) + filler


def _added_token_spec(value) -> dict:
    if isinstance(value, dict):
        spec = {
            k: value[k] for k in ("content", "single_word", "lstrip", "rstrip", "normalized", "special") if k in value
        }
    else:
        spec = {k: getattr(value, k) for k in ("content", "single_word", "lstrip", "rstrip", "normalized", "special")}
    if "content" not in spec:
        raise CheckpointFormatError(f"an added_tokens_decoder entry has no 'content': {value!r}")
    return spec


def _added_tokens_of(tokenizer_file: str) -> dict[str, dict]:
    """The "added_tokens" of a tokenizer.json as added_tokens_decoder entries."""
    tokens = loading.read_json(tokenizer_file).get("added_tokens") or []
    return {str(token["id"]): {k: v for k, v in token.items() if k != "id"} for token in tokens if "id" in token}


def _same_token(present: AddedToken | None, token: AddedToken) -> bool:
    return present is not None and all(
        getattr(present, key) == getattr(token, key)
        for key in ("content", "single_word", "lstrip", "rstrip", "normalized", "special")
    )


def _added_token_json(token: AddedToken) -> dict:
    return {
        "content": token.content,
        "lstrip": token.lstrip,
        "normalized": token.normalized,
        "rstrip": token.rstrip,
        "single_word": token.single_word,
        "special": token.special,
    }


def _read_chat_template(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return {item["name"]: item["template"] for item in value}
    if isinstance(value, dict):
        return dict(value)
    raise CheckpointFormatError(
        f"chat_template must be a string or a list of {{name, template}}, got {type(value).__name__}"
    )


def _write_json(path: str, data: dict, sort_keys: bool = True) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(data, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n")
