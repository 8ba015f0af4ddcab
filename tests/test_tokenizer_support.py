"""Helpers shared by the tokenizer tests (no tests here): reference folders and their cases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal

TOKENIZER_FIXTURES = Path(__file__).parent / "fixtures" / "tokenizers"
# Folders that take vocab.txt and tokenizer.json from another folder (same vocabulary; see the README there).
SHARED_FILES = {"distilbert-uncased": "bert-uncased", "layoutlmv2": "bert-uncased"}
# Folders that take one vocabulary file, unchanged, from another folder (Phi-3 and Mixtral use Llama's model).
SHARED_VOCABULARY = {"phi3": ("llama", "tokenizer.model"), "mixtral": ("llama", "tokenizer.model")}
REFERENCE_FOLDERS = sorted(p.name for p in TOKENIZER_FIXTURES.iterdir() if p.is_dir() and p.name != "layoutlmv2")
# Files that are not vocabularies: a folder with tokenizer.json and something else is also built from the rest.
_NOT_VOCABULARY = {"cases.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json",
                   "added_tokens.json", "chat_template.jinja"}  # fmt: skip


def _has_older_files(name: str) -> bool:
    files = {p.name for p in (TOKENIZER_FIXTURES / name).iterdir()}
    if name in SHARED_FILES or name in SHARED_VOCABULARY:
        return True
    return "tokenizer.json" in files and bool(files - _NOT_VOCABULARY)


# Folders with a tokenizer.json and older vocabulary files, which the tests also build from the older files alone.
FULL_FOLDERS = [name for name in REFERENCE_FOLDERS if _has_older_files(name)]


def cases_of(name: str) -> dict:
    return json.loads((TOKENIZER_FIXTURES / name / "cases.json").read_text(encoding="utf-8"))


def materialize(name: str, target: Path, *, without_tokenizer_json: bool = False) -> Path:
    """Copy a reference folder to `target` (adding shared files), optionally without tokenizer.json."""
    target.mkdir(parents=True, exist_ok=True)
    for path in (TOKENIZER_FIXTURES / name).iterdir():
        if path.name != "cases.json":
            shutil.copy(path, target / path.name)
    if name in SHARED_VOCABULARY:
        donor, filename = SHARED_VOCABULARY[name]
        shutil.copy(TOKENIZER_FIXTURES / donor / filename, target / filename)
    donor = SHARED_FILES.get(name)
    if donor is not None:
        shutil.copy(TOKENIZER_FIXTURES / donor / "vocab.txt", target / "vocab.txt")
        state = json.loads((TOKENIZER_FIXTURES / donor / "tokenizer.json").read_text(encoding="utf-8"))
        state["truncation"] = state["padding"] = None
        (target / "tokenizer.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    if without_tokenizer_json:
        (target / "tokenizer.json").unlink(missing_ok=True)
    return target


def plain(value):
    """Tuples (offsets) as lists and NaN as "NaN" (as the generators write it), to compare with JSON."""
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, float) and value != value:
        return "NaN"
    return value


def call_case(tokenizer, case: dict):
    """The case's call; with `attributes` (e.g. src_lang) set on the tokenizer for the call and restored after.

    A case with context "as_target_tokenizer" makes the call twice inside that context manager and returns both.
    """
    args = [case["text"]] + ([case["text_pair"]] if case.get("text_pair") is not None else [])
    attributes = case.get("attributes", {})
    saved = {key: getattr(tokenizer, key) for key in attributes}
    try:
        for key, value in attributes.items():
            setattr(tokenizer, key, value)
        if case.get("context") == "as_target_tokenizer":
            with tokenizer.as_target_tokenizer():
                return tokenizer(*args, **case["call"]), tokenizer(*args, **case["call"])
        return tokenizer(*args, **case["call"])
    finally:
        for key, value in saved.items():
            setattr(tokenizer, key, value)


def case_id(case: dict) -> str:
    text = case["text"] if isinstance(case["text"], str) else f"batch{len(case['text'])}" if case["text"] else ""
    pair = "+pair" if case.get("text_pair") is not None else ""
    call = ",".join(f"{k}={v}" for k, v in sorted(case["call"].items()))
    attributes = ",".join(f"{k}={v}" for k, v in sorted(case.get("attributes", {}).items()))
    context = f"<{case['context']}>" if case.get("context") else ""
    return f"{text[:24]!r}{pair}[{call}]{attributes}{context}"


WHISPER_SPECIALS = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>", "<|0.00|>"]


def synthetic_folder(kind: str, target: Path) -> Path:
    """Folders for families without reference data (bart, qwen2, whisper, clip), from older files only."""
    target.mkdir(parents=True, exist_ok=True)
    config: dict = {}
    if kind == "clip":
        from tokenizers.pre_tokenizers import ByteLevel

        alphabet = sorted(ByteLevel.alphabet())
        vocab = {token: i for i, token in enumerate([*alphabet, *(ch + "</w>" for ch in alphabet)])}
        for token in ("hi</w>", "<|startoftext|>", "<|endoftext|>"):
            vocab[token] = len(vocab)
        (target / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        (target / "merges.txt").write_text("#version: 0.2\nh i</w>\n", encoding="utf-8")
    else:
        source = TOKENIZER_FIXTURES / ("roberta" if kind == "bart" else "gpt2")
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(source / name, target / name)
        if kind == "whisper":
            size = len(json.loads((source / "vocab.json").read_text(encoding="utf-8")))
            config["added_tokens_decoder"] = {
                str(size + i): {"content": token, "special": True, "normalized": False}
                for i, token in enumerate(WHISPER_SPECIALS)
            }
    class_name = {
        "bart": "BartTokenizer",
        "qwen2": "Qwen2Tokenizer",
        "whisper": "WhisperTokenizer",
        "clip": "CLIPTokenizer",
    }
    config["tokenizer_class"] = class_name[kind]
    (target / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


# Tools passed to chat templates as Python functions (the `tool_functions` of a chat case); written exactly as
# in scripts/reference/make_decoder_tokenizers.py, whose transformers run turned them into JSON schemas.
def get_current_temperature(location: str, unit: str = "celsius") -> float:
    """
    Get the current temperature at a location.

    Args:
        location: The location to get the temperature for, in the format "City, Country"
        unit: The unit to return the temperature in. (choices: ["celsius", "fahrenheit"])

    Returns:
        The current temperature at the specified location in the specified units, as a float.
    """
    return 22.0


def multiply(a: float, b: int | None = None, values: list[str] | None = None) -> float:
    """
    A function that multiplies two numbers

    Args:
        a: The first number to multiply
        b: The second number to multiply
        values: Extra labels, unused
    """
    return a * (b or 1)


def plan_trip(city: Literal["Paris", "Rome"], days: tuple[int, str], budget: dict[str, float],
              flexible: bool | str = False, notes: Any = None) -> list[dict]:  # fmt: skip
    """
    Plan a trip.

    Args:
        city: Where to go
        days: How many days, and a label
            for them (this description spans two lines)
        budget: Money per category
        flexible: Whether the dates may move
        notes: Anything else
    """
    return []


TOOL_FUNCTIONS = {"get_current_temperature": get_current_temperature, "multiply": multiply, "plan_trip": plan_trip}


def chat_call(tokenizer, case: dict):
    """apply_chat_template as a chat case of cases.json records it."""
    kwargs = dict(case["kwargs"])
    if "tool_functions" in kwargs:
        kwargs["tools"] = [TOOL_FUNCTIONS[name] for name in kwargs.pop("tool_functions")]
    return tokenizer.apply_chat_template(case["conversation"], **kwargs)
