"""generate() for TF models: one decoding step and cache reordering; the search is autoload's."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload.generation import GenerationConfig, generate, mask_positions


class TFStepper:
    def __init__(self, model, encoder_decoder: bool = False):
        self.model = model
        self.encoder_decoder = encoder_decoder

    def start(self, inputs: dict, max_length: int) -> dict:
        state = {"past": None, "mask": inputs.get("attention_mask")}
        if not self.encoder_decoder:  # other inputs (LLaVA's pixel_values) go to the first step only
            state["first"] = {k: v for k, v in inputs.items() if k != "attention_mask" and v is not None}
        if self.encoder_decoder:
            state["encoder"] = self.model.encode(**{k: v for k, v in inputs.items() if v is not None})
        return state

    def step(self, tokens: np.ndarray, state: dict):
        if self.encoder_decoder:
            out = self.model.decode(tokens, state["encoder"], attention_mask=state["mask"], past_key_values=state["past"])
            return out.logits[:, -1].numpy().astype(np.float32), {**state, "past": out.past_key_values}
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
        out = self.model(input_ids=tokens, attention_mask=mask, past_key_values=past, use_cache=True, **options)
        state = {**state, "mask": mask, "ids": ids, "past": out.past_key_values, "first": None}
        return out.logits[:, -1].numpy().astype(np.float32), state

    def select(self, state: dict, rows: np.ndarray) -> dict:
        index = tf.constant(rows)

        def take(x):
            return tf.gather(x, index) if tf.is_tensor(x) else (x[rows] if isinstance(x, np.ndarray) else x)

        return {k: (tf.nest.map_structure(take, v) if v is not None else None) for k, v in state.items()}


class TFGenerationMixin:
    def generate(self, input_ids=None, attention_mask=None, generation_config: GenerationConfig | None = None,
                 seed: int | None = None, **kwargs):  # fmt: skip
        options = {k: v for k, v in kwargs.items() if not isinstance(v, (np.ndarray, tf.Tensor))}
        kwargs = {k: v for k, v in kwargs.items() if k not in options}
        config = GenerationConfig.for_call(self, generation_config, **options)
        encoder_decoder = bool(getattr(self.config, "is_encoder_decoder", False))
        arrays = {k: np.asarray(v) for k, v in list(kwargs.items()) if isinstance(v, (np.ndarray, tf.Tensor))}
        main = arrays.pop(self.main_input_name, None) if self.main_input_name != "input_ids" else input_ids
        if main is None:
            raise ValueError(f"generate() needs {self.main_input_name}.")
        inputs = {"attention_mask": None if attention_mask is None else np.asarray(attention_mask), **arrays}
        if encoder_decoder:
            inputs[self.main_input_name] = np.asarray(main)
        prompt = np.asarray(main) if not encoder_decoder else np.zeros((np.asarray(main).shape[0], 0))
        rng = np.random.default_rng(seed) if config.do_sample else None
        sequences = generate(TFStepper(self, encoder_decoder), prompt, config, encoder_decoder=encoder_decoder,
                             inputs=inputs, rng=rng)  # fmt: skip
        return tf.constant(sequences)
