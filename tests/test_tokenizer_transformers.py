"""Optional parity with transformers 4.57 itself, where it is installed (never a dependency of autoload).

Covers what the stored reference cases cannot: the families without reference folders (BART, CLIP,
Whisper, Qwen2), more calls, and files written by our save_pretrained read back by transformers.
Skipped when transformers 4.57 is not importable; run with `pip install transformers==4.57.6`.
"""

from __future__ import annotations

import pytest
from test_tokenizer_support import REFERENCE_FOLDERS, materialize, plain, synthetic_folder

from autoload.tokenization import AutoTokenizer

transformers = pytest.importorskip("transformers")
if not transformers.__version__.startswith("4.57"):
    pytest.skip(
        f"parity is checked against transformers 4.57, found {transformers.__version__}", allow_module_level=True
    )

SYNTHETIC = ["bart", "qwen2", "whisper", "clip"]
# Their calls take words with boxes (LayoutLMv3) or a table (TAPAS), not the plain texts of this file; their cases from
# transformers 4.57.6 run in test_tokenizer_parity.py and test_multimodal_preprocessing.py.
STRUCTURED_INPUTS = {"layoutlmv3", "tapas"}
FOLDERS = [name for name in REFERENCE_FOLDERS
           if not name.endswith("-slow-files") and name not in STRUCTURED_INPUTS] + SYNTHETIC  # fmt: skip
TEXTS = [
    "Hello, world! Loading checkpoints is fun.",
    "  spaces   and\ttabs\nnew lines  ",
    "Ça marche très bien — même avec des accents! 2024 🙂",
    "a [MASK] and <mask> and </s> <s> <unk> inside",
    "",
]
CALLS = [
    {},
    {"add_special_tokens": False},
    {"return_offsets_mapping": True, "return_special_tokens_mask": True},
    {"truncation": True, "max_length": 6},
]


def _folder(name, tmp_path):
    return synthetic_folder(name, tmp_path) if name in SYNTHETIC else materialize(name, tmp_path)


def _assert_same(ours, theirs, text, pair=None, **call):
    if getattr(theirs, "is_fast", False) is False and "return_offsets_mapping" in call:
        return  # transformers' pure-Python tokenizers have no offsets
    args = (text,) if pair is None else (text, pair)
    expected = {key: plain(value) for key, value in theirs(*args, **call).items()}
    assert {key: plain(value) for key, value in ours(*args, **call).items()} == expected, (text, call)


@pytest.mark.parametrize("name", FOLDERS)
def test_encodings_and_decoding_match_transformers(tmp_path, name):
    folder = _folder(name, tmp_path)
    ours, theirs = AutoTokenizer.from_pretrained(folder), transformers.AutoTokenizer.from_pretrained(folder)
    assert type(ours).__name__ == type(theirs).__name__
    for text in TEXTS:
        for call in CALLS:
            _assert_same(ours, theirs, text, **call)
        _assert_same(ours, theirs, text, "and a second text", truncation=True, max_length=12)
        ids = theirs(text)["input_ids"]
        assert ours.decode(ids) == theirs.decode(ids)
        assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)
        assert ours.convert_ids_to_tokens(ids) == theirs.convert_ids_to_tokens(ids)


@pytest.mark.parametrize("name", FOLDERS)
def test_saved_files_load_in_transformers(tmp_path, name):
    ours = AutoTokenizer.from_pretrained(_folder(name, tmp_path / "source"))
    ours.add_tokens(["zebra-crossing"])
    ours.save_pretrained(tmp_path / "saved")
    text = "Hello zebra-crossing, world! </s> <mask> [MASK]"
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path / "saved")
    assert theirs(text)["input_ids"] == ours(text)["input_ids"]
    if not ours.can_save_slow_tokenizer:
        return  # tokenizer.json only (GPT-NeoX): transformers cannot load it from anything else either
    (tmp_path / "saved" / "tokenizer.json").unlink(missing_ok=True)
    from_older_files = transformers.AutoTokenizer.from_pretrained(tmp_path / "saved")
    # Compared with our own reading of the same files: transformers' Pegasus drops the saved added tokens there.
    ours_from_older_files = AutoTokenizer.from_pretrained(tmp_path / "saved")
    assert from_older_files(text)["input_ids"] == ours_from_older_files(text)["input_ids"]
