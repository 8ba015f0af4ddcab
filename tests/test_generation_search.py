"""The framework-free search: constraints, sampling filters and stopping, on a fake model with fixed logits."""

import numpy as np
import pytest

from autoload.generation import GenerationConfig, generate

PROBS = np.array([0.05, 0.5, 0.3, 0.15])


class FixedLogits:
    """A 'model' whose next-token distribution is always PROBS (or a per-step table)."""

    def __init__(self, table=None):
        self.table = table
        self.steps = 0

    def start(self, inputs, max_length):
        return {"rows": None}

    def step(self, tokens, state):
        rows = tokens.shape[0]
        probs = PROBS if self.table is None else self.table[min(self.steps, len(self.table) - 1)]
        self.steps += 1
        return np.log(np.tile(probs, (rows, 1))), state

    def select(self, state, rows):
        return state


def run(config, prompt=None, rng=None, table=None):
    prompt = np.zeros((1, 1), dtype=np.int64) if prompt is None else prompt
    return generate(FixedLogits(table), prompt, config, encoder_decoder=False, inputs={}, rng=rng)


def sample_tokens(**kwargs):
    config = GenerationConfig(do_sample=True, max_new_tokens=400, **{"top_k": 0, **kwargs})
    return run(config, rng=np.random.default_rng(0))[0, 1:]


def test_top_k_never_leaves_the_allowed_set():
    tokens = sample_tokens(top_k=2)
    assert set(tokens.tolist()) == {1, 2}


def test_top_p_keeps_the_smallest_set_with_enough_mass():
    tokens = sample_tokens(top_p=0.75)
    assert set(tokens.tolist()) == {1, 2}
    frequencies = np.bincount(tokens, minlength=4) / len(tokens)
    assert abs(frequencies[1] - 0.5 / 0.8) < 0.08


def test_plain_sampling_follows_the_distribution():
    tokens = sample_tokens()
    frequencies = np.bincount(tokens, minlength=4) / len(tokens)
    np.testing.assert_allclose(frequencies, PROBS, atol=0.07)


def test_low_temperature_is_nearly_greedy_and_seed_reproduces():
    assert set(sample_tokens(temperature=0.05).tolist()) == {1}
    config = GenerationConfig(do_sample=True, max_new_tokens=20)
    first = run(config, rng=np.random.default_rng(7))
    again = run(config, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(first, again)


def test_greedy_stops_at_eos_and_min_new_tokens_blocks_it():
    config = GenerationConfig(max_new_tokens=5, eos_token_id=1, pad_token_id=0)
    np.testing.assert_array_equal(run(config), [[0, 1]])
    config = GenerationConfig(max_new_tokens=5, min_new_tokens=3, eos_token_id=1, pad_token_id=0)
    np.testing.assert_array_equal(run(config), [[0, 2, 2, 2, 1]])


def test_beam_search_finds_the_better_path_greedy_misses():
    # Step 1 prefers token 1 slightly, but after token 2 the next step is far more certain.
    table = [np.array([0.01, 0.5, 0.48, 0.01]), np.array([0.25, 0.25, 0.25, 0.25])]

    class PathDependent(FixedLogits):
        def step(self, tokens, state):
            self.steps += 1
            if self.steps == 1:
                return np.log(np.tile(table[0], (tokens.shape[0], 1))), state
            last = tokens[:, -1]
            rows = np.where(last[:, None] == 2, [0.01, 0.01, 0.01, 0.97], table[1])
            return np.log(rows), state

    greedy = generate(PathDependent(), np.zeros((1, 1), np.int64), GenerationConfig(max_new_tokens=2),
                      encoder_decoder=False, inputs={})  # fmt: skip
    beam = generate(PathDependent(), np.zeros((1, 1), np.int64), GenerationConfig(max_new_tokens=2, num_beams=2),
                    encoder_decoder=False, inputs={})  # fmt: skip
    assert greedy[0, 1] == 1 and beam[0].tolist() == [0, 2, 3]


def test_decoder_attention_mask_must_fit_the_decoder_prompt():
    class Recording(FixedLogits):
        def start(self, inputs, max_length):
            self.mask = inputs.get("decoder_attention_mask")
            return super().start(inputs, max_length)

    config = GenerationConfig(max_new_tokens=1, decoder_start_token_id=0)
    prompt = np.array([[3, 3, 1], [2, 1, 1]])
    model = Recording()
    generate(model, np.zeros((2, 0)), config, encoder_decoder=True,
             inputs={"decoder_input_ids": prompt, "decoder_attention_mask": prompt != 3})  # fmt: skip
    # the start token put in front of the prompt counts as real
    assert model.mask.tolist() == [[1, 0, 0, 1], [1, 1, 1, 1]]
    for mask in (np.ones((2, 5)), np.ones((1, 3)), np.ones(3)):
        with pytest.raises(ValueError, match="decoder_attention_mask of shape .* does not fit the decoder prompt"):
            generate(Recording(), np.zeros((2, 0)), config, encoder_decoder=True,
                     inputs={"decoder_input_ids": prompt, "decoder_attention_mask": mask})  # fmt: skip


def test_bad_generation_arguments():
    with pytest.raises(ValueError, match="temperature"):
        sample_tokens(temperature=0.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        GenerationConfig().updated(num_beamz=2)
    with pytest.raises(ValueError, match="decoder_start_token_id"):
        generate(FixedLogits(), np.zeros((1, 1), np.int64), GenerationConfig(max_new_tokens=2),
                 encoder_decoder=True, inputs={})  # fmt: skip



def test_sampling_filters_keep_at_least_min_tokens_to_keep():
    from autoload.generation.processors import warp_for_sampling

    scores = np.log(np.array([[0.05, 0.5, 0.3, 0.15]]))
    kept = lambda **kwargs: np.isfinite(warp_for_sampling(scores, 1.0, **kwargs))[0].tolist()  # noqa: E731
    assert kept(top_k=1, top_p=None) == [False, True, False, False]
    assert kept(top_k=1, top_p=None, min_tokens_to_keep=3) == [False, True, True, True]
    assert kept(top_k=None, top_p=0.1) == [False, True, False, False]
    assert kept(top_k=None, top_p=0.1, min_tokens_to_keep=2) == [False, True, True, False]


def test_beam_sampling_refuses_a_step_with_too_few_possible_candidates():
    # 3 beams draw (1 + one end token) x 3 = 6 candidates; at the first step only the first beam's 4 tokens can be
    # drawn (the others start at -1e9), where transformers' torch.multinomial fails too
    config = GenerationConfig(do_sample=True, num_beams=3, max_new_tokens=3, eos_token_id=0, top_k=0)
    with pytest.raises(ValueError, match="draws 6 candidates per step.*only 4 have a non-zero probability"):
        run(config, rng=np.random.default_rng(0))
    config = GenerationConfig(do_sample=True, num_beams=2, max_new_tokens=3, eos_token_id=0, top_k=0)
    first, again = run(config, rng=np.random.default_rng(5)), run(config, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)

class _Model:
    def __init__(self, **settings):
        self.generation_config = GenerationConfig(max_new_tokens=2, **settings)


@pytest.mark.parametrize("name,value", [
    ("max_time", 1.0), ("stop_strings", ["."]), ("encoder_repetition_penalty", 1.2),
    ("encoder_no_repeat_ngram_size", 2), ("renormalize_logits", True), ("remove_invalid_values", True),
    ("exponential_decay_length_penalty", (2, 1.1)), ("sequence_bias", {(1,): -1.0}), ("token_healing", True),
    ("guidance_scale", 3.0), ("watermarking_config", {"greenlist_ratio": 0.25}), ("penalty_alpha", 0.6),
    ("dola_layers", "high"), ("diversity_penalty", 0.5), ("num_beam_groups", 2), ("force_words_ids", [[1]]),
    ("return_dict_in_generate", True),
])  # fmt: skip
def test_options_that_would_change_the_result_are_refused_not_ignored(name, value):
    """transformers' generation options that autoload's search does not implement: refused from the call and
    from the model's generation config alike, naming the option."""
    with pytest.raises(NotImplementedError, match=name):
        GenerationConfig.for_call(_Model(), None, **{name: value})
    with pytest.raises(NotImplementedError, match=name):
        GenerationConfig.for_call(_Model(**{name: value}), None)
    assert GenerationConfig.for_call(_Model(), None).max_new_tokens == 2  # the defaults pass


@pytest.mark.parametrize("name,value", [("min_p", 0.1), ("typical_p", 0.9), ("epsilon_cutoff", 3e-4),
                                        ("eta_cutoff", 3e-4)])  # fmt: skip
def test_sampling_warpers_are_refused_only_when_sampling(name, value):
    """transformers applies these only with do_sample=True; without sampling they change nothing."""
    assert getattr(GenerationConfig.for_call(_Model(), None, **{name: value}), name) == value
    with pytest.raises(NotImplementedError, match=name):
        GenerationConfig.for_call(_Model(), None, do_sample=True, **{name: value})
    assert GenerationConfig.for_call(_Model(), None, do_sample=True, min_p=0.0).min_p == 0.0  # keeps every token


def test_legacy_model_configs_generation_options_are_checked_too():
    """A config.json holding generation settings (older checkpoints) is read as transformers reads it."""

    class Config:
        num_beams, num_beam_groups, diversity_penalty = 4, 2, 0.5

    model = type("Model", (), {"generation_config": None, "config": Config()})()
    with pytest.raises(NotImplementedError, match="diversity_penalty|num_beam_groups"):
        GenerationConfig.for_call(model, None)
