"""Every case of the transformers 4.57.6 reference data, for every folder: loaded from its files as saved,
and (for folders with a tokenizer.json) built from the older vocabulary files alone."""

from __future__ import annotations

import json
import shutil

import pytest
from test_tokenizer_support import (
    FULL_FOLDERS,
    REFERENCE_FOLDERS,
    TOKENIZER_FIXTURES,
    call_case,
    case_id,
    cases_of,
    chat_call,
    materialize,
    plain,
)

from autoload.tokenization import AutoTokenizer

VARIANTS = [(name, "as saved") for name in REFERENCE_FOLDERS] + [(name, "older files only") for name in FULL_FOLDERS]


class _LoadedTokenizers(dict):
    """(folder, variant) -> tokenizer, loaded on first use (a folder that fails to load fails only its tests)."""

    def __init__(self, tmp_path_factory):
        super().__init__()
        self.tmp_path_factory = tmp_path_factory

    def __missing__(self, key):
        name, variant = key
        folder = materialize(name, self.tmp_path_factory.mktemp(name), without_tokenizer_json=variant != "as saved")
        self[key] = AutoTokenizer.from_pretrained(folder)
        return self[key]


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    """One loaded tokenizer per (folder, variant), shared by the module's tests."""
    return _LoadedTokenizers(tmp_path_factory)


def _params():
    for name, variant in VARIANTS:
        for index, case in enumerate(cases_of(name)["cases"]):
            yield pytest.param(name, variant, index, id=f"{name}-{variant.replace(' ', '_')}-{index}-{case_id(case)}")


@pytest.mark.parametrize(("name", "variant", "index"), list(_params()))
def test_case_matches_transformers(tokenizers, name, variant, index):
    case = cases_of(name)["cases"][index]
    tokenizer = tokenizers[name, variant]
    if "error" in case:
        # transformers raised (e.g. padding without a pad token, a pair too long for only_second).
        with pytest.raises(Exception):  # noqa: B017 - the reference records only that it raised
            call_case(tokenizer, case)
        return
    output = call_case(tokenizer, case)
    if "expected_next" in case:  # two calls inside as_target_tokenizer(): only the first encodes a target
        output, following = output
        assert {key: plain(value) for key, value in following.items()} == case["expected_next"]
    assert {key: plain(value) for key, value in output.items()} == case["expected"]


@pytest.mark.parametrize(("name", "variant"), VARIANTS)
def test_decoding_matches_transformers(tokenizers, name, variant):
    reference = cases_of(name)
    decoding = reference["decoding"]
    tokenizer = tokenizers[name, variant]
    ids = decoding["ids"]
    if isinstance(decoding["decode"], list):  # CTC reference: a batch of id lists
        assert tokenizer.batch_decode(ids) == decoding["decode"]
        return
    assert tokenizer.decode(ids) == decoding["decode"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == decoding["decode_skip_special"]
    assert tokenizer.convert_ids_to_tokens(ids) == decoding["tokens"]
    if "batch_decode" not in decoding:  # tokenizers of words with boxes or of tables: no plain text batch
        return
    batch_texts = next(case["text"] for case in reference["cases"] if isinstance(case["text"], list))
    batch_ids = [tokenizer(text)["input_ids"] for text in batch_texts]
    assert tokenizer.batch_decode(batch_ids) == decoding["batch_decode"]


@pytest.mark.parametrize(("name", "variant"), [v for v in VARIANTS if "decode_cases" in cases_of(v[0])])
def test_decode_calls_match_transformers(tokenizers, name, variant):
    tokenizer = tokenizers[name, variant]
    for case in cases_of(name)["decode_cases"]:
        assert tokenizer.decode(case["ids"], **case["kwargs"]) == case["expected"], case


@pytest.mark.parametrize(("name", "variant"), [v for v in VARIANTS if "timestamp_cases" in cases_of(v[0])])
def test_timestamp_decoding_matches_transformers(tokenizers, name, variant):
    """Whisper: decode_with_timestamps, output_offsets and time_precision on sequences with timestamp tokens."""
    tokenizer = tokenizers[name, variant]
    for case in cases_of(name)["timestamp_cases"]:
        decoded = tokenizer.decode(case["ids"], **case["kwargs"])
        assert json.loads(json.dumps(decoded)) == case["expected"], case  # offsets' (start, end) tuples as lists
    batch = [case["ids"] for case in cases_of(name)["timestamp_cases"][:3]]
    assert tokenizer.batch_decode(batch, output_offsets=True) == [tokenizer.decode(ids, output_offsets=True)
                                                                   for ids in batch]  # fmt: skip


@pytest.mark.parametrize(("name", "variant"), [v for v in VARIANTS if "prompt_cases" in cases_of(v[0])])
def test_whisper_prompt_ids_match_transformers(tokenizers, name, variant):
    """get_prompt_ids: <|startofprev|> and the text's ids; a text holding a special token refused."""
    tokenizer = tokenizers[name, variant]
    for case in cases_of(name)["prompt_cases"]:
        if case.get("refused"):
            with pytest.raises(ValueError, match="special token"):
                tokenizer.get_prompt_ids(case["text"])
            continue
        ids = tokenizer.get_prompt_ids(case["text"])
        assert ids.dtype.kind == "i" and ids.tolist() == case["ids"], case
        assert tokenizer.get_prompt_ids(case["text"], return_tensors=None) == case["ids"]


def test_whisper_basic_normalizer_matches_transformers(tokenizers):
    """basic_normalize on random texts (brackets, accents, spelled-out letters, symbols, other scripts, compatibility
    forms, whitespace), with and without remove_diacritics; decode(basic_normalize=True) is among the timestamp cases."""
    tokenizer = tokenizers["whisper", "as saved"]
    for case in cases_of("whisper")["normalizer_cases"]:
        for remove_diacritics, expected in zip((False, True), case["expected"]):
            assert tokenizer.basic_normalize(case["text"], remove_diacritics=remove_diacritics) == expected, case


def test_whisper_english_normalizer_is_refused_not_ignored(tokenizers):
    tokenizer = tokenizers["whisper", "as saved"]
    with pytest.raises(NotImplementedError, match="normalize"):
        tokenizer.decode([1, 2, 3], normalize=True)
    with pytest.raises(NotImplementedError, match="English text normalizer"):
        tokenizer.normalize("Hello")


@pytest.mark.parametrize("name", [name for name in REFERENCE_FOLDERS if "model_type_class" in cases_of(name)])
def test_model_type_and_use_fast_pick_transformers_classes(tmp_path, name):
    """config.json's model_type alone picks the class transformers picks; use_fast=False gives the slow name."""
    reference = cases_of(name)
    folder = materialize(name, tmp_path)
    if reference["slow_class"] is None:  # transformers raised: the saved class name has no slow class (GPT-NeoX)
        with pytest.raises(ValueError, match="not known"):
            AutoTokenizer.from_pretrained(folder, use_fast=False)
    else:
        assert type(AutoTokenizer.from_pretrained(folder, use_fast=False)).__name__ == reference["slow_class"]
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.pop("tokenizer_class", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    model_types = {reference["model_type"]: reference["model_type_class"], **reference.get("other_model_types", {})}
    for model_type, class_name in model_types.items():
        (folder / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
        assert type(AutoTokenizer.from_pretrained(folder)).__name__ == class_name, model_type


def _option_params():
    for name in REFERENCE_FOLDERS:
        for index, case in enumerate(cases_of(name).get("option_cases", [])):
            yield pytest.param(name, index, id=f"{name}-{index}-{case['load']}-{case_id(case)}")


@pytest.mark.parametrize(("name", "index"), list(_option_params()))
def test_loaded_with_options_matches_transformers(tmp_path, name, index):
    """from_pretrained(..., add_eos_token=True) and other loading options change the calls as in transformers."""
    case = cases_of(name)["option_cases"][index]
    tokenizer = AutoTokenizer.from_pretrained(materialize(name, tmp_path), **case["load"])
    if "error" in case:
        with pytest.raises(Exception):  # noqa: B017 - the reference records only that it raised
            call_case(tokenizer, case)
        return
    assert {key: plain(value) for key, value in call_case(tokenizer, case).items()} == case["expected"]


def _chat_params():
    for name in REFERENCE_FOLDERS:
        for index, case in enumerate(cases_of(name).get("chat", [])):
            options = ",".join(f"{k}={v}" for k, v in sorted(case["kwargs"].items()) if k not in ("chat_template",
                               "tools", "documents"))  # fmt: skip
            yield pytest.param(name, index, id=f"{name}-chat{index}-[{options}]")


@pytest.mark.parametrize(("name", "index"), list(_chat_params()))
def test_chat_template_matches_transformers(tokenizers, name, index):
    """apply_chat_template with the template the checkpoint ships (or the case's own): text, ids, dicts, errors."""
    case = cases_of(name)["chat"][index]
    tokenizer = tokenizers[name, "as saved"]
    if "error" in case:  # the same kind of exception as transformers (ValueError, jinja2's TemplateError …)
        with pytest.raises(Exception) as raised:  # noqa: B017 - checked by name below
            chat_call(tokenizer, case)
        assert type(raised.value).__name__ == case["error"].split(":")[0]
        return
    output = chat_call(tokenizer, case)
    if hasattr(output, "keys"):
        output = {key: plain(value) for key, value in output.items()}
    assert plain(output) == case["expected"]


def _bare_params():
    for name in REFERENCE_FOLDERS:
        for variant in cases_of(name).get("bare", {}):
            yield pytest.param(name, variant, id=f"{name}-{variant.replace(' ', '_')}")


@pytest.mark.parametrize(("name", "variant"), list(_bare_params()))
def test_folder_without_tokenizer_config(tmp_path, name, variant):
    """Only some saved files (no tokenizer_config.json, as on many Hub repos) and config.json's model_type."""
    reference = cases_of(name)["bare"][variant]
    for filename in reference["files"]:
        shutil.copy(TOKENIZER_FIXTURES / name / filename, tmp_path / filename)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": cases_of(name)["model_type"]}), encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert type(tokenizer).__name__ == reference["class"]
    for case in reference["cases"]:
        assert {key: plain(value) for key, value in call_case(tokenizer, case).items()} == case["expected"], case


@pytest.mark.parametrize("name", FULL_FOLDERS)
def test_older_files_build_the_saved_tokenizer_json(tokenizers, name):
    """Built from vocab.txt / vocab.json + merges.txt / *.model, the backend equals the saved tokenizer.json."""
    built = json.loads(tokenizers[name, "older files only"].backend_tokenizer.to_str())
    saved = json.loads(tokenizers[name, "as saved"].backend_tokenizer.to_str())
    for section in ("added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"):
        assert built[section] == saved[section], section
    built_model, saved_model = built["model"], saved["model"]
    if built_model["type"] == "Unigram":
        # Scores are float32 values; re-reading a saved tokenizer.json may move them by one float64 ulp.
        built_vocab, saved_vocab = built_model.pop("vocab"), saved_model.pop("vocab")
        assert [piece for piece, _ in built_vocab] == [piece for piece, _ in saved_vocab]
        assert [score for _, score in built_vocab] == pytest.approx([score for _, score in saved_vocab], rel=1e-12)
    assert built_model == saved_model


@pytest.mark.parametrize(("name", "variant"), VARIANTS)
def test_class_is_the_one_transformers_uses(tokenizers, name, variant):
    reference = cases_of(name)
    assert type(tokenizers[name, variant]).__name__ == reference["class"]


def test_seed_example_bert_base_uncased(tokenizers):
    tokenizer = tokenizers["bert-uncased", "as saved"]
    ids = tokenizer("In a hole in the ground there lived a hobbit.")["input_ids"]
    assert ids == [101, 1999, 1037, 4920, 1999, 1996, 2598, 2045, 2973, 1037, 7570, 10322, 4183, 1012, 102]
    slow = tokenizers["bert-uncased", "older files only"]
    assert slow.encode("In a hole in the ground there lived a hobbit.") == ids


def test_layoutlmv2_words_and_boxes(tmp_path):
    reference = cases_of("layoutlmv2")
    tokenizer = AutoTokenizer.from_pretrained(materialize("layoutlmv2", tmp_path))
    output = tokenizer(reference["call"]["text"], boxes=reference["call"]["boxes"])
    assert type(tokenizer).__name__ == "LayoutLMv2TokenizerFast"
    assert {key: plain(value) for key, value in output.items()} == reference["expected"]
