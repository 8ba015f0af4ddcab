"""generate() for PyTorch models: one decoding step and cache reordering; the search is autoload's."""

from __future__ import annotations

import numpy as np
import torch

from autoload.generation import GenerationConfig, generate
from autoload.generation.first_step import first_step_rows, split_model_options


def _map_tensors(value, fn):
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_map_tensors(v, fn) for v in value)
    if isinstance(value, dict):  # ModelOutput (the encoder's output) included
        return type(value)(**{k: _map_tensors(v, fn) for k, v in value.items()})
    return value


class TorchStepper:
    """Feeds a PyTorch model one step at a time, keeping its key/value cache and the attention mask."""

    def __init__(self, model, encoder_decoder: bool):
        self.model = model
        self.encoder_decoder = encoder_decoder

    def start(self, inputs: dict, max_length: int) -> dict:
        device = self.model.device
        tensors = {k: torch.as_tensor(v, device=device) if isinstance(v, np.ndarray) else v
                   for k, v in inputs.items() if v is not None}  # (a model's options stay as they are)
        state = {"past": None, "mask": tensors.get("attention_mask")}
        if not self.encoder_decoder:  # other inputs (LLaVA's pixel_values) go to the first step only
            state["first"] = {k: v for k, v in tensors.items() if k != "attention_mask"}
            every = getattr(self.model, "generation_every_step_inputs", ())  # (GPT-2's encoder states)
            state["every"] = {k: v for k, v in state["first"].items() if k in every}
        if self.encoder_decoder:
            encoder_inputs = {k: v for k, v in tensors.items() if not k.startswith("decoder_")}
            with torch.no_grad():
                state["encoder"] = self.model.get_encoder()(**encoder_inputs)
            state["decoder_mask"] = tensors.get("decoder_attention_mask")
        return state

    def step(self, tokens: np.ndarray, state: dict):
        tokens = torch.as_tensor(tokens, device=self.model.device)
        with torch.no_grad():
            if self.encoder_decoder:
                ids = tokens if state.get("ids") is None else torch.cat([state["ids"], tokens], dim=1)
                fed = ids if state["past"] is None else tokens  # a decoder without a cache (BERT) sees every token
                decoder_mask = state["decoder_mask"]
                masked = {}
                if decoder_mask is not None:  # (every key so far: the prompt's, then a 1 for each new token)
                    grown = decoder_mask.new_ones(decoder_mask.shape[0], ids.shape[1] - decoder_mask.shape[1])
                    decoder_mask = masked["decoder_attention_mask"] = torch.cat([decoder_mask, grown], dim=1)
                    if getattr(self.model, "decoder_positions_from_mask", False):  # (Whisper, as in transformers)
                        masked["decoder_position_ids"] = _mask_positions(decoder_mask)[:, -fed.shape[1] :]
                out = self.model(encoder_outputs=state["encoder"], attention_mask=state["mask"],
                                 decoder_input_ids=fed, past_key_values=state["past"], use_cache=True,
                                 **masked)  # fmt: skip
            else:
                return self._decoder_step(tokens, state)
        state = {**state, "past": out.past_key_values, "ids": ids, "decoder_mask": decoder_mask}
        return out.logits[:, -1].float().cpu().numpy(), state

    def _decoder_step(self, tokens: torch.Tensor, state: dict):
        """A decoder-only step. Models that declare `generation_position_ids` get positions counted from the
        attention mask (left padding does not shift them), and one whose rope changes with the length
        (`restarts_cache`, Phi-3 long-rope) recomputes its cache from all tokens when that happens."""
        mask, past = state["mask"], state["past"]
        if mask is not None and past is not None:
            mask = torch.cat([mask, mask.new_ones(mask.shape[0], tokens.shape[1])], dim=1)
        ids = tokens if state.get("ids") is None else torch.cat([state["ids"], tokens], dim=1)
        options = {}
        if getattr(self.model, "generation_position_ids", False):
            seq_len = ids.shape[1] if mask is None else int(mask.sum(-1).max())
            if past is not None and self.model.restarts_cache(state["seq_len"], seq_len):
                past, tokens = None, ids
            if mask is not None:
                options["position_ids"] = _mask_positions(mask)[:, -tokens.shape[1] :]
            state = {**state, "seq_len": seq_len}
        if past is None:
            options.update(state.get("first") or {})
            if getattr(self.model, "accepts_logits_to_keep", False):  # the prompt: score its last position only
                options["logits_to_keep"] = 1
        options.update(getattr(self.model, "generation_step_kwargs", {}))
        options.update(state.get("every") or {})
        out = self.model(input_ids=tokens, attention_mask=mask, past_key_values=past, use_cache=True, **options)
        state = {**state, "mask": mask, "ids": ids, "past": out.past_key_values, "first": None}
        return out.logits[:, -1].float().cpu().numpy(), state

    def select(self, state: dict, rows: np.ndarray) -> dict:
        index = torch.as_tensor(rows, dtype=torch.long, device=self.model.device)
        selected = {key: _map_tensors(value, lambda t: t.index_select(0, index)) for key, value in state.items()
                    if key != "first"}  # fmt: skip
        if state.get("first") is not None:  # (LLaVA's pixel_values: one row per image)

            def take(t):
                return t.index_select(0, torch.as_tensor(first_step_rows(rows, t.shape[0]), device=t.device))

            selected["first"] = {key: _map_tensors(value, take) for key, value in state["first"].items()}
        return selected


class GenerationMixin:
    """Adds generate() to PyTorch models that return next-token logits."""

    def generate(self, input_ids=None, attention_mask=None, generation_config: GenerationConfig | None = None,
                 seed: int | None = None, **kwargs):  # fmt: skip
        options = {k: kwargs.pop(k) for k in list(kwargs) if not isinstance(kwargs[k], (torch.Tensor, np.ndarray))}
        kwargs.update(split_model_options(self, options))
        config = GenerationConfig.for_call(self, generation_config, **options)
        encoder_decoder = bool(getattr(self.config, "is_encoder_decoder", False))
        main = kwargs.pop(self.main_input_name, None) if self.main_input_name != "input_ids" else None
        if input_ids is None and main is None:
            raise ValueError(f"generate() needs {self.main_input_name}.")
        inputs = {"attention_mask": attention_mask, **kwargs}
        if encoder_decoder:
            inputs[self.main_input_name] = main if main is not None else input_ids
        batch = (main if main is not None else input_ids).shape[0]
        prompt = np.asarray(input_ids) if input_ids is not None and not encoder_decoder else np.zeros((batch, 0))
        rng = np.random.default_rng(seed) if config.do_sample else None
        was_training = self.training
        self.eval()
        try:
            sequences = generate(TorchStepper(self, encoder_decoder), prompt, config, encoder_decoder=encoder_decoder,
                                 inputs={k: _numpy(v) for k, v in inputs.items()}, rng=rng)  # fmt: skip
        finally:
            self.train(was_training)
        return torch.from_numpy(sequences).to(self.device)


def _mask_positions(mask: torch.Tensor) -> torch.Tensor:
    """autoload.generation.mask_positions on a tensor: positions counting real tokens only, padding at 1."""
    return (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)


def _numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value
