"""Reference tokenizer folders for LayoutLMv3, TAPAS, SpeechT5 and VITS, written with transformers 4.57.6.

    python scripts/reference/multimodal_tokenizers.py tests/fixtures/tokenizers

Run it in the side environment that has transformers 4.57.6, tokenizers, sentencepiece and pandas < 3 (transformers'
TAPAS code fails on pandas 3's string columns). No Hub access is needed: the vocabularies are trained here on the
corpus of make_decoder_tokenizers.py (a byte-level BPE for LayoutLMv3, a WordPiece vocabulary for TAPAS, a
character SentencePiece model for SpeechT5) or written out (VITS' characters, as MMS-TTS checkpoints have them).

cases.json has the keys tests/test_tokenizer_parity.py reads (see make_decoder_tokenizers.py). LayoutLMv3's calls
give the words as `text` (the question as `text` and the words as `text_pair` for pairs) and the boxes and word
labels in `call`. TAPAS' `text` is the table as a dict of columns (the DataFrame transformers was given is
pandas.DataFrame(text)) and the queries, answers and options are in `call`; its `post_processing` holds
convert_logits_to_predictions calls. A float NaN is written as the string "NaN".
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile

import numpy as np
import pandas as pd
import torch
import transformers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_decoder_tokenizers import (  # noqa: E402
    CORPUS,
    DECODE_OPTIONS,
    class_for_model_type,
    slow_class_of,
    train_byte_level,
    train_sentencepiece,
    write_compact,
    write_json,
)

assert transformers.__version__ == "4.57.6", transformers.__version__


def plain(value):
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def run(tokenizer, text, pair=None, call=None, **extra) -> dict:
    case = {"call": call or {}, "text": text, "text_pair": pair, **extra}
    try:
        output = run_raw(tokenizer, case)
        case["expected"] = {key: plain(value) for key, value in output.items()}
    except Exception as exc:  # noqa: BLE001 - the reference records that transformers raised
        case["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return case


def run_raw(tokenizer, case: dict):
    args = (case["text"],) if case["text_pair"] is None else (case["text"], case["text_pair"])
    return tokenizer(*args, **case["call"])


def decoding(tokenizer, ids, batch_ids=None) -> dict:
    result = {
        "ids": ids,
        "decode": tokenizer.decode(ids),
        "decode_skip_special": tokenizer.decode(ids, skip_special_tokens=True),
        "tokens": tokenizer.convert_ids_to_tokens(ids),
    }
    if batch_ids is not None:
        result["batch_decode"] = tokenizer.batch_decode(batch_ids)
    return result


def first_batch(cases: list[dict]) -> list[str]:
    """The texts of the first batched call: tests/test_tokenizer_parity.py batch-decodes their ids."""
    return next(case["text"] for case in cases if isinstance(case["text"], list))


def decode_cases(tokenizer, id_lists) -> list[dict]:
    return [{"ids": ids, "kwargs": options, "expected": tokenizer.decode(ids, **options)}
            for ids in id_lists for options in [{}, *DECODE_OPTIONS]]  # fmt: skip


def finish(folder: str, tokenizer, model_type: str, cases: list[dict], reference_extra: dict) -> None:
    reference = {
        "class": type(tokenizer).__name__,
        "slow_class": slow_class_of(folder),
        "model_type": model_type,
        "model_type_class": class_for_model_type(folder, model_type),
        "cases": cases,
        **reference_extra,
    }
    write_compact(os.path.join(folder, "cases.json"), reference)
    print(f"{folder}: {reference['class']}, {len(cases)} cases")


def option_cases(folder: str, loads: list[dict], calls: list[tuple]) -> list[dict]:
    result = []
    for load in loads:
        loaded = AutoTokenizer.from_pretrained(folder, **load)
        for text, pair, call in calls:
            result.append(run(loaded, text, pair, call, load=load))
    return result


# --- LayoutLMv3 ------------------------------------------------------------------------------------------

WORDS = ["Invoice", "number:", "12345", "Date", "2024-01-15", "Total", "amount", "$1,234.56", "Ça", "marche",
         "supercalifragilisticexpialidocious", "🙂", "the", "END"]  # fmt: skip
BOXES = [[10 + 30 * i, 20 + 7 * i, 40 + 30 * i, 35 + 7 * i] for i in range(len(WORDS))]
LABELS = [i % 5 for i in range(len(WORDS))]
SHORT_WORDS, SHORT_BOXES, SHORT_LABELS = ["Hello", "world!", "Ça"], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], [1, 2, 0]
QUESTION = "What is the total amount?"
QUESTION_2 = "Which date?"


def layoutlmv3_calls() -> list[tuple]:
    words, boxes, labels = WORDS, BOXES, LABELS
    batch_words, batch_boxes, batch_labels = [words, SHORT_WORDS], [boxes, SHORT_BOXES], [labels, SHORT_LABELS]
    return [
        (words, None, {"boxes": boxes}),
        (words, None, {"boxes": boxes, "word_labels": labels}),
        (SHORT_WORDS, None, {"boxes": SHORT_BOXES, "word_labels": SHORT_LABELS, "return_offsets_mapping": True}),
        (QUESTION, words, {"boxes": boxes}),
        (QUESTION, words, {"boxes": boxes, "word_labels": labels}),
        (words, None, {"boxes": boxes, "word_labels": labels, "truncation": True, "max_length": 8}),
        (QUESTION, words, {"boxes": boxes, "truncation": "only_second", "max_length": 14}),
        (QUESTION, words, {"boxes": boxes, "truncation": "longest_first", "max_length": 12}),
        (QUESTION, words, {"boxes": boxes, "word_labels": labels, "truncation": "only_second", "max_length": 24,
                           "stride": 3, "return_overflowing_tokens": True}),
        (words, None, {"boxes": boxes, "truncation": True, "max_length": 10, "stride": 2,
                       "return_overflowing_tokens": True, "return_offsets_mapping": True}),
        (batch_words, None, {"boxes": batch_boxes, "padding": True}),
        (batch_words, None, {"boxes": batch_boxes, "word_labels": batch_labels, "padding": "max_length",
                             "max_length": 24, "truncation": True}),
        (batch_words, None, {"boxes": batch_boxes, "word_labels": batch_labels, "padding": True,
                             "padding_side": "left", "return_length": True}),
        (batch_words, None, {"boxes": batch_boxes, "padding": True, "pad_to_multiple_of": 8,
                             "return_special_tokens_mask": True}),
        ([QUESTION, QUESTION_2], batch_words, {"boxes": batch_boxes, "padding": "longest"}),
        ([QUESTION, QUESTION_2], batch_words, {"boxes": batch_boxes, "word_labels": batch_labels, "truncation": True,
                                               "max_length": 12, "padding": "max_length"}),
        (words, None, {"boxes": boxes, "add_special_tokens": False, "return_special_tokens_mask": True}),
        (SHORT_WORDS, None, {"boxes": SHORT_BOXES, "return_token_type_ids": True, "return_attention_mask": False}),
        (SHORT_WORDS, None, {"boxes": SHORT_BOXES, "return_offsets_mapping": True}),
        (["<mask>", "words", "</s>", "<pad>"], None, {"boxes": BOXES[:4]}),
        ([], None, {"boxes": []}),
        (words, None, {"boxes": boxes[:-1]}),
        (words, None, {}),
        ("a plain string", None, {"boxes": [[1, 2, 3, 4]]}),
        ([words, SHORT_WORDS], None, {"boxes": [boxes]}),
    ]  # fmt: skip


def layoutlmv3(out: str, tmp: str) -> None:
    hub = os.path.join(tmp, "layoutlmv3")
    os.makedirs(hub)
    backend = train_byte_level(700, qwen=False, special=["<s>", "<pad>", "</s>", "<unk>"])
    backend.model.save(hub)
    folder = os.path.join(out, "layoutlmv3")
    shutil.rmtree(folder, ignore_errors=True)
    transformers.LayoutLMv3TokenizerFast(os.path.join(hub, "vocab.json"), os.path.join(hub, "merges.txt"),
                                         model_max_length=512).save_pretrained(folder)  # fmt: skip
    tokenizer = AutoTokenizer.from_pretrained(folder)
    cases = [run(tokenizer, *call) for call in layoutlmv3_calls()]
    ids = tokenizer(QUESTION, WORDS, boxes=BOXES)["input_ids"]
    loads = [{"only_label_first_subword": False}, {"cls_token_box": [1, 1, 1, 1], "sep_token_box": [9, 9, 9, 9],
             "pad_token_box": [5, 5, 5, 5], "pad_token_label": -1}, {"padding_side": "left"},
             {"add_prefix_space": False}]  # fmt: skip
    option_calls = [
        (WORDS, None, {"boxes": BOXES, "word_labels": LABELS}),
        ([WORDS, SHORT_WORDS], None, {"boxes": [BOXES, SHORT_BOXES], "word_labels": [LABELS, SHORT_LABELS],
                                      "padding": True}),
        (QUESTION, WORDS, {"boxes": BOXES, "word_labels": LABELS}),
    ]  # fmt: skip
    finish(folder, tokenizer, "layoutlmv3", cases, {
        "decoding": decoding(tokenizer, ids),
        "decode_cases": decode_cases(tokenizer, [ids]),
        "option_cases": option_cases(folder, loads, option_calls),
    })  # fmt: skip


# --- TAPAS ---------------------------------------------------------------------------------------------------

ACTORS = {
    "Actors": ["Brad Pitt", "Leonardo Di Caprio", "George Clooney"],
    "Age": ["56", "45", "59"],
    "Number of movies": ["87", "53", "69"],
    "Date of birth": ["7 february 1967", "10 june 1996", "28 november 1967"],
}
CITIES = {
    "City": ["Paris", "Berlin", "Rome", "n/a", "Zürich"],
    "Population": ["2,148,000", "3.6 million", "2,873,000", "?", "421,878"],
    "Founded": ["3rd century BC", "1237", "753 BC", "2016", "15 BC"],
    "Area (km2)": ["105.4", "891.8", "1285", "", "87.88"],
    "Mayor since": ["May 2014", "2021", "June 2016", "-", "1 january 2009"],
    "Notes": ["capital of France", "capital of Germany", "capital of Italy", "unknown", "largest city of Switzerland"],
}
DATES = {
    "Event": ["launch", "review", "release", "party"],
    "When": ["March 3, 2010", "2010-04-05", "april 2010", "1990s"],
    "Score": ["first", "second", "twelve", "4th"],
    "Delta": ["-5", "+3.5", ".5", "1,000.25"],
}
MIXED = {"Name": ["a", "b", "c"], "Value": ["10", "July 2001", "twelve"], "Tag": ["x1", "x2", "x3"]}

TAPAS_QUERIES = [
    "How many movies has George Clooney played in?",
    "What is the age of the oldest actor?",
    "Which actors were born in 1967 or after february 1967?",
    "Is 56 more than 45?",
]


def tapas_calls() -> list[tuple]:
    q = TAPAS_QUERIES
    return [
        (ACTORS, None, {"queries": q[0]}),
        (ACTORS, None, {"queries": q}),
        (ACTORS, None, {"queries": q, "padding": True}),
        (ACTORS, None, {"queries": q[:2], "padding": "max_length", "max_length": 64}),
        (ACTORS, None, {"queries": q[1], "padding": True}),
        (ACTORS, None, {"queries": q[1], "padding": True, "max_length": 60}),
        (ACTORS, None, {"queries": q[1], "padding": "max_length", "max_length": 60, "padding_side": "left"}),
        (ACTORS, None, {"queries": q[1], "padding": "longest", "pad_to_multiple_of": 16}),
        (ACTORS, None, {"queries": q[0], "truncation": True, "max_length": 30}),
        (ACTORS, None, {"queries": q[0], "truncation": "drop_rows_to_fit", "max_length": 24}),
        (ACTORS, None, {"queries": q[0], "truncation": "drop_rows_to_fit", "max_length": 12}),
        (ACTORS, None, {"queries": q[0], "max_length": 30}),
        (ACTORS, None, {"queries": q[0], "answer_coordinates": [(2, 2)], "answer_text": ["69"]}),
        (ACTORS, None, {"queries": q[2], "answer_coordinates": [(0, 0), (2, 0)], "answer_text": ["Brad Pitt", "George Clooney"]}),
        (ACTORS, None, {"queries": q[:3], "answer_coordinates": [[(2, 2)], [(2, 1)], [(0, 0), (2, 0)]],
                        "answer_text": [["69"], ["59"], ["Brad Pitt", "George Clooney"]], "padding": True}),
        (ACTORS, None, {"queries": q[0], "answer_coordinates": [(2, 2)], "answer_text": ["69"], "truncation": True, "max_length": 30}),
        (ACTORS, None, {"queries": q[0], "answer_coordinates": [(2, 2)]}),
        (ACTORS, None, {"queries": q[0], "return_special_tokens_mask": True, "return_length": True}),
        (ACTORS, None, {"queries": q[:2], "return_length": True, "padding": True}),
        (ACTORS, None, {"queries": q[0], "return_token_type_ids": False, "return_attention_mask": False}),
        (ACTORS, None, {"queries": q[0], "add_special_tokens": False}),
        (ACTORS, None, {"queries": q[0], "add_special_tokens": False, "return_token_type_ids": True}),
        (ACTORS, None, {"queries": q[0], "return_offsets_mapping": True}),
        (ACTORS, None, {"queries": q[0], "is_split_into_words": True}),
        (ACTORS, None, {}),
        (ACTORS, None, {"queries": []}),
        (ACTORS, None, {"queries": "[MASK] movies of a [EMPTY] actor?"}),
        (CITIES, None, {"queries": "Which cities have more than 2,000,000 people and were founded before 1300?"}),
        (CITIES, None, {"queries": ["Where is the mayor in office since may 2014?", "Twelve thousand km2, first or third?",
                                    "area below 100.5 and above -3", "cities founded in 753 bc"]}),
        (CITIES, None, {"queries": "capital of France", "truncation": True, "max_length": 40}),
        (DATES, None, {"queries": ["What happened on April 5, 2010?", "first and second and 4th", "Score twelve",
                                   "delta 1,000.25 or -5", "the 1990s"], "padding": True}),
        (MIXED, None, {"queries": "value 10 in july 2001"}),
    ]  # fmt: skip


def train_wordpiece_vocab(path: str, specials: list[str], extra_lines: list[str], size: int) -> None:
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=size, special_tokens=specials, show_progress=False)
    tokenizer.train_from_iterator(CORPUS * 3 + extra_lines * 3, trainer)
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token, _ in vocab))


def tapas_table_lines() -> list[str]:
    lines = TAPAS_QUERIES[:]
    for table in (ACTORS, CITIES, DATES, MIXED):
        lines.append(" ".join(table))
        lines += [" ".join(column) for column in table.values()]
    return lines


def tapas_post_processing(tokenizer) -> list[dict]:
    """convert_logits_to_predictions on encodings of the actors table (logits from a seeded generator)."""
    rng = np.random.default_rng(7)
    table = pd.DataFrame.from_dict(ACTORS)
    results = []
    for key, queries, with_agg, threshold in [("batch", TAPAS_QUERIES[:3], True, 0.5), ("no_agg", TAPAS_QUERIES[3], False, 0.3)]:
        encoded = tokenizer(table=table, queries=queries, padding="max_length", max_length=64, return_tensors="pt")
        logits = torch.from_numpy(rng.normal(0.0, 4.0, encoded["input_ids"].shape).astype(np.float32))
        logits[0, 20:24] = 8.0
        logits[0, 5] = -200.0  # clipped at -88.7 before the sigmoid
        agg = torch.from_numpy(rng.normal(0.0, 1.0, (encoded["input_ids"].shape[0], 4)).astype(np.float32))
        data = {k: encoded[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        args = {"data": {k: v.tolist() for k, v in data.items()}, "logits": logits.tolist(),
                "cell_classification_threshold": threshold}  # fmt: skip
        if with_agg:
            args["logits_agg"] = agg.tolist()
            result = tokenizer.convert_logits_to_predictions(data, logits.clone(), agg, threshold)
        else:
            result = tokenizer.convert_logits_to_predictions(data, logits.clone(), cell_classification_threshold=threshold)
        results.append({"key": key, "args": args, "expected": plain(result)})
    # A row of only query tokens (no table cell) is left out of the coordinates, as transformers does.
    encoded = tokenizer(table=table, queries=TAPAS_QUERIES[0], padding="max_length", max_length=64, return_tensors="pt")
    data = {k: encoded[k].clone() for k in ("input_ids", "attention_mask", "token_type_ids")}
    data["token_type_ids"][..., 1:3] = 0
    logits = torch.full(encoded["input_ids"].shape, 3.0)
    results.append({"key": "no_cells", "args": {"data": {k: v.tolist() for k, v in data.items()}, "logits": logits.tolist()},
                    "expected": plain(tokenizer.convert_logits_to_predictions(data, logits.clone()))})  # fmt: skip
    return results


def run_tapas(tokenizer, text, pair, call, **extra) -> dict:
    case = {"call": call, "text": text, "text_pair": pair, **extra}
    try:
        call = dict(call)
        if isinstance(call.get("queries"), list):
            call["queries"] = list(call["queries"])  # transformers rewrites skipped queries in place
        output = tokenizer(pd.DataFrame.from_dict(text), **call)
        case["expected"] = {key: plain(value) for key, value in output.items()}
    except Exception as exc:  # noqa: BLE001 - the reference records that transformers raised
        case["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return case


def tapas(out: str, tmp: str) -> None:
    hub = os.path.join(tmp, "tapas")
    os.makedirs(hub)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[EMPTY]"]
    train_wordpiece_vocab(os.path.join(hub, "vocab.txt"), specials, tapas_table_lines(), 700)
    folder = os.path.join(out, "tapas")
    shutil.rmtree(folder, ignore_errors=True)
    transformers.TapasTokenizer(os.path.join(hub, "vocab.txt")).save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    cases = [run_tapas(tokenizer, *call) for call in tapas_calls()]
    table = pd.DataFrame.from_dict(ACTORS)
    ids = tokenizer(table, TAPAS_QUERIES[0])["input_ids"]
    loads = [{"strip_column_names": True}, {"cell_trim_length": 2}, {"max_row_id": 3}, {"max_column_id": 3},
             {"min_question_length": 8}, {"max_question_length": 8}, {"update_answer_coordinates": True},
             {"do_lower_case": False}, {"model_max_length": 40}, {"additional_special_tokens": ["[X]"]},
             {"do_basic_tokenize": False}, {"never_split": ["pitt", "n/a"]}, {"strip_accents": False}]  # fmt: skip
    option_calls = [
        (ACTORS, None, {"queries": TAPAS_QUERIES[:2], "padding": True, "truncation": True}),
        (ACTORS, None, {"queries": TAPAS_QUERIES[0], "answer_coordinates": [(2, 2)], "answer_text": ["69"],
                        "truncation": "drop_rows_to_fit", "max_length": 36}),
        (CITIES, None, {"queries": "Notes on a n/a city: Zürich, pitt"}),
    ]  # fmt: skip
    options = []
    for load in loads:
        loaded = AutoTokenizer.from_pretrained(folder, **load)
        options += [run_tapas(loaded, *call, load=load) for call in option_calls]
    finish(folder, tokenizer, "tapas", cases, {
        "decoding": decoding(tokenizer, ids),
        "decode_cases": decode_cases(tokenizer, [ids]),
        "option_cases": options,
        "post_processing": tapas_post_processing(tokenizer),
    })  # fmt: skip


# --- SpeechT5 --------------------------------------------------------------------------------------------------

SPEECH_TEXTS = [
    "Hello, my dog is cute.",
    "The quick brown fox jumps over the lazy dog!",
    "It costs $1,234.56 or €15, about 12% more than -7 and 2.5 times £3.",
    "In 2024 there were 1,000,000 visitors; 0 left, 0.75 stayed and ¥300 was spent on 3rd day.",
    "Ça marche très bien — même avec des accents!",
    "  leading and trailing  ",
    "",
    "<mask> and <ctc_blank> and </s> inside",
    "UPPER case TEXT",
]


def speecht5_calls() -> list[tuple]:
    calls = []
    for text in SPEECH_TEXTS:
        calls += [(text, None, {}), (text, None, {"normalize": True})]
    calls += [
        (SPEECH_TEXTS[:2], None, {"padding": True}),
        (SPEECH_TEXTS[:3], None, {"padding": "max_length", "max_length": 40, "truncation": True, "normalize": True}),
        (SPEECH_TEXTS[0], SPEECH_TEXTS[1], {}),
        (SPEECH_TEXTS[1], None, {"truncation": True, "max_length": 12, "return_special_tokens_mask": True}),
        (["Hello", "my", "dog"], None, {"is_split_into_words": True}),
        (SPEECH_TEXTS[:2], None, {"padding": True, "padding_side": "left", "return_length": True}),
        (SPEECH_TEXTS[2], None, {"add_special_tokens": False}),
    ]
    return calls


def speecht5(out: str, tmp: str) -> None:
    """microsoft/speecht5_tts: a character SentencePiece model (spm_char.model), <mask> and <ctc_blank> added."""
    hub = os.path.join(tmp, "speecht5")
    os.makedirs(hub)
    train_sentencepiece(
        os.path.join(hub, "spm_char.model"), model_type="char", vocab_size=80, character_coverage=1.0,
        bos_id=0, pad_id=1, eos_id=2, unk_id=3, bos_piece="<s>", pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
    )  # fmt: skip
    folder = os.path.join(out, "speecht5")
    shutil.rmtree(folder, ignore_errors=True)
    slow = transformers.SpeechT5Tokenizer(os.path.join(hub, "spm_char.model"), model_max_length=600)
    slow.add_special_tokens({"mask_token": "<mask>"})
    slow.add_tokens(["<ctc_blank>"])
    slow.save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    cases = [run(tokenizer, *call) for call in speecht5_calls()]
    ids = tokenizer(SPEECH_TEXTS[0])["input_ids"]
    batch_ids = [tokenizer(text)["input_ids"] for text in first_batch(cases)]
    options = option_cases(folder, [{"normalize": True}], [(SPEECH_TEXTS[2], None, {}), (SPEECH_TEXTS[3], None, {"normalize": False})])
    finish(folder, tokenizer, "speecht5", cases, {
        "decoding": decoding(tokenizer, ids, batch_ids),
        "decode_cases": decode_cases(tokenizer, [ids, tokenizer(SPEECH_TEXTS[7])["input_ids"]]),
        "option_cases": options,
    })  # fmt: skip


# --- VITS --------------------------------------------------------------------------------------------------------

# facebook/mms-tts-* vocabularies: single characters, the first one used as the blank between characters.
VITS_CHARACTERS = ["k", "'", "-", " ", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "l", "m", "n", "o", "p", "q",
                   "r", "s", "t", "u", "v", "w", "x", "y", "z", "ţ", "ă", "0", "1", "2", "3", "é", "–", "_"]  # fmt: skip
VITS_TEXTS = ["Hello, my dog is cute", "Ţara ţine ştiinţa; Țara e frumoasă", "UPPER-case words' end", "12 cats and 3 dogs",
              "", "   ", "<unk> and k inside", "naïve café – 100%"]  # fmt: skip


def vits_calls() -> list[tuple]:
    calls = []
    for text in VITS_TEXTS:
        calls += [(text, None, {}), (text, None, {"normalize": False})]
    calls += [
        (VITS_TEXTS[:2], None, {"padding": True}),
        (VITS_TEXTS[:3], None, {"padding": "max_length", "max_length": 50, "truncation": True}),
        (VITS_TEXTS[0], None, {"return_special_tokens_mask": True, "return_length": True}),
        (["hello", "dog"], None, {"is_split_into_words": True}),
    ]
    return calls


def vits(out: str, tmp: str) -> None:
    hub = os.path.join(tmp, "vits")
    os.makedirs(hub)
    write_json(os.path.join(hub, "vocab.json"), {token: i for i, token in enumerate(VITS_CHARACTERS)})
    config = {"add_blank": True, "is_uroman": False, "language": "eng", "normalize": True, "pad_token": "k",
              "phonemize": False, "tokenizer_class": "VitsTokenizer", "unk_token": "<unk>"}  # fmt: skip
    write_json(os.path.join(hub, "tokenizer_config.json"), config)
    folder = os.path.join(out, "vits")
    shutil.rmtree(folder, ignore_errors=True)
    AutoTokenizer.from_pretrained(hub).save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    cases = [run(tokenizer, *call) for call in vits_calls()]
    ids = tokenizer(VITS_TEXTS[0])["input_ids"]
    batch_ids = [tokenizer(text)["input_ids"] for text in first_batch(cases)]
    loads = [{"language": "ron"}, {"add_blank": False}, {"normalize": False}, {"is_uroman": True}, {"phonemize": True}]
    options = option_cases(folder, loads, [(VITS_TEXTS[1], None, {}), (VITS_TEXTS[7], None, {})])
    finish(folder, tokenizer, "vits", cases, {
        "decoding": decoding(tokenizer, ids, batch_ids),
        "decode_cases": decode_cases(tokenizer, [ids, tokenizer(VITS_TEXTS[6])["input_ids"]]),
        "option_cases": options,
    })  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="tests/fixtures/tokenizers")
    parser.add_argument("names", nargs="*", default=["layoutlmv3", "tapas", "speecht5", "vits"])
    args = parser.parse_args()
    builders = {"layoutlmv3": layoutlmv3, "tapas": tapas, "speecht5": speecht5, "vits": vits}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names:
            builders[name](args.out, tmp)


if __name__ == "__main__":
    main()
