"""Which mesh axes each parameter is split over when a model loads onto several devices.

A partition rule is (regex over the canonical parameter name, spec). The spec names, per axis of the tensor in
its canonical (PyTorch state-dict) layout, the mesh axis it is split over (None: not split; a tuple of names:
split over those axes together), like jax.sharding.PartitionSpec, which may be passed as the spec. A Linear
weight is [out, in], so ("model", None) splits the outputs (column parallel) and (None, "model") the inputs
(row parallel), whatever the framework stores; the Flax loader permutes the spec onto its kernels. The first
rule whose regex matches (re.search) wins; a parameter no rule matches is replicated on every device.
Backend-neutral: no framework is imported here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

MODEL = "model"
DATA = "data"

_COLUMN = r"(q_proj|k_proj|v_proj|gate_proj|up_proj|attention\.self\.(query|key|value)|intermediate\.dense)"
_ROW = r"(o_proj|down_proj|(attention\.)?output\.dense)"


def default_partition_rules(fsdp: bool = False, model_axis: str = MODEL, data_axis: str = DATA) -> list[tuple]:
    """Tensor parallelism for the decoder family (Llama, Mistral, Qwen2, Gemma, Phi-3, ...: q/k/v, gate and up
    projections split by output, o and down projections by input, embeddings and lm_head by vocabulary) and the
    encoder family (BERT-like: query/key/value and intermediate by output, the attention and layer outputs by
    input, word embeddings and the MLM bias by vocabulary); norms, biases of row-parallel layers, position and
    token-type embeddings replicated. fsdp=True also splits each of those weights' other axis over data_axis."""
    m, d = model_axis, (data_axis if fsdp else None)
    return [
        (_COLUMN + r"\.weight$", (m, d)),
        (_COLUMN + r"\.bias$", (m,)),
        (_ROW + r"\.weight$", (d, m)),
        (r"(embed_tokens|word_embeddings)\.weight$", (m, d)),
        (r"lm_head\.weight$", (m, d)),
        (r"predictions\.(decoder\.)?bias$", (m,)),
        (r"predictions\.decoder\.weight$", (m, d)),
    ]


def _axes_of(entry) -> tuple[str, ...]:
    if entry is None:
        return ()
    return tuple(entry) if isinstance(entry, (tuple, list)) else (entry,)


def check_rules(rules) -> list[tuple[re.Pattern, tuple]]:
    """The rules compiled, or a ValueError saying what a rule should look like."""
    compiled = []
    for rule in rules:
        if not (isinstance(rule, (tuple, list)) and len(rule) == 2 and isinstance(rule[0], (str, re.Pattern))):
            raise ValueError(
                f"partition rule {rule!r} is not (regex over the canonical parameter name, PartitionSpec), e.g. "
                "(r'q_proj\\.weight$', PartitionSpec('model', None))."
            )
        pattern, spec = rule
        try:
            compiled.append((re.compile(pattern), tuple(spec)))
        except re.error as error:
            raise ValueError(f"partition rule {pattern!r}: not a regular expression ({error}).") from None
        except TypeError:
            raise ValueError(f"partition rule {pattern!r}: the spec {spec!r} is not a PartitionSpec or tuple "
                             "of mesh axis names.") from None  # fmt: skip
    return compiled


def spec_for(name: str, shape: Sequence[int], rules: Iterable[tuple[re.Pattern, tuple]],
             axis_sizes: Mapping[str, int]) -> tuple:  # fmt: skip
    """The spec (one entry per canonical axis) of parameter `name`, checked against the mesh: every axis it
    names exists, and each split dimension is a multiple of the devices it is split over."""
    matched = next(((pattern, spec) for pattern, spec in rules if pattern.search(name)), None)
    if matched is None:
        return (None,) * len(shape)
    pattern, spec = matched
    if len(spec) > len(shape):
        raise ValueError(
            f"partition rule {pattern.pattern!r} gives {name} (shape {tuple(shape)}) the spec {spec}, which has more "
            f"entries than the parameter has axes; write one entry per axis of its canonical (PyTorch) layout."
        )
    spec = tuple(spec) + (None,) * (len(shape) - len(spec))
    for axis, (size, entry) in enumerate(zip(shape, spec)):
        names = _axes_of(entry)
        unknown = [n for n in names if n not in axis_sizes]
        if unknown:
            raise ValueError(
                f"partition rule {pattern.pattern!r} splits {name} over mesh axis {unknown[0]!r}, but the mesh has "
                f"only {list(axis_sizes)}. Name the mesh axes {MODEL!r} (and {DATA!r}) or pass partition_rules "
                "that use your mesh's axis names."
            )
        parts = math.prod(axis_sizes[n] for n in names)
        if size % parts:
            raise ValueError(
                f"{name} has shape {tuple(shape)}: its axis {axis} ({size}) cannot be split evenly over mesh axes "
                f"{names} ({parts} devices), as partition rule {pattern.pattern!r} asks. Use a mesh whose axis "
                f"sizes divide it, or pass partition_rules with a rule for {name} that replicates that axis."
            )
    return spec
