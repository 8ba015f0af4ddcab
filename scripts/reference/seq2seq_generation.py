"""generate() references for the encoder-decoder fixtures (mT5, Marian, mBART, Pegasus), written with
transformers 4.57.6 next to the fixture checkpoints, and two end-to-end folders (tokenizer -> generate ->
decode) for Marian and mBART-50.

1. tests/fixtures/models/<type>/<Class>/generate.json, in the layout of the shared fixtures' generate.json:
   the first batch row of inputs.npz (its unpadded part), and per run the keyword arguments and the token
   sequences transformers' PyTorch generate() returned (the decoder start token included). min_new_tokens
   equals max_new_tokens, so EOS cannot end a run early. Besides greedy and 3-beam search: mBART from the
   target language code as forced_bos_token_id after an EOS decoder start (mBART-50's convention), and runs
   with repetition_penalty / no_repeat_ngram_size / bad_words_ids (the pad token, as Marian's Hub
   checkpoints ban it).
2. tests/fixtures/seq2seq_e2e/<name>/: a tiny random model (seeded) whose vocabulary is the one of the
   tokenizer fixture tests/fixtures/tokenizers/<tokenizer>/, its generation_config.json set as the Hub
   checkpoints of that family set it, and e2e.json: the source texts, tokenizer options, generate() keyword
   arguments, the sequences transformers returned and their batch_decode(skip_special_tokens=True).

Run with a Python that has transformers 4.57.6 and torch (never a dependency of autoload):

    python scripts/reference/seq2seq_generation.py
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer, GenerationConfig

assert transformers.__version__ == "4.57.6", transformers.__version__
transformers.logging.set_verbosity_error()

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
MODELS = FIXTURES / "models"
NOTES = ("tokens from transformers 4.57.6 generate(), PyTorch, first batch row only; min_new_tokens=max_new_tokens "
         "so EOS cannot end early")  # fmt: skip

CHECKPOINTS = {
    "mt5": "MT5ForConditionalGeneration",
    "marian": "MarianMTModel",
    "mbart": "MBartForConditionalGeneration",
    "pegasus": "PegasusForConditionalGeneration",
}


def base_kwargs(config) -> dict:
    return {"do_sample": False, "max_new_tokens": 8, "min_new_tokens": 8, "eos_token_id": config.eos_token_id,
            "pad_token_id": config.pad_token_id}  # fmt: skip


def runs_for(model_type: str, config) -> dict:
    base = base_kwargs(config)
    runs = {
        "greedy": {**base, "num_beams": 1},
        "beam3": {**base, "num_beams": 3, "early_stopping": True},
        "constrained_greedy": {**base, "num_beams": 1, "repetition_penalty": 1.3, "no_repeat_ngram_size": 2,
                               "bad_words_ids": [[config.pad_token_id], [5, 6]]},  # fmt: skip
        "constrained_beam3": {**base, "num_beams": 3, "no_repeat_ngram_size": 2, "length_penalty": 0.6},
    }
    if model_type in ("marian", "mbart"):  # a left-padded decoder prompt: the padding masked (positions not moved)
        prompt = [config.pad_token_id, config.pad_token_id, config.decoder_start_token_id, 7]
        runs["left_padded_decoder_prompt"] = {**base, "num_beams": 1, "decoder_input_ids": [prompt],
                                              "decoder_attention_mask": [[0, 0, 1, 1]]}  # fmt: skip
    if model_type == "mbart":  # mBART-50: start with </s>, then force the target language code
        runs["forced_bos_beam3"] = {**base, "num_beams": 3, "decoder_start_token_id": config.eos_token_id,
                                    "forced_bos_token_id": config.vocab_size - 2}  # fmt: skip
    return runs


def checkpoint_references() -> None:
    for model_type, class_name in CHECKPOINTS.items():
        folder = MODELS / model_type / class_name
        model = getattr(transformers, class_name).from_pretrained(folder).eval()
        inputs = np.load(folder / "inputs.npz")
        length = int(inputs["attention_mask"][0].sum())
        encoder = {"input_ids": inputs["input_ids"][:1, :length], "attention_mask": inputs["attention_mask"][:1, :length]}
        reference = {"inputs": {k: v.tolist() for k, v in encoder.items()}, "runs": {}, "notes": NOTES}
        for name, kwargs in runs_for(model_type, model.config).items():
            with torch.no_grad():
                arrays = {k: torch.tensor(v) for k, v in kwargs.items() if k.startswith("decoder_") and isinstance(v, list)}
                sequences = model.generate(**{k: torch.from_numpy(v) for k, v in encoder.items()}, **{**kwargs, **arrays})
            reference["runs"][name] = {"kwargs": kwargs, "sequences": sequences.tolist()}
        (folder / "generate.json").write_text(json.dumps(reference, indent=1) + "\n")
        print(model_type, {name: run["sequences"][0] for name, run in reference["runs"].items()})


# name: (model_type, tokenizer fixture, config overrides, generation_config.json, source texts, tokenizer call
# options, generate() keyword arguments)
END_TO_END = {
    "marian": (
        "marian", "marian",
        {"d_model": 16, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 2,
         "decoder_attention_heads": 2, "encoder_ffn_dim": 24, "decoder_ffn_dim": 24, "max_position_embeddings": 64,
         "activation_function": "swish", "scale_embedding": True},
        {"bad_words_ids": [["<pad>"]], "num_beams": 3, "max_length": 20},
        ["Hello, world! Loading checkpoints is fun.", "The quick brown fox."],
        {"padding": True},
        {"max_new_tokens": 10, "no_repeat_ngram_size": 1},
    ),
    "mbart50": (
        "mbart", "mbart50",
        {"d_model": 16, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 2,
         "decoder_attention_heads": 2, "encoder_ffn_dim": 24, "decoder_ffn_dim": 24, "max_position_embeddings": 64,
         "scale_embedding": True},
        {"num_beams": 2, "max_length": 20},
        ["Hello, world! Loading checkpoints is fun.", "The quick brown fox."],
        {"padding": True},
        {"max_new_tokens": 10, "forced_bos_token_id": "fr_XX", "no_repeat_ngram_size": 1},
    ),
}


def token_id(tokenizer, value):
    return tokenizer.convert_tokens_to_ids(value) if isinstance(value, str) else value


def end_to_end_references() -> None:
    for name, (model_type, tokenizer_name, overrides, generation, texts, call, kwargs) in END_TO_END.items():
        out = FIXTURES / "seq2seq_e2e" / name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        tokenizer = AutoTokenizer.from_pretrained(FIXTURES / "tokenizers" / tokenizer_name)
        ids = {"pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
               "bos_token_id": tokenizer.bos_token_id if tokenizer.bos_token_id is not None else 0}  # fmt: skip
        start = tokenizer.pad_token_id if model_type == "marian" else tokenizer.eos_token_id
        config = AutoConfig.for_model(model_type, vocab_size=len(tokenizer), decoder_start_token_id=start,
                                      forced_eos_token_id=tokenizer.eos_token_id, **ids, **overrides)  # fmt: skip
        torch.manual_seed(0)
        model = AutoModelForSeq2SeqLM.from_config(config).eval()
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.requires_grad:
                    parameter.add_(torch.randn_like(parameter) * 0.5)
        settings = {k: [[token_id(tokenizer, t) for t in word] for word in v] if k == "bad_words_ids" else v
                    for k, v in generation.items()}  # fmt: skip
        model.generation_config = GenerationConfig(decoder_start_token_id=start, forced_eos_token_id=tokenizer.eos_token_id,
                                                   **ids, **settings)  # fmt: skip
        with tempfile.TemporaryDirectory() as saved:
            model.save_pretrained(saved)
            for file in ("config.json", "model.safetensors", "generation_config.json"):
                shutil.copy(Path(saved) / file, out / file)
        model = AutoModelForSeq2SeqLM.from_pretrained(out).eval()
        encoded = tokenizer(texts, return_tensors="pt", **call)
        call_kwargs = {k: token_id(tokenizer, v) for k, v in kwargs.items()}
        with torch.no_grad():
            sequences = model.generate(**encoded, **call_kwargs)
        reference = {
            "tokenizer": tokenizer_name, "texts": texts, "call": call, "generate_kwargs": kwargs,
            "input_ids": encoded["input_ids"].tolist(), "sequences": sequences.tolist(),
            "decoded": tokenizer.batch_decode(sequences, skip_special_tokens=True),
            "notes": "a random model over the tokenizer fixture's vocabulary; transformers 4.57.6 generate() and "
                     "batch_decode(skip_special_tokens=True); generation_config.json as the family's Hub checkpoints set it",
        }  # fmt: skip
        (out / "e2e.json").write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n")
        print(name, reference["sequences"], reference["decoded"])


if __name__ == "__main__":
    checkpoint_references()
    end_to_end_references()
