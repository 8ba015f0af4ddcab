"""Whisper end to end: audio -> AutoProcessor -> AutoModelForSpeechSeq2Seq.generate -> batch_decode, in
every framework, on a folder laid out like a Hub Whisper checkpoint.

The folder is built here: the random WhisperForConditionalGeneration reference weights (16 mel bins,
60 input frames, 99 tokens), a byte-level BPE tokenizer whose last 14 ids are Whisper's special tokens
at the ids that config uses, a feature extractor sized to 60 frames, and a multilingual
generation_config.json with the language / task tables that real checkpoints carry.
"""

import json
import shutil

import numpy as np
import pytest
from conftest import MODELS

import autoload
from autoload import AutoProcessor, AutoTokenizer

WEIGHTS = MODELS / "whisper" / "WhisperForConditionalGeneration"
# In Whisper's order (languages as its language table lists them, en, zh, de, ...), at the ids the config uses.
SPECIAL = ["<|startoftranscript|>", "<|en|>", "<|zh|>", "<|de|>", "<|translate|>", "<|transcribe|>", "<|startoflm|>",
           "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>", "<|0.00|>", "<|0.02|>", "<|0.04|>",
           "<|endoftext|>"]  # fmt: skip
FIRST_SPECIAL = 85  # decoder_start_token_id of the reference config
SAMPLING_RATE = 16000


def build_tokenizer_json() -> dict:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = ["Ġ", *"abcdefghijklmnopqrstuvwxyz", *".,'?!", *"0123456789"]
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "n"), ("e", "r"), ("o", "n"), ("r", "e"),
              ("Ġ", "s"), ("Ġ", "w"), ("a", "t"), ("e", "n"), ("Ġ", "o"), ("o", "r"), ("Ġ", "c"), ("e", "s"),
              ("i", "s"), ("Ġ", "b"), ("i", "t"), ("a", "n"), ("Ġ", "f"), ("Ġ", "i"), ("Ġ", "p"), ("Ġ", "m"),
              ("l", "l"), ("Ġa", "n"), ("Ġ", "h"), ("e", "d"), ("Ġ", "d"), ("o", "u"), ("a", "r"), ("Ġo", "f"),
              ("Ġ", "l"), ("Ġ", "g"), ("Ġan", "d"), ("n", "g"), ("i", "ng"), ("Ġt", "o"), ("Ġi", "s"),
              ("Ġ", "n"), ("Ġ", "e"), ("Ġ", "r"), ("Ġ", "y")]  # fmt: skip
    vocab = {token: i for i, token in enumerate(alphabet)}
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    assert len(vocab) == FIRST_SPECIAL, len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab, merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(SPECIAL)
    return json.loads(tokenizer.to_str())


@pytest.fixture(scope="module")
def whisper_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whisper-tiny-random")
    for name in ("config.json", "model.safetensors"):
        shutil.copy(WEIGHTS / name, folder / name)
    ids = {token: FIRST_SPECIAL + i for i, token in enumerate(SPECIAL)}
    (folder / "tokenizer.json").write_text(json.dumps(build_tokenizer_json()))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "WhisperTokenizer", "processor_class": "WhisperProcessor", "model_max_length": 40,
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>", "add_prefix_space": False,
    }))  # fmt: skip
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "feature_extractor_type": "WhisperFeatureExtractor", "processor_class": "WhisperProcessor",
        "feature_size": 16, "sampling_rate": SAMPLING_RATE, "hop_length": 800, "n_fft": 1600, "chunk_length": 3,
        "padding_value": 0.0, "return_attention_mask": False,
    }))  # fmt: skip
    (folder / "generation_config.json").write_text(json.dumps({
        "decoder_start_token_id": ids["<|startoftranscript|>"], "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|endoftext|>"], "pad_token_id": ids["<|endoftext|>"], "max_length": 40,
        "is_multilingual": True, "lang_to_id": {t: ids[t] for t in ("<|en|>", "<|zh|>", "<|de|>")},
        "task_to_id": {"translate": ids["<|translate|>"], "transcribe": ids["<|transcribe|>"]},
        "no_timestamps_token_id": ids["<|notimestamps|>"], "begin_suppress_tokens": [ids["<|endoftext|>"]],
    }))  # fmt: skip
    return folder


def synthetic_clip(seconds=2.0) -> np.ndarray:
    """A 2-second chirp with an amplitude envelope: speech-like energy moving across the mel bins."""
    t = np.arange(int(seconds * SAMPLING_RATE)) / SAMPLING_RATE
    return (0.4 * np.sin(2 * np.pi * (200 + 900 * t) * t) * np.sin(np.pi * t / seconds)).astype(np.float32)


def reference_greedy(folder, features: np.ndarray, prompt: list[int], max_new_tokens: int) -> list[int]:
    """Greedy decoding by hand: the full decoder forward at every step, no cache, no search code."""
    import torch

    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(folder)
    generation = json.loads((folder / "generation_config.json").read_text())
    tokens = list(prompt)
    with torch.no_grad():
        for step in range(max_new_tokens):
            logits = model(input_features=torch.from_numpy(features), decoder_input_ids=torch.tensor([tokens])).logits
            scores = logits[0, -1].numpy().copy()
            if step == 0:
                scores[generation["begin_suppress_tokens"]] = -np.inf
            tokens.append(int(scores.argmax()))
            if tokens[-1] == generation["eos_token_id"]:
                break
    return tokens[len(prompt) :]


def test_processor_is_whisper_and_sizes_the_features(whisper_folder):
    processor = AutoProcessor.from_pretrained(whisper_folder)
    assert type(processor).__name__ == "WhisperProcessor"
    features = processor(synthetic_clip(), sampling_rate=SAMPLING_RATE, return_tensors="np").input_features
    assert features.shape == (1, 16, 60) and features.dtype == np.float32
    with pytest.raises(ValueError, match="sampling"):
        processor(synthetic_clip(), sampling_rate=8000)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_transcribes_a_clip_end_to_end(whisper_folder, backend):
    pytest.importorskip({"torch": "torch", "tf": "tensorflow", "flax": "flax"}[backend])
    processor = AutoProcessor.from_pretrained(whisper_folder)
    features = processor(synthetic_clip(), sampling_rate=SAMPLING_RATE, return_tensors="np").input_features
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(whisper_folder, backend=backend)
    ids = np.asarray(model.generate(features, language="en", task="transcribe", max_new_tokens=12))
    prompt = [processor.tokenizer.convert_tokens_to_ids(t)
              for t in ("<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>")]  # fmt: skip
    assert ids[0].tolist() == reference_greedy(whisper_folder, features, prompt, 12)
    text = processor.batch_decode(ids, skip_special_tokens=True)
    assert text == [processor.tokenizer.decode([i for i in ids[0] if i < FIRST_SPECIAL])]
    assert text[0] and "<|" not in text[0]


def test_a_text_prompt_goes_before_the_start_token_and_stays_out_of_the_transcript(whisper_folder):
    pytest.importorskip("torch")
    processor = AutoProcessor.from_pretrained(whisper_folder)
    prompt_ids = processor.get_prompt_ids("the cat sat")
    assert prompt_ids.tolist() == processor.tokenizer.get_prompt_ids("the cat sat").tolist()
    assert prompt_ids.tolist() == [processor.tokenizer.convert_tokens_to_ids("<|startofprev|>"),
                                   *processor.tokenizer.encode(" the cat sat", add_special_tokens=False)]  # fmt: skip
    features = processor(synthetic_clip(), sampling_rate=SAMPLING_RATE, return_tensors="np").input_features
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(whisper_folder)
    ids = np.asarray(model.generate(features, language="en", task="transcribe", prompt_ids=prompt_ids,
                                    max_new_tokens=8))  # fmt: skip
    start = [processor.tokenizer.convert_tokens_to_ids(t)
             for t in ("<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>")]  # fmt: skip
    want = reference_greedy(whisper_folder, features, [*prompt_ids.tolist(), *start], 8)
    assert ids[0, : len(want)].tolist() == want


def test_language_is_detected_when_not_given(whisper_folder):
    torch = pytest.importorskip("torch")

    processor = AutoProcessor.from_pretrained(whisper_folder)
    features = processor([synthetic_clip(), synthetic_clip(1.0)[::-1].copy()], sampling_rate=SAMPLING_RATE,
                         return_tensors="np").input_features  # fmt: skip
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(whisper_folder)
    token = processor.tokenizer.convert_tokens_to_ids
    start, languages = token("<|startoftranscript|>"), np.array([token(t) for t in ("<|en|>", "<|zh|>", "<|de|>")])
    with torch.no_grad():
        logits = model(input_features=torch.from_numpy(features), decoder_input_ids=torch.full((2, 1), start)).logits
    detected = languages[logits[:, -1, languages].argmax(-1).numpy()]
    ids = model.generate(torch.from_numpy(features), max_new_tokens=6)
    for row in range(2):
        prompt = [start, int(detected[row]), token("<|notimestamps|>")]  # a detected language gets no task token
        want = reference_greedy(whisper_folder, features[row : row + 1], prompt, 6)
        assert ids[row, : len(want)].tolist() == want


def test_generate_refuses_what_it_cannot_do(whisper_folder):
    processor = AutoProcessor.from_pretrained(whisper_folder)
    features = processor(synthetic_clip(), sampling_rate=SAMPLING_RATE, return_tensors="np").input_features
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(whisper_folder)
    with pytest.raises(ValueError, match=r"Unknown Whisper language '<\|fr\|>'.*<\|de\|>, <\|en\|>, <\|zh\|>"):
        model.generate(features, language="fr")
    with pytest.raises(ValueError, match="Unknown Whisper task 'summarize'"):
        model.generate(features, task="summarize")
    with pytest.raises(ValueError, match="return_token_timestamps needs alignment_heads"):
        model.generate(features, return_token_timestamps=True)


def test_checkpoint_without_language_tables_refuses_a_language(tmp_path):
    for name in ("config.json", "model.safetensors", "generation_config.json"):
        shutil.copy(WEIGHTS / name, tmp_path / name)
    model = autoload.AutoModelForSpeechSeq2Seq.from_pretrained(tmp_path)
    features = np.zeros((1, 16, 60), np.float32)
    with pytest.raises(ValueError, match="no lang_to_id table"):
        model.generate(features, language="en")


def test_tokenizer_prefix_matches_the_generation_prompt(whisper_folder):
    tokenizer = AutoTokenizer.from_pretrained(whisper_folder)
    assert tokenizer("the cat")["input_ids"] == tokenizer.encode("the cat", add_special_tokens=False)  # no template
    assert tokenizer.get_decoder_prompt_ids(language="en", task="transcribe") == [
        (1, tokenizer.convert_tokens_to_ids("<|en|>")), (2, tokenizer.convert_tokens_to_ids("<|transcribe|>")),
        (3, tokenizer.convert_tokens_to_ids("<|notimestamps|>"))]  # fmt: skip
    encoded = tokenizer("the cat")["input_ids"]  # get_decoder_prompt_ids set the prefix, as set_prefix_tokens does
    assert tokenizer.convert_ids_to_tokens(encoded[:4]) == [
        "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]  # fmt: skip
    assert encoded[-1] == tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert tokenizer.decode(encoded, skip_special_tokens=True) == "the cat"
    tokenizer.set_prefix_tokens(language="de", task="translate")
    assert tokenizer.convert_ids_to_tokens(tokenizer("the cat")["input_ids"][:3]) == [
        "<|startoftranscript|>", "<|de|>", "<|translate|>"]  # fmt: skip


def test_prompt_follows_forced_decoder_ids_of_older_checkpoints():
    from autoload.generation import GenerationConfig
    from autoload.generation.whisper import whisper_decoder_prompt

    config = GenerationConfig(decoder_start_token_id=85, lang_to_id={"<|en|>": 86, "<|de|>": 88},
                              task_to_id={"translate": 89, "transcribe": 90}, no_timestamps_token_id=94,
                              forced_decoder_ids=[[1, None], [2, 90]])  # fmt: skip
    logits = np.zeros((2, 99), np.float32)
    logits[0, 88], logits[1, 86], logits[:, 5] = 1.0, 1.0, 9.0  # token 5 is no language: never detected
    assert whisper_decoder_prompt(config, 2, first_logits=lambda tokens: logits).tolist() == [
        [85, 88, 90, 94], [85, 86, 90, 94]]  # fmt: skip
    assert whisper_decoder_prompt(config, 1, language="en").tolist() == [[85, 86, 90, 94]]  # forced ids dropped
    assert whisper_decoder_prompt(config, 1, task="translate", first_logits=lambda t: logits[:1]).tolist() == [
        [85, 88, 89, 94]]  # fmt: skip
    config.forced_decoder_ids = [[2, 90]]
    with pytest.raises(ValueError, match="positions 1, 2"):
        whisper_decoder_prompt(config, 1, first_logits=lambda t: logits[:1])
