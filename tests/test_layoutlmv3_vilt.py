"""LayoutLMv3 and ViLT beyond the parity fixtures, against transformers 4.57.6
(scripts/reference/layoutlmv3_vilt_extras.py): LayoutLMv3 without an image, its 12-label token head and losses;
ViLT with a padded image (pixel_mask), in every framework; and a question answered end to end, processor to answer,
for a document (LayoutLMv3) and an image (ViLT)."""

import json

import numpy as np
import pytest
from conftest import FIXTURES, MODELS, flatten_output

import autoload
from autoload.models.layoutlmv3 import patch_boxes, relative_bucket_table

EXTRAS = FIXTURES / "multimodal_extras"
FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
PREFIX = {"torch": "", "tf": "TF", "flax": "Flax"}


def auto(name: str, backend: str):
    pytest.importorskip(FRAMEWORK[backend])
    return getattr(autoload, PREFIX[backend] + name)


def call(model, backend: str, inputs: dict, **kwargs):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(np.asarray(v)) for k, v in inputs.items()}, **kwargs)
    return model(**inputs, **kwargs)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_layoutlmv3_text_only(backend):
    folder = MODELS / "layoutlmv3" / "LayoutLMv3Model"
    model = auto("AutoModel", backend).from_pretrained(folder)
    inputs = {k: v for k, v in np.load(folder / "inputs.npz").items() if k != "pixel_values"}
    got = flatten_output(call(model, backend, inputs))["last_hidden_state"]
    np.testing.assert_allclose(got, np.load(EXTRAS / "layoutlmv3.npz")["text_only_last_hidden_state"], atol=1e-4)


def test_layoutlmv3_token_head_from_ten_labels_and_losses():
    torch = pytest.importorskip("torch")
    reference = np.load(EXTRAS / "layoutlmv3.npz")
    folder = MODELS / "layoutlmv3" / "LayoutLMv3ForTokenClassification"
    config = autoload.AutoConfig.from_pretrained(folder, num_labels=12)
    model = autoload.AutoModelForTokenClassification.from_pretrained(folder, config=config,
                                                                     ignore_mismatched_sizes=True).eval()
    weights = {k.removeprefix("token12_"): torch.from_numpy(reference[k]) for k in reference if "token12_" in k
               and k.split("_", 1)[1].split(".")[0] in ("dense", "out_proj")}  # fmt: skip
    model.classifier.load_state_dict(weights)
    inputs = {k: torch.from_numpy(v) for k, v in np.load(MODELS / "layoutlmv3/LayoutLMv3Model/inputs.npz").items()}
    with torch.no_grad():
        result = model(**inputs, labels=torch.from_numpy(reference["token12_labels"]))
    np.testing.assert_allclose(result.logits.numpy(), reference["token12_logits"], atol=1e-4)
    np.testing.assert_allclose(result.loss.numpy(), reference["token12_loss"], atol=1e-4)
    qa = autoload.AutoModelForDocumentQuestionAnswering.from_pretrained(
        MODELS / "layoutlmv3" / "LayoutLMv3ForQuestionAnswering").eval()
    with torch.no_grad():
        loss = qa(**inputs, start_positions=torch.from_numpy(reference["qa_start_positions"]),
                  end_positions=torch.from_numpy(reference["qa_end_positions"])).loss  # fmt: skip
    np.testing.assert_allclose(loss.numpy(), reference["qa_loss"], atol=1e-4)


def test_layoutlmv3_bucket_table_and_patch_boxes():
    table = relative_bucket_table(32, 128)
    assert table[:8].tolist() == list(range(8)) and table[-1] == 15 and np.all(np.diff(table) >= 0)
    boxes = patch_boxes(2)
    assert boxes.tolist() == [[1, 1, 999, 999], [0, 0, 500, 500], [500, 0, 1000, 500], [0, 500, 500, 1000],
                              [500, 500, 1000, 1000]]  # fmt: skip


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_layoutlmv3_refuses_boxes_off_the_grid(backend):
    folder = MODELS / "layoutlmv3" / "LayoutLMv3Model"
    model = auto("AutoModel", backend).from_pretrained(folder)
    inputs = dict(np.load(folder / "inputs.npz"))
    inputs["bbox"] = inputs["bbox"].copy()
    inputs["bbox"][0, 1, 2] = 1024
    with pytest.raises(IndexError, match="0-1000"):
        call(model, backend, inputs)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_vilt_padded_image(backend):
    reference = np.load(EXTRAS / "vilt.npz")
    folder = MODELS / "vilt" / "ViltForQuestionAnswering"
    model = auto("AutoModelForVisualQuestionAnswering", backend).from_pretrained(folder)
    inputs = dict(np.load(folder / "inputs.npz"))
    inputs["pixel_mask"] = reference["padded_pixel_mask"].astype(np.int64)
    result = flatten_output(call(model, backend, inputs, output_hidden_states=True))
    np.testing.assert_allclose(result["logits"], reference["padded_logits"], atol=1e-4)
    length = inputs["input_ids"].shape[1]
    assert result["hidden_states_0"].shape[1] == int(reference["padded_length"])
    if backend == "torch":
        import torch

        with torch.no_grad():
            encoded = model.vilt(**{k: torch.from_numpy(v) for k, v in inputs.items()})
            loss = model(**{k: torch.from_numpy(v) for k, v in inputs.items()},
                         labels=torch.from_numpy(reference["padded_labels"])).loss  # fmt: skip
        np.testing.assert_allclose(encoded.pooler_output.numpy(), reference["padded_pooler_output"], atol=1e-4)
        np.testing.assert_allclose(encoded.last_hidden_state[:, :length].numpy(), reference["padded_text_hidden"],
                                   atol=1e-4)  # fmt: skip
        np.testing.assert_allclose(loss.numpy(), reference["padded_loss"], atol=1e-4)
    elif backend == "tf":
        loss = model(**inputs, labels=reference["padded_labels"]).loss
        np.testing.assert_allclose(np.asarray(loss), reference["padded_loss"], atol=1e-4)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_vilt_answers_a_question_about_an_image(backend):
    """ViltProcessor -> ViltForQuestionAnswering -> config.id2label, as transformers answers it (two crops of
    different shapes, so the batch is padded; scripts/reference/vilt_pipeline.py: a tiny random model)."""
    from PIL import Image

    folder = FIXTURES / "vilt_pipeline"
    expected = json.loads((folder / "expected.json").read_text())
    image = Image.open(FIXTURES / "images" / "rgb.png").convert("RGB")
    processor = autoload.AutoProcessor.from_pretrained(FIXTURES / "processors" / "vilt")
    inputs = dict(processor(images=[image.crop(tuple(box)) for box in expected["crops"]], text=expected["questions"],
                            padding=True, return_tensors="np"))  # fmt: skip
    assert inputs["pixel_mask"].sum((1, 2)).tolist() == expected["pixel_mask_kept"]
    model = auto("AutoModelForVisualQuestionAnswering", backend).from_pretrained(folder)
    logits = flatten_output(call(model, backend, inputs))["logits"]
    np.testing.assert_allclose(logits, expected["logits"], atol=1e-4)
    assert [model.config.id2label[int(i)] for i in logits.argmax(-1)] == expected["answers"]


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_layoutlmv3_answers_a_question_about_a_document(backend):
    """LayoutLMv3Processor (words and boxes given) -> LayoutLMv3ForQuestionAnswering -> the best span of the document
    tokens, decoded, as transformers gives it (scripts/reference/layoutlmv3_pipeline.py: a tiny random model)."""
    from PIL import Image

    folder = FIXTURES / "layoutlmv3_pipeline"
    expected = json.loads((folder / "expected.json").read_text())
    processor = autoload.AutoProcessor.from_pretrained(FIXTURES / "processors" / "layoutlmv3")
    image = Image.open(FIXTURES / "images" / "rgb.png").convert("RGB")
    encoding = processor(image, expected["question"], expected["words"], boxes=expected["boxes"], return_tensors="np")
    assert encoding["input_ids"].tolist() == expected["input_ids"] and encoding["bbox"].tolist() == expected["bbox"]
    word_ids = encoding.word_ids(0)
    assert word_ids == expected["word_ids"]
    model = auto("AutoModelForDocumentQuestionAnswering", backend).from_pretrained(folder)
    result = flatten_output(call(model, backend, {k: np.asarray(v) for k, v in encoding.items()}))
    np.testing.assert_allclose(result["start_logits"], expected["start_logits"], atol=1e-4)
    np.testing.assert_allclose(result["end_logits"], expected["end_logits"], atol=1e-4)
    allowed = [i for i, word in enumerate(word_ids) if word is not None]
    start, end = result["start_logits"][0], result["end_logits"][0]
    _, first, last = max((start[i] + end[j], i, j) for i in allowed for j in allowed if i <= j < i + 8)
    assert [first, last] == expected["span"]
    assert processor.tokenizer.decode(encoding["input_ids"][0, first : last + 1]) == expected["answer"]
