"""Gradient checkpointing: while training, a model's repeated blocks keep only their inputs and recompute their
activations in the backward pass.

The blocks are the elements of the outermost ModuleLists of alike composite modules: encoder and decoder layers,
a speech feature encoder's conv layers (not a Mixtral layer's experts, which sit inside a checkpointed layer).
Each block's `forward` is replaced by one that goes through `torch.utils.checkpoint.checkpoint` when the block
is training and gradients are on, and is the block's own otherwise.
"""

from __future__ import annotations

import functools

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


def repeated_blocks(model: nn.Module) -> list[nn.Module]:
    blocks: list[nn.Module] = []

    def visit(module: nn.Module) -> None:
        for child in module.children():
            if isinstance(child, nn.ModuleList) and _alike_composites(child):
                blocks.extend(child)
            else:
                visit(child)

    visit(model)
    return blocks


def _alike_composites(modules: nn.ModuleList) -> bool:
    return (len(modules) > 0 and len({type(m) for m in modules}) == 1
            and all(next(m.children(), None) is not None and next(m.parameters(), None) is not None
                    for m in modules))  # fmt: skip


def enable(model: nn.Module, checkpoint_kwargs: dict | None) -> None:
    blocks = repeated_blocks(model)
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no repeated blocks (layers) to checkpoint.")
    options = {"use_reentrant": False, **(checkpoint_kwargs or {})}
    for block in blocks:
        block.forward = functools.partial(_checkpointed, type(block).forward.__get__(block), block, options)


def disable(model: nn.Module) -> None:
    for block in repeated_blocks(model):
        block.__dict__.pop("forward", None)


def is_enabled(model: nn.Module) -> bool:
    return any("forward" in block.__dict__ for block in repeated_blocks(model))


def _checkpointed(forward, block: nn.Module, options: dict, *args, **kwargs):
    if block.training and torch.is_grad_enabled():
        # keyword arguments ride in the function: the reentrant variant takes positional inputs only
        return checkpoint(functools.partial(forward, **kwargs), *args, **options)
    return forward(*args, **kwargs)
