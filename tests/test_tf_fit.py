"""Keras training on the TF models as transformers 4.x users run it: labels in the inputs or as fit()'s targets
(the model's own loss), or a compiled Keras loss and metrics fed the output the targets stand for."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from conftest import MODELS, read_fixture  # noqa: E402

import autoload  # noqa: E402

BERT = MODELS / "bert"
IDS = np.random.default_rng(0).integers(5, 90, (4, 7))
CLASSES = np.array([0, 2, 1, 2])


def classifier():
    return autoload.TFAutoModelForSequenceClassification.from_pretrained(BERT / "BertForSequenceClassification")


def test_fit_trains_with_labels_in_the_inputs():
    model = classifier()
    _, inputs, _ = read_fixture(BERT / "BertForSequenceClassification")
    batch = {**inputs, "labels": np.array([0, 2])}
    before = float(model(batch).loss)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(batch, epochs=5, batch_size=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert float(model(batch).loss) < before


@pytest.mark.parametrize("as_dataset", [False, True])
def test_targets_become_labels_without_a_compiled_loss(as_dataset):
    model = classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    own_loss = float(model({"input_ids": IDS, "labels": CLASSES}).loss)
    np.testing.assert_allclose(model.evaluate({"input_ids": IDS}, CLASSES, verbose=0), own_loss, rtol=1e-5)
    data = tf.data.Dataset.from_tensor_slices(({"input_ids": IDS}, CLASSES)).batch(2) if as_dataset else None
    history = model.fit(data, epochs=6, verbose=0) if as_dataset else \
        model.fit(IDS, CLASSES, epochs=6, batch_size=4, verbose=0)  # fmt: skip
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_a_compiled_keras_loss_and_metric_see_the_logits():
    model = classifier()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss, metrics=["accuracy"])
    logits = model({"input_ids": IDS}).logits
    result = model.evaluate({"input_ids": IDS}, {"labels": CLASSES}, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["loss"], float(loss(CLASSES, logits)), rtol=1e-5)
    np.testing.assert_allclose(result["accuracy"], np.mean(np.argmax(logits, -1) == CLASSES))
    history = model.fit({"input_ids": IDS}, CLASSES, epochs=6, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_several_labels_as_a_dict_of_targets():
    model = autoload.TFAutoModelForQuestionAnswering.from_pretrained(BERT / "BertForQuestionAnswering")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    targets = {"start_positions": np.array([1, 2, 3, 4]), "end_positions": np.array([2, 3, 4, 6])}
    own_loss = float(model({"input_ids": IDS, **targets}).loss)
    np.testing.assert_allclose(model.evaluate({"input_ids": IDS}, targets, verbose=0), own_loss, rtol=1e-5)
    with pytest.raises(ValueError, match=r"several labels \(start_positions, end_positions\).*dict"):
        model.evaluate({"input_ids": IDS}, CLASSES, verbose=0)
    with pytest.raises(ValueError, match=r"\['start'\] are not labels"):
        model.evaluate({"input_ids": IDS}, {"start": CLASSES}, verbose=0)


def test_no_labels_and_no_loss_is_refused_clearly():
    model = classifier()
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="got no labels to compute its loss from: pass them in the inputs \\(labels\\)"):
        model.fit({"input_ids": IDS}, epochs=1, verbose=0)
    base = autoload.TFAutoModel.from_pretrained(BERT / "BertModel")
    base.compile(optimizer="adam")
    with pytest.raises(ValueError, match="computes no loss, so fit\\(\\) needs one: compile\\(loss=...\\)"):
        base.fit({"input_ids": IDS}, CLASSES, epochs=1, verbose=0)


def test_predict_gathers_every_output_field():
    model = autoload.TFAutoModelForTokenClassification.from_pretrained(BERT / "BertForTokenClassification")
    predicted = model.predict({"input_ids": IDS}, batch_size=3, verbose=0)
    assert list(predicted) == ["logits"]
    np.testing.assert_allclose(predicted["logits"], model({"input_ids": IDS}).logits.numpy(), atol=1e-5)


def test_targets_pick_outputs_like_transformers():
    from autoload.backends.tf.fitting import outputs_for_targets
    from autoload.outputs import ModelOutput

    class Output(ModelOutput):
        _fields = ("loss", "start_logits", "end_logits", "hidden_states")

    out = Output(loss=1.0, start_logits="s", end_logits="e")
    assert outputs_for_targets(out, np.zeros(2)) == "s"
    assert outputs_for_targets(out, (0, 0)) == ("s", "e")
    assert outputs_for_targets(out, {"end_logits": 0}) == "e"
    assert outputs_for_targets(out, {"labels": 0}) == "s"
    assert outputs_for_targets(out, {"end_logits": 0, "start_logits": 0}) == {"start_logits": "s", "end_logits": "e"}
    assert outputs_for_targets(Output(start_logits="s"), None) == Output(start_logits="s")


def test_fine_tuning_end_to_end(tmp_path):
    """A tokenizer larger than the checkpoint's vocabulary, resize_token_embeddings, a padding collator feeding
    tf.data, fit() on the targets, save, and the fine-tuned model's logits in PyTorch."""
    torch = pytest.importorskip("torch")
    from conftest import FIXTURES

    tokenizer = autoload.AutoTokenizer.from_pretrained(FIXTURES / "tokenizers" / "bert-uncased")
    model = classifier()
    model.resize_token_embeddings(len(tokenizer))
    texts = ["good film", "a dull and tired plot", "great acting all round", "boring", "loved every minute",
             "the worst thing i saw this year", "fine", "not bad at all"]  # fmt: skip
    features = [dict(tokenizer(text), label=i % 3) for i, text in enumerate(texts)]
    batch = autoload.DataCollatorWithPadding(tokenizer, return_tensors="np")(features)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    dataset = tf.data.Dataset.from_tensor_slices((inputs, batch["labels"])).batch(4)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(dataset, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save_pretrained(tmp_path)
    reloaded = autoload.AutoModelForSequenceClassification.from_pretrained(tmp_path, from_tf=True)
    assert reloaded.config.vocab_size == len(tokenizer)
    with torch.no_grad():
        logits = reloaded(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.numpy()
    np.testing.assert_allclose(logits, model(inputs).logits.numpy(), atol=1e-4)
