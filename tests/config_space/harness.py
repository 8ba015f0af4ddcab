"""Run one random config in every framework and compare every output field (the drift detector).

For a Draw: build the PyTorch model of each requested head from the config, give every weight random
values (so no bias or norm keeps a default that would hide a field being ignored), save it as
safetensors, load that folder in TensorFlow and Flax, feed all three the same inputs and compare every
output field (logits, hidden states, attentions, ...) within atol. Then each framework saves in its own
format and reloads, and must reproduce its outputs. With AUTOLOAD_PARITY=1 and transformers 4.57.6
importable, transformers' own PyTorch class is run on the same folder too: the ground truth.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from autoload import registry
from autoload.auto.config import AutoConfig
from autoload.families import CLASS_PREFIX, FAMILIES
from autoload.testing import flatten_output, sample_inputs

FRAMEWORKS = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
NATIVE_FORMAT = {"torch": {"safe_serialization": False}, "tf": {}, "flax": {}}


@dataclass
class Draw:
    """One random config of one architecture, and what to run on it."""

    model_type: str
    config: dict
    families: tuple[str, ...] = ("MODEL",)
    classes: tuple[str, ...] = ()  # PyTorch names of classes no Auto family builds (GPT2DoubleHeadsModel)
    inputs: Callable | None = None  # (config, rng) -> dict of numpy inputs; default: autoload.testing.sample_inputs
    call_kwargs: dict = field(default_factory=lambda: {"output_hidden_states": True})
    atol: float = 1e-4
    # Run the Flax model under jax.jit (one compiled program instead of one per operation): only for models whose
    # Flax code takes no other path when traced (no check or branch on jax.core.Tracer, no data-dependent shape).
    jit_flax: bool = False


def installed(backend: str) -> bool:
    return importlib.util.find_spec(FRAMEWORKS[backend]) is not None


def class_for(entry: str, backend: str, config):
    """The class of a family (MODEL_FOR_…) or, by its PyTorch name, of a class outside the families."""
    if entry in FAMILIES:
        return registry.model_class_for(entry, backend, config)
    return registry.import_model_class(backend, config.model_type, CLASS_PREFIX[backend] + entry)


def make_inputs(draw: Draw, config, family: str, rng) -> dict:
    inputs = draw.inputs(config, rng) if draw.inputs else sample_inputs(config, seed=int(rng.integers(1 << 30)))
    if family == "MODEL_FOR_MULTIPLE_CHOICE":  # [batch, choices, length]: two choices
        inputs = {k: np.stack([v, v[::-1]], axis=1) if v.ndim == 2 else v for k, v in inputs.items()}
    return inputs


def randomised_torch_model(model_class, config, seed: int):
    """The PyTorch model of `config` with every floating-point weight drawn at random."""
    import torch

    torch.manual_seed(seed)
    model = model_class.from_config(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
        for name, buffer in model.named_buffers():
            if name.endswith("running_var"):
                buffer.uniform_(0.5, 1.5)
            elif name.endswith("running_mean"):
                buffer.normal_(0.0, 0.1)
    return model.eval()


def run(model, backend: str, inputs: dict, call_kwargs: dict, jit: bool = False) -> dict[str, np.ndarray]:
    if backend == "torch":
        import torch

        with torch.no_grad():
            output = model(**{k: torch.from_numpy(np.asarray(v)) for k, v in inputs.items()}, **call_kwargs)
    elif backend == "flax" and jit:
        output = _jitted_flax_forward(model, inputs, call_kwargs)(model.params, inputs)
    else:
        output = model(**inputs, **call_kwargs)
    return flatten_output(output)


# The Flax forwards of the current draw, compiled (check_draw empties it). Called op by op, a Flax model compiles
# every JAX operation for its shapes (MaskFormer: ~420 programs, ~20 s); under jax.jit it is one (~8 s). The key is
# everything the module is built from (class, dtype, full config) and the inputs' signature, so a model reloaded from
# its own save reuses the program only when its config came back whole; its parameters are always its own.
_FLAX_FORWARDS: dict = {}


def _jitted_flax_forward(model, inputs: dict, call_kwargs: dict):
    import jax

    signature = tuple((k, np.shape(v), np.asarray(v).dtype.str) for k, v in sorted(inputs.items()))
    key = (type(model), str(model.dtype), model.config.to_json_string(use_diff=False), signature,
           repr(sorted(call_kwargs.items())))  # fmt: skip
    if key not in _FLAX_FORWARDS:

        def forward(params, arrays):
            return output_tree(model(**arrays, params=params, **call_kwargs))

        _FLAX_FORWARDS[key] = jax.jit(forward)
    return _FLAX_FORWARDS[key]


def output_tree(output):
    """A model output as nested dicts of arrays (what a function under jax.jit can return), without what
    flatten_output skips; flatten_output reads it as it reads the output."""
    if not hasattr(output, "items"):
        return output
    return {k: output_tree(v) for k, v in output.items() if v is not None and k != "past_key_values"}


def compare(reference: dict, other: dict, atol: float, what: str) -> list[str]:
    problems = []
    for key, want in reference.items():
        if key not in other:
            problems.append(f"{what}: no field {key} (has {sorted(other)})")
            continue
        got = other[key]
        if got.shape != want.shape:
            problems.append(f"{what}: {key} has shape {got.shape}, expected {want.shape}")
        elif want.size and np.max(np.abs(got.astype(np.float64) - want)) > atol:
            problems.append(f"{what}: {key} differs by {np.max(np.abs(got.astype(np.float64) - want)):.3g}")
    extra = sorted(set(other) - set(reference))
    if extra:
        problems.append(f"{what}: fields the reference does not return: {extra}")
    return problems


def check_draw(draw: Draw, seed: int, workdir, round_trip: bool = True) -> list[str]:
    """Every framework (and transformers, when asked) on one draw; returns the problems found."""
    rng = np.random.default_rng(seed)
    config = AutoConfig.for_model(draw.model_type, **draw.config)
    _FLAX_FORWARDS.clear()
    problems = []
    for family in draw.families + draw.classes:
        folder = os.path.join(workdir, family.lower())
        model_class = class_for(family, "torch", config)
        torch_model = randomised_torch_model(model_class, config, seed)
        torch_model.save_pretrained(folder, safe_serialization=True)
        inputs = make_inputs(draw, config, family, rng)
        label = f"{draw.model_type} {model_class.__name__} seed={seed}"
        reference = run(torch_model, "torch", inputs, draw.call_kwargs)
        models, outputs = {"torch": torch_model}, {"torch": reference}
        for backend in ("tf", "flax"):
            if not installed(backend):
                continue
            models[backend] = class_for(family, backend, config).from_pretrained(folder)
            outputs[backend] = run(models[backend], backend, inputs, draw.call_kwargs, draw.jit_flax)
            problems += compare(reference, outputs[backend], draw.atol, f"{label} {backend} vs torch")
        if os.environ.get("AUTOLOAD_PARITY") == "1" and importlib.util.find_spec("transformers"):
            problems += compare(transformers_outputs(model_class.__name__, folder, inputs, draw.call_kwargs),
                                reference, draw.atol, f"{label} autoload torch vs transformers")  # fmt: skip
        if round_trip:
            problems += round_trips(models, outputs, inputs, draw, folder, label, rng)
    return problems


def round_trips(models: dict, outputs: dict, inputs: dict, draw: Draw, folder: str, label: str, rng) -> list[str]:
    """One framework (chosen by the draw's rng) saves in its native format and reloads; safetensors written
    by another framework reload in PyTorch. outputs: each model's outputs on `inputs` (from check_draw)."""
    problems = []
    backend = list(models)[int(rng.integers(len(models)))]
    model = models[backend]
    before = outputs[backend]
    native = folder + f"-{backend}-native"
    model.save_pretrained(native, **NATIVE_FORMAT[backend])
    again = type(model).from_pretrained(native)
    problems += compare(before, run(again, backend, inputs, draw.call_kwargs, draw.jit_flax), draw.atol,
                        f"{label} {backend} reload")  # fmt: skip
    if backend != "torch":
        safe = folder + f"-{backend}-safetensors"
        model.save_pretrained(safe, safe_serialization=True)
        torch_again = type(models["torch"]).from_pretrained(safe)
        problems += compare(outputs["torch"], run(torch_again, "torch", inputs, draw.call_kwargs), draw.atol,
                            f"{label} torch from {backend}'s safetensors")  # fmt: skip
    return problems


def transformers_outputs(class_name: str, folder: str, inputs: dict, call_kwargs: dict) -> dict:
    import torch
    import transformers

    model = getattr(transformers, class_name).from_pretrained(folder, attn_implementation="eager").eval()
    with torch.no_grad():
        output = model(**{k: torch.from_numpy(np.asarray(v)) for k, v in inputs.items()}, **call_kwargs)
    return flatten_output(output)
