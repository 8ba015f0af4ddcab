"""TF T5: cached decoding, the gated-gelu / untied-head variant against PyTorch, decoder-input errors, training."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from conftest import MODELS, read_fixture  # noqa: E402

import autoload  # noqa: E402
from autoload import AutoConfig  # noqa: E402
from autoload.testing import assert_backends_agree  # noqa: E402

T5 = MODELS / "t5"


@pytest.fixture(scope="module")
def seq2seq():
    return autoload.TFAutoModelForSeq2SeqLM.from_pretrained(T5 / "T5ForConditionalGeneration")


def test_cached_incremental_decode_equals_full_forward(seq2seq):
    _, inputs, _ = read_fixture(T5 / "T5ForConditionalGeneration")
    mask = inputs["attention_mask"].copy()
    mask[1, -3:] = 0  # padded encoder positions must stay masked in every cached step
    full = seq2seq(input_ids=inputs["input_ids"], attention_mask=mask, decoder_input_ids=inputs["decoder_input_ids"])
    encoded = seq2seq.encode(inputs["input_ids"], mask)
    past, steps = None, []
    for i in range(inputs["decoder_input_ids"].shape[1]):
        token = inputs["decoder_input_ids"][:, i : i + 1]
        step = seq2seq.decode(token, encoded, attention_mask=mask, past_key_values=past)
        past = step.past_key_values
        steps.append(step.logits.numpy())
    assert past[0][0].shape[2] == inputs["decoder_input_ids"].shape[1]  # self-attention cache grew by one a step
    assert past[0][2].shape[2] == inputs["input_ids"].shape[1]  # cross-attention cache holds the encoder keys
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full.logits.numpy(), atol=1e-5)
    # The same through the model call (the decoder's first block recomputes the position bias at the offset).
    first = seq2seq(input_ids=inputs["input_ids"], attention_mask=mask, decoder_input_ids=inputs["decoder_input_ids"][:, :3],
                    use_cache=True)  # fmt: skip
    rest = seq2seq(attention_mask=mask, decoder_input_ids=inputs["decoder_input_ids"][:, 3:],
                   encoder_outputs=(first.encoder_last_hidden_state,), past_key_values=first.past_key_values)  # fmt: skip
    np.testing.assert_allclose(rest.logits.numpy(), full.logits.numpy()[:, 3:], atol=1e-5)


def test_missing_decoder_inputs_raise_a_clear_error(seq2seq):
    _, inputs, _ = read_fixture(T5 / "T5Model")
    base = autoload.TFAutoModel.from_pretrained(T5 / "T5Model")
    for model in (base, seq2seq):
        with pytest.raises(ValueError, match="needs decoder_input_ids"):
            model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])


def test_generate_refuses_a_decoder_attention_mask_it_cannot_apply(seq2seq):
    _, inputs, _ = read_fixture(T5 / "T5ForConditionalGeneration")
    start = np.zeros((inputs["input_ids"].shape[0], 2), np.int64)
    with pytest.raises(NotImplementedError, match="does not take a decoder_attention_mask"):
        seq2seq.generate(inputs["input_ids"], decoder_input_ids=start, decoder_attention_mask=np.ones_like(start),
                         max_new_tokens=2)  # fmt: skip


def test_sequence_classification_needs_consistent_eos():
    model = autoload.TFAutoModelForSequenceClassification.from_pretrained(T5 / "T5ForSequenceClassification")
    ids = np.array([[5, 6, 1], [5, 1, 1]])
    with pytest.raises(ValueError, match="end-of-sequence"):
        model(input_ids=ids)


def test_sampling_is_seeded(seq2seq):
    ids = np.array([[76, 30, 37, 36, 97, 92, 1]])
    kwargs = {"do_sample": True, "top_k": 20, "temperature": 2.0, "max_new_tokens": 6, "min_new_tokens": 6}
    first = seq2seq.generate(ids, seed=3, **kwargs).numpy()
    assert first.shape == (1, 7) and first[0, 0] == seq2seq.config.decoder_start_token_id
    np.testing.assert_array_equal(seq2seq.generate(ids, seed=3, **kwargs).numpy(), first)
    assert len(set(first[0, 1:].tolist())) > 1  # temperature 2 over 20 tokens: not one token over and over


def _gated_config(**kwargs):
    return AutoConfig.for_model(
        "t5", vocab_size=61, d_model=24, d_kv=6, d_ff=40, num_layers=2, num_decoder_layers=3, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=12, feed_forward_proj="gated-gelu",
        tie_word_embeddings=False, dropout_rate=0.0, architectures=["T5ForConditionalGeneration"], **kwargs,
    )  # fmt: skip


def test_gated_gelu_untied_agrees_with_torch_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    torch_model = autoload.AutoModelForSeq2SeqLM.from_config(_gated_config())
    torch_model.save_pretrained(tmp_path / "from_torch")
    tf_model, info = autoload.TFAutoModelForSeq2SeqLM.from_pretrained(tmp_path / "from_torch", output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    paths = [v.path for v in tf_model.weights]
    assert any(p.endswith("DenseReluDense/wi_0/kernel") for p in paths)
    assert any(p.endswith("lm_head/kernel") for p in paths)
    assert_backends_agree(tmp_path / "from_torch", backends=("torch", "tf"))

    # Greedy and beam tokens agree on a model whose output is not one repeated token.
    ids = np.array([[7, 30, 17, 36, 50, 22, 1], [9, 4, 12, 1, 0, 0, 0]])
    mask = (np.arange(7) < np.array([[7], [4]])).astype(np.int64)
    for options in ({"num_beams": 1}, {"num_beams": 3}):
        options = {**options, "max_new_tokens": 6, "min_new_tokens": 6, "do_sample": False}
        want = [torch_model.generate(torch.from_numpy(ids[i : i + 1]), attention_mask=torch.from_numpy(mask[i : i + 1]),
                                     **options)[0].tolist() for i in range(2)]  # fmt: skip
        got = tf_model.generate(ids, attention_mask=mask, **options)
        assert np.asarray(got).tolist() == want, options
        assert len(set(want[0][1:])) > 1, "the check is weak if the model repeats one token"

    # TF-initialised weights, saved in TF's own format, load in PyTorch to the same outputs.
    mine = autoload.TFAutoModelForSeq2SeqLM.from_config(_gated_config(initializer_range=0.3))
    mine.save_pretrained(tmp_path / "from_tf")
    assert_backends_agree(tmp_path / "from_tf", backends=("tf", "torch"))


def test_fit_trains_seq2seq_with_labels():
    import keras

    model = autoload.TFAutoModelForSeq2SeqLM.from_pretrained(T5 / "T5ForConditionalGeneration")
    _, inputs, _ = read_fixture(T5 / "T5ForConditionalGeneration")
    labels = inputs["decoder_input_ids"].copy()
    labels[1, -2:] = -100  # ignored positions: no loss, and the shifted decoder input gets the pad token there
    batch = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"], "labels": labels}
    before = float(model(batch).loss)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(batch, epochs=4, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert float(model(batch).loss) < before
