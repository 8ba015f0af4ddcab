"""Speech encoders (Wav2Vec2, HuBERT, WavLM) without a framework: the feature extractor and processor settings
HuBERT / WavLM checkpoints use against transformers 4.57.6 (fixtures/speech_preprocessing, written by
scripts/reference/speech_preprocessing.py), and config values refused clearly."""

import json
import shutil

import numpy as np
import pytest
from conftest import FIXTURES
from reference_data import load_audio

from autoload import AutoConfig, AutoFeatureExtractor, AutoProcessor, AutoTokenizer

SPEECH = FIXTURES / "speech_preprocessing"


def reference_cases(kind: str):
    for folder in sorted((SPEECH / kind).iterdir()):
        spec = json.loads((folder / "cases.json").read_text())
        for key, case in spec["cases"].items():
            yield pytest.param(folder, spec["class"], key, case, id=f"{folder.name}-{key}")


def expected_fields(folder, key: str) -> dict:
    return {name.removeprefix(key + "_"): value for name, value in np.load(folder / "expected.npz").items()
            if name.startswith(key + "_")}  # fmt: skip


def assert_same_arrays(got, want: np.ndarray, field: str) -> None:
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape, (field, got.dtype, got.shape, want.dtype, want.shape)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0, err_msg=field)
    else:
        np.testing.assert_array_equal(got, want, err_msg=field)


@pytest.mark.parametrize("folder,class_name,key,case", reference_cases("feature_extractors"))
def test_feature_extractor_settings_match_transformers(folder, class_name, key, case):
    extractor = AutoFeatureExtractor.from_pretrained(folder)
    assert type(extractor).__name__ == class_name
    audio = [load_audio(spec) for spec in case["audio"]]
    result = extractor(audio if len(audio) > 1 else audio[0], **case["call"])
    want = expected_fields(folder, key)
    got = {}
    for field, value in result.items():
        container = case["containers"][field]
        if container == "array":
            got[field] = value
            continue
        assert isinstance(value, list) if container == "list" else (value.dtype == object and value.ndim == 1), field
        got.update({f"{field}_{i}": v for i, v in enumerate(value)})
    assert sorted(got) == sorted(want)
    for field, value in want.items():
        assert_same_arrays(got[field], value, field)


@pytest.mark.parametrize("folder,class_name,key,case", reference_cases("processors"))
def test_processor_matches_transformers(folder, class_name, key, case):
    processor = AutoProcessor.from_pretrained(folder)
    assert type(processor).__name__ == class_name
    call = dict(case)
    if "audio" in call:
        call["audio"] = load_audio(call["audio"]) if isinstance(call["audio"], str) else [load_audio(s) for s in call["audio"]]
    result = processor(**call)
    want = expected_fields(folder, key)
    assert sorted(result.keys()) == sorted(want)
    for field, value in want.items():
        assert_same_arrays(result[field], value, field)


def test_hubert_tokenizer_by_model_type(tmp_path):
    """transformers maps model_type hubert to Wav2Vec2CTCTokenizer: a folder whose tokenizer_config.json names no
    class still gets it."""
    shutil.copytree(SPEECH / "processors" / "hubert", tmp_path, dirs_exist_ok=True)
    path = tmp_path / "tokenizer_config.json"
    settings = json.loads(path.read_text())
    del settings["tokenizer_class"]
    path.write_text(json.dumps(settings))
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert type(tokenizer).__name__ == "Wav2Vec2CTCTokenizer"
    assert tokenizer("a cat").input_ids == [5, 4, 7, 5, 24]


# -- configs --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model_type,fields,message", [
    ("hubert", {"add_adapter": True}, "add_adapter=True is not supported"),
    ("wavlm", {"num_buckets": 2}, "num_buckets must be at least 4"),
    ("wavlm", {"num_buckets": 16, "max_bucket_distance": 4}, "max_bucket_distance must be positive and differ"),
    ("wav2vec2", {"feat_extract_norm": "batch"}, "feat_extract_norm must be one of"),
    ("wav2vec2", {"conv_dim": [8, 8], "conv_kernel": [3], "conv_stride": [2]}, "must have the same length"),
    ("hubert", {"hidden_size": 24, "num_attention_heads": 4, "num_conv_pos_embedding_groups": 16}, "must divide"),
    ("wavlm", {"ctc_loss_reduction": "median"}, "ctc_loss_reduction must be one of"),
    ("wav2vec2", {"tdnn_dim": [8, 8], "tdnn_kernel": [3], "tdnn_dilation": [1]}, "tdnn_dim"),
])  # fmt: skip
def test_unsupported_config_values_are_refused(model_type, fields, message):
    with pytest.raises(ValueError, match=message):
        AutoConfig.for_model(model_type, **fields)


def test_hub_config_fields_are_read():
    """Fields real Hub configs carry: HuBERT's feat_proj_layer_norm / conv_pos_batch_norm change the options
    every framework builds from; WavLM's replace_prob (no modeling code reads it) is kept, not refused."""
    hubert = AutoConfig.for_model("hubert", feat_proj_layer_norm=False, conv_pos_batch_norm=True)
    options = hubert.speech_options()
    assert not options.feature_layer_norm and options.pos_conv_batch_norm
    wavlm = AutoConfig.for_model("wavlm", replace_prob=0.5, num_buckets=320, max_bucket_distance=800)
    assert wavlm.replace_prob == 0.5 and wavlm.speech_options().relative_buckets == 320


def test_spec_augment_masks_match_transformers():
    """The random SpecAugment spans drawn while training: the same masks as transformers from the same numpy seed
    (fixtures/speech_preprocessing/spec_augment.json, scripts/reference/speech_spec_augment.py)."""
    from autoload.speech import spec_augment_mask

    cases = json.loads((SPEECH / "spec_augment.json").read_text())
    for case in cases:
        np.random.seed(case["seed"])
        mask = spec_augment_mask(tuple(case["shape"]), case["prob"], case["span"], case["min_spans"], case["lengths"])
        assert [np.flatnonzero(row).tolist() for row in mask] == case["masked"], case
    with pytest.raises(ValueError, match="longer than the 4 steps"):
        spec_augment_mask((1, 4), 0.5, 5)


HUB_STYLE = {  # the fields of microsoft/wavlm-base-plus's config.json (sizes scaled down), older ones included
    "wavlm": {"architectures": ["WavLMModel"], "model_type": "wavlm", "adapter_kernel_size": 3, "add_adapter": False,
              "apply_spec_augment": True, "attention_dropout": 0.1, "bos_token_id": 1, "classifier_proj_size": 8,
              "codevector_dim": 8, "contrastive_logits_temperature": 0.1, "conv_bias": False, "conv_dim": [8, 8],
              "conv_kernel": [5, 3], "conv_stride": [3, 2], "ctc_loss_reduction": "sum", "ctc_zero_infinity": False,
              "diversity_loss_weight": 0.1, "do_stable_layer_norm": False, "eos_token_id": 2,
              "feat_extract_activation": "gelu", "feat_extract_norm": "group", "feat_proj_dropout": 0.1,
              "feat_quantizer_dropout": 0.0, "final_dropout": 0.0, "freeze_feat_extract_train": True,
              "hidden_act": "gelu", "hidden_dropout": 0.1, "hidden_size": 16, "initializer_range": 0.02,
              "intermediate_size": 24, "layer_norm_eps": 1e-05, "layerdrop": 0.05, "mask_channel_length": 10,
              "mask_channel_min_space": 1, "mask_channel_other": 0.0, "mask_channel_prob": 0.0,
              "mask_channel_selection": "static", "mask_feature_length": 10, "mask_feature_prob": 0.0,
              "mask_time_length": 10, "mask_time_min_space": 1, "mask_time_other": 0.0, "mask_time_prob": 0.05,
              "mask_time_selection": "static", "max_bucket_distance": 800, "no_mask_channel_overlap": False,
              "no_mask_time_overlap": False, "num_adapter_layers": 3, "num_attention_heads": 2, "num_buckets": 320,
              "num_codevector_groups": 2, "num_codevectors_per_group": 8, "num_conv_pos_embedding_groups": 2,
              "num_conv_pos_embeddings": 8, "num_ctc_classes": 80, "num_feat_extract_layers": 2,
              "num_hidden_layers": 2, "num_negatives": 100, "output_hidden_size": 16, "pad_token_id": 0,
              "proj_codevector_dim": 8, "replace_prob": 0.5, "tokenizer_class": "Wav2Vec2CTCTokenizer",
              "torch_dtype": "float32", "transformers_version": "4.12.0.dev0", "use_weighted_layer_sum": False,
              "vocab_size": 32},
    # facebook/hubert-large-ls960-ft's layout: layer norms, stable layers, no conv_pos_batch_norm field
    "hubert": {"architectures": ["HubertForCTC"], "model_type": "hubert", "activation_dropout": 0.1,
               "apply_spec_augment": True, "attention_dropout": 0.1, "bos_token_id": 1, "conv_bias": True,
               "conv_dim": [8, 8], "conv_kernel": [5, 3], "conv_stride": [3, 2], "ctc_loss_reduction": "sum",
               "ctc_zero_infinity": False, "do_stable_layer_norm": True, "eos_token_id": 2,
               "feat_extract_activation": "gelu", "feat_extract_dropout": 0.0, "feat_extract_norm": "layer",
               "feat_proj_dropout": 0.1, "final_dropout": 0.1, "gradient_checkpointing": False,
               "hidden_act": "gelu", "hidden_dropout": 0.1, "hidden_dropout_prob": 0.1, "hidden_size": 16,
               "initializer_range": 0.02, "intermediate_size": 24, "layer_norm_eps": 1e-05, "layerdrop": 0.1,
               "mask_feature_length": 10, "mask_feature_prob": 0.0, "mask_time_length": 10, "mask_time_prob": 0.05,
               "num_attention_heads": 2, "num_conv_pos_embedding_groups": 2, "num_conv_pos_embeddings": 8,
               "num_feat_extract_layers": 2, "num_hidden_layers": 2, "pad_token_id": 0,
               "transformers_version": "4.10.0.dev0", "vocab_size": 32},
}  # fmt: skip


@pytest.mark.parametrize("model_type", sorted(HUB_STYLE))
def test_hub_style_configs_load(tmp_path, model_type):
    (tmp_path / "config.json").write_text(json.dumps(HUB_STYLE[model_type]))
    config = AutoConfig.from_pretrained(tmp_path)
    options = config.speech_options()
    assert type(config).__name__ == {"wavlm": "WavLMConfig", "hubert": "HubertConfig"}[model_type]
    if model_type == "wavlm":
        assert (options.relative_buckets, options.relative_max_distance) == (320, 800) and config.replace_prob == 0.5
        assert options.conv_layers[0].norm == "group" and options.conv_layers[1].norm is None
    else:
        assert options.stable_layer_norm and options.feature_layer_norm and not options.pos_conv_batch_norm
        assert [layer.norm for layer in options.conv_layers] == ["layer", "layer"]
