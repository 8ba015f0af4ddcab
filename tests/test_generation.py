"""generate() reproduces transformers' greedy and beam-search tokens (generate.json) in every framework."""

import importlib.util
import json
import shutil

import numpy as np
import pytest
from conftest import MODELS, read_fixture

import autoload
from autoload import registry
from autoload.families import auto_class_name

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def cases():
    for path in sorted(MODELS.glob("*/*/generate.json")):
        folder = path.parent
        meta = json.loads((folder / "fixture.json").read_text())
        for backend in registry.arch_spec(meta["model_type"]).BACKENDS:
            for run in json.loads(path.read_text())["runs"]:
                yield pytest.param(folder, backend, run, id=f"{folder.name}-{backend}-{run}")


@pytest.mark.parametrize("folder,backend,run", cases())
def test_generate_matches_transformers(folder, backend, run):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    meta = json.loads((folder / "fixture.json").read_text())
    reference = json.loads((folder / "generate.json").read_text())
    model = getattr(autoload, auto_class_name(meta["family"], backend)).from_pretrained(folder)
    inputs = {k: np.asarray(v, dtype=np.float32 if k in ("input_features", "pixel_values") else np.int64)
              for k, v in reference["inputs"].items()}  # fmt: skip
    kwargs = dict(reference["runs"][run]["kwargs"])
    for key in ("decoder_input_ids", "decoder_attention_mask"):  # a decoder prompt, as token rows
        if key in kwargs:
            inputs[key] = np.asarray(kwargs.pop(key), dtype=np.int64)
    if backend == "torch":
        import torch

        inputs = {k: torch.from_numpy(v) for k, v in inputs.items()}
    sequences = model.generate(**inputs, **kwargs)
    assert np.asarray(sequences).tolist() == reference["runs"][run]["sequences"]


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("folder", ["bart/BartForConditionalGeneration", "t5/T5ForConditionalGeneration"])
def test_batched_seq2seq_beam_search_equals_one_row_at_a_time(folder, backend):
    """Beams of a batch share nothing: each row's encoder output is repeated per beam, and the
    num_return_sequences best hypotheses come back per row, best first."""
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    model = getattr(autoload, auto_class_name("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", backend)).from_pretrained(MODELS / folder)
    _, inputs, _ = read_fixture(MODELS / folder)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    if backend == "torch":
        import torch

        ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
    options = {"num_beams": 3, "max_new_tokens": 6, "num_return_sequences": 2, "do_sample": False}
    both = np.asarray(model.generate(ids, attention_mask=mask, **options))
    assert both.shape[0] == 4
    for row in range(2):
        length = int(mask[row].sum())
        alone = np.asarray(model.generate(ids[row : row + 1, :length], **options))
        width = min(alone.shape[1], both.shape[1])
        assert both[2 * row : 2 * row + 2, :width].tolist() == alone[:, :width].tolist()
    with pytest.raises(ValueError, match="num_return_sequences"):
        model.generate(ids, attention_mask=mask, num_beams=2, num_return_sequences=3, max_new_tokens=2)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_generation_config_option_that_is_not_implemented_is_refused(backend, tmp_path):
    """A checkpoint's generation_config.json asking for what autoload's search does not do (typical sampling)
    makes generate() raise, naming the option, in every framework; the same file without sampling generates."""
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    folder = tmp_path / "gpt2"
    shutil.copytree(MODELS / "gpt2/GPT2LMHeadModel", folder)
    settings = json.loads((folder / "generation_config.json").read_text())
    (folder / "generation_config.json").write_text(json.dumps({**settings, "typical_p": 0.5, "do_sample": True}))
    model = getattr(autoload, auto_class_name("MODEL_FOR_CAUSAL_LM", backend)).from_pretrained(folder)
    ids = np.array([[5, 6, 7]], dtype=np.int64)
    if backend == "torch":
        import torch

        ids = torch.from_numpy(ids)
    with pytest.raises(NotImplementedError, match="typical_p=0.5"):
        model.generate(ids, max_new_tokens=2)
    assert np.asarray(model.generate(ids, max_new_tokens=2, do_sample=False)).shape == (1, 5)
