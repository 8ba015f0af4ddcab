"""resize_token_embeddings in every framework: the resized model computes what transformers' reference computes
for the old vocabulary, the new rows are the same everywhere, and what cannot be resized is refused."""

from functools import cache

import numpy as np
import pytest
from conftest import MODELS, fixture_model_class, flatten_output, read_fixture
from model_checks import needs

import autoload
from autoload.resize import text_config

BACKENDS = ["torch", "tf", "flax"]
ADDED = 3


@cache
def vocabulary(folder) -> int | None:
    """The checkpoint's vocabulary size where it takes token ids (not a speech model's CTC head, whose vocab_size
    counts characters, nor BEiT's codebook size)."""
    holder = text_config(autoload.AutoConfig.from_pretrained(folder))
    takes_tokens = {"input_ids", "decoder_input_ids"} & set(np.load(folder / "inputs.npz").files)
    return holder.vocab_size if holder is not None and takes_tokens else None


def largest_fixture_with_a_vocabulary() -> list:
    chosen = {}
    for folder in sorted(f.parent for f in MODELS.glob("*/*/fixture.json")):
        size = sum(f.stat().st_size for f in folder.iterdir())
        if vocabulary(folder) and size > chosen.get(folder.parent.name, (0,))[0]:
            chosen[folder.parent.name] = (size, folder)
    return [pytest.param(folder, id=f"{folder.parent.name}/{folder.name}") for _, folder in chosen.values()]


def run(model, backend: str, inputs: dict, meta: dict):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **meta["call_kwargs"])
    return model(**inputs, **meta["call_kwargs"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("folder", largest_fixture_with_a_vocabulary())
def test_a_grown_vocabulary_keeps_the_reference_outputs(folder, backend):
    needs(backend)
    meta, inputs, expected = read_fixture(folder)
    model = fixture_model_class(meta, backend).from_pretrained(folder)
    vocab = vocabulary(folder)
    model.resize_token_embeddings(vocab + ADDED)
    grown = text_config(model.config).vocab_size
    assert grown == vocab + ADDED
    output = flatten_output(run(model, backend, inputs, meta))
    for key, want in expected.items():
        if key == "loss":  # a softmax over more tokens: not the reference's loss
            continue
        got = output[key]
        if got.shape != want.shape:
            assert (got.shape[:-1], got.shape[-1]) == (want.shape[:-1], grown), key
            assert want.shape[-1] == vocab, key
            got = got[..., :vocab]
        np.testing.assert_allclose(got, want, atol=meta["atol"], rtol=0, err_msg=key)


GPT2 = MODELS / "gpt2" / "GPT2LMHeadModel"
BERT = MODELS / "bert" / "BertForMaskedLM"


def model_in(backend: str, folder=GPT2):
    needs(backend)
    meta, _, _ = read_fixture(folder)
    return fixture_model_class(meta, backend).from_pretrained(folder)


@pytest.mark.parametrize("backend", BACKENDS)
def test_new_rows_are_the_old_mean_and_generation_follows(backend):
    """The new token's logits follow from the mean embedding, the same in every framework and after a save and
    a load anywhere; tied weights stay tied and generation (compiled steps included) runs on the new sizes."""
    from model_checks import generate_ids

    torch_model = model_in("torch")
    table = torch_model.get_input_embeddings().weight.detach().numpy().copy()
    torch_model.resize_token_embeddings(len(table) + 2)
    grown = torch_model.get_input_embeddings().weight.detach().numpy()
    np.testing.assert_allclose(grown[-2:], np.repeat(table.mean(0, keepdims=True), 2, axis=0), atol=1e-8)
    assert torch_model.get_output_embeddings().weight is torch_model.get_input_embeddings().weight
    ids = np.array([[5, len(table) + 1, 7, len(table)]])
    model = torch_model if backend == "torch" else model_in(backend)
    if backend != "torch":
        model.resize_token_embeddings(len(table) + 2)
    want = run(torch_model, "torch", {"input_ids": ids}, {"call_kwargs": {}}).logits.numpy()
    np.testing.assert_allclose(np.asarray(run(model, backend, {"input_ids": ids}, {"call_kwargs": {}}).logits), want,
                               atol=1e-4)  # fmt: skip
    tokens = generate_ids(model, backend, {"input_ids": ids}, max_new_tokens=4, do_sample=False)
    assert tokens == generate_ids(torch_model, "torch", {"input_ids": ids}, max_new_tokens=4, do_sample=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_resized_model_saves_and_loads_in_every_framework(backend, tmp_path):
    model = model_in(backend, BERT)
    model.resize_token_embeddings(None, pad_to_multiple_of=8)  # 99 -> 104
    assert model.config.vocab_size == 104
    model.save_pretrained(tmp_path, **({"safe_serialization": True} if backend != "torch" else {}))
    ids = np.array([[2, 103, 50, 101]])
    want = np.asarray(run(model, backend, {"input_ids": ids}, {"call_kwargs": {}}).logits)
    for other in BACKENDS:
        needs(other)
        loaded = getattr(autoload, {"torch": "", "tf": "TF", "flax": "Flax"}[other] + "AutoModelForMaskedLM")
        got = run(loaded.from_pretrained(tmp_path), other, {"input_ids": ids}, {"call_kwargs": {}}).logits
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-4, err_msg=other)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cut_vocabulary_keeps_the_first_rows(backend):
    model = model_in(backend, BERT)
    ids = np.array([[2, 40, 50, 90]])
    before = np.asarray(run(model, backend, {"input_ids": ids}, {"call_kwargs": {}}).logits)
    model.resize_token_embeddings(95)
    after = np.asarray(run(model, backend, {"input_ids": ids}, {"call_kwargs": {}}).logits)
    assert after.shape[-1] == 95 and model.config.vocab_size == 95
    np.testing.assert_allclose(after, before[..., :95], atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_mean_resizing_new_rows_are_drawn(backend):
    model = model_in(backend, BERT)
    model.resize_token_embeddings(99 + 400, mean_resizing=False)
    state = {"torch": lambda: model.get_input_embeddings().weight.detach().numpy(),
             "tf": lambda: next(v.numpy() for v in model.weights if v.shape == (499, 32)),
             "flax": lambda: np.asarray(model.params["bert"]["embeddings"]["word_embeddings"]["embedding"])}[backend]()
    assert abs(state[99:].std() - model.config.initializer_range) < 0.2 * model.config.initializer_range


@pytest.mark.parametrize("backend", BACKENDS)
def test_what_cannot_be_resized_is_refused(backend):
    ctc = model_in(backend, MODELS / "hubert" / "HubertForCTC")
    with pytest.raises(ValueError, match="HubertForCTC has no token embeddings sized by its vocabulary"):
        ctc.resize_token_embeddings(40)
    model = model_in(backend, BERT)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="new_num_tokens must be a positive int"):
            model.resize_token_embeddings(bad)
    with pytest.raises(ValueError, match="pad_to_multiple_of must be a positive int"):
        model.resize_token_embeddings(100, pad_to_multiple_of=0)
    assert model.config.vocab_size == 99
