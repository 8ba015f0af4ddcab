"""AutoProcessor: the processor classes against transformers' outputs, fallbacks and missing parts."""

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import FIXTURES
from reference_data import assert_same, case_images, decode, label_map, load_audio

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
    """Folders written by scripts/reference/vision_processors.py (SAM, OWL-ViT) and multimodal_processors.py (ViLT,
    BLIP, LayoutLMv3, SpeechT5, LLaVA): several calls each."""
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
    for name in ("audio", "audio_target"):
        if name in call:
            call[name] = [load_audio(spec) for spec in call[name]]
    if call.get("return_tensors") == "pt":
        pytest.importorskip("torch")
    if "error" in case:  # transformers raised (e.g. LLaVA without text, truncation cutting image tokens)
        with pytest.raises(Exception):  # noqa: B017 - the reference records only that it raised
            processor(**call)
        return
    out = processor(**call)
    assert sorted(out) == sorted(case["expected"])
    if call.get("return_tensors") == "pt":
        assert all(type(value).__module__.startswith("torch") for value in out.values())
    stored = np.load(folder / "expected.npz")
    for field, expected_value in case["expected"].items():
        actual = out[field]
        if field.endswith("pixel_values") and case["stride"] > 1:
            actual = np.asarray(actual)[..., :: case["stride"], :: case["stride"]]
        assert_same(actual, decode(expected_value, stored), field, atol=1e-5)


def processor_chat_cases():
    for folder in sorted(PROCESSORS.iterdir()):
        for index, case in enumerate(json.loads((folder / "cases.json").read_text()).get("chat", [])):
            yield pytest.param(folder, case, id=f"{folder.name}-chat{index}")


def _conversation(conversation):
    """Image specs in messages as images (a list of conversations: each of them)."""
    if conversation and isinstance(conversation[0], list):
        return [_conversation(one) for one in conversation]
    messages = [dict(message) for message in conversation]
    for message in messages:
        if isinstance(message["content"], list):
            message["content"] = [{**item, "image": case_images(item["image"])} if "image" in item else item
                                  for item in message["content"]]  # fmt: skip
    return messages


@pytest.mark.parametrize("folder,case", processor_chat_cases())
def test_processor_chat_template_matches_reference(folder, case):
    """apply_chat_template on the processor: text, ids, or the processor's outputs for the images in the messages."""
    processor = AutoProcessor.from_pretrained(folder)
    kwargs = {key: value for key, value in case.items() if key not in ("conversation", "expected", "error")}
    if "error" in case:
        with pytest.raises(Exception):  # noqa: B017 - the reference records only that it raised
            processor.apply_chat_template(_conversation(case["conversation"]), **kwargs)
        return
    out = processor.apply_chat_template(_conversation(case["conversation"]), **kwargs)
    if hasattr(out, "keys"):
        out = dict(out)
    assert_same(out, decode(case["expected"], np.load(folder / "expected.npz")), "apply_chat_template", atol=1e-5)


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


@pytest.mark.parametrize("model_type,name,folder", [
    ("sam", "SamProcessor", "sam"), ("owlvit", "OwlViTProcessor", "owlvit"), ("vilt", "ViltProcessor", "vilt"),
    ("blip", "BlipProcessor", "blip"), ("layoutlmv3", "LayoutLMv3Processor", "layoutlmv3"),
    ("speecht5", "SpeechT5Processor", "speecht5"), ("llava", "LlavaProcessor", "llava"),
    ("siglip", "SiglipProcessor", "siglip"),
])  # fmt: skip
def test_vision_processors_by_model_type_and_round_trip(tmp_path, model_type, name, folder):
    for path in (PROCESSORS / folder).iterdir():  # the processor's files without processor_class
        if path.name not in ("cases.json", "expected.npz"):
            if path.suffix != ".json":
                shutil.copy(path, tmp_path / path.name)
                continue
            text = json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != "processor_class"})
            (tmp_path / path.name).write_text(text)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(processor).__name__ == name
    processor.save_pretrained(tmp_path / "saved")
    assert json.loads((tmp_path / "saved" / "preprocessor_config.json").read_text())["processor_class"] == name
    assert type(AutoProcessor.from_pretrained(tmp_path / "saved")).__name__ == name


def test_llava_processor_keeps_its_settings_and_chat_template(tmp_path):
    processor = AutoProcessor.from_pretrained(PROCESSORS / "llava")
    assert (processor.patch_size, processor.num_additional_image_tokens) == (14, 1)
    assert processor.vision_feature_select_strategy == "default" and processor.image_token == "<image>"
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved == json.loads((PROCESSORS / "llava" / "processor_config.json").read_text())
    assert (tmp_path / "chat_template.jinja").read_text() == (PROCESSORS / "llava" / "chat_template.jinja").read_text()
    again = AutoProcessor.from_pretrained(tmp_path, patch_size=7)
    assert again.patch_size == 7 and again.chat_template == processor.chat_template
    image = case_images("rgb.png crop 400,200,440,290")
    out = again(images=[image], text="<image>", return_tensors="np")  # 56 x 56 in patches of 7: 64, + 1 CLS - 1
    assert (out["input_ids"] == again.image_token_id).sum() == 64
    broken = AutoProcessor.from_pretrained(PROCESSORS / "llava", patch_size=None)
    with pytest.raises(ValueError, match="patch_size"):
        broken(images=[image], text="<image>")


def test_layoutlmv3_processor_with_ocr_is_a_clear_error(tmp_path):
    for path in (PROCESSORS / "layoutlmv3").iterdir():
        shutil.copy(path, tmp_path / path.name)
    config = json.loads((tmp_path / "preprocessor_config.json").read_text())
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**config, "apply_ocr": True}))
    processor = AutoProcessor.from_pretrained(tmp_path)
    with pytest.raises(NotImplementedError, match="apply_ocr=False"):
        processor(case_images("rgb.png"))
    with pytest.raises(ValueError, match="apply_ocr set to True"):
        processor(case_images("rgb.png"), ["a"], boxes=[[1, 2, 3, 4]])


def test_speecht5_processor_pads_token_and_spectrogram_labels():
    processor = AutoProcessor.from_pretrained(PROCESSORS / "speecht5")
    texts = processor(text=["Hi", "Hello there"])["input_ids"]
    frames = processor(audio_target=[load_audio("a1.npy[:4000]"), load_audio("a2.npy[:2000]")], sampling_rate=16000)
    padded = processor.pad(input_ids=[{"input_ids": ids} for ids in texts],
                           labels=[{"input_values": f} for f in frames["input_values"]], return_tensors="np")  # fmt: skip
    assert padded["input_ids"].shape == (2, len(texts[1]))
    assert padded["labels"].shape == (2, len(frames["input_values"][0]), 80)
    assert padded["decoder_attention_mask"].sum(axis=1).tolist() == [len(f) for f in frames["input_values"]]
    np.testing.assert_array_equal(padded["labels"][1, len(frames["input_values"][1]) :], 0)
