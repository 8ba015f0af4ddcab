"""Bad input: each raises a clear error of the fitting type."""

from __future__ import annotations

import json

import pytest
from test_tokenizer_support import materialize

from autoload.errors import CheckpointFormatError, CheckpointNotFoundError
from autoload.tokenization import AutoTokenizer, BertTokenizerFast, PreTrainedTokenizerFast


def test_folder_without_tokenizer_files_lists_what_was_looked_for(tmp_path):
    with pytest.raises(CheckpointNotFoundError) as error:
        AutoTokenizer.from_pretrained(tmp_path)
    message = str(error.value)
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json", "vocab.txt", "vocab.json", "merges.txt",
                 "spiece.model", "tokenizer.model"):  # fmt: skip
        assert name in message
    with pytest.raises(CheckpointNotFoundError, match=r"tokenizer\.json, vocab\.txt"):
        BertTokenizerFast.from_pretrained(tmp_path)


def test_vocabulary_without_config_says_how_to_choose(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    with pytest.raises(CheckpointNotFoundError, match="tokenizer_type="):
        AutoTokenizer.from_pretrained(tmp_path)


def test_missing_hub_repo_offline(hub_cache):
    with pytest.raises(CheckpointNotFoundError):
        AutoTokenizer.from_pretrained("org/not-cached", cache_dir=hub_cache.cache_dir)


def test_corrupt_tokenizer_json(tmp_path):
    folder = materialize("bert-cased", tmp_path)
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "WordPiece"')
    with pytest.raises(CheckpointFormatError, match="tokenizer.json"):
        AutoTokenizer.from_pretrained(folder)


def test_corrupt_tokenizer_config(tmp_path):
    folder = materialize("bert-cased", tmp_path)
    (folder / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(CheckpointFormatError, match="tokenizer_config.json"):
        AutoTokenizer.from_pretrained(folder)


def test_corrupt_sentencepiece_model(tmp_path):
    folder = materialize("t5", tmp_path, without_tokenizer_json=True)
    (folder / "spiece.model").write_bytes(b"\x0a\xff\xff\xff")
    with pytest.raises(CheckpointFormatError, match="spiece.model"):
        AutoTokenizer.from_pretrained(folder)


def test_vocab_txt_with_duplicate_entries(tmp_path):
    folder = materialize("bert-cased", tmp_path, without_tokenizer_json=True)
    lines = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    (folder / "vocab.txt").write_text("\n".join([*lines, lines[10]]) + "\n", encoding="utf-8")
    with pytest.raises(CheckpointFormatError, match=r"vocab\.txt lists the token .* twice \(lines 11 and"):
        AutoTokenizer.from_pretrained(folder)


def test_padding_max_length_without_max_length(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(materialize("bert-cased", tmp_path))  # no model_max_length
    with pytest.raises(ValueError, match="max_length="):
        tokenizer(["a", "b c"], padding="max_length")
    tokenizer.model_max_length = 6
    assert tokenizer(["a", "b c"], padding="max_length")["attention_mask"][0] == [1, 1, 1, 0, 0, 0]


def test_padding_without_pad_token(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(materialize("gpt2", tmp_path))
    with pytest.raises(ValueError, match="pad_token = tokenizer.eos_token"):
        tokenizer(["a", "b c"], padding=True)


@pytest.mark.parametrize("bad", [123, None, [1, 2], ["ok", 3], b"bytes", {"text": "x"}])
def test_text_that_is_not_a_string(tmp_path, bad):
    tokenizer = AutoTokenizer.from_pretrained(materialize("bert-cased", tmp_path))
    with pytest.raises(ValueError, match="str"):
        tokenizer(bad)
    with pytest.raises(ValueError):
        tokenizer("fine", bad) if bad is not None else tokenizer(text=None)


def test_bad_strategy_names(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(materialize("bert-cased", tmp_path))
    with pytest.raises(ValueError, match="padding='longer'"):
        tokenizer("a", padding="longer")
    with pytest.raises(ValueError, match="truncation='first'"):
        tokenizer("a", truncation="first", max_length=3)
    with pytest.raises(ValueError, match="return_tensors"):
        tokenizer("a", return_tensors="mx")


def test_pair_too_long_for_only_second(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(materialize("bert-cased", tmp_path))
    with pytest.raises(ValueError, match="could not encode"):
        tokenizer("a long first text with many words", "b", truncation="only_second", max_length=5)


def test_unknown_tokenizer_class(tmp_path):
    folder = materialize("gpt2", tmp_path)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, "tokenizer_class": "MysteryTokenizer"}))
    with pytest.raises(ValueError) as error:
        AutoTokenizer.from_pretrained(folder)
    message = str(error.value)
    assert "MysteryTokenizer" in message and "BertTokenizerFast" in message and "AutoTokenizer.register" in message

    class MysteryTokenizerFast(PreTrainedTokenizerFast):
        pass

    AutoTokenizer.register("mystery", fast_tokenizer_class=MysteryTokenizerFast)
    assert type(AutoTokenizer.from_pretrained(folder)) is MysteryTokenizerFast


def test_unknown_model_type(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-model"}))
    with pytest.raises(ValueError, match="no-such-model.*AutoTokenizer.register"):
        AutoTokenizer.from_pretrained(tmp_path)


def test_register_needs_a_class():
    with pytest.raises(ValueError, match="fast_tokenizer_class"):
        AutoTokenizer.register("whatever")
    with pytest.raises(ValueError, match="exist_ok"):
        AutoTokenizer.register("bert", fast_tokenizer_class=BertTokenizerFast)


def test_batch_and_pair_length_mismatch(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(materialize("bert-cased", tmp_path))
    with pytest.raises(ValueError, match="text_pair has 1"):
        tokenizer(["a", "b"], ["c"])
    with pytest.raises(TypeError, match="text_pair must be a list"):
        tokenizer(["a", "b"], "c")


def test_auto_tokenizer_is_not_instantiated():
    with pytest.raises(OSError, match="from_pretrained"):
        AutoTokenizer()


def test_gpt_neox_needs_tokenizer_json(tmp_path):
    # transformers 4.57 has no slow GPT-NeoX class, so vocab.json + merges.txt alone cannot build one.
    folder = materialize("gpt-neox", tmp_path)
    AutoTokenizer.from_pretrained(folder).backend_tokenizer.model.save(str(folder))
    (folder / "tokenizer.json").unlink()
    with pytest.raises(CheckpointNotFoundError, match="tokenizer.json"):
        AutoTokenizer.from_pretrained(folder)


def test_siglip_has_no_offsets(tmp_path):
    siglip = AutoTokenizer.from_pretrained(materialize("siglip", tmp_path))
    with pytest.raises(NotImplementedError, match="offsets"):
        siglip("a photo of a cat", return_offsets_mapping=True)
