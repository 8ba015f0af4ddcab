"""AutoTokenizer: pick the tokenizer class of a folder or Hub repo and load it.

The class comes from `tokenizer_class` in tokenizer_config.json, else from config.json (`tokenizer_class`,
then `model_type`), else a bare tokenizer.json loads as PreTrainedTokenizerFast. `AutoTokenizer.register`
adds classes for new model types and class names.
"""

from __future__ import annotations

import importlib
import os

from ..errors import CheckpointFormatError, CheckpointNotFoundError
from ..hub import HubOptions, resolve_folder
from . import loading

# Built-in classes: name -> module of this package that defines it (imported on first use).
TOKENIZER_CLASS_MODULES: dict[str, str] = {
    "PreTrainedTokenizerFast": "base",
    **{
        name: "bert"
        for name in ("BertTokenizer", "BertTokenizerFast", "DistilBertTokenizer", "DistilBertTokenizerFast")
    },
    **{name: "layoutlmv2" for name in ("LayoutLMv2Tokenizer", "LayoutLMv2TokenizerFast")},
    **{
        name + suffix: "byte_level"
        for name in (
            "GPT2Tokenizer",
            "RobertaTokenizer",
            "BartTokenizer",
            "CLIPTokenizer",
            "WhisperTokenizer",
            "Qwen2Tokenizer",
        )
        for suffix in ("", "Fast")
    },
    **{name: "t5" for name in ("T5Tokenizer", "T5TokenizerFast")},
    **{name: "llama" for name in ("LlamaTokenizer", "LlamaTokenizerFast")},
    **{name: "gemma" for name in ("GemmaTokenizer", "GemmaTokenizerFast")},
    "GPTNeoXTokenizerFast": "gpt_neox",
    "SiglipTokenizer": "siglip",
    "Wav2Vec2CTCTokenizer": "wav2vec2",
    **{
        name + suffix: module
        for name, module in (
            ("XLMRobertaTokenizer", "xlm_roberta"),
            ("MPNetTokenizer", "mpnet"),
            ("DebertaV2Tokenizer", "deberta_v2"),
            ("AlbertTokenizer", "albert"),
            ("MT5Tokenizer", "mt5"),
            ("MBartTokenizer", "mbart"),
            ("MBart50Tokenizer", "mbart"),
            ("PegasusTokenizer", "pegasus"),
        )
        for suffix in ("", "Fast")
    },
    "MarianTokenizer": "marian",
    **{name: "layoutlmv3" for name in ("LayoutLMv3Tokenizer", "LayoutLMv3TokenizerFast")},
    "TapasTokenizer": "tapas",
    "SpeechT5Tokenizer": "speecht5",
    "VitsTokenizer": "vits",
}

# model_type -> (slow class name, fast class name), as transformers 4.57 maps them.
MODEL_TYPE_TOKENIZERS: dict[str, tuple[str | None, str | None]] = {
    "bert": ("BertTokenizer", "BertTokenizerFast"),
    "distilbert": ("DistilBertTokenizer", "DistilBertTokenizerFast"),
    "layoutlmv2": ("LayoutLMv2Tokenizer", "LayoutLMv2TokenizerFast"),
    "gpt2": ("GPT2Tokenizer", "GPT2TokenizerFast"),
    "roberta": ("RobertaTokenizer", "RobertaTokenizerFast"),
    "bart": ("BartTokenizer", "BartTokenizerFast"),
    "clip": ("CLIPTokenizer", "CLIPTokenizerFast"),
    "whisper": ("WhisperTokenizer", "WhisperTokenizerFast"),
    "qwen2": ("Qwen2Tokenizer", "Qwen2TokenizerFast"),
    "t5": ("T5Tokenizer", "T5TokenizerFast"),
    "llama": ("LlamaTokenizer", "LlamaTokenizerFast"),
    "mistral": ("LlamaTokenizer", "LlamaTokenizerFast"),
    "mixtral": ("LlamaTokenizer", "LlamaTokenizerFast"),
    "phi3": ("LlamaTokenizer", "LlamaTokenizerFast"),
    **{
        model_type: ("GemmaTokenizer", "GemmaTokenizerFast")
        for model_type in ("gemma", "gemma2", "gemma3", "gemma3_text", "gemma3n", "gemma3n_text")
    },
    **{model_type: ("Qwen2Tokenizer", "Qwen2TokenizerFast") for model_type in ("qwen2_moe", "qwen3", "qwen3_moe")},
    "opt": ("GPT2Tokenizer", "GPT2TokenizerFast"),
    "gptj": ("GPT2Tokenizer", "GPT2TokenizerFast"),
    "gpt_neox": (None, "GPTNeoXTokenizerFast"),
    "siglip": ("SiglipTokenizer", None),
    "wav2vec2": ("Wav2Vec2CTCTokenizer", None),
    "hubert": ("Wav2Vec2CTCTokenizer", None),
    "xlm-roberta": ("XLMRobertaTokenizer", "XLMRobertaTokenizerFast"),
    "mpnet": ("MPNetTokenizer", "MPNetTokenizerFast"),
    "deberta-v2": ("DebertaV2Tokenizer", "DebertaV2TokenizerFast"),
    "albert": ("AlbertTokenizer", "AlbertTokenizerFast"),
    # MT5Config's tokenizer_class is "T5Tokenizer", so transformers loads mT5 checkpoints with the T5 classes.
    "mt5": ("T5Tokenizer", "T5TokenizerFast"),
    "marian": ("MarianTokenizer", None),
    "mbart": ("MBartTokenizer", "MBartTokenizerFast"),
    "pegasus": ("PegasusTokenizer", "PegasusTokenizerFast"),
    "layoutlmv3": ("LayoutLMv3Tokenizer", "LayoutLMv3TokenizerFast"),
    "tapas": ("TapasTokenizer", None),
    "speecht5": ("SpeechT5Tokenizer", None),
    "vits": ("VitsTokenizer", None),
    "vilt": ("BertTokenizer", "BertTokenizerFast"),
    "blip": ("BertTokenizer", "BertTokenizerFast"),
    "llava": ("LlamaTokenizer", "LlamaTokenizerFast"),
}

# The older vocabulary files of the built-in families, named in "nothing found" errors.
OLDER_VOCABULARY_FILES = ("vocab.txt", "vocab.json", "merges.txt", "spiece.model", "tokenizer.model",
                          "sentencepiece.bpe.model", "spm.model", "source.spm", "spm_char.model")  # fmt: skip

_registered_classes: dict[str, type] = {}
_registered_model_types: dict[str, tuple[type | None, type | None]] = {}


def tokenizer_class_from_name(name: str) -> type | None:
    """The tokenizer class called `name` (registered or built in), or None."""
    if name in _registered_classes:
        return _registered_classes[name]
    module = TOKENIZER_CLASS_MODULES.get(name)
    if module is None:
        return None
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def known_class_names() -> list[str]:
    return sorted(set(TOKENIZER_CLASS_MODULES) | set(_registered_classes))


def known_model_types() -> list[str]:
    return sorted(set(MODEL_TYPE_TOKENIZERS) | set(_registered_model_types))


def _class_for_name(name: str, use_fast: bool, where: str) -> type:
    if use_fast:
        candidates = [name] if name.endswith("Fast") else [name + "Fast", name]
    else:
        candidates = [name[: -len("Fast")], name] if name.endswith("Fast") else [name]
    for candidate in candidates:
        cls = tokenizer_class_from_name(candidate)
        if cls is not None:
            return cls
    raise CheckpointFormatError(
        f"Tokenizer class {name!r} (tokenizer_class in {where}) is not known to autoload. Known classes: "
        f"{', '.join(known_class_names())}. To load it, write a class named {name} (e.g. a subclass of "
        f"PreTrainedTokenizerFast) and register it: AutoTokenizer.register(<model_type or config class>, "
        f"fast_tokenizer_class={name}Class)."
    )


def _class_for_model_type(model_type: str, use_fast: bool, where: str) -> type:
    entry = _registered_model_types.get(model_type) or MODEL_TYPE_TOKENIZERS.get(model_type)
    if entry is None:
        raise CheckpointFormatError(
            f"Model type {model_type!r} (from {where}) has no tokenizer known to autoload. Known model types: "
            f"{', '.join(known_model_types())}. Register one with AutoTokenizer.register({model_type!r}, "
            "fast_tokenizer_class=...)."
        )
    slow, fast = entry
    for choice in (fast, slow) if use_fast else (slow, fast):
        if choice is None:
            continue
        cls = tokenizer_class_from_name(choice) if isinstance(choice, str) else choice
        if cls is not None:
            return cls
    raise ValueError(f"Model type {model_type!r} has no tokenizer class registered.")


class AutoTokenizer:
    """Loads the right tokenizer class with `AutoTokenizer.from_pretrained(name_or_path)`."""

    def __init__(self):
        raise OSError("AutoTokenizer is not instantiated; use AutoTokenizer.from_pretrained(name_or_path).")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *inputs, **kwargs):
        """Load the tokenizer of a folder or Hub repo. `use_fast=False` is accepted (same results)."""
        config = kwargs.pop("config", None)
        use_fast = kwargs.pop("use_fast", True)
        tokenizer_type = kwargs.pop("tokenizer_type", None)
        options = HubOptions.pop_from(kwargs)
        source = pretrained_model_name_or_path
        tokenizer_config = loading.read_tokenizer_config(source, options)
        tokenizer_class = _resolve_class(source, options, tokenizer_config, config, tokenizer_type, use_fast)
        from .base import PreTrainedTokenizerFast

        if issubclass(tokenizer_class, PreTrainedTokenizerFast):
            return tokenizer_class._from_source(source, options, tokenizer_config, inputs, kwargs)
        return tokenizer_class.from_pretrained(source, *inputs, **_options_as_kwargs(options), **kwargs)

    @staticmethod
    def register(config_class, slow_tokenizer_class=None, fast_tokenizer_class=None, exist_ok: bool = False) -> None:
        """Map a model type (a string, or a config class with `model_type`) to tokenizer classes.

        The classes are also registered by name, so `tokenizer_class` in tokenizer_config.json finds them.
        """
        if slow_tokenizer_class is None and fast_tokenizer_class is None:
            raise ValueError("AutoTokenizer.register needs slow_tokenizer_class= or fast_tokenizer_class=.")
        model_type = config_class if isinstance(config_class, str) else getattr(config_class, "model_type", None)
        if not model_type:
            raise ValueError(f"{config_class!r} is neither a model type string nor a config class with a model_type.")
        if not exist_ok and (model_type in _registered_model_types or model_type in MODEL_TYPE_TOKENIZERS):
            raise ValueError(f"Model type {model_type!r} already has tokenizers; pass exist_ok=True to replace them.")
        previous = _registered_model_types.get(model_type, (None, None))
        _registered_model_types[model_type] = (slow_tokenizer_class or previous[0], fast_tokenizer_class or previous[1])
        for tokenizer_class in (slow_tokenizer_class, fast_tokenizer_class):
            if tokenizer_class is not None:
                _registered_classes[tokenizer_class.__name__] = tokenizer_class


def _resolve_class(source, options: HubOptions, tokenizer_config: dict, config, tokenizer_type, use_fast: bool) -> type:
    if tokenizer_type is not None:
        return _class_for_model_type(tokenizer_type, use_fast, "tokenizer_type=")
    name = tokenizer_config.get("tokenizer_class")
    if name:
        return _class_for_name(name, use_fast, loading.TOKENIZER_CONFIG_FILE)
    if config is not None:
        model_config = config if isinstance(config, dict) else {
            "tokenizer_class": getattr(config, "tokenizer_class", None), "model_type": getattr(config, "model_type", None)
        }  # fmt: skip
        where = "config="
    else:
        model_config, where = loading.read_model_config(source, options), loading.MODEL_CONFIG_FILE
    if model_config.get("tokenizer_class"):
        return _class_for_name(model_config["tokenizer_class"], use_fast, where)
    if model_config.get("model_type"):
        return _class_for_model_type(model_config["model_type"], use_fast, where)
    if loading.find_file(source, loading.TOKENIZER_FILE, options):
        from .base import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast
    folder = resolve_folder(source, options)
    vocab_names = list(OLDER_VOCABULARY_FILES)
    found = [name for name in vocab_names if loading.find_file(source, name, options)]
    looked_for = [loading.TOKENIZER_FILE, loading.TOKENIZER_CONFIG_FILE, loading.MODEL_CONFIG_FILE]
    if found:
        raise CheckpointNotFoundError(
            f"{folder} has {', '.join(found)} but no {' / '.join(looked_for)} saying which tokenizer it is. "
            "Pass tokenizer_type=<model type> (e.g. 'bert') or use the tokenizer class directly."
        )
    raise CheckpointNotFoundError(
        f"{folder} has no tokenizer files: looked for {', '.join(looked_for + vocab_names)}. Pass the folder a "
        "tokenizer was saved to, or a Hub repo id that has one."
    )


def _options_as_kwargs(options: HubOptions) -> dict:
    return {key: getattr(options, key) for key in HubOptions.KEYS if getattr(options, key) not in (None, "", False)}
