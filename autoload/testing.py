"""Cross-framework checks for users' own test suites: `assert_backends_agree(...)`, and `autoload verify`.

The same checkpoint is loaded in every requested framework that is installed, fed the same inputs
generated from its config (token ids, pixels or audio), and every output field is compared.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import numpy as np

from . import registry
from .auto.config import AutoConfig

_FRAMEWORK_MODULE = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


@dataclass
class BackendReport:
    reference: str
    atol: float
    diffs: dict[str, dict[str, float]] = field(default_factory=dict)  # backend -> field -> max |diff|
    problems: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and all(d <= self.atol for fields in self.diffs.values() for d in fields.values())


def sample_inputs(config, batch: int = 2, seq_len: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs shaped from the config: pixels for vision models, audio for speech, token ids otherwise."""
    rng = np.random.default_rng(seed)
    main = _main_input(config)
    if main == "pixel_values":
        size = config.image_size if isinstance(config.image_size, int) else config.image_size[0]
        channels = getattr(config, "num_channels", 3)
        return {"pixel_values": rng.standard_normal((batch, channels, size, size), dtype=np.float32)}
    if main == "input_features":
        frames = 2 * getattr(config, "max_source_positions", 1500)
        inputs = {"input_features": rng.standard_normal((batch, config.num_mel_bins, frames), dtype=np.float32)}
        inputs["decoder_input_ids"] = np.full((batch, 2), config.decoder_start_token_id or 0, dtype=np.int64)
        return inputs
    if main == "input_values":
        return {"input_values": rng.standard_normal((batch, 4000), dtype=np.float32)}
    vocab = getattr(config, "vocab_size", 100)
    low = 3 if vocab > 10 else 0
    seq_len = min(seq_len, getattr(config, "max_position_embeddings", seq_len) or seq_len)
    ids = rng.integers(low, vocab, (batch, seq_len), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1:, seq_len - 2 :] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    if getattr(config, "type_vocab_size", 0) and config.model_type not in ("roberta",):
        inputs["token_type_ids"] = np.zeros_like(ids)
    if getattr(config, "is_encoder_decoder", False):
        inputs["decoder_input_ids"] = ids[:, :4].copy()
    return inputs


def _main_input(config) -> str:
    if hasattr(config, "num_mel_bins"):
        return "input_features"
    if hasattr(config, "conv_dim"):
        return "input_values"
    if hasattr(config, "image_size") and not hasattr(config, "vocab_size"):
        return "pixel_values"
    return "input_ids"


def _family_of(config) -> str:
    spec = registry.arch_spec(config.model_type)
    if spec is not None:
        by_name = {name: family for family, name in spec.ARCHITECTURES.items()}
        for architecture in config.architectures or []:
            if architecture in by_name:
                return by_name[architecture]
    return "MODEL"


def run_backend(backend: str, name_or_path, config, inputs: dict, **hub_kwargs) -> dict[str, np.ndarray]:
    from .hub import HubOptions
    from .weights import cross_load_flags

    model_class = registry.model_class_for(_family_of(config), backend, config)
    flags = cross_load_flags(name_or_path, backend, HubOptions(**hub_kwargs))
    model = model_class.from_pretrained(name_or_path, config=config, **flags, **hub_kwargs)
    if backend == "torch":
        import torch

        with torch.no_grad():
            output = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, output_hidden_states=True)
    else:
        output = model(**inputs, output_hidden_states=True)
    return flatten_output(output)


def flatten_output(output) -> dict[str, np.ndarray]:
    if not hasattr(output, "items"):  # a bare tensor (SpeechT5HifiGan's waveform)
        return {"output": _numpy(output)}
    flat = {}
    for key, value in output.items():
        if value is None or key == "past_key_values":
            continue
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                flat[f"{key}_{i}"] = _numpy(item)
        elif hasattr(value, "items"):
            flat.update({f"{key}_{k}": v for k, v in flatten_output(value).items()})
        else:
            flat[key] = _numpy(value)
    return flat


def _numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().float()
    return np.asarray(value, dtype=np.float32) if np.asarray(value).dtype.kind == "f" else np.asarray(value)


def compare_backends(name_or_path, backends=("torch", "tf", "flax"), atol: float = 1e-4, inputs=None,
                     **hub_kwargs) -> BackendReport:  # fmt: skip
    hub_kwargs = {k: v for k, v in hub_kwargs.items() if v not in (None, "")}
    config = AutoConfig.from_pretrained(name_or_path, **hub_kwargs)
    inputs = inputs if inputs is not None else sample_inputs(config)
    results, report = {}, None
    for backend in backends:
        backend = backend.strip()
        if importlib.util.find_spec(_FRAMEWORK_MODULE[backend]) is None:
            skipped = f"{_FRAMEWORK_MODULE[backend]} is not installed"
            report = report or BackendReport(reference="", atol=atol)
            report.skipped[backend] = skipped
            continue
        results[backend] = run_backend(backend, name_or_path, config, inputs, **hub_kwargs)
    report = report or BackendReport(reference="", atol=atol)
    if len(results) < 2:
        report.problems.append(f"need at least two installed frameworks to compare, got {sorted(results) or 'none'}")
        return report
    report.reference = next(iter(results))
    reference = results[report.reference]
    for backend, fields in list(results.items())[1:]:
        report.diffs[backend] = {}
        for key, want in reference.items():
            if key not in fields:
                report.problems.append(f"{backend} output has no field {key}")
            elif fields[key].shape != want.shape:
                report.problems.append(f"{backend} {key}: shape {fields[key].shape} != {want.shape}")
            else:
                report.diffs[backend][key] = float(np.max(np.abs(fields[key] - want))) if want.size else 0.0
    return report


def format_report(report: BackendReport) -> str:
    lines = []
    if report.diffs:
        backends = list(report.diffs)
        keys = list(next(iter(report.diffs.values())))
        lines.append(f"{'field':<28}" + "".join(f"{report.reference + ' vs ' + b:>18}" for b in backends))
        for key in keys:
            cells = "".join(f"{report.diffs[b].get(key, float('nan')):>18.2e}" for b in backends)
            lines.append(f"{key:<28}{cells}")
    lines += [f"skipped {b}: {why}" for b, why in report.skipped.items()]
    lines += [f"problem: {p}" for p in report.problems]
    lines.append(f"{'OK' if report.ok else 'MISMATCH'} (atol {report.atol:g})")
    return "\n".join(lines)


def assert_backends_agree(name_or_path, backends=("torch", "tf", "flax"), atol: float = 1e-4, **kwargs) -> BackendReport:
    """Raise AssertionError with the table of differences unless every framework gives the same outputs."""
    report = compare_backends(name_or_path, backends=backends, atol=atol, **kwargs)
    if not report.ok:
        raise AssertionError("frameworks disagree:\n" + format_report(report))
    return report
