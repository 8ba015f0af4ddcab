"""AutoProcessor: the processor classes against transformers' outputs, fallbacks and missing parts."""

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import FIXTURES
from reference_data import assert_same, case_images, decode, label_map

from autoload import AutoProcessor

PROCESSORS = FIXTURES / "processors"
AUDIO = FIXTURES / "audio"
IMAGES = FIXTURES / "images"


def expected(name):
    return dict(np.load(PROCESSORS / name / "expected.npz"))


def test_wav2vec2_processor_matches_reference():
    processor = AutoProcessor.from_pretrained(PROCESSORS / "wav2vec2")
    assert type(processor).__name__ == "Wav2Vec2Processor"
    call = json.loads((PROCESSORS / "wav2vec2" / "cases.json").read_text())["call"]
    audio = np.load(AUDIO / call.pop("audio"))
    out = processor(audio=audio, **call)
    want = expected("wav2vec2")
    assert sorted(out.keys()) == sorted(want)
    np.testing.assert_allclose(out["input_values"], want["input_values"], atol=1e-4)
    np.testing.assert_array_equal(out["attention_mask"], want["attention_mask"])
    np.testing.assert_array_equal(out["labels"], want["labels"])
    assert processor.batch_decode(want["labels"])[0] == processor.tokenizer.batch_decode(want["labels"])[0]


def test_layoutlmv2_processor_matches_reference():
    from PIL import Image

    processor = AutoProcessor.from_pretrained(PROCESSORS / "layoutlmv2")
    assert type(processor).__name__ == "LayoutLMv2Processor"
    call = json.loads((PROCESSORS / "layoutlmv2" / "cases.json").read_text())["call"]
    image = Image.open(IMAGES / call.pop("images").rsplit("/", 1)[-1])
    out = processor(image, **call)
    want = expected("layoutlmv2")
    assert sorted(out.keys()) == sorted(want)
    for key, value in want.items():
        np.testing.assert_array_equal(np.asarray(out[key]), value, err_msg=key)


def vision_prompt_cases():
    """Folders written by scripts/reference/vision_processors.py (SAM, OWL-ViT): several calls each."""
    for folder in sorted(PROCESSORS.iterdir()):
        spec = json.loads((folder / "cases.json").read_text())
        for case in spec.get("cases", []):
            yield pytest.param(folder, spec["class"], case, id=f"{folder.name}-{case['key']}")


@pytest.mark.parametrize("folder,class_name,case", vision_prompt_cases())
def test_vision_processor_matches_reference(folder, class_name, case):
    processor = AutoProcessor.from_pretrained(folder)
    assert type(processor).__name__ == class_name
    call = dict(case["call"])
    for name in ("images", "query_images"):
        if name in call:
            call[name] = [case_images(spec) for spec in call[name]]
    if "segmentation_maps" in call:
        call["segmentation_maps"] = [label_map(spec) for spec in call["segmentation_maps"]]
    if call.get("return_tensors") == "pt":
        pytest.importorskip("torch")
    out = processor(**call)
    assert sorted(out) == sorted(case["expected"])
    if call.get("return_tensors") == "pt":
        assert all(type(value).__module__.startswith("torch") for value in out.values())
    stored = np.load(folder / "expected.npz")
    for field, expected_value in case["expected"].items():
        actual = out[field]
        if field.endswith("pixel_values"):
            actual = np.asarray(actual)[..., :: case["stride"], :: case["stride"]]
        assert_same(actual, decode(expected_value, stored), field, atol=1e-5)


def processor_post_processing_cases():
    for folder in sorted(PROCESSORS.iterdir()):
        for case in json.loads((folder / "cases.json").read_text()).get("post_processing", []):
            yield pytest.param(folder, case, id=f"{folder.name}-{case['key']}")


@pytest.mark.parametrize("folder,case", processor_post_processing_cases())
def test_processor_post_processing_matches_reference(folder, case):
    stored = np.load(folder / "expected.npz")
    result = getattr(AutoProcessor.from_pretrained(folder), case["method"])(**decode(case["args"], stored))
    assert_same(result, decode(case["expected"], stored), case["method"])


def test_processor_round_trip(tmp_path):
    processor = AutoProcessor.from_pretrained(PROCESSORS / "wav2vec2")
    processor.save_pretrained(tmp_path)
    again = AutoProcessor.from_pretrained(tmp_path)
    assert type(again).__name__ == "Wav2Vec2Processor"
    audio = np.load(AUDIO / "a1.npy")
    np.testing.assert_allclose(again(audio=audio, sampling_rate=16000)["input_values"],
                               processor(audio=audio, sampling_rate=16000)["input_values"])  # fmt: skip


def test_folder_with_only_a_tokenizer_gives_the_tokenizer(tmp_path):
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(PROCESSORS / "layoutlmv2" / name, tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    config.pop("processor_class")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    result = AutoProcessor.from_pretrained(tmp_path)
    assert "Tokenizer" in type(result).__name__


def test_folder_with_only_a_feature_extractor_gives_it(tmp_path):
    config = json.loads((PROCESSORS / "wav2vec2" / "preprocessor_config.json").read_text())
    config.pop("processor_class")
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    assert type(AutoProcessor.from_pretrained(tmp_path)).__name__ == "Wav2Vec2FeatureExtractor"


def test_processor_missing_a_part_says_which(tmp_path):
    shutil.copy(PROCESSORS / "wav2vec2" / "preprocessor_config.json", tmp_path)
    with pytest.raises(OSError, match="tokenizer"):
        AutoProcessor.from_pretrained(tmp_path)


def test_empty_folder(tmp_path):
    with pytest.raises(OSError, match="no processor"):
        AutoProcessor.from_pretrained(tmp_path)


def test_sam_processor_prompts_beyond_transformers_and_errors():
    processor = AutoProcessor.from_pretrained(PROCESSORS / "sam")
    images = [case_images("rgb.png crop 200,100,270,145"), case_images("rgb.png crop 400,200,440,290")]
    # Two points short: padded in points and labels (transformers pads the labels by one value and fails).
    out = processor(images, input_points=[[[1, 2], [3, 4], [5, 6]], [[7, 8]]], input_labels=[[1, 1, 0], [1]])
    assert out["input_points"].shape == (2, 3, 2) and out["input_labels"].tolist() == [[1, 1, 0], [1, -10, -10]]
    assert (out["input_points"][1, 1:] == -10).all()
    # Arrays are taken like nested lists.
    same = processor(images, input_points=np.array([[[10.0, 20.0]], [[30.0, 5.0]]]))
    listed = processor(images, input_points=[[[10.0, 20.0]], [[30.0, 5.0]]])
    np.testing.assert_array_equal(same["input_points"], listed["input_points"])
    with pytest.raises(ValueError, match="input_points must be a list"):
        processor(images, input_points=[1, 2])
    with pytest.raises(ValueError, match="input_boxes must be a list"):
        processor(images, input_boxes=[[1, 2, 3, 4]])
    with pytest.raises(ValueError, match="needs images"):
        processor(input_points=[[[1, 2]]])
    masks = processor.post_process_masks([np.ones((1, 3, 8, 8), np.float32)], out["original_sizes"][:1],
                                         out["reshaped_input_sizes"][:1])  # fmt: skip
    assert masks[0].shape == (1, 3, 45, 70) and masks[0].all()


def test_owlvit_processor_errors():
    processor = AutoProcessor.from_pretrained(PROCESSORS / "owlvit")
    with pytest.raises(ValueError, match="at least one text or query image or image"):
        processor()
    with pytest.raises(TypeError, match="string, a list of strings or a nested list"):
        processor(text=3)
    outputs = SimpleNamespace(logits=np.zeros((1, 4, 2), np.float32), pred_boxes=np.full((1, 4, 4), 0.5, np.float32))
    with pytest.raises(ValueError, match="as many lists of text labels as images"):
        processor.post_process_grounded_object_detection(outputs, text_labels=[["a"], ["b"]])
    with pytest.warns(FutureWarning, match="post_process_grounded_object_detection"):
        assert len(processor.post_process_object_detection(outputs, threshold=0.4)[0]["scores"]) == 4


@pytest.mark.parametrize("model_type,name,folder", [("sam", "SamProcessor", "sam"), ("owlvit", "OwlViTProcessor", "owlvit")])
def test_vision_processors_by_model_type_and_round_trip(tmp_path, model_type, name, folder):
    for path in (PROCESSORS / folder).iterdir():  # the processor's files without processor_class
        if path.name not in ("cases.json", "expected.npz"):
            text = path.read_text()
            if path.suffix == ".json":
                text = json.dumps({k: v for k, v in json.loads(text).items() if k != "processor_class"})
            (tmp_path / path.name).write_text(text)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(processor).__name__ == name
    processor.save_pretrained(tmp_path / "saved")
    assert json.loads((tmp_path / "saved" / "preprocessor_config.json").read_text())["processor_class"] == name
    assert type(AutoProcessor.from_pretrained(tmp_path / "saved")).__name__ == name
