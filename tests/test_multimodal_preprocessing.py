"""Preprocessing of the multimodal, document, table and speech-synthesis families beyond the shared reference cases
(tests/test_tokenizer_parity.py, test_image_processing.py, test_feature_extraction.py, test_processors.py run those):
TAPAS' table inputs and post-processing, and the clear errors of what autoload does not do."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FIXTURES
from reference_data import case_images
from test_tokenizer_support import cases_of, materialize, plain

from autoload import AutoImageProcessor, AutoTokenizer

IMAGE_PROCESSORS = FIXTURES / "image_processors"


@pytest.fixture(scope="module")
def tapas(tmp_path_factory):
    return AutoTokenizer.from_pretrained(materialize("tapas", tmp_path_factory.mktemp("tapas")))


def _tapas_cases():
    for index, case in enumerate(cases_of("tapas")["cases"]):
        if "expected" in case:
            yield pytest.param(index, id=f"{index}-{sorted(case['call'])}")


@pytest.mark.parametrize("index", list(_tapas_cases()))
def test_tapas_table_as_dataframe_or_rows_gives_the_same_encoding(tapas, index):
    """The reference encodes pandas.DataFrame(columns); a list of rows (header first) encodes the same."""
    case = cases_of("tapas")["cases"][index]
    columns = case["text"]
    rows = [list(columns)] + [list(row) for row in zip(*columns.values())]
    assert {k: plain(v) for k, v in tapas(rows, **case["call"]).items()} == case["expected"]
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(columns)
    assert {k: plain(v) for k, v in tapas(frame, **case["call"]).items()} == case["expected"]


@pytest.mark.parametrize("case", cases_of("tapas")["post_processing"], ids=lambda case: case["key"])
def test_tapas_convert_logits_to_predictions(tapas, case):
    args = dict(case["args"])
    args["data"] = {key: np.asarray(value) for key, value in args["data"].items()}
    args["logits"] = np.asarray(args["logits"], dtype=np.float32)
    if "logits_agg" in args:
        args["logits_agg"] = np.asarray(args["logits_agg"], dtype=np.float32)
    assert plain(tapas.convert_logits_to_predictions(**args)) == case["expected"]
    torch = pytest.importorskip("torch")
    tensors = {key: torch.tensor(value) for key, value in case["args"].items() if key != "data"}
    tensors["data"] = {key: torch.tensor(value) for key, value in case["args"]["data"].items()}
    assert plain(tapas.convert_logits_to_predictions(**tensors)) == case["expected"]


def test_tapas_refuses_tables_that_are_not_text(tapas):
    with pytest.raises(TypeError, match="astype"):
        tapas({"Age": [56, 45]}, queries="How old?")
    with pytest.raises(ValueError, match="different lengths"):
        tapas({"A": ["1", "2"], "B": ["3"]}, queries="?")
    with pytest.raises(TypeError, match="DataFrame"):
        tapas("a table", queries="?")
    with pytest.raises(ValueError, match="truncation"):
        tapas({"A": ["1"]}, queries="?", truncation="longest_first")
    with pytest.raises(NotImplementedError, match="update_answer_coordinates"):
        AutoTokenizer.from_pretrained(tapas.name_or_path, update_answer_coordinates=True)(
            {"A": ["1"]}, queries="?", answer_coordinates=[(0, 0)], answer_text=["1"]
        )


def test_tapas_return_tensors(tapas):
    table = cases_of("tapas")["cases"][0]["text"]
    one = tapas(table, queries="How old is Brad Pitt?", return_tensors="np")
    assert one["token_type_ids"].shape == (1, len(one["input_ids"][0]), 7)
    batch = tapas(table, queries=["How old?", "Who is the oldest actor?"], padding=True, return_tensors="np")
    assert batch["input_ids"].shape[0] == 2 and batch["token_type_ids"].shape[-1] == 7
    np.testing.assert_array_equal(batch["token_type_ids"][0, -1], np.zeros(7))


def test_vits_phonemize_needs_phonemizer(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(materialize("vits", tmp_path), phonemize=True)
    with pytest.raises(ImportError, match="phonemizer"):
        tokenizer("hello")


def test_layoutlmv3_apply_ocr_is_a_clear_error():
    processor = AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / "layoutlmv3_hub")
    assert processor.apply_ocr is True
    with pytest.raises(NotImplementedError, match="apply_ocr=False"):
        processor(case_images("rgb.png"))
    loaded = AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / "layoutlmv3_hub", apply_ocr=False, rescale_factor=0.5)
    pixels = loaded(case_images("rgb.png"), do_normalize=False, return_tensors="np")["pixel_values"]
    assert pixels.max() == pytest.approx(127.5, abs=0.6)  # rescale_factor given to from_pretrained is read


def test_vilt_sizes_that_round_to_nothing_and_older_names():
    processor = AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / "vilt")
    with pytest.raises(ValueError, match="size_divisor"):
        processor(case_images("rgb.png crop 0,0,640,100"), size={"shortest_edge": 80})
    unpadded = AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / "vilt", pad_and_return_pixel_mask=False)
    assert unpadded.do_pad is False
    out = unpadded(case_images("rgb.png crop 200,100,270,145"), size={"shortest_edge": 32}, return_tensors="np")
    assert sorted(out) == ["pixel_values"]


def test_blip_size_per_call_must_be_a_dict():
    processor = AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / "blip")
    with pytest.raises(ValueError, match="height and width"):
        processor(case_images("rgb.png"), size=24)


def test_saved_tokenizers_reload_as_the_same_class(tmp_path):
    for name in ("tapas", "speecht5", "vits", "layoutlmv3"):
        tokenizer = AutoTokenizer.from_pretrained(materialize(name, tmp_path / name))
        tokenizer.save_pretrained(tmp_path / f"{name}-saved")
        again = AutoTokenizer.from_pretrained(tmp_path / f"{name}-saved")
        assert type(again) is type(tokenizer)
        config = json.loads((tmp_path / f"{name}-saved" / "tokenizer_config.json").read_text())
        assert config["tokenizer_class"] == type(tokenizer).__name__.removesuffix("Fast")  # as transformers saves


@pytest.mark.parametrize(("folder", "model_type", "tokenizer", "preprocessor"), [
    ("vilt", "vilt", "BertTokenizerFast", "ViltImageProcessor"),
    ("blip", "blip", "BertTokenizerFast", "BlipImageProcessor"),
    ("layoutlmv3", "layoutlmv3", "LayoutLMv3TokenizerFast", "LayoutLMv3ImageProcessor"),
    ("llava", "llava", "LlamaTokenizerFast", "LlavaImageProcessor"),
    ("speecht5", "speecht5", "SpeechT5Tokenizer", "SpeechT5FeatureExtractor"),
])  # fmt: skip
def test_parts_found_by_model_type_alone(tmp_path, folder, model_type, tokenizer, preprocessor):
    """Without tokenizer_class / image_processor_type in the files, config.json's model_type picks the classes
    transformers picks."""
    import shutil

    from autoload import AutoFeatureExtractor

    for path in (FIXTURES / "processors" / folder).iterdir():
        if path.name in ("cases.json", "expected.npz"):
            continue
        if path.suffix == ".json":
            config = json.loads(path.read_text())
            for key in ("tokenizer_class", "image_processor_type", "feature_extractor_type", "processor_class"):
                config.pop(key, None)
            (tmp_path / path.name).write_text(json.dumps(config))
        else:
            shutil.copy(path, tmp_path / path.name)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    assert type(AutoTokenizer.from_pretrained(tmp_path)).__name__ == tokenizer
    auto = AutoFeatureExtractor if preprocessor.endswith("FeatureExtractor") else AutoImageProcessor
    assert type(auto.from_pretrained(tmp_path)).__name__ == preprocessor


@pytest.mark.parametrize("folder", ["vilt", "blip", "llava"])
def test_nested_image_lists_are_flattened(folder):
    """One list of images per text (as processors pass them) is one flat batch, as transformers' image processors
    of these families read it."""
    processor = AutoImageProcessor.from_pretrained(IMAGE_PROCESSORS / folder)
    wide, tall = case_images("rgb.png crop 200,100,270,145"), case_images("rgb.png crop 400,200,440,290")
    flat = processor([wide, tall, wide], return_tensors="np")
    nested = processor([[wide], [tall, wide]], return_tensors="np")
    assert sorted(flat) == sorted(nested)
    for key in flat:
        np.testing.assert_array_equal(flat[key], nested[key])
