"""The image-to-text generators decode through the compiled step of their language model (FlaxCompiledStep /
TFCompiledStep): LLaVA, BLIP captioning and VQA, VisionEncoderDecoder. Two generate() calls trace the step once
and give transformers' tokens (generate.json)."""

import importlib.util
import json

import numpy as np
import pytest
from conftest import MODELS

import autoload
from autoload.families import auto_class_name

FOLDERS = ["llava/LlavaForConditionalGeneration", "blip/BlipForConditionalGeneration",
           "blip/BlipForQuestionAnswering", "vision-encoder-decoder/VisionEncoderDecoderModel"]  # fmt: skip
FRAMEWORK = {"tf": "tensorflow", "flax": "flax"}


def compiled_step_class(backend: str):
    if backend == "flax":
        from autoload.backends.flax.generation import FlaxCompiledStep

        return FlaxCompiledStep
    from autoload.backends.tf.generation import TFCompiledStep

    return TFCompiledStep


@pytest.mark.parametrize("backend", ["flax", "tf"])
@pytest.mark.parametrize("folder", FOLDERS)
def test_decoding_steps_are_traced_once(folder, backend, monkeypatch):
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    meta = json.loads((MODELS / folder / "fixture.json").read_text())
    reference = json.loads((MODELS / folder / "generate.json").read_text())
    model = getattr(autoload, auto_class_name(meta["family"], backend)).from_pretrained(MODELS / folder)
    step_class = compiled_step_class(backend)
    traces = []
    original = step_class._step_function

    def counted(self, *args):
        traces.append(type(self).__name__)  # runs only while JAX / TF traces
        return original(self, *args)

    monkeypatch.setattr(step_class, "_step_function", counted)
    inputs = {k: np.asarray(v, dtype=np.float32 if k == "pixel_values" else np.int64)
              for k, v in reference["inputs"].items()}  # fmt: skip
    for run in ("greedy", "constrained_greedy"):  # (one batch size: Flax compiles per batch size)
        sequences = model.generate(**inputs, **reference["runs"][run]["kwargs"])
        assert np.asarray(sequences).tolist() == reference["runs"][run]["sequences"], run
    assert len(traces) == 1, traces


@pytest.mark.parametrize("backend", ["flax", "tf"])
def test_projected_encoder_states_in_the_compiled_step(backend):
    """A ViT 24 wide with a GPT-2 decoder 16 wide (enc_to_dec_proj inside the compiled step): the compiled steps give
    the tokens of the eager steps."""
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")
    from autoload.models.vision_encoder_decoder import VisionEncoderDecoderConfig

    config = autoload.AutoConfig.from_pretrained(MODELS / FOLDERS[3])
    decoder = config.decoder.to_dict() | {"n_embd": 16, "n_head": 2}
    config = VisionEncoderDecoderConfig(encoder=config.encoder.to_dict(), decoder=decoder,
                                        decoder_start_token_id=config.decoder_start_token_id, pad_token_id=0)  # fmt: skip
    assert config.projects_encoder
    model = getattr(autoload, auto_class_name("MODEL_FOR_VISION_2_SEQ", backend)).from_config(config)
    pixels = np.random.default_rng(0).normal(size=(2, 3, 24, 24)).astype(np.float32)
    options = {"max_new_tokens": 5, "min_new_tokens": 5, "do_sample": False, "num_beams": 2}
    compiled = np.asarray(model.generate(pixel_values=pixels, **options))
    assert "_step_graphs" in vars(model._decoder_step) or "_jitted_step" in vars(model._decoder_step)
    model._decoder_step.compiled_step_allowed = lambda total: False  # every step eager
    np.testing.assert_array_equal(np.asarray(model.generate(pixel_values=pixels, **options)), compiled)
