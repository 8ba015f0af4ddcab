"""Helpers shared by the tokenizer tests (no tests here): reference folders and their cases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

TOKENIZER_FIXTURES = Path(__file__).parent / "fixtures" / "tokenizers"
# Folders that take vocab.txt and tokenizer.json from another folder (same vocabulary; see the README there).
SHARED_FILES = {"distilbert-uncased": "bert-uncased", "layoutlmv2": "bert-uncased"}
REFERENCE_FOLDERS = sorted(p.name for p in TOKENIZER_FIXTURES.iterdir() if p.is_dir() and p.name != "layoutlmv2")
# Folders with a tokenizer.json, which the tests also build from the older files alone.
FULL_FOLDERS = [name for name in REFERENCE_FOLDERS if not name.endswith("-slow-files") and name != "wav2vec2-ctc"]


def cases_of(name: str) -> dict:
    return json.loads((TOKENIZER_FIXTURES / name / "cases.json").read_text(encoding="utf-8"))


def materialize(name: str, target: Path, *, without_tokenizer_json: bool = False) -> Path:
    """Copy a reference folder to `target` (adding shared files), optionally without tokenizer.json."""
    target.mkdir(parents=True, exist_ok=True)
    for path in (TOKENIZER_FIXTURES / name).iterdir():
        if path.name != "cases.json":
            shutil.copy(path, target / path.name)
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
    """Tuples (offsets) as lists, to compare with JSON."""
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def call_case(tokenizer, case: dict):
    args = [case["text"]] + ([case["text_pair"]] if case.get("text_pair") is not None else [])
    return tokenizer(*args, **case["call"])


def case_id(case: dict) -> str:
    text = case["text"] if isinstance(case["text"], str) else f"batch{len(case['text'])}"
    pair = "+pair" if case.get("text_pair") is not None else ""
    call = ",".join(f"{k}={v}" for k, v in sorted(case["call"].items()))
    return f"{text[:24]!r}{pair}[{call}]"


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
