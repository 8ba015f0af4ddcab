"""Data collators against transformers 4.57.6 (tests/fixtures/data_collators/cases.json, made by
scripts/reference/data_collators.py): every field's values and dtype, for numpy, PyTorch and TF batches; the
masked-LM collator, which draws random numbers, by its rules."""

import json

import numpy as np
import pytest
from conftest import FIXTURES
from model_checks import needs

from autoload import (
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    DataCollatorForSeq2Seq,
    DataCollatorForTokenClassification,
    DataCollatorWithPadding,
    default_data_collator,
)

CASES = json.loads((FIXTURES / "data_collators" / "cases.json").read_text())
TENSORS = {"np": "np", "pt": "torch", "tf": "tf"}


def tokenizer(name: str, **attributes):
    loaded = AutoTokenizer.from_pretrained(FIXTURES / "tokenizers" / name)
    for key, value in attributes.items():
        setattr(loaded, key, value)
    return loaded


def collator(case: str, rt: str):
    """The collator each reference case ran (as scripts/reference/data_collators.py builds it)."""
    bert, mt5 = tokenizer("bert-uncased"), tokenizer("mt5")
    gpt2_left = tokenizer("gpt2", pad_token="<|endoftext|>", padding_side="left")
    return {
        "padding": lambda: DataCollatorWithPadding(bert, return_tensors=rt),
        "padding-multiple-max": lambda: DataCollatorWithPadding(bert, padding="max_length", max_length=13,
                                                                pad_to_multiple_of=8, return_tensors=rt),
        "padding-left": lambda: DataCollatorWithPadding(gpt2_left, return_tensors=rt),
        "token-classification": lambda: DataCollatorForTokenClassification(bert, return_tensors=rt),
        "token-classification-left": lambda: DataCollatorForTokenClassification(
            gpt2_left, label_pad_token_id=-1, pad_to_multiple_of=4, return_tensors=rt),
        "seq2seq": lambda: DataCollatorForSeq2Seq(mt5, return_tensors=rt),
        "seq2seq-multiple": lambda: DataCollatorForSeq2Seq(mt5, pad_to_multiple_of=4, label_pad_token_id=-1,
                                                           return_tensors=rt),
        "seq2seq-max-length": lambda: DataCollatorForSeq2Seq(mt5, padding="max_length", max_length=24,
                                                             return_tensors=rt),
        "default": lambda: (lambda rows: default_data_collator(rows, return_tensors=rt)),
        "default-float-labels": lambda: (lambda rows: default_data_collator(rows, return_tensors=rt)),
        "causal-lm": lambda: DataCollatorForLanguageModeling(gpt2_left, mlm=False, return_tensors=rt),
        "causal-lm-ids": lambda: DataCollatorForLanguageModeling(bert, mlm=False, pad_to_multiple_of=4,
                                                                 return_tensors=rt),
    }[case]()  # fmt: skip


def dtype_name(value) -> str:
    return getattr(value.dtype, "name", None) or str(value.dtype).removeprefix("torch.")


@pytest.mark.parametrize("rt", ["np", "pt", "tf"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_batches_equal_the_reference(case, rt):
    if rt != "np":
        needs(TENSORS[rt])
    batch = collator(case, rt)(CASES[case]["examples"])
    want = CASES[case]["outputs"][rt]
    assert list(batch) == list(want)
    for key, expected in want.items():
        if expected is None:
            assert batch[key] is None, key
            continue
        value = batch[key].numpy() if hasattr(batch[key], "numpy") else batch[key]
        assert np.asarray(value).tolist() == expected["values"], key
        assert dtype_name(batch[key]) == expected["dtype"], key


def masked(seed: int, **options):
    bert = tokenizer("bert-uncased")
    rows = [bert("the quick brown fox jumps over the lazy dog " * (3 + i % 4)) for i in range(40)]
    collate = DataCollatorForLanguageModeling(bert, return_tensors="np", seed=seed, **options)
    original = bert.pad(rows, return_tensors="np")["input_ids"]
    return bert, original, collate(rows)


def test_masked_lm_follows_its_rules():
    bert, original, batch = masked(0)
    chosen = batch["labels"] != -100
    special = np.isin(original, bert.all_special_ids)
    assert not (chosen & special).any()
    assert (batch["labels"][chosen] == original[chosen]).all()
    assert (batch["input_ids"][~chosen] == original[~chosen]).all()
    assert abs(chosen.sum() / (~special).sum() - 0.15) < 0.03
    to_mask = batch["input_ids"][chosen] == bert.mask_token_id
    unchanged = batch["input_ids"][chosen] == original[chosen]
    assert abs(to_mask.mean() - 0.8) < 0.06 and abs(unchanged.mean() - 0.1) < 0.05
    assert batch["input_ids"].dtype == batch["labels"].dtype == np.int64
    again = masked(0)[2]
    assert (again["input_ids"] == batch["input_ids"]).all() and (again["labels"] == batch["labels"]).all()
    _, _, only_mask = masked(1, mask_replace_prob=1.0, random_replace_prob=0.0)
    assert (only_mask["input_ids"][only_mask["labels"] != -100] == bert.mask_token_id).all()


def test_bad_collator_settings_are_refused():
    gpt2 = tokenizer("gpt2")
    with pytest.raises(ValueError, match="no mask token.*mlm=False"):
        DataCollatorForLanguageModeling(gpt2)
    with pytest.raises(ValueError, match="mask_replace_prob \\+ random_replace_prob must be at most 1"):
        DataCollatorForLanguageModeling(tokenizer("bert-uncased"), mask_replace_prob=0.9, random_replace_prob=0.2)
    with pytest.raises(ValueError, match="return_tensors='jax': data collators make 'pt', 'tf' or 'np'"):
        DataCollatorWithPadding(tokenizer("bert-uncased"), return_tensors="jax")([{"input_ids": [1, 2]}])
    with pytest.raises(ValueError, match="different lengths and .* has no padding token"):
        DataCollatorForLanguageModeling(gpt2, mlm=False, return_tensors="np")([[1, 2, 3], [4, 5]])


@pytest.mark.parametrize("folder", ["bart/BartForConditionalGeneration", "mbart/MBartForConditionalGeneration",
                                    "marian/MarianMTModel", "t5/T5ForConditionalGeneration"])  # fmt: skip
def test_seq2seq_collator_adds_the_decoder_inputs_the_model_derives(folder):
    """With model=, the seq2seq collator adds decoder_input_ids from the padded labels, as the model itself
    derives them: the outputs with and without them are the same."""
    needs("torch")
    import torch

    from autoload import AutoModel, AutoModelForSeq2SeqLM

    model = AutoModelForSeq2SeqLM.from_pretrained(FIXTURES / "models" / folder).eval()
    rows = [{"input_ids": [5, 6, 7, 8], "labels": [9, 10]}, {"input_ids": [5, 6], "labels": [11, 12, 13, 14]}]
    batch = DataCollatorForSeq2Seq(tokenizer("bert-uncased"), model=model, return_tensors="pt")(rows)
    shifted = batch["decoder_input_ids"]
    assert shifted.shape == batch["labels"].shape and not (shifted == -100).any()
    with torch.no_grad():
        given = model(**batch).logits
        derived = model(**{k: v for k, v in batch.items() if k != "decoder_input_ids"}).logits
    torch.testing.assert_close(given, derived, rtol=0, atol=0)
    assert shifted[1, 1:].tolist() == [11, 12, 13]
    base = AutoModel.from_pretrained(FIXTURES / "models" / folder)  # transformers' base classes have no such method
    assert "decoder_input_ids" not in DataCollatorForSeq2Seq(tokenizer("bert-uncased"), model=base)(rows)
