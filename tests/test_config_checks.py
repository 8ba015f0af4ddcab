"""The config and JSON checks refuse nothing real: every fixture config, checkpoint and preprocessor config
passes them (the hostile corpus in tests/hostile shows what they refuse)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoload import AutoConfig
from autoload.config_checks import (
    check_config_against_weights,
    check_config_dict,
    check_config_types,
    check_preprocessor_config,
    known_config_class,
    total_elements,
)
from autoload.errors import CheckpointFormatError
from autoload.json_files import parse_json, read_json_file
from autoload.loading import to_canonical
from autoload.weights import find_all_weights, open_weights

FIXTURES = Path(__file__).parent / "fixtures"
CONFIGS = sorted(FIXTURES.glob("models/*/*/config.json"))
PREPROCESSOR_CONFIGS = sorted(FIXTURES.glob("*/*/preprocessor_config.json"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_every_fixture_config_and_checkpoint_passes(path):
    data = json.loads(path.read_text())
    check_config_dict(data, path)
    check_config_types(data, known_config_class(data["model_type"]), path)
    config = AutoConfig.from_pretrained(path.parent)
    formats = find_all_weights(path.parent)
    assert formats, f"{path.parent} holds no weights"
    for files in formats:
        state = to_canonical(open_weights(files), files.format, config)
        check_config_against_weights(config, state, path, files.paths[0])


@pytest.mark.parametrize("path", PREPROCESSOR_CONFIGS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_every_fixture_preprocessor_config_passes(path):
    check_preprocessor_config(json.loads(path.read_text()), path)


def test_the_plausibility_bound_follows_the_weights():
    folder = FIXTURES / "models" / "bert" / "BertModel"
    config = AutoConfig.from_pretrained(folder)
    state = open_weights(find_all_weights(folder)[0])
    total = total_elements(state)
    assert total == sum(int(state[name].size) for name in state)
    limit = (4 * total + 2**22) // 32  # a few times the checkpoint, plus a floor that keeps tiny models buildable
    config.vocab_size = limit
    check_config_against_weights(config, state, "config.json", "model.safetensors")
    config.vocab_size = limit + 1  # rows x width beyond the bound
    with pytest.raises(CheckpointFormatError, match=rf"'vocab_size' is {limit + 1}, .* x width 32.* <= {limit}\."):
        check_config_against_weights(config, state, "config.json", "model.safetensors")


def test_json_limits(tmp_path):
    assert parse_json('{"a": [[1]]}', "x.json") == {"a": [[1]]}
    parse_json('{"a": [[1]]}', "x.json", max_depth=3)
    with pytest.raises(CheckpointFormatError, match=r"x\.json nests JSON .* more than 2 levels"):
        parse_json('{"a": [[1]]}', "x.json", max_depth=2)
    with pytest.raises(CheckpointFormatError, match=r"x\.json names the key 'a' twice"):
        parse_json('{"a": 1, "a": 2}', "x.json", unique_keys=True)
    assert parse_json('{"a": 1, "a": 2}', "x.json") == {"a": 2}  # as Python's json, where allowed
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"a": "x" * 100}))
    with pytest.raises(CheckpointFormatError, match=r"big\.json is \d+ bytes; autoload reads JSON files of at most 50"):
        read_json_file(path, max_bytes=50)


@pytest.mark.parametrize("model_type", ["xlm-roberta", "electra", "albert", "deberta-v2", "modernbert", "mbart",
                                        "marian", "pegasus"])  # fmt: skip
def test_pad_token_outside_the_vocabulary_is_refused(model_type):
    """These models' word embeddings take pad_token_id as their padding index in transformers 4.57.6, which fails
    to build them when the id is outside the vocabulary."""
    folder = next(p for p in sorted((FIXTURES / "models" / model_type).iterdir()) if (p / "config.json").is_file())
    config = AutoConfig.from_pretrained(folder)
    state = open_weights(find_all_weights(folder)[0])
    check_config_against_weights(config, state, "config.json", "model.safetensors")
    config.pad_token_id = -config.vocab_size  # negative ids count from the end, as torch's padding_idx does
    check_config_against_weights(config, state, "config.json", "model.safetensors")
    config.pad_token_id = config.vocab_size
    with pytest.raises(CheckpointFormatError, match=rf"'pad_token_id' is {config.vocab_size}, outside the vocab"):
        check_config_against_weights(config, state, "config.json", "model.safetensors")


def test_null_summary_activation_means_none(tmp_path):
    """transformers 4.57.6 reads ELECTRA's summary_activation null as no activation (its default is 'gelu')."""
    from autoload.sequence_summary import summary_options

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "electra", "summary_activation": None}))
    config = AutoConfig.from_pretrained(tmp_path)
    assert config.summary_activation is None and summary_options(config).activation is None
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "electra", "summary_activation": 1}))
    with pytest.raises(CheckpointFormatError, match=r"'summary_activation' is 1; expected a string"):
        AutoConfig.from_pretrained(tmp_path)


def test_a_size_only_some_configs_let_be_null(tmp_path):
    """VITS reads window_size null as no relative positions; Swin's window_size must be a size."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "vits", "window_size": None}))
    assert AutoConfig.from_pretrained(tmp_path).window_size is None
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "swin", "window_size": None}))
    with pytest.raises(CheckpointFormatError, match=r"'window_size' is None"):
        AutoConfig.from_pretrained(tmp_path)
