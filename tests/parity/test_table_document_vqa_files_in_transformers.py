"""The TAPAS, LayoutLMv3 and ViLT files autoload writes load in transformers 4.57.6's class of every framework it
has for them and reproduce the reference outputs of every head (run by `nox -s parity`; skipped when transformers
is not installed).

Not covered: transformers has no Flax class for any of them and no TF ViLT; its TFTapasForQuestionAnswering cannot
be built without tensorflow_probability. ViLT's PyTorch class orders the image patches with torch.multinomial;
the test pins that draw to the first patches in order, which is the choice autoload makes."""

import tempfile

import pytest
from conftest import MODELS, assert_matches_expected, read_fixture

transformers = pytest.importorskip("transformers")

import autoload  # noqa: E402
from autoload.families import auto_class_name  # noqa: E402

IN_TRANSFORMERS = {"torch": ("tapas", "layoutlmv3", "vilt"), "tf": ("tapas", "layoutlmv3")}
PREFIX = {"torch": "", "tf": "TF"}
CASES = [(f"{t}/{p.name}", backend) for backend, types in IN_TRANSFORMERS.items() for t in types
         for p in sorted((MODELS / t).iterdir())
         if p.name != "formats" and hasattr(transformers, PREFIX[backend] + p.name)
         and (backend, p.name) != ("tf", "TapasForQuestionAnswering")]  # fmt: skip


@pytest.mark.parametrize("folder,backend", CASES)
def test_saved_files_load_in_transformers(folder, backend, monkeypatch):
    pytest.importorskip({"torch": "torch", "tf": "tensorflow"}[backend])
    meta, inputs, expected = read_fixture(MODELS / folder)
    model = getattr(autoload, auto_class_name(meta["family"], backend)).from_pretrained(MODELS / folder)
    with tempfile.TemporaryDirectory() as saved:
        model.save_pretrained(saved)
        theirs = getattr(transformers, PREFIX[backend] + meta["pt_class"]).from_pretrained(saved)
        if backend == "torch":
            import torch

            monkeypatch.setattr(torch, "multinomial", lambda weights, count, replacement=False: torch.arange(count))
            with torch.no_grad():
                output = theirs.eval()(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **meta["call_kwargs"])
        else:
            output = theirs(**inputs, **meta["call_kwargs"])
    assert_matches_expected(output, expected, meta["atol"])
