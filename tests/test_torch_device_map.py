"""PyTorch device_map / max_memory / offload_folder (issue #18), on accelerate: the CPU, disk-offload and meta paths
a machine without GPUs has. The maps asserted for max_memory={"cpu": N} are the ones transformers 4.57.6 computes for
the same fixtures (recorded in the side environment), except that ours also lists the heads' parameterless top-level
`dropout` and not transformers' `model.rotary_emb` (our Llama computes its rotary table inside attention)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from conftest import MODELS

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")

from autoload import AutoModelForCausalLM, AutoModelForMaskedLM  # noqa: E402
from autoload.weights import SafetensorsReader  # noqa: E402

LLAMA = MODELS / "llama" / "LlamaForCausalLM"
BERT = MODELS / "bert" / "BertForMaskedLM"
IDS = torch.tensor([[5, 17, 3, 44, 9, 12, 30, 7], [8, 4, 90, 33, 71, 6, 1, 2]])


@pytest.fixture
def reads(monkeypatch):
    """Names of the tensors read from safetensors files (whole or in part) during the test."""
    seen = []
    whole, part = SafetensorsReader.__getitem__, SafetensorsReader.read_slice

    def record_whole(self, name):
        seen.append(name)
        return whole(self, name)

    def record_part(self, name, index):
        seen.append(name)
        return part(self, name, index)

    monkeypatch.setattr(SafetensorsReader, "__getitem__", record_whole)
    monkeypatch.setattr(SafetensorsReader, "read_slice", record_part)
    return seen


def _plain(folder, cls=AutoModelForCausalLM, **kwargs):
    model = cls.from_pretrained(folder, **kwargs)
    with torch.no_grad():
        return model, model(input_ids=IDS).logits


def test_whole_model_on_the_cpu():
    reference, expected = _plain(LLAMA)
    for device_map in ({"": "cpu"}, "cpu", torch.device("cpu")):
        model = AutoModelForCausalLM.from_pretrained(LLAMA, device_map=device_map)
        assert model.hf_device_map == {"": "cpu"}
        assert {p.device.type for p in model.parameters()} == {"cpu"}
        with torch.no_grad():
            torch.testing.assert_close(model(input_ids=IDS).logits, expected, atol=0, rtol=0)


def test_auto_offloads_the_last_layers_to_disk_and_matches_the_plain_load(tmp_path, reads):
    reference, expected = _plain(LLAMA)
    tokens = reference.generate(IDS, max_new_tokens=6, do_sample=False)
    reads.clear()
    model = AutoModelForCausalLM.from_pretrained(LLAMA, device_map="auto", max_memory={"cpu": 80_000},
                                                 offload_folder=tmp_path / "offload")  # fmt: skip
    assert model.hf_device_map == {"model.embed_tokens": "cpu", "model.layers.0": "cpu", "model.layers.1": "disk",
                                   "model.norm": "disk", "dropout": "disk", "lm_head": "disk"}  # fmt: skip
    on_disk = {n for n, p in model.named_parameters() if p.is_meta}
    disk_modules = ("model.layers.1.", "model.norm.", "lm_head.")
    assert on_disk == {n for n, _ in model.named_parameters() if n.startswith(disk_modules)}
    assert {p.device.type for n, p in model.named_parameters() if n not in on_disk} == {"cpu"}
    assert not on_disk & set(reads), "a disk-offloaded weight was read while loading"
    assert not list(tmp_path.glob("offload/*.dat"))  # safetensors weights are read back from the checkpoint
    assert model.device == torch.device("cpu")
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=IDS).logits, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(model.generate(IDS, max_new_tokens=6, do_sample=False), tokens)
    assert {n for n, p in model.named_parameters() if p.is_meta} == on_disk  # brought in per call, dropped after
    inputs = {k: torch.from_numpy(v) for k, v in np.load(LLAMA / "inputs.npz").items()}
    with torch.no_grad():  # transformers 4.57.6's logits for the fixture's inputs
        np.testing.assert_allclose(model(**inputs).logits.numpy(), np.load(LLAMA / "expected.npz")["logits"], atol=1e-4)
    model.save_pretrained(tmp_path / "saved")  # offloaded weights read back through accelerate's hooks
    _, again = _plain(tmp_path / "saved")
    torch.testing.assert_close(again, expected, atol=0, rtol=0)


def test_layers_on_disk_while_the_embeddings_stay_in_memory_without_an_offload_folder():
    _, expected = _plain(LLAMA)
    for strategy in ("auto", "balanced", "sequential"):
        model = AutoModelForCausalLM.from_pretrained(LLAMA, device_map=strategy, max_memory={"cpu": 60_000})
        assert model.hf_device_map == {"model.embed_tokens": "cpu", "model.norm": "disk", "dropout": "disk",
                                       "lm_head": "disk", "model.layers": "disk"}, strategy  # fmt: skip
        assert not model.model.embed_tokens.weight.is_meta and model.model.layers[0].mlp.up_proj.weight.is_meta
        with torch.no_grad():
            torch.testing.assert_close(model(input_ids=IDS).logits, expected, atol=1e-6, rtol=0)


def test_tied_embeddings_stay_together_and_an_encoder_offloads():
    reference, expected = _plain(BERT, AutoModelForMaskedLM)
    model = AutoModelForMaskedLM.from_pretrained(BERT, device_map="auto", max_memory={"cpu": 60_000})
    assert model.hf_device_map == {"bert.embeddings": "cpu", "cls": "cpu", "dropout": "disk", "bert.encoder": "disk"}
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=IDS).logits, expected, atol=1e-5, rtol=0)
    everything = AutoModelForMaskedLM.from_pretrained(BERT, device_map={"": "disk"})
    assert all(p.is_meta for p in everything.parameters())
    with torch.no_grad():
        torch.testing.assert_close(everything(input_ids=IDS).logits, expected, atol=1e-5, rtol=0)


def test_a_bin_checkpoint_offloads_into_offload_folder(tmp_path):
    reference, expected = _plain(LLAMA, torch_dtype=torch.bfloat16)
    reference.save_pretrained(tmp_path / "bin", safe_serialization=False)
    with pytest.raises(ValueError, match="pass offload_folder="):
        AutoModelForCausalLM.from_pretrained(tmp_path / "bin", device_map={"model": "cpu", "lm_head": "disk"})
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "bin", device_map={"model": "cpu", "lm_head": "disk"},
                                                 offload_folder=tmp_path / "off", torch_dtype="auto")  # fmt: skip
    assert sorted(os.listdir(tmp_path / "off")) == ["index.json", "lm_head.weight.dat"]
    assert model.lm_head.weight.is_meta and model.model.norm.weight.dtype == torch.bfloat16
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=IDS).logits, expected, atol=0, rtol=0)


def test_a_weight_the_checkpoint_lacks_is_initialised_and_written_to_offload_folder(tmp_path, reads):
    from autoload import AutoModelForSequenceClassification

    placement = {"model": "cpu", "score": "disk"}
    with pytest.raises(ValueError, match="puts score.weight on 'disk'.*pass offload_folder="):
        AutoModelForSequenceClassification.from_pretrained(LLAMA, device_map=placement)
    assert reads == []
    torch.manual_seed(0)
    expected = AutoModelForSequenceClassification.from_pretrained(LLAMA)(input_ids=IDS).logits.detach()
    torch.manual_seed(0)  # the same draws for the new head
    model = AutoModelForSequenceClassification.from_pretrained(LLAMA, device_map=placement,
                                                               offload_folder=tmp_path)  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["index.json", "score.weight.dat"] and model.score.weight.is_meta
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=IDS).logits, expected, atol=1e-6, rtol=0)


def test_bad_maps_are_refused_before_anything_is_read(reads):
    cases = [
        ({"model": "cpu", "lm_head.typo": "cpu"}, "names 'lm_head.typo', which LlamaForCausalLM does not have"),
        ({"model": "cpu"}, r"gives no device to lm_head\.weight"),
        ({"": "cuda:3"}, "which this machine does not have"),
        ({"model": 5, "lm_head": "cpu"}, "device 5, which this machine does not have"),
        ({"": "meta"}, "'meta', which holds no values"),
        ({"": "gpu"}, "'gpu', which is not a device"),
        ({}, "empty dict"),
        ("fastest", "'fastest', which is not a device"),
        (-1, "negative device index"),
    ]
    for device_map, message in cases:
        with pytest.raises(ValueError, match=message):
            AutoModelForCausalLM.from_pretrained(LLAMA, device_map=device_map)
    with pytest.raises(ValueError, match="max_memory names the device 'gpu0', which is not a device"):
        AutoModelForCausalLM.from_pretrained(LLAMA, device_map="auto", max_memory={"gpu0": "1GB"})
    with pytest.raises(ValueError, match="mutually exclusive"):
        AutoModelForCausalLM.from_pretrained(LLAMA, device_map="auto", tp_plan="auto")
    assert reads == []


def test_without_accelerate_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "accelerate", None)
    from autoload.errors import BackendNotAvailableError

    with pytest.raises(BackendNotAvailableError, match=r"pip install 'autoload-hf\[accelerate\]'"):
        AutoModelForCausalLM.from_pretrained(LLAMA, device_map="auto")
    with pytest.raises(BackendNotAvailableError, match="accelerate"):
        AutoModelForCausalLM.from_pretrained(LLAMA, device_map={"model": "cpu", "lm_head": "disk"})
    assert AutoModelForCausalLM.from_pretrained(LLAMA, device_map="cpu").hf_device_map == {"": "cpu"}
