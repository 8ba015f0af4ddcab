"""generate() for Flax models: one decoding step and cache reordering; the search is autoload's."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from autoload import outputs as out
from autoload.generation import GenerationConfig, decoder_mask_taken, generate, mask_positions, widened_mask
from autoload.generation.first_step import first_step_rows, split_model_options

from .attention import StaticCache, key_width, to_static

CACHE_BUCKET = 64  # static caches hold a multiple of this many positions


class FlaxStepper:
    """Feeds a Flax model one step at a time. With `static`, the self-attention cache moves after the prompt
    into buffers for max_length positions, rounded up to CACHE_BUCKET (and a decoder-only attention mask
    is padded to match), so every later step has the same shapes and reuses what JAX compiled for the one
    before."""

    def __init__(self, model, encoder_decoder: bool, static: bool = True):
        self.model = model
        self.encoder_decoder = encoder_decoder
        self.static = static
        self.capacity = None

    def start(self, inputs: dict, max_length: int) -> dict:
        if self.static:
            self.capacity = -(-max_length // CACHE_BUCKET) * CACHE_BUCKET  # similar lengths share compiled shapes
        state = {"past": None, "mask": inputs.get("attention_mask")}
        if not self.encoder_decoder:  # other inputs (LLaVA's pixel_values) go to the first step only
            state["first"] = {k: v for k, v in inputs.items() if k != "attention_mask" and v is not None}
            every = getattr(self.model, "generation_every_step_inputs", ())  # (GPT-2's encoder states)
            state["every"] = {k: v for k, v in state["first"].items() if k in every}
        if self.encoder_decoder:
            state["decoder_mask"] = decoder_mask_taken(self.model, inputs)
            state["encoder"] = self.model.encode(**{k: v for k, v in inputs.items()
                                                    if v is not None and not k.startswith("decoder_")})  # fmt: skip
        return state

    def step(self, tokens: np.ndarray, state: dict):
        if self.encoder_decoder:
            ids = tokens if state.get("ids") is None else np.concatenate([state["ids"], tokens], axis=1)
            fed = ids if state["past"] is None else tokens  # a decoder without a cache (BERT) sees every token
            past = state["past"]  # a static cache's keys are its whole buffer: the mask covers them all
            keys = ids.shape[1] if past is None else key_width(past, ids.shape[1])
            decoder_mask = widened_mask(state["decoder_mask"], keys)
            masked = {} if decoder_mask is None else {"decoder_attention_mask": decoder_mask}
            if decoder_mask is not None and getattr(self.model, "decoder_positions_from_mask", False):
                masked["decoder_position_ids"] = mask_positions(decoder_mask[:, : ids.shape[1]])[:, -fed.shape[1] :]
            state = {**state, "ids": ids, "decoder_mask": decoder_mask}
            out = self.model.decode(fed, state["encoder"], attention_mask=state["mask"], past_key_values=past,
                                    **masked)  # fmt: skip
        else:
            past = state["past"]
            total = (past[0][0].shape[1] if past is not None else 0) + tokens.shape[1]
            if past is not None:  # the mask covers every key position: the new tokens, or the static cache
                state = {**state, "mask": widened_mask(state["mask"], key_width(past, total))}
            ids = tokens if state.get("ids") is None else np.concatenate([state["ids"], tokens], axis=1)
            mask, options = state["mask"], {}
            if getattr(self.model, "generation_position_ids", False):  # as in the PyTorch stepper
                seq_len = ids.shape[1] if mask is None else int(mask[:, :total].sum(-1).max())
                if past is not None and self.model.restarts_cache(state["seq_len"], seq_len):
                    past, tokens, mask = None, ids, None if mask is None else mask[:, :total]
                if mask is not None:
                    options["position_ids"] = mask_positions(mask[:, :total])[:, -tokens.shape[1] :]
                state = {**state, "seq_len": seq_len}
            if past is None:
                options.update(state.get("first") or {})
                if getattr(self.model, "accepts_logits_to_keep", False):  # the prompt: score its last position only
                    options["logits_to_keep"] = 1
            options.update(getattr(self.model, "generation_step_kwargs", {}))
            options.update(state.get("every") or {})
            state = {**state, "ids": ids, "mask": mask, "first": None}
            out = self.model(input_ids=tokens, attention_mask=mask, past_key_values=past, use_cache=True, **options)
        past = out.past_key_values
        if self.capacity and past and not isinstance(past[0][0], StaticCache) and past[0][0].shape[1] < self.capacity:
            past = to_static(past, self.capacity)
            if not self.encoder_decoder:
                state = {**state, "mask": widened_mask(state["mask"], self.capacity)}
        return np.asarray(out.logits[:, -1], dtype=np.float32), {**state, "past": past}

    def select(self, state: dict, rows: np.ndarray) -> dict:
        index = jnp.asarray(rows)
        selected = {k: _map_arrays(v, lambda x: jnp.take(x, index, axis=0)) for k, v in state.items() if k != "first"}
        if state.get("first") is not None:  # (LLaVA's pixel_values: one row per image)
            selected["first"] = {k: _map_arrays(v, lambda x: jnp.take(x, first_step_rows(rows, x.shape[0]), axis=0))
                                 for k, v in state["first"].items()}  # fmt: skip
        return selected


def _map_arrays(value, fn):
    """fn on every array in nested tuples, lists and dicts, ModelOutputs included (jax's tree_map would
    treat those dict subclasses as leaves)."""
    if isinstance(value, (jax.Array, np.ndarray)):
        return fn(value)
    if isinstance(value, StaticCache):
        return StaticCache(fn(value.buffer), value.length)
    if isinstance(value, (tuple, list)):
        return type(value)(_map_arrays(v, fn) for v in value)
    if isinstance(value, dict):
        return type(value)(**{k: _map_arrays(v, fn) for k, v in value.items()})
    return value


class FlaxGenerationMixin:
    def generate(self, input_ids=None, attention_mask=None, generation_config: GenerationConfig | None = None,
                 seed: int | None = None, prng_key=None, **kwargs):  # fmt: skip
        arrays = {k: kwargs.pop(k) for k in list(kwargs) if isinstance(kwargs[k], (np.ndarray, jax.Array))}
        arrays.update(split_model_options(self, kwargs))
        config = GenerationConfig.for_call(self, generation_config, **kwargs)
        encoder_decoder = bool(getattr(self.config, "is_encoder_decoder", False))
        inputs = {"attention_mask": None if attention_mask is None else np.asarray(attention_mask), **arrays}
        if encoder_decoder:
            inputs.setdefault(self.main_input_name, input_ids)
        main = inputs.get(self.main_input_name) if encoder_decoder else input_ids
        if main is None:
            raise ValueError(f"generate() needs {self.main_input_name}.")
        prompt = np.asarray(input_ids) if not encoder_decoder else np.zeros((np.asarray(main).shape[0], 0))
        if prng_key is not None and seed is None:
            seed = int(jax.random.randint(prng_key, (), 0, 2**31 - 1))
        rng = np.random.default_rng(seed) if config.do_sample else None
        sequences = generate(FlaxStepper(self, encoder_decoder, static=config.use_cache), prompt, config,
                             encoder_decoder=encoder_decoder, inputs=inputs, rng=rng)  # fmt: skip
        return jnp.asarray(sequences)


class FlaxCompiledStep:
    """A causal LM whose decoding steps into a static cache (what generate() feeds after the prompt) run as one
    jitted function with the cache length as a traced argument, so every step of every generate() with the
    same batch size, cache capacity and dtype reuses one compiled program. Other calls (the prompt, optional
    outputs, training, a cross-attention cache unless cross_attention_caches) run as before. Subclasses say which
    configs allow it."""

    cross_attention_caches = False  # True where a step reads each layer's cached cross-attention keys and values
    # (the entries after its first two) without the encoder's states: those ride along as fixed-size arrays

    def compiled_step_allowed(self, total: int) -> bool:
        """Whether a step filling the cache to `total` positions computes the same for every length."""
        return True

    def optional_outputs(self) -> dict:
        """Output flags a step may ask for, with their defaults; any of them on means the eager call."""
        return {"output_hidden_states": self.config.output_hidden_states,
                "output_attentions": self.config.output_attentions}  # fmt: skip

    def step_output(self, logits, past_key_values):
        return out.CausalLMOutputWithPast(logits=logits, past_key_values=past_key_values)

    def __call__(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=None, position_ids=None,
                 params=None, train: bool = False, **kwargs):  # fmt: skip
        if self._compiles(input_ids, past_key_values, use_cache, train, kwargs):
            return self._compiled_step(input_ids, attention_mask, position_ids, past_key_values, params)
        return super().__call__(input_ids, attention_mask=attention_mask, past_key_values=past_key_values,
                                use_cache=use_cache, position_ids=position_ids, params=params, train=train,
                                **kwargs)  # fmt: skip

    def _compiles(self, input_ids, past, use_cache, train, kwargs) -> bool:
        if train or input_ids is None or use_cache is False or not past or not isinstance(past[0][0], StaticCache):
            return False
        if any(len(layer) != 2 for layer in past) and not self.cross_attention_caches:
            return False
        total = past[0][0].length + np.shape(input_ids)[1]
        if total > past[0][0].capacity or not self.compiled_step_allowed(total):
            return False  # (the eager call says what is too long)
        flags = self.optional_outputs()
        if kwargs.keys() - {*flags, "return_dict"} or kwargs.get("return_dict") is False:
            return False
        return not any(default if kwargs.get(flag) is None else kwargs[flag] for flag, default in flags.items())

    def _compiled_step(self, input_ids, attention_mask, position_ids, past, params, extra=None):
        """extra: further arrays the step reads (keyword arguments of step_apply; traced too)."""
        if getattr(self, "_jitted_step", None) is None:
            self._jitted_step = jax.jit(self._step_function)
        length = past[0][0].length
        batch, steps = np.shape(input_ids)
        if attention_mask is None:  # no padding: every key counts (the causal bias hides the unwritten ones)
            attention_mask = np.ones((batch, past[0][0].capacity), np.int32)
        if position_ids is None:
            position_ids = np.broadcast_to(np.arange(length, length + steps), (batch, steps))
        ids = (np.asarray(x, np.int32) for x in (input_ids, attention_mask, position_ids))  # (numpy: no eager op)
        buffers = tuple((layer[0].buffer, layer[1].buffer, *layer[2:]) for layer in past)
        logits, buffers = self._jitted_step(self.params if params is None else params, *ids, buffers,
                                            np.int32(length), extra or {})  # fmt: skip
        caches = tuple((StaticCache(k, length + steps), StaticCache(v, length + steps), *cross)
                       for k, v, *cross in buffers)  # fmt: skip
        return self.step_output(logits, caches)

    def _step_function(self, params, input_ids, attention_mask, position_ids, buffers, length, extra):
        """Runs only while JAX traces the step."""
        past = tuple((StaticCache(k, length), StaticCache(v, length), *cross) for k, v, *cross in buffers)
        logits, caches = self.step_apply(params, input_ids, attention_mask, position_ids, past, **extra)
        return logits, tuple((layer[0].buffer, layer[1].buffer, *layer[2:]) for layer in caches)

    def step_apply(self, params, input_ids, attention_mask, position_ids, past_key_values):
        """(logits, caches) of one step with a cache, as the module computes them (traced)."""
        options = {"attention_mask": attention_mask, "position_ids": position_ids, "past_key_values": past_key_values}
        options.update(getattr(self, "generation_step_kwargs", {}))  # (router logits off: a step returns none)
        result = self.module.apply({"params": params}, input_ids, use_cache=True, **options)
        return result.logits, result.past_key_values
