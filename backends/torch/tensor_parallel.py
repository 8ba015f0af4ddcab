"""Tensor-parallel loading (from_pretrained(..., tp_plan="auto" or {module pattern: style})) under torch.distributed.

The model is built on the meta device, torch's parallel styles (ColwiseParallel, RowwiseParallel) are applied to the
planned modules, which turns their weights into meta DTensors with Shard/Replicate placements, and each rank then
reads only its own slice of every split weight from the checkpoint and wraps it with DTensor.from_local. Modules
outside the plan are ordinary tensors, whole on every rank.
"""

from __future__ import annotations

import fnmatch
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh
from torch.distributed.tensor import DTensor, Replicate, Shard
from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

STYLES = ("colwise", "rowwise", "colwise_rep", "rowwise_rep", "replicate")
# tp_plan="auto": the decoder family's projections (transformers' plan for Llama-like models) by module name.
AUTO_PLAN = {"q_proj": "colwise", "k_proj": "colwise", "v_proj": "colwise", "gate_proj": "colwise",
             "up_proj": "colwise", "o_proj": "rowwise", "down_proj": "rowwise", "embed_tokens": "rowwise",
             "lm_head": "colwise_rep"}  # fmt: skip


def device_mesh_for(device_mesh: DeviceMesh | None) -> DeviceMesh:
    """The 1-D mesh of every rank: the one given, else one over the default process group (initialised from
    torchrun's environment when nobody did yet: gloo on CPU, nccl with GPUs)."""
    if device_mesh is not None:
        if device_mesh.ndim != 1:
            raise ValueError(f"device_mesh must be one-dimensional for tensor parallelism, got {device_mesh.ndim} "
                             "dimensions; pass its tensor-parallel sub-mesh (mesh['tp']).")  # fmt: skip
        return device_mesh
    if not dist.is_initialized():
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            raise RuntimeError(
                "tp_plan needs torch.distributed: launch the script with `torchrun --nproc-per-node N script.py` "
                "(or call torch.distributed.init_process_group first, or pass device_mesh=)."
            )
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group("nccl" if cuda else "gloo")
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    return init_device_mesh(device, (dist.get_world_size(),))


def _matches(pattern: str, name: str, prefix: str) -> bool:
    bare = name[len(prefix) + 1 :] if prefix and name.startswith(prefix + ".") else name
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(bare, pattern)


def resolve_plan(model: nn.Module, tp_plan) -> dict[str, str]:
    """Module name -> style for every module the plan splits ("auto": AUTO_PLAN by the module's last name part;
    a dict: transformers-style patterns, "*" for layer indices, with or without the base-model prefix)."""
    tied = bool(getattr(model.config, "tie_word_embeddings", False)) and bool(model._tied_weights_keys)
    plan = {}
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Linear, nn.Embedding)):
            continue
        if tp_plan == "auto":
            style = AUTO_PLAN.get(name.rpartition(".")[2])
            if style and tied and name.rpartition(".")[2] in ("embed_tokens", "lm_head"):
                style = None  # one Parameter shared by two modules stays whole
        else:
            style = next((s for p, s in tp_plan.items() if _matches(p, name, model.base_model_prefix)), None)
        if style and style != "replicate":
            plan[name] = style
    if not plan:
        raise ValueError(
            f"tp_plan={tp_plan!r} splits no module of {type(model).__name__}: 'auto' knows the decoder family's "
            f"projections ({', '.join(AUTO_PLAN)}); pass a dict of module-name patterns to styles ({', '.join(STYLES)})."
        )
    return plan


def _style(module: nn.Module, style: str):
    if isinstance(module, nn.Embedding):
        if style != "rowwise":
            raise ValueError(f"an embedding is split by vocabulary with 'rowwise', not {style!r}.")
        return RowwiseParallel(input_layouts=Replicate())  # token ids arrive whole on every rank
    return {"colwise": ColwiseParallel, "rowwise": RowwiseParallel,
            "colwise_rep": lambda: ColwiseParallel(output_layouts=Replicate()),
            "rowwise_rep": lambda: RowwiseParallel(input_layouts=Replicate())}[style]()  # fmt: skip


def parallelize(model: nn.Module, tp_plan, mesh: DeviceMesh) -> None:
    """Apply the plan to a model built on the meta device: split weights become meta DTensors (nothing is
    allocated); a weight whose split axis the ranks do not divide raises a ValueError naming it."""
    if tp_plan != "auto" and not isinstance(tp_plan, dict):
        raise ValueError(f"tp_plan must be 'auto' or a dict of module-name patterns to styles, not {tp_plan!r}.")
    plan = resolve_plan(model, tp_plan)
    ranks = mesh.size()
    for name, style in plan.items():
        if style not in STYLES:
            raise ValueError(f"tp_plan gives {name} the style {style!r}; supported: {', '.join(STYLES)}.")
        module = model.get_submodule(name)
        _check_heads(model.config, name, style, ranks)
        axis = 0 if style.startswith("colwise") or isinstance(module, nn.Embedding) else 1
        size = module.weight.shape[axis]
        if size % ranks:
            raise ValueError(
                f"{name}.weight has shape {tuple(module.weight.shape)}: its axis {axis} ({size}) cannot be split "
                f"evenly over {ranks} ranks as tp_plan's {style!r} asks. Use a number of ranks that divides it, or "
                f"leave {name} out of the plan."
            )
    parallelize_module(model, mesh, {name: _style(model.get_submodule(name), style) for name, style in plan.items()})


def _check_heads(config, name: str, style: str, ranks: int) -> None:
    """Attention reshapes each rank's projection outputs into whole heads: q/k/v split by output need a number of
    heads the ranks divide."""
    leaf = name.rpartition(".")[2]
    if not style.startswith("colwise") or leaf not in ("q_proj", "k_proj", "v_proj"):
        return
    field = "num_attention_heads" if leaf == "q_proj" else "num_key_value_heads"
    heads = getattr(config, field, None) or getattr(config, "num_attention_heads", None)
    if heads and heads % ranks:
        raise ValueError(
            f"{name} holds {heads} heads ({type(config).__name__}.{field}), which {ranks} ranks cannot share as "
            f"whole heads; use a number of ranks that divides {heads}, or leave the attention out of tp_plan."
        )


def local_index(tensor: DTensor) -> tuple:
    """The slice of the global tensor this rank holds (even Shard placements on a 1-D mesh)."""
    index = [slice(None)] * tensor.ndim
    mesh = tensor.device_mesh
    for placement in tensor.placements:
        if isinstance(placement, Shard):
            size = tensor.shape[placement.dim] // mesh.size()
            rank = mesh.get_local_rank()
            index[placement.dim] = slice(rank * size, (rank + 1) * size)
    return tuple(index)


def from_local(local: torch.Tensor, like: DTensor) -> DTensor:
    return DTensor.from_local(local.to(like.device_mesh.device_type), like.device_mesh, like.placements,
                              run_check=False, shape=like.shape, stride=like.stride())  # fmt: skip
