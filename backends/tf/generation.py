"""generate() for TF models: one decoding step and cache reordering; the search is autoload's."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload import outputs as out
from autoload.generation import GenerationConfig, decoder_mask_taken, generate, mask_positions, widened_mask
from autoload.generation.first_step import first_step_rows, split_model_options


class TFStepper:
    def __init__(self, model, encoder_decoder: bool = False):
        self.model = model
        self.encoder_decoder = encoder_decoder

    def start(self, inputs: dict, max_length: int) -> dict:
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
            decoder_mask = widened_mask(state["decoder_mask"], ids.shape[1])
            masked = {} if decoder_mask is None else {"decoder_attention_mask": decoder_mask}
            if decoder_mask is not None and getattr(self.model, "decoder_positions_from_mask", False):
                masked["decoder_position_ids"] = mask_positions(decoder_mask)[:, -fed.shape[1] :]
            out = self.model.decode(fed, state["encoder"], attention_mask=state["mask"], past_key_values=state["past"],
                                    **masked)  # fmt: skip
            state = {**state, "past": out.past_key_values, "ids": ids, "decoder_mask": decoder_mask}
            return out.logits[:, -1].numpy().astype(np.float32), state
        mask, past = state["mask"], state["past"]
        if mask is not None and past is not None:
            mask = np.concatenate([mask, np.ones((mask.shape[0], tokens.shape[1]), mask.dtype)], axis=1)
        ids = tokens if state.get("ids") is None else np.concatenate([state["ids"], tokens], axis=1)
        options = {}
        if getattr(self.model, "generation_position_ids", False):  # as in the PyTorch stepper
            seq_len = ids.shape[1] if mask is None else int(mask.sum(-1).max())
            if past is not None and self.model.restarts_cache(state["seq_len"], seq_len):
                past, tokens = None, ids
            if mask is not None:
                options["position_ids"] = mask_positions(mask)[:, -tokens.shape[1] :]
            state = {**state, "seq_len": seq_len}
        if past is None:
            options.update(state.get("first") or {})
            if getattr(self.model, "accepts_logits_to_keep", False):  # the prompt: score its last position only
                options["logits_to_keep"] = 1
        options.update(getattr(self.model, "generation_step_kwargs", {}))
        options.update(state.get("every") or {})
        out = self.model(input_ids=tokens, attention_mask=mask, past_key_values=past, use_cache=True, **options)
        state = {**state, "mask": mask, "ids": ids, "past": out.past_key_values, "first": None}
        return out.logits[:, -1].numpy().astype(np.float32), state

    def select(self, state: dict, rows: np.ndarray) -> dict:
        def take(x):
            return take_rows(x, rows)

        selected = {k: (tf.nest.map_structure(take, v) if v is not None else None) for k, v in state.items()
                    if k != "first"}  # fmt: skip
        if state.get("first") is not None:  # (LLaVA's pixel_values: one row per image)

            def take_first(x):
                return take_rows(x, first_step_rows(rows, x.shape[0])) if hasattr(x, "shape") and x.shape else x

            selected["first"] = tf.nest.map_structure(take_first, state["first"])
        return selected


def take_rows(x, rows: np.ndarray):
    return tf.gather(x, tf.constant(rows)) if tf.is_tensor(x) else (x[rows] if isinstance(x, np.ndarray) else x)


class TFGenerationMixin:
    def generate(self, input_ids=None, attention_mask=None, generation_config: GenerationConfig | None = None,
                 seed: int | None = None, **kwargs):  # fmt: skip
        options = {k: v for k, v in kwargs.items() if not isinstance(v, (np.ndarray, tf.Tensor))}
        kwargs = {k: v for k, v in kwargs.items() if k not in options}
        model_options = split_model_options(self, options)
        config = GenerationConfig.for_call(self, generation_config, **options)
        encoder_decoder = bool(getattr(self.config, "is_encoder_decoder", False))
        arrays = {k: np.asarray(v) for k, v in list(kwargs.items()) if isinstance(v, (np.ndarray, tf.Tensor))}
        main = arrays.pop(self.main_input_name, None) if self.main_input_name != "input_ids" else input_ids
        if main is None:
            raise ValueError(f"generate() needs {self.main_input_name}.")
        inputs = {"attention_mask": None if attention_mask is None else np.asarray(attention_mask), **arrays,
                  **model_options}  # fmt: skip
        if encoder_decoder:
            inputs[self.main_input_name] = np.asarray(main)
        prompt = np.asarray(main) if not encoder_decoder else np.zeros((np.asarray(main).shape[0], 0))
        rng = np.random.default_rng(seed) if config.do_sample else None
        sequences = generate(TFStepper(self, encoder_decoder), prompt, config, encoder_decoder=encoder_decoder,
                             inputs=inputs, rng=rng)  # fmt: skip
        return tf.constant(sequences)


class TFCompiledStep:
    """A causal LM whose eager decoding steps with a cache (what generate() feeds after the prompt) run as one
    tf.function whose signature leaves the batch and the lengths free, so every step of every generate() reuses
    one traced graph (one per cache dtype). Other calls (the prompt, optional outputs, training, labels, a
    cross-attention cache unless cross_attention_caches) run as before. Subclasses say which configs allow it."""

    _STEP_KEYS = frozenset({"input_ids", "attention_mask", "position_ids", "past_key_values", "use_cache", "training",
                            "return_dict"})  # fmt: skip
    cross_attention_caches = False  # True where a step reads each layer's cached cross-attention keys and values
    # (the entries after its first two) without the encoder's states: those ride along, their length free too

    def compiled_step_allowed(self, total: int) -> bool:
        """Whether a step reaching `total` positions computes the same for every length."""
        return True

    def optional_outputs(self) -> dict:
        """Output flags a step may ask for, with their defaults; any of them on means the eager call."""
        return {"output_hidden_states": self.config.output_hidden_states,
                "output_attentions": self.config.output_attentions}  # fmt: skip

    def step_output(self, logits, past_key_values):
        return out.CausalLMOutputWithPast(logits=logits, past_key_values=past_key_values)

    def __call__(self, *args, **kwargs):
        if not args and self._compiles(kwargs):
            return self._compiled_step(kwargs["input_ids"], kwargs.get("attention_mask"), kwargs.get("position_ids"),
                                       kwargs["past_key_values"], kwargs.get("return_dict"))  # fmt: skip
        return super().__call__(*args, **kwargs)

    def _compiles(self, kwargs: dict) -> bool:
        past, ids = kwargs.get("past_key_values"), kwargs.get("input_ids")
        if not tf.executing_eagerly() or ids is None or not past:
            return False
        if any(len(layer) != 2 for layer in past) and not self.cross_attention_caches:
            return False
        if kwargs.get("training") or kwargs.get("use_cache") is False or past[0][0].shape[2] is None:
            return False
        flags = self.optional_outputs()
        if kwargs.keys() - self._STEP_KEYS - flags.keys():
            return False
        if any(default if kwargs.get(flag) is None else kwargs[flag] for flag, default in flags.items()):
            return False
        return self.compiled_step_allowed(past[0][0].shape[2] + np.shape(ids)[1])  # (too long: the eager error)

    def _compiled_step(self, input_ids, attention_mask, position_ids, past, return_dict, extra=None):
        """extra: further tensors the step reads (keyword arguments of call; only their last axis fixed)."""
        first, extra = past[0][0], extra or {}
        key = (first.dtype, len(past), tuple((t.shape[1], t.shape[3]) for t in past[0]),
               tuple((name, t.dtype, len(t.shape), t.shape[-1]) for name, t in sorted(extra.items())))  # fmt: skip
        graphs = self.__dict__.setdefault("_step_graphs", {})
        if key not in graphs:
            ids = tf.TensorSpec([None, None], tf.int64)
            layer = tuple(tf.TensorSpec([None, t.shape[1], None, t.shape[3]], t.dtype) for t in past[0])
            more = {name: tf.TensorSpec([None] * (len(t.shape) - 1) + [t.shape[-1]], t.dtype)
                    for name, t in extra.items()}  # fmt: skip
            signature = [ids, ids, ids, (layer,) * len(past), more]
            graphs[key] = tf.function(self._step_function, input_signature=signature)
        batch, steps = np.shape(input_ids)
        length = first.shape[2]
        if attention_mask is None:  # no padding: every key counts
            attention_mask = np.ones((batch, length + steps), np.int64)
        if position_ids is None:
            position_ids = np.broadcast_to(np.arange(length, length + steps), (batch, steps))
        arrays = [tf.cast(x, tf.int64) for x in (input_ids, attention_mask, position_ids)]
        logits, caches = graphs[key](*arrays, tuple(tuple(layer) for layer in past), extra)
        return out.finish(self.step_output(logits, caches), self.config.return_dict if return_dict is None else return_dict)

    def _step_function(self, input_ids, attention_mask, position_ids, past_key_values, extra):
        """Runs only while TF traces the step."""
        result = self.call(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                           past_key_values=past_key_values, use_cache=True, training=False, return_dict=True,
                           **extra, **getattr(self, "generation_step_kwargs", {}))  # fmt: skip
        return result.logits, tuple(tuple(layer) for layer in result.past_key_values)
