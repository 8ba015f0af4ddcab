"""from_pretrained(device_map=..., max_memory=..., offload_folder=...) for PyTorch models, on accelerate.

The model is built on the meta device as for every load. accelerate decides where each module goes (get_balanced_memory
and infer_auto_device_map for "auto" / "balanced" / "balanced_low_0", get_max_memory for "sequential"), or the caller's
dict says it. Each checkpoint tensor is then made directly on its module's device; a weight placed on "disk" is never
loaded: it stays in the safetensors file it is in (or, for other formats and for weights the checkpoint lacks, is
written once to offload_folder), and accelerate's dispatch_model attaches the hooks that bring it in for each forward
pass. A map with one device for the whole model ({"": "cpu"}, "cuda:0", 0) needs no accelerate.
"""

from __future__ import annotations

import os
import shutil

import torch
from torch import nn

from autoload.errors import BackendNotAvailableError

STRATEGIES = ("auto", "balanced", "balanced_low_0", "sequential")
OFFLOAD = "disk"


def _accelerate():
    try:
        import accelerate  # noqa: F401
    except ImportError as error:
        raise BackendNotAvailableError(
            "device_map='auto' / 'balanced' / 'sequential', a device_map over several devices, max_memory and disk "
            "offload are computed by accelerate, which is not installed: pip install 'autoload-hf[accelerate]'. "
            "(A whole-model map such as device_map='cpu' or {'': 'cuda:0'} works without it.)"
        ) from error
    return accelerate


def normalise(device_map):
    """A strategy name, or a dict of module name -> device, as transformers turns its argument into one."""
    if isinstance(device_map, (torch.device, int)) and not isinstance(device_map, bool):
        if isinstance(device_map, int) and device_map < 0:
            raise ValueError(f"device_map={device_map} is a negative device index; pass device_map='cpu' for the CPU.")
        return {"": device_map}
    if isinstance(device_map, str):
        return device_map if device_map in STRATEGIES else {"": device_map}
    if isinstance(device_map, dict):
        return dict(device_map)
    raise TypeError(f"device_map must be one of {', '.join(map(repr, STRATEGIES))}, a device ('cpu', 'cuda:0', 0) or "
                    f"a dict of module names to devices, not {type(device_map).__name__}.")  # fmt: skip


def _accelerator():
    """(device type, count) of this machine's accelerator (cuda, xpu, mps, ...), or (None, 0)."""
    available = getattr(torch, "accelerator", None)
    if available is not None and available.is_available():
        return available.current_accelerator().type, available.device_count()
    if torch.cuda.is_available():
        return "cuda", torch.cuda.device_count()
    return None, 0


def check_device(device, where: str):
    """The device as accelerate takes it ("cpu", "disk", an accelerator index or "cuda:1"-style string); one this
    machine does not have is refused before anything is read."""
    if device == OFFLOAD:
        return device
    kind, count = _accelerator()
    if isinstance(device, int) and not isinstance(device, bool):
        if 0 <= device < count:
            return device
        have = f"it has {count} {kind} device(s) (0-{count - 1})" if count else "it has no accelerator, only the CPU"
        raise ValueError(f"{where} puts weights on device {device}, which this machine does not have: {have}. Use "
                         "'cpu', 'disk' or an existing device.")  # fmt: skip
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise ValueError(f"{where} names the device {device!r}, which is not a device: use 'cpu', 'disk', an "
                         "accelerator index (0) or name ('cuda:0').") from error  # fmt: skip
    if parsed.type == "cpu":
        return "cpu"
    if parsed.type == "meta":
        raise ValueError(f"{where} puts weights on 'meta', which holds no values; offload them with 'disk' instead.")
    index = 0 if parsed.index is None else parsed.index
    if parsed.type != kind or index >= count:
        have = f"{count} {kind} device(s)" if count else "no accelerator, only the CPU"
        raise ValueError(f"{where} puts weights on {device!r}, which this machine does not have (it has {have}). Use "
                         "'cpu', 'disk' or an existing device.")  # fmt: skip
    return str(parsed) if parsed.index is not None else f"{parsed.type}:0"


def no_split_module_classes(model: nn.Module) -> list[str]:
    """Module classes accelerate keeps whole on one device: the model's `_no_split_modules` where it declares them,
    else every module holding weights but no list of layers (a decoder layer, BERT's embeddings, a pooler), so a
    module whose forward combines its children's outputs never has them on two devices."""
    declared = getattr(model, "_no_split_modules", None)
    if declared is not None:
        return list(declared)
    classes = set()
    for module in model.modules():
        children = list(module.children())
        if module is model or not children or any(isinstance(m, nn.ModuleList) for m in module.modules()):
            continue
        if any(True for _ in module.parameters()):
            classes.add(type(module).__name__)
    return sorted(classes)


def _check_max_memory(max_memory):
    if max_memory is None:
        return None
    if not isinstance(max_memory, dict):
        raise TypeError(f"max_memory must be a dict of device -> size ({{0: '10GiB', 'cpu': '30GiB'}}), not "
                        f"{max_memory!r}.")  # fmt: skip
    for device in max_memory:
        if device != OFFLOAD and (not isinstance(device, (int, str)) or isinstance(device, bool)):
            raise ValueError(f"max_memory has the key {device!r}: keys are accelerator indices (0, 1), 'cpu', 'mps' "
                             "or 'disk'.")  # fmt: skip
        if device != OFFLOAD:
            check_device(device, "max_memory")
    return dict(max_memory)


class Placement:
    """Where each weight of one load goes, and the offload index accelerate reads disk weights back through."""

    def __init__(self, device_map: dict, offload_folder, offload_buffers: bool):
        self.device_map = device_map
        self.offload_folder = None if offload_folder is None else os.fspath(offload_folder)
        self.offload_buffers = offload_buffers
        self.index: dict[str, dict] = {}
        self._prefixes = sorted(device_map, key=len, reverse=True)

    @property
    def single(self):
        """The device when the whole model goes to one device (no hooks, no accelerate), else None."""
        return self.device_map[""] if list(self.device_map) == [""] and self.device_map[""] != OFFLOAD else None

    def device_of(self, name: str):
        for prefix in self._prefixes:
            if prefix == "" or name == prefix or name.startswith(prefix + "."):
                return self.device_map[prefix]
        raise KeyError(name)

    def offloads(self, name: str, is_parameter: bool) -> bool:
        return self.device_of(name) == OFFLOAD and (is_parameter or self.offload_buffers)

    def offload(self, name: str, source, dtype: torch.dtype, make) -> None:
        """Put one weight on disk: a reference to the safetensors file it is in when it is stored there whole
        (accelerate casts it to `dtype` when it reads it), else written once to offload_folder (make() gives it)."""
        location = safetensors_location(source.state, source.key)
        if location is not None and tuple(source.state.shape(source.key)) == tuple(source.shape):
            path, key = location
            self.index[name] = {"safetensors_file": path, "weight_name": key,
                                "dtype": str(dtype).replace("torch.", "")}  # fmt: skip
            return
        self.write(name, make())

    def write(self, name: str, tensor: torch.Tensor) -> None:
        from accelerate.utils import offload_weight

        if self.offload_folder is None:
            raise ValueError(
                f"{name} goes to 'disk' but is not stored whole in a safetensors file (another format, or a weight "
                "the checkpoint lacks): pass offload_folder= for it to be written to."
            )
        os.makedirs(self.offload_folder, exist_ok=True)
        offload_weight(tensor.detach().cpu(), name, self.offload_folder, self.index)

    def alias(self, name: str, source: str) -> None:
        """A tied weight on disk reads its source's entry (accelerate looks weights up by each module's name)."""
        entry = dict(self.index[source])
        if "safetensors_file" not in entry:
            shutil.copyfile(os.path.join(self.offload_folder, f"{source}.dat"),
                            os.path.join(self.offload_folder, f"{name}.dat"))  # fmt: skip
        self.index[name] = entry


def safetensors_location(state, key: str):
    """(file, name in file) when `key` of a lazy canonical mapping is one tensor of a safetensors file, read as it
    is stored (no TF/Flax conversion on the way); None otherwise."""
    from autoload.loading import RenamedMapping
    from autoload.weights.files import ShardedWeights
    from autoload.weights.safetensors_io import SafetensorsReader

    while True:
        if isinstance(state, RenamedMapping):
            state, key = state._base, state._names[key]
        elif isinstance(state, ShardedWeights):
            state, key = state._locate(key)
        elif isinstance(state, SafetensorsReader):
            return os.path.abspath(state.path), key
        else:
            return None


def plan(model: nn.Module, device_map, max_memory, offload_folder, offload_buffers: bool, dtype, state,
         where: str) -> Placement:  # fmt: skip
    """Check the request and decide every module's device, before any weight is read."""
    device_map = normalise(device_map)
    max_memory = _check_max_memory(max_memory)
    model.tie_weights()  # tied weights are one Parameter, so accelerate keeps them on one device and counts them once
    if isinstance(device_map, dict):
        if not device_map:
            raise ValueError("device_map is an empty dict: map '' (the whole model) or module names to devices.")
        device_map = {key: check_device(value, f"device_map[{key!r}]") for key, value in device_map.items()}
        modules = dict(model.named_modules())
        tensors = dict(model.state_dict(keep_vars=True))
        unknown = [key for key in device_map if key != "" and key not in modules and key not in tensors]
        if unknown:
            raise ValueError(
                f"device_map names {', '.join(map(repr, unknown))}, which {type(model).__name__} does not have. Its "
                f"modules are named like {', '.join(repr(n) for n in list(modules)[1:6])}, ... (model.named_modules())."
            )
        placement = Placement(device_map, offload_folder, offload_buffers)
        if placement.single is not None:
            return placement
        accelerate = _accelerate()
        uncovered = [name for name in tensors if not any(p == "" or name == p or name.startswith(p + ".")
                                                        for p in device_map)]  # fmt: skip
        if uncovered:
            more = " ..." if len(uncovered) > 8 else ""
            raise ValueError(f"device_map gives no device to {', '.join(uncovered[:8])}{more}; map their modules, or "
                             "'' for the rest.")  # fmt: skip
        tied = accelerate.utils.find_tied_parameters(model)
        accelerate.utils.check_tied_parameters_on_same_device(tied, device_map)
    else:
        accelerate = _accelerate()
        from accelerate.utils import get_balanced_memory, get_max_memory, infer_auto_device_map

        no_split = no_split_module_classes(model)
        if device_map == "sequential":
            budget = get_max_memory(max_memory)
        else:
            budget = get_balanced_memory(model, max_memory=max_memory, no_split_module_classes=no_split, dtype=dtype,
                                         low_zero=device_map == "balanced_low_0")  # fmt: skip
            for device in budget:  # the caller's limits stay limits
                if max_memory is not None and device in max_memory:
                    budget[device] = min(budget[device], get_max_memory({device: max_memory[device]})[device])
        device_map = infer_auto_device_map(model, max_memory=budget, no_split_module_classes=no_split, dtype=dtype)
        placement = Placement(device_map, offload_folder, offload_buffers)
    if OFFLOAD in placement.device_map.values() and placement.offload_folder is None:
        _check_disk_without_folder(model, placement, state, where)
    return placement


def _check_disk_without_folder(model, placement: Placement, state, where: str) -> None:
    """Without offload_folder, disk weights must be read back from the checkpoint's own safetensors files."""
    from autoload.loading import align_prefix, tied_keys, translate_keys

    targets = dict(model.state_dict(keep_vars=True))
    aligned = align_prefix(targets, translate_keys(model.config, state), model.base_model_prefix)
    tied = tied_keys(model)
    params = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    lacking = [name for name in targets if placement.offloads(name, name in params) and name not in tied
               and (name not in aligned or safetensors_location(aligned, name) is None)]  # fmt: skip
    if lacking:
        raise ValueError(
            f"device_map puts {', '.join(lacking[:5])}{' ...' if len(lacking) > 5 else ''} on 'disk', and {where} "
            "cannot serve them from a safetensors file (another format, or weights it lacks): pass offload_folder= "
            "(a folder they are written to once)."
        )


def finish(model: nn.Module, placement: Placement) -> None:
    """After loading: weights made on the CPU (initialised ones) go to their device or disk, tied weights on disk
    share their source's entry, then accelerate's dispatch_model attaches the hooks (it also sets hf_device_map)."""
    if placement.single is not None:  # weights were made there; initialised ones and computed buffers follow
        model.to(placement.single)
        model.hf_device_map = dict(placement.device_map)
        return
    names_of: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        names_of.setdefault(id(param), []).append(name)
    for names in names_of.values():
        for name in names:
            module_name, _, leaf = name.rpartition(".")
            module = model.get_submodule(module_name)
            param, device = module._parameters[leaf], placement.device_of(name)
            if device == OFFLOAD:
                if name in placement.index:
                    continue
                source = next((other for other in names if other in placement.index), None)
                if source is not None:
                    placement.alias(name, source)
                elif not param.is_meta:
                    placement.write(name, param)
            elif not param.is_meta and param.device != torch.device(device):
                module._parameters[leaf] = nn.Parameter(param.detach().to(device), param.requires_grad)
    if placement.offload_buffers:
        for name, buffer in model.named_buffers():
            if placement.offloads(name, False) and name not in placement.index and not buffer.is_meta:
                placement.write(name, buffer)
    model.tie_weights()
    from accelerate import dispatch_model

    folder = placement.offload_folder
    if folder is not None and placement.index:
        from accelerate.utils import save_offload_index

        save_offload_index({k: v for k, v in placement.index.items() if "safetensors_file" not in v}, folder)
    dispatch_model(model, placement.device_map, offload_dir=folder, offload_index=placement.index or None,
                   offload_buffers=placement.offload_buffers, skip_keys="past_key_values")  # fmt: skip


def offloaded_value(model: nn.Module, name: str) -> torch.Tensor:
    """The value of a weight a dispatched model keeps on disk (on meta in the module), read through the weights
    map of the accelerate hook of the block that holds it."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, -1, -1):
        module = model.get_submodule(".".join(parts[:cut]))
        hook = getattr(module, "_hf_hook", None)
        for candidate in getattr(hook, "hooks", None) or ([hook] if hook is not None else []):
            weights = getattr(candidate, "weights_map", None)
            if weights is not None:
                return weights[".".join(parts[cut:])]
    raise KeyError(f"{name} is on the meta device and no accelerate hook holds its value.")
