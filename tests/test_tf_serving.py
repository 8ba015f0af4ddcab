"""TF models export to a SavedModel that TF Serving can run: the serving_default signature takes the
inputs by name and reproduces the reference outputs, with no autoload code needed to load it."""

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from conftest import MODELS, read_fixture  # noqa: E402

import autoload  # noqa: E402
from autoload.families import auto_class_name  # noqa: E402

CASES = ["bert/BertForSequenceClassification", "wav2vec2/Wav2Vec2ForCTC", "resnet/ResNetBackbone",
         "t5/T5ForConditionalGeneration", "gptj/GPTJForQuestionAnswering", "electra/ElectraForMultipleChoice",
         "deberta-v2/DebertaV2ForSequenceClassification", "tapas/TapasForQuestionAnswering",
         "layoutlmv3/LayoutLMv3ForTokenClassification"]  # fmt: skip


def serve(path, inputs: dict):
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    return signature(**{k: tf.constant(v.astype(np.int32) if v.dtype.kind in "iu" else v) for k, v in inputs.items()})


@pytest.mark.parametrize("folder", CASES)
def test_exported_saved_model_reproduces_the_reference(folder, tmp_path):
    meta, inputs, expected = read_fixture(MODELS / folder)
    model = getattr(autoload, auto_class_name(meta["family"], "tf")).from_pretrained(MODELS / folder)
    model.export(tmp_path / "served")
    served = {k: v for k, v in inputs.items() if k in model.input_signature}
    assert set(served) == set(inputs) - {"labels"}, "every reference input is a serving input"
    outputs = serve(tmp_path / "served", served)
    compared = [k for k in expected if k in outputs]
    assert compared and "past_key_values" not in outputs
    for key in compared:
        np.testing.assert_allclose(outputs[key].numpy(), expected[key], atol=1e-4, err_msg=key)


def test_serving_takes_any_batch_and_length(tmp_path):
    folder = MODELS / "bert/BertForSequenceClassification"
    model = autoload.TFAutoModelForSequenceClassification.from_pretrained(folder)
    model.export(tmp_path / "served")
    ids = np.random.default_rng(0).integers(5, 90, (3, 11)).astype(np.int32)
    batch = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    np.testing.assert_allclose(serve(tmp_path / "served", batch)["logits"].numpy(), model(batch).logits.numpy(),
                               atol=1e-5)  # fmt: skip


def test_save_pretrained_with_saved_model_uses_transformers_layout(tmp_path):
    folder = MODELS / "bert/BertForSequenceClassification"
    model = autoload.TFAutoModelForSequenceClassification.from_pretrained(folder)
    model.save_pretrained(tmp_path, saved_model=True, version=3)
    assert (tmp_path / "tf_model.h5").exists() and json.loads((tmp_path / "config.json").read_text())
    assert (tmp_path / "saved_model" / "3" / "saved_model.pb").exists()
    _, inputs, expected = read_fixture(folder)
    np.testing.assert_allclose(serve(tmp_path / "saved_model" / "3", inputs)["logits"].numpy(), expected["logits"],
                               atol=1e-4)  # fmt: skip
