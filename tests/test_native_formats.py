"""Architectures transformers never had in TF or Flax (the pre-norm decoders: Gemma 2/3, Phi-3's fused projections,
Qwen3's q/k norms, Mixtral's experts; the dense-prediction, detection and video models; VITS, LLaVA, ViLT, the
SpeechT5 models and HiFi-GAN vocoder): the tf_model.h5 and flax_model.msgpack we write load in every other
framework with nothing missing or unused and give the reference outputs. (PyTorch's files into TF and Flax: the
parity fixtures; a framework reading its own format: the config-space round trips.)"""

import importlib.util

import pytest
from config_space.harness import output_tree
from conftest import MODELS, assert_matches_expected, fixture_model_class, read_fixture

FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
NATIVE = {"tf": "tf_model.h5", "flax": "flax_model.msgpack"}
FROM = {"tf": "from_tf", "flax": "from_flax"}
FOLDERS = ["gemma2/Gemma2ForCausalLM", "gemma3_text/Gemma3ForCausalLM", "phi3/Phi3ForCausalLM",
           "qwen3/Qwen3ForCausalLM", "mixtral/MixtralForCausalLM", "dpt/DPTForDepthEstimation",
           "videomae/VideoMAEForVideoClassification", "swin2sr/Swin2SRForImageSuperResolution",
           "superpoint/SuperPointForKeypointDetection", "detr/DetrForObjectDetection",
           "maskformer/MaskFormerForInstanceSegmentation", "vits/VitsModel",
           "llava/LlavaForConditionalGeneration", "vilt/ViltForQuestionAnswering",
           "hifigan/SpeechT5HifiGan", "speecht5/SpeechT5Model", "speecht5/SpeechT5ForTextToSpeech",
           "speecht5/SpeechT5ForSpeechToText"]  # fmt: skip
# Flax runs these op by op, as users call them: their Flax code takes another path when traced (Mixtral's experts,
# LLaVA's image-token check, ViLT's numpy patch choice) or has shapes that depend on values (VITS's predicted length,
# SuperPoint's keypoints). The others run under jax.jit: one compiled program instead of one per operation and shape
# (MaskFormer: ~20 s less); test_parity runs every fixture op by op.
EAGER_FLAX = {"mixtral", "llava", "vilt", "vits", "superpoint"}


def needs(backend: str) -> None:
    if importlib.util.find_spec(FRAMEWORK[backend]) is None:
        pytest.skip(f"{FRAMEWORK[backend]} is not installed")


def call(model, backend: str, inputs: dict, kwargs: dict, jit: bool = False):
    if backend == "torch":
        import torch

        with torch.no_grad():
            return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **kwargs)
    if backend == "flax" and jit:
        import jax

        forward = jax.jit(lambda params, arrays: output_tree(model(**arrays, params=params, **kwargs)))
        return forward(model.params, inputs)
    return model(**inputs, **kwargs)


@pytest.mark.parametrize("writer", ["tf", "flax"])
@pytest.mark.parametrize("folder", FOLDERS)
def test_native_files_load_in_every_other_framework(folder, writer, tmp_path):
    needs(writer)
    meta, inputs, expected = read_fixture(MODELS / folder)
    fixture_model_class(meta, writer).from_pretrained(MODELS / folder).save_pretrained(tmp_path)
    assert (tmp_path / NATIVE[writer]).is_file() and not (tmp_path / "model.safetensors").exists()
    for reader in sorted({"torch", "tf", "flax"} - {writer}):
        needs(reader)
        model, info = fixture_model_class(meta, reader).from_pretrained(
            tmp_path, output_loading_info=True, **{FROM[writer]: True})  # fmt: skip
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (reader, info)
        jit = folder.split("/")[0] not in EAGER_FLAX
        assert_matches_expected(call(model, reader, inputs, meta["call_kwargs"], jit), expected)
