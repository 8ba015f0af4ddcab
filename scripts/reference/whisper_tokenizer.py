"""Reference Whisper tokenizer folder, written with transformers 4.57.6.

    python scripts/reference/whisper_tokenizer.py tests/fixtures/tokenizers

Run it in an environment that has transformers 4.57.6 and tokenizers (never a dependency of autoload). A small
byte-level BPE is trained here (no Hub access) and laid out as the Hub's Whisper checkpoints lay theirs out:
<|endoftext|> right after the vocabulary, then <|startoftranscript|>, the language tokens, the tasks,
<|startoflm|>, <|startofprev|>, <|nocaptions|>, <|notimestamps|> (all additional special tokens), then the
1501 timestamp tokens <|0.00|> ... <|30.00|> as plain added tokens. cases.json holds the usual tokenizer
cases (see make_decoder_tokenizers.py) and `timestamp_cases`: decode calls on sequences with timestamp tokens
(decode_with_timestamps, output_offsets, time_precision, a <|startofprev|> prompt, several 30-second windows)
and what transformers returned (basic_normalize among the options), `prompt_cases`: get_prompt_ids on texts (its
ids, or that it refused the text), and `normalizer_cases`: basic_normalize on random texts (without, then with remove_diacritics).

    python scripts/reference/whisper_tokenizer.py tests/fixtures/tokenizers --reuse   # cases only, folder kept
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile

import transformers
from transformers import AutoTokenizer, WhisperTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_decoder_tokenizers import (  # noqa: E402
    added,
    plain,
    save_from_hub_style,
    save_vocab_merges,
    train_byte_level,
    write_cases,
    write_compact,
    write_json,
)

assert transformers.__version__ == "4.57.6", transformers.__version__

LANGUAGES = ["<|en|>", "<|zh|>", "<|de|>", "<|fr|>"]
SPECIAL = ["<|endoftext|>", "<|startoftranscript|>", *LANGUAGES, "<|translate|>", "<|transcribe|>", "<|startoflm|>",
           "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]  # fmt: skip
TIMESTAMPS = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]


def build(out: str, tmp: str) -> str:
    hub = os.path.join(tmp, "whisper")
    os.makedirs(hub)
    backend = train_byte_level(600, qwen=False, special=[])
    save_vocab_merges(backend, hub)
    size = backend.get_vocab_size()
    decoder = {str(size + i): added(token) for i, token in enumerate(SPECIAL)}
    decoder.update({str(size + len(SPECIAL) + i): added(t, special=False) for i, t in enumerate(TIMESTAMPS)})
    config = {
        "add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": decoder,
        "additional_special_tokens": SPECIAL, "bos_token": "<|endoftext|>", "clean_up_tokenization_spaces": True,
        "eos_token": "<|endoftext|>", "errors": "replace", "model_max_length": 1024, "pad_token": "<|endoftext|>",
        "processor_class": "WhisperProcessor", "return_attention_mask": False, "tokenizer_class": "WhisperTokenizer",
        "unk_token": "<|endoftext|>",
    }  # fmt: skip
    write_json(os.path.join(hub, "tokenizer_config.json"), config)
    folder = os.path.join(out, "whisper")
    save_from_hub_style(hub, folder)
    write_cases(folder, ["whisper"], "<|startoftranscript|><|en|><|transcribe|> Hello<|0.00|> world<|endoftext|>",
                " The quick brown fox.", [{"language": "german", "task": "translate"}, {"predict_timestamps": True}],
                [])  # fmt: skip
    return folder


def timestamp_sequences(tokenizer) -> list[list[int]]:
    def ids(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False)

    def t(seconds: float) -> int:
        return tokenizer.convert_tokens_to_ids(f"<|{seconds:.2f}|>")

    sot, en, transcribe, eos, prev = tokenizer.convert_tokens_to_ids(
        ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|endoftext|>", "<|startofprev|>"])  # fmt: skip
    prompt = [sot, en, transcribe]
    hello, fox, dog = ids(" Hello, world!"), ids(" The quick brown fox."), ids(" Loading is fun.")
    return [
        [*prompt, t(0), *hello, t(1.5), eos],  # one segment
        [*prompt, t(0), *hello, t(1.5), t(1.5), *fox, t(3.04), eos],  # two segments, a double timestamp between
        [*prompt, t(0), *hello, t(1.5), *fox, t(3.04), eos],  # single timestamps between text
        [*prompt, t(0), *hello, t(29.0), t(0), *fox, t(5.0), eos],  # the next 30 s window after a single ending
        [*prompt, t(0), *hello, t(12.0), t(12.0), *fox, t(20.0), t(0), *dog, t(3.0), eos],  # ... after a double
        [*prompt, t(0), *hello, t(2.0), t(2.0), *fox, t(4.0), t(4.0), t(1.0), *dog, t(2.0), eos],
        [prev, *ids(" previous text"), *prompt, t(0), *fox, t(2.0), eos],  # a prompt before the transcript
        [*prompt, *hello, eos],  # no timestamps
        [*prompt, t(0), *hello, eos],  # one timestamp
        [t(0), *dog, t(1.0), t(1.0), *hello, t(2.5)],  # no prompt, no end
    ]


PROMPT_TEXTS = ["Hello world", "  spaces around  ", "The quick brown fox.", "", "a <|en|> token", "<|0.00|> a timestamp",
                "<|startofprev|> twice"]


def prompt_cases(tokenizer) -> list[dict]:
    cases = []
    for text in PROMPT_TEXTS:
        try:
            cases.append({"text": text, "ids": tokenizer.get_prompt_ids(text).tolist()})
        except ValueError:
            cases.append({"text": text, "refused": True})
    return cases


OPTIONS = [
    {"decode_with_timestamps": True},
    {"decode_with_timestamps": True, "skip_special_tokens": True},
    {"decode_with_timestamps": True, "time_precision": 0.04},
    {"output_offsets": True},
    {"output_offsets": True, "skip_special_tokens": True},
    {"output_offsets": True, "decode_with_timestamps": True},
    {"output_offsets": True, "time_precision": 0.04},
    {"skip_special_tokens": True},
    {},
    {"basic_normalize": True},
    {"basic_normalize": True, "skip_special_tokens": True},
    {"basic_normalize": True, "remove_diacritics": True},
    {"basic_normalize": True, "decode_with_timestamps": True},
    {"basic_normalize": True, "output_offsets": True},
]
# Characters the normalizer treats differently: letters with and without accents, combining marks, the letters
# it spells out, brackets and parentheses, punctuation, symbols, other scripts, compatibility forms, whitespace.
NORMALIZER_CHARACTERS = ("abcXYZ019 éèÊëàÂäôÖûüçñÅ\u0301\u0308\u0327œŒøØæÆßẞđĐðÐþÞłŁ()[]<>{}!?.,;:'\"-_/\\"
                         "$€£+=^`~|@#%&*中文字ابجשלוםПривет ﬁＡ²½\u00a0\u2003\t\n\u200d😀")


def normalizer_cases() -> list[dict]:
    rng = random.Random(0)
    texts = ["", "Hello, World!", "[MUSIC] so (laughs) <b>bold</b> ok", "Crème Brûlée à l'œuvre", "Straße ﬁn ½"]
    texts += ["".join(rng.choice(NORMALIZER_CHARACTERS) for _ in range(rng.randint(1, 30))) for _ in range(150)]
    return [{"text": text, "expected": [WhisperTokenizerFast.basic_normalize(text, remove_diacritics=remove)
                                        for remove in (False, True)]} for text in texts]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="tests/fixtures/tokenizers")
    parser.add_argument("--reuse", action="store_true", help="keep the folder there, only write its cases")
    args = parser.parse_args()
    folder = os.path.join(args.out, "whisper")
    if not args.reuse:
        shutil.rmtree(folder, ignore_errors=True)
        with tempfile.TemporaryDirectory() as tmp:
            folder = build(args.out, tmp)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    cases = [{"ids": ids, "kwargs": options, "expected": plain(tokenizer.decode(ids, **options))}
             for ids in timestamp_sequences(tokenizer) for options in OPTIONS]  # fmt: skip
    path = os.path.join(folder, "cases.json")
    reference = json.load(open(path, encoding="utf-8"))
    reference["timestamp_cases"] = cases
    reference["prompt_cases"] = prompt_cases(tokenizer)
    reference["normalizer_cases"] = normalizer_cases()
    write_compact(path, reference)
    print(f"{folder}: {len(cases)} timestamp cases, {len(reference['prompt_cases'])} prompt cases, "
          f"{len(reference['normalizer_cases'])} normalizer cases")


if __name__ == "__main__":
    main()
