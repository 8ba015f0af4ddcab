"""The console script: inspect, convert, verify and the demo."""

import os
import shutil

import numpy as np
import pytest
from conftest import MODELS

import autoload
from autoload.cli import main
from autoload.testing import assert_backends_agree, compare_backends

BERT = MODELS / "bert"


def test_inspect(capsys):
    assert main(["inspect", str(BERT / "BertForMaskedLM")]) == 0
    text = capsys.readouterr().out
    assert "BertConfig" in text and "BertForMaskedLM" in text
    assert "[safetensors] model.safetensors" in text and "parameters" in text and "float32" in text
    assert "torch" in text and "flax" in text


@pytest.mark.parametrize("target", ["safetensors", "pt", "tf", "flax"])
def test_convert_then_load_everywhere(tmp_path, target):
    if target in ("tf", "flax"):
        pytest.importorskip({"tf": "tensorflow", "flax": "flax"}[target])
    out = tmp_path / "converted"
    assert main(["convert", str(BERT / "formats/tf_h5"), "--to", target, "--out", str(out)]) == 0
    name = {"safetensors": "model.safetensors", "pt": "pytorch_model.bin", "tf": "tf_model.h5",
            "flax": "flax_model.msgpack"}[target]  # fmt: skip
    assert (out / name).exists() and (out / "config.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".converted")]
    report = compare_backends(out, backends=["torch", "tf", "flax"])
    assert report.ok, report


def test_convert_sharded(tmp_path):
    out = tmp_path / "sharded"
    main(["convert", str(BERT / "BertModel"), "--to", "safetensors", "--out", str(out), "--max-shard-size", "20KB"])
    assert (out / "model.safetensors.index.json").exists()
    assert len(list(out.glob("model-*.safetensors"))) > 1


def test_convert_refuses_an_existing_folder(tmp_path):
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--overwrite"):
        main(["convert", str(BERT / "BertModel"), "--to", "pt", "--out", str(out)])
    assert (out / "keep.txt").exists()
    main(["convert", str(BERT / "BertModel"), "--to", "pt", "--out", str(out), "--overwrite"])
    assert (out / "pytorch_model.bin").exists() and not (out / "keep.txt").exists()


def test_interrupted_conversion_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    from autoload.commands import convert

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(convert, "write_sharded", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["convert", str(BERT / "BertModel"), "--to", "safetensors", "--out", str(tmp_path / "out")])
    assert os.listdir(tmp_path) == []


def test_verify_passes_and_fails(capsys, monkeypatch):
    assert main(["verify", str(BERT / "BertForSequenceClassification")]) == 0
    assert "OK" in capsys.readouterr().out
    assert_backends_agree(BERT / "BertForQuestionAnswering")

    from autoload import testing

    real = testing.run_backend

    def drifting(backend, *args, **kwargs):
        outputs = real(backend, *args, **kwargs)
        return {k: v + (0.01 if backend == "flax" else 0.0) for k, v in outputs.items()}

    monkeypatch.setattr(testing, "run_backend", drifting)
    assert main(["verify", str(BERT / "BertModel")]) == 1
    assert "MISMATCH" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="frameworks disagree"):
        assert_backends_agree(BERT / "BertModel")


def test_demo_runs():
    assert main(["demo"]) == 0


def test_sample_inputs_follow_the_config():
    config = autoload.AutoConfig.from_pretrained(BERT / "BertModel")
    inputs = autoload.testing.sample_inputs(config)
    assert inputs["input_ids"].max() < config.vocab_size and inputs["attention_mask"][1, -1] == 0
    assert np.array_equal(inputs["token_type_ids"], np.zeros_like(inputs["input_ids"]))


def test_copy_side_files(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(BERT / "BertModel", source)
    (source / "tokenizer.json").write_text("{}")
    main(["convert", str(source), "--to", "safetensors", "--out", str(tmp_path / "dst")])
    assert (tmp_path / "dst" / "tokenizer.json").exists()
