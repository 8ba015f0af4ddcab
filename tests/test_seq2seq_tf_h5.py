"""The tf_model.h5 autoload's TF BART-family models write has transformers' layout for the weights that live
outside the Keras scopes (the shared embedding as `model.shared`, `final_logits_bias` in a group of its own,
as in transformers' own files: tests/parity/test_seq2seq_files_in_transformers.py loads ours there), and every
framework reads it back to the reference logits."""

import importlib.util

import h5py
import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

import autoload

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
LOADERS = {"torch": ("AutoModelForSeq2SeqLM", {"from_tf": True}), "tf": ("TFAutoModelForSeq2SeqLM", {}),
           "flax": ("FlaxAutoModelForSeq2SeqLM", {"from_tf": True})}  # fmt: skip


def run(model, backend, inputs, call_kwargs):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **call_kwargs)
    return model(**inputs, **call_kwargs)


@pytest.fixture(scope="module", params=["bart/BartForConditionalGeneration", "marian/MarianMTModel",
                                        "mbart/MBartForConditionalGeneration",
                                        "pegasus/PegasusForConditionalGeneration"])  # fmt: skip
def saved(request, tmp_path_factory):
    pytest.importorskip("tensorflow")
    folder = tmp_path_factory.mktemp("h5")
    autoload.TFAutoModelForSeq2SeqLM.from_pretrained(MODELS / request.param).save_pretrained(folder)
    return request.param, folder


def test_layout_is_transformers(saved):
    _, folder = saved
    with h5py.File(folder / "tf_model.h5") as f:
        assert sorted(str(n) for n in f.attrs["layer_names"]) == ["final_logits_bias", "model"]
        assert [str(n) for n in f["final_logits_bias"].attrs["weight_names"]] == ["final_logits_bias:0"]
        model_names = [str(n) for n in f["model"].attrs["weight_names"]]
        assert "model.shared/model.shared/embeddings:0" in model_names
        assert not any("/shared/" in n for n in model_names if not n.startswith("model.shared/"))
        assert f["model/model.shared/model.shared/embeddings:0"].ndim == 2


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_every_framework_reads_it(saved, backend):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    name, folder = saved
    meta, inputs, expected = read_fixture(MODELS / name)
    auto, flags = LOADERS[backend]
    model, info = getattr(autoload, auto).from_pretrained(folder, output_loading_info=True, **flags)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    assert_matches_expected(run(model, backend, inputs, meta["call_kwargs"]), expected, meta["atol"])
