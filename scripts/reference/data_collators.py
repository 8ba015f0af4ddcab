"""Data collator references from transformers 4.57.6, for tests/fixtures/data_collators/cases.json.

Each case runs one collator on tokenized examples, once per return_tensors ("np", "pt", "tf"), and keeps every
field's values and dtype. The masked-LM case is not here: it draws from torch / TF random streams, so it is
checked by its rules instead (tests/test_data_collators.py).

Run with a Python that has transformers 4.57.6 (never a dependency of autoload):

    python scripts/reference/data_collators.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import transformers
from transformers import (AutoTokenizer, DataCollatorForLanguageModeling, DataCollatorForSeq2Seq,
                          DataCollatorForTokenClassification, DataCollatorWithPadding, default_data_collator)

assert transformers.__version__ == "4.57.6", transformers.__version__
transformers.logging.set_verbosity_error()

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
TEXTS = ["a short one", "a somewhat longer sentence than the first", "mid length text here"]
TARGETS = ["yes", "no it is not the case at all", "maybe so"]


def tokenizer(name: str, **attributes):
    loaded = AutoTokenizer.from_pretrained(FIXTURES / "tokenizers" / name)
    for key, value in attributes.items():
        setattr(loaded, key, value)
    return loaded


def examples(tok, **extra):
    rows = [dict(tok(text)) for text in TEXTS]
    for key, values in extra.items():
        for row, value in zip(rows, values):
            row[key] = value
    return rows


def plain(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    array = np.asarray(value)
    return {"values": array.tolist(), "dtype": str(value.dtype).replace("torch.", "").replace("<dtype: '", "")
            .rstrip("'>")}  # fmt: skip


def run(collate, rows):
    return {key: (None if value is None else plain(value)) for key, value in collate(rows).items()}


def cases():
    bert = tokenizer("bert-uncased")
    gpt2_left = tokenizer("gpt2", pad_token="<|endoftext|>", padding_side="left")
    mt5 = tokenizer("mt5")
    token_labels = [[(i * 7 + j) % 5 for j in range(len(bert(t)["input_ids"]))] for i, t in enumerate(TEXTS)]
    seq2seq = [dict(mt5(text), labels=mt5(text_target=target)["input_ids"]) for text, target in zip(TEXTS, TARGETS)]
    same_length = [{"input_ids": [3, 4, 5], "attention_mask": [1, 1, 1], "label": i} for i in range(3)]
    floats = [{"input_ids": [3, 4, 5], "label_ids": [0.5 * i, 1.0]} for i in range(3)]
    yield "padding", lambda rt: DataCollatorWithPadding(bert, return_tensors=rt), examples(bert, label=[0, 1, 1])
    yield "padding-multiple-max", lambda rt: DataCollatorWithPadding(
        bert, padding="max_length", max_length=13, pad_to_multiple_of=8, return_tensors=rt), examples(bert)
    yield "padding-left", lambda rt: DataCollatorWithPadding(gpt2_left, return_tensors=rt), \
        examples(gpt2_left, label_ids=[[1, 0], [0, 1], [1, 1]])
    yield "token-classification", lambda rt: DataCollatorForTokenClassification(bert, return_tensors=rt), \
        examples(bert, labels=token_labels)
    yield "token-classification-left", lambda rt: DataCollatorForTokenClassification(
        gpt2_left, label_pad_token_id=-1, pad_to_multiple_of=4, return_tensors=rt), \
        examples(gpt2_left, labels=[[1] * len(gpt2_left(t)["input_ids"]) for t in TEXTS])
    yield "seq2seq", lambda rt: DataCollatorForSeq2Seq(mt5, return_tensors=rt), seq2seq
    yield "seq2seq-multiple", lambda rt: DataCollatorForSeq2Seq(mt5, pad_to_multiple_of=4, label_pad_token_id=-1,
                                                                return_tensors=rt), seq2seq
    yield "seq2seq-max-length", lambda rt: DataCollatorForSeq2Seq(mt5, padding="max_length", max_length=24,
                                                                  return_tensors=rt), seq2seq
    yield "default", lambda rt: (lambda rows: default_data_collator(rows, return_tensors=rt)), same_length
    yield "default-float-labels", lambda rt: (lambda rows: default_data_collator(rows, return_tensors=rt)), floats
    yield "causal-lm", lambda rt: DataCollatorForLanguageModeling(gpt2_left, mlm=False, return_tensors=rt), \
        examples(gpt2_left)
    yield "causal-lm-ids", lambda rt: DataCollatorForLanguageModeling(bert, mlm=False, pad_to_multiple_of=4,
                                                                      return_tensors=rt), \
        [bert(t)["input_ids"] for t in TEXTS]


def main() -> None:
    results = {}
    for name, make, rows in cases():
        results[name] = {"examples": [{k: np.asarray(v).tolist() for k, v in row.items()} if isinstance(row, dict)
                                      else row for row in rows],  # fmt: skip
                         "outputs": {rt: run(make(rt), rows) for rt in ("np", "pt", "tf")}}
    out = FIXTURES / "data_collators" / "cases.json"
    out.write_text(json.dumps(results, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
