"""TAPAS beyond the parity fixtures: the training loss of every supervision mode against transformers 4.57.6
(scripts/reference/tapas_loss.py), and the clear refusals of what autoload does not compute."""

import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS

import autoload

QA = MODELS / "tapas" / "TapasForQuestionAnswering"
LOSSES = FIXTURES / "tapas_loss"
CASES = json.loads((LOSSES / "cases.json").read_text())
EXTRAS = ("labels", "aggregation_labels", "float_answer", "numeric_values", "numeric_values_scale")


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_loss_matches_transformers(case):
    torch = pytest.importorskip("torch")
    reference = np.load(LOSSES / "losses.npz")
    config = autoload.AutoConfig.from_pretrained(QA, **CASES[case])
    model = autoload.AutoModelForTableQuestionAnswering.from_pretrained(QA, config=config).eval()
    inputs = {k: torch.from_numpy(v) for k, v in np.load(QA / "inputs.npz").items()}
    inputs.update({k: torch.from_numpy(reference[k]) for k in EXTRAS})
    with torch.no_grad():
        result = model(**inputs)
    np.testing.assert_allclose(result.loss.numpy(), reference[f"{case}_loss"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(result.logits.numpy(), reference[f"{case}_logits"], atol=1e-4)


def test_loss_needs_the_answers_it_reads():
    torch = pytest.importorskip("torch")
    config = autoload.AutoConfig.from_pretrained(QA, **CASES["wtq"])
    model = autoload.AutoModelForTableQuestionAnswering.from_pretrained(QA, config=config).eval()
    inputs = {k: torch.from_numpy(v) for k, v in np.load(QA / "inputs.npz").items()}
    with pytest.raises(ValueError, match="float answers"):
        model(**inputs, labels=torch.zeros_like(inputs["input_ids"]))


@pytest.mark.parametrize("backend", ["tf", "flax"])
def test_tf_and_flax_refuse_labels_clearly(backend):
    pytest.importorskip({"tf": "tensorflow", "flax": "flax"}[backend])
    auto = getattr(autoload, {"tf": "TF", "flax": "Flax"}[backend] + "AutoModelForTableQuestionAnswering")
    model = auto.from_pretrained(QA)
    inputs = dict(np.load(QA / "inputs.npz"))
    with pytest.raises(NotImplementedError, match="training loss"):
        model(**inputs, labels=np.zeros_like(inputs["input_ids"]))


def test_unknown_average_approximation_is_refused():
    with pytest.raises(ValueError, match="average_approximation_function"):
        autoload.AutoConfig.for_model("tapas", average_approximation_function="median")
