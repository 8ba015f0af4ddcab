"""Whisper end to end against transformers 4.57.6 itself (run by `nox -s parity`): the same features, the
same decoder prompt (language / task / detection / forced_decoder_ids) and the same generated tokens."""

import json

import numpy as np
import pytest
from test_whisper_transcription import SAMPLING_RATE, synthetic_clip, whisper_folder  # noqa: F401 - a fixture

import autoload

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


def test_features_match(whisper_folder):  # noqa: F811
    theirs = transformers.AutoProcessor.from_pretrained(whisper_folder)
    ours = autoload.AutoProcessor.from_pretrained(whisper_folder)
    clip = synthetic_clip()
    np.testing.assert_allclose(ours(clip, sampling_rate=SAMPLING_RATE).input_features,
                               theirs(clip, sampling_rate=SAMPLING_RATE).input_features, atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("options", [{"language": "en", "task": "transcribe"}, {"language": "de", "task": "translate"},
                                     {"language": "zh"}, {"task": "translate"}])  # fmt: skip
def test_generated_tokens_match(whisper_folder, options):  # noqa: F811
    features = torch.from_numpy(autoload.AutoProcessor.from_pretrained(whisper_folder)(
        [synthetic_clip(), synthetic_clip(1.0)], sampling_rate=SAMPLING_RATE).input_features)  # fmt: skip
    theirs = transformers.WhisperForConditionalGeneration.from_pretrained(whisper_folder)
    ours = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(whisper_folder)
    expected = theirs.generate(features, max_new_tokens=10, **options)
    assert ours.generate(features, max_new_tokens=10, **options).tolist() == expected.tolist()


def test_detected_language_and_forced_decoder_ids_give_transformers_prompt(whisper_folder, tmp_path):  # noqa: F811
    for file in whisper_folder.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    generation = json.loads((tmp_path / "generation_config.json").read_text())
    generation["forced_decoder_ids"] = [[1, None], [2, generation["task_to_id"]["transcribe"]]]
    (tmp_path / "generation_config.json").write_text(json.dumps(generation))
    features = torch.from_numpy(autoload.AutoProcessor.from_pretrained(tmp_path)(
        synthetic_clip(), sampling_rate=SAMPLING_RATE).input_features)  # fmt: skip
    theirs = transformers.WhisperForConditionalGeneration.from_pretrained(tmp_path)
    expected = theirs.generate(features, max_new_tokens=10, return_dict_in_generate=True).sequences
    ours = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(tmp_path)
    generated = ours.generate(features, max_new_tokens=10)
    assert expected[0, -generated.shape[1] :].tolist() == generated[0].tolist()


def test_tokenizer_prompts_match(whisper_folder):  # noqa: F811
    theirs = transformers.AutoTokenizer.from_pretrained(whisper_folder)
    ours = autoload.AutoTokenizer.from_pretrained(whisper_folder)
    assert ours("the cat")["input_ids"] == theirs("the cat").input_ids
    for language, task in (("en", "transcribe"), ("de", "translate")):
        assert ours.get_decoder_prompt_ids(language=language, task=task) == theirs.get_decoder_prompt_ids(
            language=language, task=task)  # fmt: skip
        assert ours("the cat")["input_ids"] == theirs("the cat").input_ids
