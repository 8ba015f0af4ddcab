"""The call API around the reference cases: tensors, overflow, words, added tokens, saving, Hub cache,
chat templates, registration, and the families without reference folders (BART, CLIP, Whisper, Qwen2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_tokenizer_support import WHISPER_SPECIALS, materialize, synthetic_folder

from autoload.tokenization import AutoTokenizer, BatchEncoding, PreTrainedTokenizerFast

SENTENCE = "Hello, world! Loading checkpoints is fun."


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return {
        name: materialize(name, tmp_path_factory.mktemp(name))
        for name in ("bert-uncased", "gpt2", "llama", "t5", "roberta")
    }


@pytest.fixture
def bert(folders):
    return AutoTokenizer.from_pretrained(folders["bert-uncased"])


def test_import_is_light():
    code = (
        "import sys, autoload.tokenization as t; t.AutoTokenizer; "
        "print(sorted(m for m in ('tokenizers', 'numpy', 'torch', 'tensorflow', 'jax') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))  # fmt: skip
    assert result.stdout.strip() == "[]"


def test_batch_encoding_and_numpy_tensors(bert):
    encoded = bert([SENTENCE, "short"], padding=True, return_tensors="np")
    assert isinstance(encoded, BatchEncoding)
    assert encoded.input_ids.shape == encoded["attention_mask"].shape == (2, 12)
    assert encoded.input_ids.dtype == np.int64
    assert encoded.word_ids(1)[:3] == [None, 0, None]
    assert encoded.tokens(1)[:3] == ["[CLS]", "short", "[SEP]"]
    assert encoded.char_to_token(1, 2) == 1
    single = bert(SENTENCE, return_tensors="np")
    assert single["input_ids"].shape == (1, 12)
    ragged = bert([SENTENCE, "short"], return_tensors="np")["input_ids"]
    assert ragged.dtype == object and [len(row) for row in ragged] == [12, 3]


@pytest.mark.parametrize("kind,module", [("pt", "torch"), ("tf", "tensorflow"), ("jax", "jax")])
def test_framework_tensors(bert, kind, module):
    pytest.importorskip(module)
    encoded = bert([SENTENCE, "short"], padding=True, return_tensors=kind)
    assert tuple(encoded["input_ids"].shape) == (2, 12)
    assert np.asarray(encoded["input_ids"]).tolist() == bert([SENTENCE, "short"], padding=True)["input_ids"]
    with pytest.raises(ValueError, match="padding=True"):
        bert([SENTENCE, "short"], return_tensors=kind)


def test_overflow_with_stride(bert):
    text = "one two three four five six seven eight nine ten"
    encoded = bert([text, "one"], truncation=True, max_length=6, stride=1, return_overflowing_tokens=True)
    assert encoded["overflow_to_sample_mapping"] == [0, 0, 0, 1]
    windows = [bert.convert_ids_to_tokens(ids)[1:-1] for ids in encoded["input_ids"][:3]]
    assert windows == [
        ["one", "two", "three", "four"],
        ["four", "five", "six", "seven"],
        ["seven", "eight", "nine", "ten"],
    ]


def test_truncation_defaults_to_model_max_length(bert):
    assert bert.model_max_length == 512
    ids = bert("word " * 600, truncation=True)["input_ids"]
    assert len(ids) == 512 and ids[-1] == bert.sep_token_id
    assert len(bert("word " * 600, padding="max_length")["input_ids"]) == 602  # pads, never truncates
    assert len(bert("word", padding="max_length")["input_ids"]) == 512


def test_padding_side_and_pad_to_multiple_of(bert):
    encoded = bert(["a", "a b c"], padding=True, padding_side="left", pad_to_multiple_of=8)
    assert encoded["input_ids"][0] == [0] * 5 + [101, 1037, 102]
    assert encoded["attention_mask"][0] == [0] * 5 + [1, 1, 1]
    bert.padding_side = "left"
    assert bert(["a", "a b"], padding=True)["input_ids"][0][0] == 0


def test_pairs_words_and_special_tokens_mask(bert):
    encoded = bert(["hello", "there"], ["world", "friend"], return_special_tokens_mask=True, return_length=True)
    assert encoded["token_type_ids"][0] == [0, 0, 0, 1, 1]
    assert encoded["special_tokens_mask"][0] == [1, 0, 1, 0, 1]
    assert encoded["length"] == [5, 5]
    words = bert(["Hello", "hobbit"], is_split_into_words=True)
    assert words.word_ids() == [None, 0, 1, 1, 1, None]
    assert bert.encode("hello", add_special_tokens=False) == [7592]
    assert bert.tokenize("A hobbit!") == ["a", "ho", "##bb", "##it", "!"]


def test_vocabulary_and_special_token_attributes(bert):
    assert (bert.cls_token, bert.cls_token_id, bert.pad_token_id, bert.bos_token) == ("[CLS]", 101, 0, None)
    assert bert.vocab_size == len(bert) == 30522
    assert bert.convert_tokens_to_ids(["hello", "qqqqzzzz"]) == [7592, 100]
    assert bert.convert_ids_to_tokens([101, 7592, 102], skip_special_tokens=True) == ["hello"]
    assert bert.all_special_tokens == ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]
    assert bert.special_tokens_map["mask_token"] == "[MASK]"
    assert bert.num_special_tokens_to_add(pair=True) == 3
    assert bert.convert_tokens_to_string(["hel", "##lo", "world"]) == "hello world"


def test_add_tokens_and_special_tokens(bert):
    assert bert.add_tokens(["autoloader"]) == 1
    assert bert.tokenize("the autoloader works") == ["the", "autoloader", "works"]
    assert bert.add_special_tokens({"additional_special_tokens": ["<ent>"]}) == 1
    ids = bert.encode("a <ent> b")
    assert bert.convert_ids_to_tokens(ids)[2] == "<ent>"
    assert bert.decode(ids, skip_special_tokens=True) == "a b"
    assert len(bert) == 30524 and bert.get_added_vocab()["<ent>"] == 30523


def test_decode_accepts_arrays(bert):
    ids = np.array([101, 7592, 1010, 2088, 102])
    assert bert.decode(ids) == "[CLS] hello, world [SEP]"
    assert bert.batch_decode(ids[None, :], skip_special_tokens=True) == ["hello, world"]
    assert bert.decode(7592) == "hello"


def test_pad_already_encoded_inputs(bert):
    features = [bert("hello"), bert("hello big world")]
    padded = bert.pad(features, return_tensors="np")
    assert padded["input_ids"].tolist() == [[101, 7592, 102, 0, 0], [101, 7592, 2502, 2088, 102]]
    assert padded["attention_mask"].tolist()[0] == [1, 1, 1, 0, 0]


def test_text_target_gives_labels(folders):
    t5 = AutoTokenizer.from_pretrained(folders["t5"])
    encoded = t5("translate: hello", text_target="bonjour")
    assert encoded["labels"] == t5("bonjour")["input_ids"]
    assert t5(text_target="bonjour")["input_ids"] == encoded["labels"]


def test_use_fast_false_gives_the_slow_class_with_same_results(folders):
    for name, slow_name in (
        ("bert-uncased", "BertTokenizer"),
        ("gpt2", "GPT2Tokenizer"),
        ("t5", "T5Tokenizer"),
        ("llama", "LlamaTokenizer"),
    ):
        fast = AutoTokenizer.from_pretrained(folders[name])
        slow = AutoTokenizer.from_pretrained(folders[name], use_fast=False)
        assert type(slow).__name__ == slow_name
        assert slow(SENTENCE)["input_ids"] == fast(SENTENCE)["input_ids"]


# Not Pegasus: like transformers, it ignores saved added tokens when built from spiece.model.
@pytest.mark.parametrize(
    "name",
    ["bert-uncased", "gpt2", "roberta", "t5", "llama", "wav2vec2-ctc", "xlm-roberta", "mpnet", "deberta-v2", "albert",
     "mbart50", "marian", "marian-separate-vocabs"],
)  # fmt: skip
def test_save_and_reload_round_trip(tmp_path, name):
    tokenizer = AutoTokenizer.from_pretrained(materialize(name, tmp_path / "source"))
    tokenizer.add_tokens(["zebra-crossing"])
    written = tokenizer.save_pretrained(tmp_path / "saved")
    names = sorted(os.path.basename(path) for path in written)
    assert all(os.path.isfile(path) for path in written)
    assert {"tokenizer_config.json", "special_tokens_map.json"} <= set(names)
    config = json.loads((tmp_path / "saved" / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == type(tokenizer).__name__.removesuffix("Fast")
    assert "added_tokens_decoder" in config
    text = "Hello zebra-crossing, world! </s> <mask> [MASK]"
    reloaded = AutoTokenizer.from_pretrained(tmp_path / "saved")
    assert reloaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    # The older files written next to tokenizer.json rebuild the same tokenizer.
    (tmp_path / "saved" / "tokenizer.json").unlink(missing_ok=True)
    rebuilt = AutoTokenizer.from_pretrained(tmp_path / "saved")
    assert rebuilt(text)["input_ids"] == tokenizer(text)["input_ids"]


def test_save_keeps_tokenizer_json_settings(tmp_path, bert):
    # bert-uncased's tokenizer.json stores truncation/padding (128); calls ignore them, saving keeps them.
    assert bert(SENTENCE)["input_ids"][-1] == 102 and len(bert(SENTENCE)["input_ids"]) == 12
    bert.save_pretrained(tmp_path)
    state = json.loads((tmp_path / "tokenizer.json").read_text())
    assert state["truncation"]["max_length"] == 128 and state["padding"]["strategy"] == {"Fixed": 128}


def test_hub_cache_offline(hub_cache, folders):
    cache_dir = hub_cache("org/tiny-bert", folders["bert-uncased"], commit="b" * 40)
    tokenizer = AutoTokenizer.from_pretrained("org/tiny-bert", cache_dir=cache_dir)
    assert tokenizer("In a hole in the ground there lived a hobbit.")["input_ids"][:4] == [101, 1999, 1037, 4920]
    assert tokenizer.name_or_path == "org/tiny-bert"


def test_hub_cache_offline_older_files_only(hub_cache, folders):
    files = {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"}
    cache_dir = hub_cache("org/tiny-gpt2", folders["gpt2"], files=files)
    tokenizer = AutoTokenizer.from_pretrained("org/tiny-gpt2", cache_dir=cache_dir)
    assert tokenizer(SENTENCE)["input_ids"] == AutoTokenizer.from_pretrained(folders["gpt2"])(SENTENCE)["input_ids"]


def test_model_type_fallback_from_config_json(tmp_path, folders):
    for name in ("vocab.txt", "special_tokens_map.json"):
        (tmp_path / name).write_bytes((folders["bert-uncased"] / name).read_bytes())
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert type(tokenizer).__name__ == "BertTokenizerFast"
    assert tokenizer("In a hole")["input_ids"] == [101, 1999, 1037, 4920, 102]
    assert (
        type(AutoTokenizer.from_pretrained(tmp_path, tokenizer_type="distilbert")).__name__ == "DistilBertTokenizerFast"
    )


def test_bare_tokenizer_json_loads_generic_class(tmp_path, folders):
    (tmp_path / "tokenizer.json").write_bytes((folders["gpt2"] / "tokenizer.json").read_bytes())
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert type(tokenizer) is PreTrainedTokenizerFast
    assert tokenizer("Hello")["input_ids"] == AutoTokenizer.from_pretrained(folders["gpt2"])("Hello")["input_ids"]


def test_llama_bos_eos_options_and_left_padding(folders):
    llama = AutoTokenizer.from_pretrained(folders["llama"])
    assert llama.padding_side == "left"
    plain = llama("Hello")["input_ids"]
    llama.add_eos_token = True
    assert llama("Hello")["input_ids"] == plain + [llama.eos_token_id]
    llama.pad_token = llama.unk_token
    padded = llama(["Hello", "Hello world again"], padding=True)["input_ids"]
    assert padded[0][0] == llama.unk_token_id and padded[1][0] == llama.bos_token_id


def test_chat_template(folders, tmp_path):
    template = (
        "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    llama = AutoTokenizer.from_pretrained(folders["llama"], chat_template=template)
    chat = [{"role": "user", "content": "Hello"}]
    text = llama.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert text == "<s><|user|>Hello</s><|assistant|>"
    ids = llama.apply_chat_template(chat)
    assert ids == llama(llama.apply_chat_template(chat, tokenize=False), add_special_tokens=False)["input_ids"]
    assert llama.apply_chat_template([chat, chat], tokenize=False) == [text.removesuffix("<|assistant|>")] * 2
    llama.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path).chat_template == template
    with pytest.raises(ValueError, match="no chat template"):
        AutoTokenizer.from_pretrained(folders["gpt2"]).apply_chat_template(chat)


def test_register_a_new_tokenizer_class(tmp_path, folders):
    class ToyConfig:
        model_type = "toy-model"

    class ToyTokenizerFast(PreTrainedTokenizerFast):
        model_input_names = ["input_ids"]

    AutoTokenizer.register(ToyConfig, fast_tokenizer_class=ToyTokenizerFast)
    (tmp_path / "tokenizer.json").write_bytes((folders["gpt2"] / "tokenizer.json").read_bytes())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "ToyTokenizer"}))
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert type(tokenizer) is ToyTokenizerFast and list(tokenizer("Hi")) == ["input_ids"]
    (tmp_path / "tokenizer_config.json").unlink()
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "toy-model"}))
    assert type(AutoTokenizer.from_pretrained(tmp_path)) is ToyTokenizerFast
    with pytest.raises(ValueError, match="exist_ok"):
        AutoTokenizer.register("toy-model", fast_tokenizer_class=ToyTokenizerFast)
    AutoTokenizer.register("toy-model", fast_tokenizer_class=ToyTokenizerFast, exist_ok=True)


# --- families without reference folders: built from the GPT-2 / RoBERTa vocabulary files --------------


def test_mbart_translation_inputs_and_language_codes(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(materialize("mbart50", tmp_path))
    assert tokenizer.src_lang == "en_XX" and tokenizer.tgt_lang == "ro_RO"
    assert tokenizer.lang_code_to_id["ro_RO"] == tokenizer.convert_tokens_to_ids("ro_RO")
    inputs = tokenizer._build_translation_inputs("Hello", return_tensors=None, src_lang="de_DE", tgt_lang="fr_XX")
    assert inputs["forced_bos_token_id"] == tokenizer.convert_tokens_to_ids("fr_XX")
    assert inputs["input_ids"][0] == tokenizer.convert_tokens_to_ids("de_DE") and tokenizer.src_lang == "de_DE"
    # Labels take tgt_lang, inputs src_lang, in one call; the tokenizer is left framing inputs.
    encoded = tokenizer("Hello", text_target="Salut")
    assert encoded["labels"][0] == tokenizer.convert_tokens_to_ids("ro_RO")
    assert tokenizer("Hello")["input_ids"] == encoded["input_ids"]
    tokenizer.tgt_lang = None
    with pytest.raises(ValueError, match="tgt_lang"):
        tokenizer(text_target="Salut")


def test_marian_language_codes_and_modes(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(materialize("marian", tmp_path))
    assert tokenizer.supported_language_codes == [">>fra<<", ">>deu<<", ">>ron<<", ">>spa<<"]
    assert tokenizer.tokenize(">>fra<< Hello")[0] == ">>fra<<"
    assert tokenizer.is_fast is False and tokenizer.vocab_size == len(tokenizer.encoder)
    with pytest.raises(NotImplementedError, match="offsets"):
        tokenizer("Hello", return_offsets_mapping=True)
    # Labels use target.spm: its pieces differ from the source model's on the same text.
    text = "Bună ziua, lume!"
    assert tokenizer(text_target=text)["input_ids"] != tokenizer(text)["input_ids"]
    with pytest.warns(FutureWarning):
        with tokenizer.as_target_tokenizer():
            assert tokenizer(text)["input_ids"] == tokenizer(text_target=text)["input_ids"]


def test_bart_is_roberta_like(tmp_path, folders):
    roberta = AutoTokenizer.from_pretrained(folders["roberta"])
    bart = AutoTokenizer.from_pretrained(synthetic_folder("bart", tmp_path))
    assert type(bart).__name__ == "BartTokenizerFast"
    assert bart(SENTENCE, "pair")["input_ids"] == roberta(SENTENCE, "pair")["input_ids"]
    assert bart("a <mask> b")["input_ids"] == roberta("a <mask> b")["input_ids"]


def test_qwen2_splits_digits_one_by_one(tmp_path):
    qwen = AutoTokenizer.from_pretrained(synthetic_folder("qwen2", tmp_path))
    assert type(qwen).__name__ == "Qwen2TokenizerFast"
    assert qwen.tokenize("2024") == ["2", "0", "2", "4"]
    assert qwen.decode(qwen("Ça va? 2024")["input_ids"]) == "Ça va? 2024"
    assert qwen.pad_token == qwen.eos_token == "<|endoftext|>"


def test_whisper_prefix_tokens(tmp_path):
    whisper = AutoTokenizer.from_pretrained(synthetic_folder("whisper", tmp_path))
    start, en, transcribe, no_timestamps, timestamp = (whisper.convert_tokens_to_ids(t) for t in WHISPER_SPECIALS)
    body = whisper("Hello", add_special_tokens=False)["input_ids"]
    assert whisper("Hello")["input_ids"] == [start, no_timestamps, *body, whisper.eos_token_id]
    whisper.set_prefix_tokens(language="en", task="transcribe")
    assert whisper("Hello")["input_ids"][:3] == [start, en, transcribe]
    assert whisper.decode([start, timestamp, *body], skip_special_tokens=True) == "Hello"
    assert whisper.decode([timestamp, *body]) == "Hello"
    # Timestamps count from the id after the last special token; this folder declares no additional special
    # tokens, so (as in transformers 4.57.6) every id from 1 on reads as one. A Hub-shaped folder:
    # tests/fixtures/tokenizers/whisper (test_tokenizer_parity's timestamp cases).
    assert whisper.decode([timestamp, *body], decode_with_timestamps=True) == "<|0.78|><|7.80|>"


def test_clip_lowercases_and_marks_word_ends(tmp_path):
    clip = AutoTokenizer.from_pretrained(synthetic_folder("clip", tmp_path))
    encoded = clip("Hi  HI!")
    tokens = clip.convert_ids_to_tokens(encoded["input_ids"])
    assert tokens == ["<|startoftext|>", "hi</w>", "hi</w>", "!</w>", "<|endoftext|>"]
    assert clip.decode(encoded["input_ids"], skip_special_tokens=True) == "hi hi !"


def test_wav2vec2_ctc_decoding(tmp_path):
    ctc = AutoTokenizer.from_pretrained(materialize("wav2vec2-ctc", tmp_path))
    ids = ctc("hello world")["input_ids"]
    assert ctc.decode(ids) == "helo world"  # CTC: repeated tokens collapse unless the blank separates them
    doubled = [12, 12, 9, 16, 0, 16, 19, 4, 27]
    assert ctc.decode(doubled) == "hello w"
    assert ctc.decode(doubled, group_tokens=False) == "hhello w"
    output = ctc.decode([12, 12, 9, 4, 27], output_word_offsets=True)
    assert output.text == "he w" and output.word_offsets[0] == {"word": "he", "start_offset": 0, "end_offset": 3}
    upper = AutoTokenizer.from_pretrained(tmp_path, do_lower_case=True)
    assert upper("HI")["input_ids"] == [3, 3]  # lower-case vocabulary: upper-cased text is unknown


def test_legacy_checkpoint_files(tmp_path):
    """Checkpoints saved before added_tokens_decoder: special_tokens_map.json and added_tokens.json."""
    folder = materialize("bert-cased", tmp_path, without_tokenizer_json=True)
    vocab_size = len((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False, "model_max_length": 64}))
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (folder / "special_tokens_map.json").write_text(json.dumps({"additional_special_tokens": ["<doc>"]}))
    (folder / "added_tokens.json").write_text(json.dumps({"<doc>": vocab_size}))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    reference = AutoTokenizer.from_pretrained(materialize("bert-cased", tmp_path / "reference"))
    assert tokenizer(SENTENCE)["input_ids"] == reference(SENTENCE)["input_ids"]
    assert tokenizer.encode("[MASK] <doc>", add_special_tokens=False) == [reference.mask_token_id, vocab_size]
    assert tokenizer.added_tokens_decoder[vocab_size].special and tokenizer.model_max_length == 64


def test_chat_template_jinja_file_and_named_templates(tmp_path, folders):
    folder = materialize("gpt2", tmp_path)
    (folder / "chat_template.jinja").write_text("{% for m in messages %}{{ m['content'] }}{{ eos_token }}{% endfor %}")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False) == "Hi<|endoftext|>"
    tokenizer.chat_template = {"default": "D{{ messages | length }}", "tool_use": "T{{ tools | tojson }}"}
    chat = [{"role": "user", "content": "Hi"}]
    assert tokenizer.apply_chat_template(chat, tokenize=False) == "D1"
    assert tokenizer.apply_chat_template(chat, tools=[{"name": "café"}], tokenize=False) == 'T[{"name": "café"}]'
    encoded = tokenizer.apply_chat_template(chat, return_dict=True, return_tensors="np")
    assert encoded["input_ids"].shape[0] == 1


def test_add_a_pad_token(folders):
    gpt2 = AutoTokenizer.from_pretrained(folders["gpt2"])
    assert gpt2.add_special_tokens({"pad_token": "<pad>"}) == 1
    assert gpt2.pad_token == "<pad>" and gpt2.pad_token_id == len(gpt2) - 1
    padded = gpt2(["Hello", "Hello world"], padding=True)
    assert padded["input_ids"][0][-1] == gpt2.pad_token_id and padded["attention_mask"][0][-1] == 0
