"""References for configs as real Hub checkpoints write them (issue #13's text encoders and translation models).

Each entry below is the config.json of a widely used Hub checkpoint, every field and legacy name kept as the file
has it, with only the sizes shrunk (and the token ids that must fit the smaller vocabulary moved inside it). For
each, this script writes tests/fixtures/hub_configs/<repo with / as -->/:

- config.json: the raw dict below (not re-saved by transformers, so legacy names and values stay as on the Hub);
- model.safetensors: random weights (transformers' init plus Gaussian noise of std 0.2 on every trainable tensor,
  seeded) saved by transformers 4.57.6's save_pretrained;
- inputs.npz / expected.npz / fixture.json: token ids (the second row padded) and the outputs transformers'
  PyTorch class computes after loading the folder with from_pretrained;
- generate.json (the encoder-decoders): the tokens generate() returns with only max_new_tokens given, so every
  other setting (beams, length penalty, bad words, forced EOS, decoder start) comes from config.json.

Run with a Python that has transformers 4.57.6 and torch (never a dependency of autoload):

    python scripts/reference/hub_configs.py
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np
import torch
import transformers

assert transformers.__version__ == "4.57.6", transformers.__version__
transformers.logging.set_verbosity_error()

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "hub_configs"
AUTO = {"MODEL": "AutoModel", "MODEL_FOR_PRETRAINING": "AutoModelForPreTraining",
        "MODEL_FOR_MASKED_LM": "AutoModelForMaskedLM", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM": "AutoModelForSeq2SeqLM",
        "MODEL_FOR_SEQUENCE_CLASSIFICATION": "AutoModelForSequenceClassification"}  # fmt: skip
LABELS3 = {"id2label": {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"},
           "label2id": {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}}  # fmt: skip

# repo id -> (family loaded, config.json with sizes shrunk)
HUB = {
    # the discriminator: ElectraForPreTraining's per-token replaced-token head
    "google/electra-base-discriminator": ("MODEL_FOR_PRETRAINING", {
        "architectures": ["ElectraForPreTraining"], "attention_probs_dropout_prob": 0.1, "embedding_size": 16,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 16, "initializer_range": 0.02,
        "intermediate_size": 24, "layer_norm_eps": 1e-12, "max_position_embeddings": 32, "model_type": "electra",
        "num_attention_heads": 2, "num_hidden_layers": 2, "pad_token_id": 0, "type_vocab_size": 2,
        "vocab_size": 64}),
    # the generator: embeddings (128) narrower than its encoder (256), projected up
    "google/electra-small-generator": ("MODEL_FOR_MASKED_LM", {
        "architectures": ["ElectraForMaskedLM"], "attention_probs_dropout_prob": 0.1, "embedding_size": 8,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 16, "initializer_range": 0.02,
        "intermediate_size": 24, "layer_norm_eps": 1e-12, "max_position_embeddings": 32, "model_type": "electra",
        "num_attention_heads": 2, "num_hidden_layers": 2, "pad_token_id": 0, "type_vocab_size": 2,
        "vocab_size": 64}),
    # factorised embeddings, one shared layer group, integer dropouts, the original code's unused fields
    "albert-base-v2": ("MODEL_FOR_PRETRAINING", {
        "architectures": ["AlbertForMaskedLM"], "attention_probs_dropout_prob": 0, "bos_token_id": 2,
        "classifier_dropout_prob": 0.1, "down_scale_factor": 1, "embedding_size": 8, "eos_token_id": 3,
        "gap_size": 0, "hidden_act": "gelu_new", "hidden_dropout_prob": 0, "hidden_size": 16,
        "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 24, "layer_norm_eps": 1e-12,
        "max_position_embeddings": 32, "model_type": "albert", "net_structure_type": 0, "num_attention_heads": 2,
        "num_hidden_groups": 1, "num_hidden_layers": 3, "num_memory_blocks": 0, "pad_token_id": 0,
        "type_vocab_size": 2, "vocab_size": 64}),
    # DeBERTa-v3: no architectures field, bucketed relative positions, shared keys, pos_att_type as a string,
    # no absolute positions in the input, no token types
    "microsoft/deberta-v3-base": ("MODEL", {
        "model_type": "deberta-v2", "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": 16, "initializer_range": 0.02, "intermediate_size": 24,
        "max_position_embeddings": 32, "relative_attention": True, "position_buckets": 4,
        "norm_rel_ebd": "layer_norm", "share_att_key": True, "pos_att_type": "p2c|c2p", "layer_norm_eps": 1e-7,
        "max_relative_positions": -1, "position_biased_input": False, "num_attention_heads": 2,
        "num_hidden_layers": 2, "type_vocab_size": 0, "vocab_size": 64}),
    # DeBERTa-v2 MNLI classifier: the convolution after the first layer, the pooler's own fields
    "microsoft/deberta-v2-xlarge-mnli": ("MODEL_FOR_SEQUENCE_CLASSIFICATION", {
        "model_type": "deberta-v2", "architectures": ["DebertaV2ForSequenceClassification"],
        "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 16,
        "initializer_range": 0.02, "intermediate_size": 24, "max_position_embeddings": 32, "relative_attention": True,
        "position_buckets": 4, "norm_rel_ebd": "layer_norm", "share_att_key": True, "pos_att_type": "p2c|c2p",
        "conv_kernel_size": 3, "conv_act": "gelu", "layer_norm_eps": 1e-7, "max_relative_positions": -1,
        "position_biased_input": False, "num_attention_heads": 2, "num_hidden_layers": 2, "type_vocab_size": 0,
        "vocab_size": 64, "id2label": {"0": "CONTRADICTION", "1": "NEUTRAL", "2": "ENTAILMENT"},
        "label2id": {"CONTRADICTION": 0, "ENTAILMENT": 2, "NEUTRAL": 1}, "pooler_dropout": 0,
        "pooler_hidden_act": "gelu", "pooler_hidden_size": 16}),
    # global attention every third layer, local windows elsewhere with their own rope base, no biases
    "answerdotai/ModernBERT-base": ("MODEL_FOR_MASKED_LM", {
        "architectures": ["ModernBertForMaskedLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 60, "classifier_activation": "gelu", "classifier_bias": False, "classifier_dropout": 0.0,
        "classifier_pooling": "mean", "cls_token_id": 60, "decoder_bias": True, "deterministic_flash_attn": False,
        "embedding_dropout": 0.0, "eos_token_id": 61, "global_attn_every_n_layers": 3,
        "global_rope_theta": 160000.0, "gradient_checkpointing": False, "hidden_activation": "gelu",
        "hidden_size": 16, "initializer_cutoff_factor": 2.0, "initializer_range": 0.02, "intermediate_size": 24,
        "layer_norm_eps": 1e-05, "local_attention": 4, "local_rope_theta": 10000.0, "max_position_embeddings": 64,
        "mlp_bias": False, "mlp_dropout": 0.0, "model_type": "modernbert", "norm_bias": False, "norm_eps": 1e-05,
        "num_attention_heads": 2, "num_hidden_layers": 4, "pad_token_id": 62, "position_embedding_type": "absolute",
        "sep_token_id": 61, "tie_word_embeddings": True, "torch_dtype": "float32",
        "transformers_version": "4.47.0.dev0", "vocab_size": 64}),
    "xlm-roberta-base": ("MODEL_FOR_MASKED_LM", {
        "architectures": ["XLMRobertaForMaskedLM"], "attention_probs_dropout_prob": 0.1, "bos_token_id": 0,
        "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 16,
        "initializer_range": 0.02, "intermediate_size": 24, "layer_norm_eps": 1e-05, "max_position_embeddings": 34,
        "model_type": "xlm-roberta", "num_attention_heads": 2, "num_hidden_layers": 2, "output_past": True,
        "pad_token_id": 1, "position_embedding_type": "absolute", "transformers_version": "4.17.0.dev0",
        "type_vocab_size": 1, "use_cache": True, "vocab_size": 64}),
    # names MPNetForMaskedLM but holds the bare encoder (with its pooler): loaded with AutoModel
    "sentence-transformers/all-mpnet-base-v2": ("MODEL", {
        "_name_or_path": "microsoft/mpnet-base", "architectures": ["MPNetForMaskedLM"],
        "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "eos_token_id": 2, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": 16, "initializer_range": 0.02, "intermediate_size": 24,
        "layer_norm_eps": 1e-05, "max_position_embeddings": 34, "model_type": "mpnet", "num_attention_heads": 2,
        "num_hidden_layers": 2, "pad_token_id": 1, "relative_attention_num_buckets": 32, "torch_dtype": "float32",
        "transformers_version": "4.8.2", "vocab_size": 64}),
    # swish, sinusoidal positions, the pad token as decoder start and as a bad word, 4 beams, BART-era fields
    "Helsinki-NLP/opus-mt-en-de": ("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", {
        "_name_or_path": "/tmp/Helsinki-NLP/opus-mt-en-de", "activation_dropout": 0.0,
        "activation_function": "swish", "add_bias_logits": False, "add_final_layer_norm": False,
        "architectures": ["MarianMTModel"], "attention_dropout": 0.0, "bad_words_ids": [[63]], "bos_token_id": 0,
        "classif_dropout": 0.0, "classifier_dropout": 0.0, "d_model": 16, "decoder_attention_heads": 2,
        "decoder_ffn_dim": 24, "decoder_layerdrop": 0.0, "decoder_layers": 2, "decoder_start_token_id": 63,
        "decoder_vocab_size": 64, "dropout": 0.1, "encoder_attention_heads": 2, "encoder_ffn_dim": 24,
        "encoder_layerdrop": 0.0, "encoder_layers": 2, "eos_token_id": 0, "forced_eos_token_id": 0,
        "gradient_checkpointing": False, **LABELS3, "init_std": 0.02, "is_encoder_decoder": True,
        "max_length": 512, "max_position_embeddings": 32, "model_type": "marian", "normalize_before": False,
        "normalize_embedding": False, "num_beams": 4, "num_hidden_layers": 2, "pad_token_id": 63,
        "scale_embedding": True, "share_encoder_decoder_embeddings": True, "static_position_embeddings": True,
        "transformers_version": "4.22.0.dev0", "use_cache": True, "vocab_size": 64}),
    # pre-norm with final layer norms, the EOS as decoder start, 5 beams with early stopping
    "facebook/mbart-large-50": ("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", {
        "_name_or_path": "/home/suraj/projects/mbart-50/hf_models/mbart-50-large", "_num_labels": 3,
        "activation_dropout": 0.0, "activation_function": "gelu", "add_bias_logits": False,
        "add_final_layer_norm": True, "architectures": ["MBartForConditionalGeneration"], "attention_dropout": 0.0,
        "bos_token_id": 0, "classif_dropout": 0.0, "classifier_dropout": 0.0, "d_model": 16,
        "decoder_attention_heads": 2, "decoder_ffn_dim": 24, "decoder_layerdrop": 0.0, "decoder_layers": 2,
        "decoder_start_token_id": 2, "dropout": 0.1, "early_stopping": True, "encoder_attention_heads": 2,
        "encoder_ffn_dim": 24, "encoder_layerdrop": 0.0, "encoder_layers": 2, "eos_token_id": 2,
        "forced_eos_token_id": 2, "gradient_checkpointing": False, **LABELS3, "init_std": 0.02,
        "is_encoder_decoder": True, "max_length": 200, "max_position_embeddings": 32, "model_type": "mbart",
        "normalize_before": True, "normalize_embedding": True, "num_beams": 5, "num_hidden_layers": 2,
        "output_past": True, "pad_token_id": 1, "scale_embedding": True, "static_position_embeddings": False,
        "tokenizer_class": "MBart50Tokenizer", "transformers_version": "4.4.0.dev0", "use_cache": True,
        "vocab_size": 64}),
    # relu, sinusoidal positions, pad as decoder start, 8 beams with a length penalty, older BART-era fields
    "google/pegasus-xsum": ("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", {
        "_name_or_path": "google/pegasus-xsum", "activation_dropout": 0.1, "activation_function": "relu",
        "add_bias_logits": False, "add_final_layer_norm": True, "architectures": ["PegasusForConditionalGeneration"],
        "attention_dropout": 0.1, "bos_token_id": 0, "classif_dropout": 0.0, "classifier_dropout": 0.0,
        "d_model": 16, "decoder_attention_heads": 2, "decoder_ffn_dim": 24, "decoder_layerdrop": 0.0,
        "decoder_layers": 2, "decoder_start_token_id": 0, "dropout": 0.1, "encoder_attention_heads": 2,
        "encoder_ffn_dim": 24, "encoder_layerdrop": 0.0, "encoder_layers": 2, "eos_token_id": 1,
        "extra_pos_embeddings": 0, "force_bos_token_to_be_generated": False, "forced_eos_token_id": 1,
        "gradient_checkpointing": False, **LABELS3, "init_std": 0.02, "is_encoder_decoder": True,
        "length_penalty": 0.6, "max_length": 64, "max_position_embeddings": 32, "model_type": "pegasus",
        "normalize_before": True, "normalize_embedding": False, "num_beams": 8, "num_hidden_layers": 2,
        "pad_token_id": 0, "scale_embedding": True, "static_position_embeddings": True,
        "transformers_version": "4.11.0.dev0", "use_cache": True, "vocab_size": 64}),
    # gated GELU, untied LM head, heads x d_kv (here 3 x 4) narrower than d_model, the pad token as decoder start
    "google/mt5-small": ("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", {
        "_name_or_path": "/home/patrick/hugging_face/t5/mt5-small", "architectures": ["MT5ForConditionalGeneration"],
        "d_ff": 24, "d_kv": 4, "d_model": 16, "decoder_start_token_id": 0, "dropout_rate": 0.1, "eos_token_id": 1,
        "feed_forward_proj": "gated-gelu", "initializer_factor": 1.0, "is_encoder_decoder": True,
        "layer_norm_epsilon": 1e-06, "model_type": "mt5", "num_decoder_layers": 2, "num_heads": 3, "num_layers": 2,
        "pad_token_id": 0, "relative_attention_num_buckets": 32, "tie_word_embeddings": False,
        "tokenizer_class": "T5Tokenizer", "transformers_version": "4.10.0.dev0", "use_cache": True,
        "vocab_size": 64}),
}  # fmt: skip


def inputs_for(config: dict, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, 60, (2, 10), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 7:] = 0
    ids[1, 7:] = config.get("pad_token_id", 0)
    inputs = {"input_ids": ids, "attention_mask": mask}
    if config.get("type_vocab_size", 0) > 1:
        inputs["token_type_ids"] = (np.arange(10)[None] >= 5).astype(np.int64).repeat(2, 0)
    if config.get("is_encoder_decoder"):
        inputs["decoder_input_ids"] = rng.integers(3, 60, (2, 5), dtype=np.int64)
        inputs["decoder_input_ids"][:, 0] = config["decoder_start_token_id"]
    return inputs


def flatten(output) -> dict:
    flat = {}
    for key, value in output.items():
        if value is None or key == "past_key_values":
            continue
        if isinstance(value, tuple):
            flat.update({f"{key}_{i}": item.numpy() for i, item in enumerate(value)})
        else:
            flat[key] = value.detach().numpy()
    return flat


def write(repo: str, family: str, config: dict) -> None:
    folder = OUT / repo.replace("/", "--")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    auto = getattr(transformers, AUTO[family])
    seed = zlib.crc32(repo.encode())
    torch.manual_seed(seed)
    model = auto.from_config(transformers.AutoConfig.from_pretrained(folder))
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:  # not the fixed sinusoidal tables, which real checkpoints hold exactly
                parameter.add_(torch.randn_like(parameter) * 0.2)
    with tempfile.TemporaryDirectory() as saved:
        model.save_pretrained(saved, safe_serialization=True)
        shutil.copy(Path(saved) / "model.safetensors", folder / "model.safetensors")
    model = auto.from_pretrained(folder).eval()  # what a user gets from the folder as it is
    inputs = inputs_for(config, seed)
    with torch.no_grad():
        expected = flatten(model(**{k: torch.from_numpy(v) for k, v in inputs.items()}))
    np.savez_compressed(folder / "inputs.npz", **inputs)
    np.savez_compressed(folder / "expected.npz", **expected)
    meta = {"repo": repo, "model_type": config["model_type"], "family": family, "pt_class": type(model).__name__,
            "atol": 1e-4, "seed": seed, "transformers": transformers.__version__,
            "notes": ["config.json: the Hub file's fields, sizes shrunk; random weights (init + noise of std 0.2)"]}  # fmt: skip
    if config.get("is_encoder_decoder"):
        source = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"]}
        kwargs = {"max_new_tokens": 5}
        with torch.no_grad():
            sequences = model.generate(**{k: torch.from_numpy(v) for k, v in source.items()}, **kwargs)
        generation = {"inputs": {k: v.tolist() for k, v in source.items()}, "kwargs": kwargs,
                      "generation_config": model.generation_config.to_diff_dict(), "sequences": sequences.tolist()}  # fmt: skip
        (folder / "generate.json").write_text(json.dumps(generation, indent=1) + "\n")
    (folder / "fixture.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    for repo, (family, config) in HUB.items():
        write(repo, family, config)
        print(repo, "written")
