"""generate() for TF models: one decoding step and cache reordering; the search is autoload's."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from autoload.generation import GenerationConfig, generate


class TFStepper:
    def __init__(self, model):
        self.model = model

    def start(self, inputs: dict) -> dict:
        return {"past": None, "mask": inputs.get("attention_mask")}

    def step(self, tokens: np.ndarray, state: dict):
        mask = state["mask"]
        if mask is not None and state["past"] is not None:
            mask = np.concatenate([mask, np.ones((mask.shape[0], tokens.shape[1]), mask.dtype)], axis=1)
            state = {**state, "mask": mask}
        out = self.model(input_ids=tokens, attention_mask=mask, past_key_values=state["past"], use_cache=True)
        return out.logits[:, -1].numpy().astype(np.float32), {**state, "past": out.past_key_values}

    def select(self, state: dict, rows: np.ndarray) -> dict:
        index = tf.constant(rows)

        def take(x):
            return tf.gather(x, index) if tf.is_tensor(x) else (x[rows] if isinstance(x, np.ndarray) else x)

        return {k: (tf.nest.map_structure(take, v) if v is not None else None) for k, v in state.items()}


class TFGenerationMixin:
    def generate(self, input_ids=None, attention_mask=None, generation_config: GenerationConfig | None = None,
                 seed: int | None = None, **kwargs):  # fmt: skip
        config = (generation_config or getattr(self, "generation_config", None)
                  or GenerationConfig.from_model_config(self.config)).updated(**kwargs)  # fmt: skip
        if getattr(self.config, "is_encoder_decoder", False):
            raise NotImplementedError(f"{type(self).__name__}: generation for TF encoder-decoder models is not available yet.")
        if input_ids is None:
            raise ValueError("generate() needs input_ids.")
        prompt = np.asarray(input_ids)
        inputs = {"attention_mask": None if attention_mask is None else np.asarray(attention_mask)}
        rng = np.random.default_rng(seed) if config.do_sample else None
        sequences = generate(TFStepper(self), prompt, config, encoder_decoder=False, inputs=inputs, rng=rng)
        return tf.constant(sequences)
