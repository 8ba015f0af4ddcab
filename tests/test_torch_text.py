"""Text-model specifics in PyTorch: the KV cache, config validation, long inputs, GPT-2's double heads."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import MODELS, read_fixture  # noqa: E402

import autoload  # noqa: E402
from autoload import AutoConfig  # noqa: E402

CAUSAL = ["gpt2/GPT2LMHeadModel", "llama/LlamaForCausalLM", "mistral/MistralForCausalLM", "qwen2/Qwen2ForCausalLM",
          "bart/BartForCausalLM", "whisper/WhisperForCausalLM"]  # fmt: skip


@pytest.mark.parametrize("folder", CAUSAL)
def test_incremental_decoding_matches_full_forward(folder):
    model = autoload.AutoModelForCausalLM.from_pretrained(MODELS / folder)
    ids = torch.tensor([[5, 17, 3, 44, 9, 12, 30, 7, 21]])
    with torch.no_grad():
        full = model(ids, use_cache=False).logits
        step = model(ids[:, :4], use_cache=True)
        logits, past = [step.logits], step.past_key_values
        for i in range(4, ids.shape[1]):
            step = model(ids[:, i : i + 1], past_key_values=past, use_cache=True)
            logits.append(step.logits)
            past = step.past_key_values
    torch.testing.assert_close(torch.cat(logits, dim=1), full, atol=1e-4, rtol=0)


@pytest.mark.parametrize("folder", ["t5/T5ForConditionalGeneration", "bart/BartForConditionalGeneration"])
def test_seq2seq_decoder_cache_matches_full_forward(folder):
    model = autoload.AutoModelForSeq2SeqLM.from_pretrained(MODELS / folder)
    source, target = torch.tensor([[5, 17, 3, 44, 2]]), torch.tensor([[2, 9, 12, 30, 7]])
    with torch.no_grad():
        full = model(source, decoder_input_ids=target, use_cache=False).logits
        encoder = model.get_encoder()(source)
        step = model(encoder_outputs=encoder, decoder_input_ids=target[:, :2], use_cache=True)
        logits, past = [step.logits], step.past_key_values
        for i in range(2, target.shape[1]):
            step = model(encoder_outputs=encoder, decoder_input_ids=target[:, i : i + 1], past_key_values=past,
                         use_cache=True)  # fmt: skip
            logits.append(step.logits)
            past = step.past_key_values
    torch.testing.assert_close(torch.cat(logits, dim=1), full, atol=1e-4, rtol=0)


def test_mistral_sliding_window_is_applied():
    folder = MODELS / "mistral" / "MistralModel"
    meta, inputs, expected = read_fixture(folder)
    assert inputs["input_ids"].shape[1] > AutoConfig.from_pretrained(folder).sliding_window
    model = autoload.AutoModel.from_pretrained(folder)
    unlimited = autoload.AutoModel.from_pretrained(folder, sliding_window=None)
    with torch.no_grad():
        windowed = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).last_hidden_state
        full = unlimited(**{k: torch.from_numpy(v) for k, v in inputs.items()}).last_hidden_state
    np.testing.assert_allclose(windowed.numpy(), expected["last_hidden_state"], atol=1e-4)
    assert not torch.allclose(windowed, full, atol=1e-3)


@pytest.mark.parametrize("scaling", [
    {"rope_type": "linear", "factor": 2.0},
    {"type": "dynamic", "factor": 2.0},
    {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
     "original_max_position_embeddings": 16},
])  # fmt: skip
def test_rope_scaling_variants(scaling):
    from autoload.rope import inverse_frequencies

    config = AutoConfig.from_pretrained(MODELS / "llama" / "LlamaModel", rope_scaling=scaling)
    plain = AutoConfig.from_pretrained(MODELS / "llama" / "LlamaModel")
    scaled, base = inverse_frequencies(config, 100), inverse_frequencies(plain, 100)
    assert scaled.shape == base.shape and not np.allclose(scaled, base)
    assert np.all(scaled <= base + 1e-9)  # every variant slows rotation down, never speeds it up
    model = autoload.AutoModel.from_pretrained(MODELS / "llama" / "LlamaModel", rope_scaling=scaling)
    with torch.no_grad():
        length = 100 if "dynamic" in scaling.values() else 40  # dynamic scaling exists to go past the limit
        assert torch.isfinite(model(torch.arange(length)[None] % 90 + 3).last_hidden_state).all()


@pytest.mark.parametrize("overrides,message", [
    ({"hidden_size": 30}, "not a multiple"),
    ({"num_key_value_heads": 3}, "num_key_value_heads"),
    ({"rope_scaling": {"rope_type": "yarnish", "factor": 2.0}}, "Unknown rope_scaling"),
])  # fmt: skip
def test_inconsistent_llama_configs(overrides, message):
    with pytest.raises(ValueError, match=message):
        AutoConfig.for_model("llama", **{"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2,
                                          **overrides})  # fmt: skip


@pytest.mark.parametrize("folder", ["bert/BertModel", "gpt2/GPT2Model", "llama/LlamaModel", "roberta/RobertaModel",
                                    "distilbert/DistilBertModel"])  # fmt: skip
def test_sequences_longer_than_the_positions_are_refused(folder):
    model = autoload.AutoModel.from_pretrained(MODELS / folder)
    with pytest.raises(ValueError, match="longer than"):
        model(torch.ones(1, 200, dtype=torch.long))


def test_gpt2_double_heads_shares_the_lm_head():
    lm = autoload.AutoModelForCausalLM.from_pretrained(MODELS / "gpt2" / "GPT2LMHeadModel")
    from autoload.backends.torch.models.gpt2 import GPT2DoubleHeadsModel

    double, info = GPT2DoubleHeadsModel.from_pretrained(MODELS / "gpt2" / "GPT2LMHeadModel", output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["multiple_choice_head.summary.bias", "multiple_choice_head.summary.weight"]
    ids = torch.tensor([[[5, 17, 3, 44], [9, 12, 30, 7]]])
    with torch.no_grad():
        out = double(ids, mc_token_ids=torch.tensor([[3, 2]]))
        torch.testing.assert_close(out.logits[0], lm(ids[0]).logits)
    assert out.mc_logits.shape == (1, 2)


def test_gpt2_classification_uses_the_last_real_token():
    folder = MODELS / "gpt2" / "GPT2ForSequenceClassification"
    model = autoload.AutoModelForSequenceClassification.from_pretrained(folder)
    ids = torch.tensor([[5, 17, 3, 44]])
    padded = torch.tensor([[5, 17, 3, 44, 0, 0]])
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, model(padded, attention_mask=(padded != 0).long()).logits)
