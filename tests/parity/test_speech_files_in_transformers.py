"""Speech checkpoints autoload writes load in transformers 4.57.6 itself: TF HuBERT / Wav2Vec2 heads as
tf_model.h5, a Flax Wav2Vec2 CTC model as flax_model.msgpack, WavLM from PyTorch safetensors with every head.

Skipped when transformers is not installed: it is never a dependency of autoload.
"""

import numpy as np
import pytest
from conftest import FIXTURES, MODELS, read_fixture

transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize("folder,auto_class", [
    ("hubert/HubertForCTC", "AutoModelForCTC"),
    ("hubert/HubertModel", "AutoModel"),
    ("wav2vec2/Wav2Vec2ForCTC", "AutoModelForCTC"),
    ("wav2vec2/Wav2Vec2ForSequenceClassification", "AutoModelForAudioClassification"),
])  # fmt: skip
def test_tf_h5_loads_in_transformers(tmp_path, folder, auto_class):
    pytest.importorskip("tensorflow")
    import autoload

    meta, inputs, expected = read_fixture(MODELS / folder)
    getattr(autoload, "TF" + auto_class).from_pretrained(MODELS / folder).save_pretrained(tmp_path)
    model = getattr(transformers, "TF" + meta["pt_class"]).from_pretrained(tmp_path)
    output = model(**inputs, output_hidden_states=True)
    key = "logits" if "logits" in expected else "last_hidden_state"
    np.testing.assert_allclose(np.asarray(output[key]), expected[key], atol=1e-4)


def test_flax_msgpack_loads_in_transformers(tmp_path):
    pytest.importorskip("flax")
    import autoload

    folder = FIXTURES / "speech_preprocessing" / "wav2vec2_flax_ctc"
    inputs, expected = dict(np.load(folder / "inputs.npz")), dict(np.load(folder / "expected.npz"))
    autoload.FlaxAutoModelForCTC.from_pretrained(folder).save_pretrained(tmp_path)
    model = transformers.FlaxWav2Vec2ForCTC.from_pretrained(tmp_path)
    np.testing.assert_allclose(np.asarray(model(**inputs).logits), expected["logits"], atol=1e-4)


@pytest.mark.parametrize("name", ["WavLMForCTC", "WavLMForSequenceClassification", "WavLMForAudioFrameClassification",
                                  "WavLMForXVector", "WavLMModel"])  # fmt: skip
def test_torch_safetensors_load_in_transformers(tmp_path, name):
    torch = pytest.importorskip("torch")
    import autoload
    from autoload import registry

    meta, inputs, expected = read_fixture(MODELS / "wavlm" / name)
    ours = getattr(autoload, meta["auto_class"]).from_pretrained(MODELS / "wavlm" / name)
    assert type(ours) is registry.model_class_for(meta["family"], "torch", ours.config)
    ours.save_pretrained(tmp_path)
    model = getattr(transformers, name).from_pretrained(tmp_path).eval()
    with torch.no_grad():
        output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, output_hidden_states=True)
    key = "logits" if "logits" in expected else "last_hidden_state"
    np.testing.assert_allclose(output[key].numpy(), expected[key], atol=1e-4)
