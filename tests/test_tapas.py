"""TAPAS beyond the parity fixtures: the training loss of every supervision mode against transformers 4.57.6
(scripts/reference/tapas_loss.py) in PyTorch and TF, and the clear refusals of what autoload does not compute
(Flax heads take no labels; TF refuses the Gumbel-sampled variants)."""

import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS

import autoload

QA = MODELS / "tapas" / "TapasForQuestionAnswering"
LOSSES = FIXTURES / "tapas_loss"
CASES = json.loads((LOSSES / "cases.json").read_text())
EXTRAS = ("labels", "aggregation_labels", "float_answer", "numeric_values", "numeric_values_scale")


@pytest.mark.parametrize("backend", ["torch", "tf"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_training_loss_matches_transformers(case, backend):
    reference = np.load(LOSSES / "losses.npz")
    config = autoload.AutoConfig.from_pretrained(QA, **CASES[case])
    inputs = dict(np.load(QA / "inputs.npz"))
    inputs.update({k: reference[k] for k in EXTRAS})
    if backend == "torch":
        torch = pytest.importorskip("torch")
        model = autoload.AutoModelForTableQuestionAnswering.from_pretrained(QA, config=config).eval()
        with torch.no_grad():
            result = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        loss, logits = result.loss.numpy(), result.logits.numpy()
    else:
        pytest.importorskip("tensorflow")
        model = autoload.TFAutoModelForTableQuestionAnswering.from_pretrained(QA, config=config)
        result = model(**inputs)
        loss, logits = np.asarray(result.loss), np.asarray(result.logits)
    np.testing.assert_allclose(loss, reference[f"{case}_loss"], rtol=1e-5, atol=1e-4)
    # Logits of cells outside the chosen column sit near -10000, where float32 steps are ~1e-3.
    np.testing.assert_allclose(logits, reference[f"{case}_logits"], atol=1e-4 if backend == "torch" else 1e-3)


def test_loss_needs_the_answers_it_reads():
    torch = pytest.importorskip("torch")
    config = autoload.AutoConfig.from_pretrained(QA, **CASES["wtq"])
    model = autoload.AutoModelForTableQuestionAnswering.from_pretrained(QA, config=config).eval()
    inputs = {k: torch.from_numpy(v) for k, v in np.load(QA / "inputs.npz").items()}
    with pytest.raises(ValueError, match="float answers"):
        model(**inputs, labels=torch.zeros_like(inputs["input_ids"]))


def test_flax_refuses_labels_clearly():
    pytest.importorskip("flax")
    model = autoload.FlaxAutoModelForTableQuestionAnswering.from_pretrained(QA)
    inputs = dict(np.load(QA / "inputs.npz"))
    with pytest.raises(NotImplementedError, match="training loss"):
        model(**inputs, labels=np.zeros_like(inputs["input_ids"]))


def test_unknown_average_approximation_is_refused():
    with pytest.raises(ValueError, match="average_approximation_function"):
        autoload.AutoConfig.for_model("tapas", average_approximation_function="median")


def test_tf_refuses_the_gumbel_loss_clearly():
    pytest.importorskip("tensorflow")
    reference = np.load(LOSSES / "losses.npz")
    config = autoload.AutoConfig.from_pretrained(QA, **CASES["wtq"], use_gumbel_for_cells=True)
    model = autoload.TFAutoModelForTableQuestionAnswering.from_pretrained(QA, config=config)
    inputs = dict(np.load(QA / "inputs.npz"))
    with pytest.raises(NotImplementedError, match="Gumbel"):
        model(**inputs, **{k: reference[k] for k in EXTRAS})


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_question_over_a_small_table(backend):
    """TapasTokenizer -> TapasForQuestionAnswering -> convert_logits_to_predictions, as transformers answers it
    (scripts/reference/tapas_pipeline.py: a tiny random model over the tokenizer fixture's vocabulary)."""
    pytest.importorskip({"torch": "torch", "tf": "tensorflow", "flax": "flax"}[backend])
    folder = FIXTURES / "tapas_pipeline"
    expected = json.loads((folder / "expected.json").read_text())
    tokenizer = autoload.AutoTokenizer.from_pretrained(FIXTURES / "tokenizers" / "tapas")
    inputs = tokenizer(table=expected["table"], queries=expected["queries"], padding="longest", return_tensors="np")
    assert inputs["input_ids"].tolist() == expected["input_ids"]
    assert inputs["token_type_ids"].tolist() == expected["token_type_ids"]
    prefix = {"torch": "", "tf": "TF", "flax": "Flax"}[backend]
    model = getattr(autoload, prefix + "AutoModelForTableQuestionAnswering").from_pretrained(folder)
    if backend == "torch":
        import torch

        with torch.no_grad():
            outputs = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        logits, aggregation = outputs.logits.numpy(), outputs.logits_aggregation.numpy()
    else:
        outputs = model(**inputs)
        logits, aggregation = np.asarray(outputs.logits), np.asarray(outputs.logits_aggregation)
    np.testing.assert_allclose(logits, expected["logits"], atol=1e-3)  # cells outside the column sit near -10000
    np.testing.assert_allclose(aggregation, expected["logits_aggregation"], atol=1e-4)
    coordinates, indices = tokenizer.convert_logits_to_predictions(inputs, logits, aggregation,
                                                                   cell_classification_threshold=expected["threshold"])
    assert [[list(c) for c in cells] for cells in coordinates] == expected["answer_coordinates"]
    assert [int(i) for i in indices] == expected["aggregation_indices"]
    assert [model.config.aggregation_labels[i] for i in indices] == ["COUNT", "COUNT"]
