"""PreTrainedModel: the PyTorch base class. Building, loading and saving; architectures add the layers."""

from __future__ import annotations

import contextlib
import copy
import math
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from autoload import resize
from autoload.atomic_save import saves_atomically
from autoload.configuration import PretrainedConfig
from autoload.generation import GenerationConfig
from autoload.loading import LoadingInfo, LoadRequest, check_variant, collection_paused, load_canonical, reserve_pages
from autoload.model_mixin import ModelMixin

from . import checkpointing

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}


# While a model is built for loading, these factory functions make meta tensors (shape and dtype only): the
# ones whose values initialisation overwrites anyway, and constant fills above a small size. Random fills get
# an empty meta tensor directly, and small constant fills stay real, because on meta tensors these (and the
# arithmetic some modules do in __init__, a layer scale of 1e-6 * ones) run torch's Python reference
# kernels, whose first use imports torch._dynamo (seconds). arange, tensor, linspace & co. stay real too, so
# buffers derived from the config (index tables) keep their values.
_EMPTY = frozenset({torch.empty, torch.empty_strided})
_RANDOM = frozenset({torch.rand, torch.randn, torch.randint})
_CONSTANT_FILLS = frozenset({torch.zeros, torch.ones, torch.full})
_SMALL = 1 << 16  # elements


def _size(func, args: tuple, kwargs: dict) -> tuple:
    if "size" in kwargs:
        return tuple(kwargs["size"])
    if func is torch.randint:
        return tuple(args[-1])
    if func is torch.full or (len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size))):
        return tuple(args[0])
    return tuple(args)


def _norm_except_dim_shape(v, pow=2, dim=0) -> list[int]:
    return [] if dim == -1 else [n if i == dim % v.ndim else 1 for i, n in enumerate(v.shape)]


# Ops __init__ runs on meta weights whose meta kernels are written in Python (weight norm's reparametrisation):
# their output shapes, for the same reason.
_META_SHAPES = {torch.norm_except_dim: _norm_except_dim_shape, torch._weight_norm: lambda v, g, dim=0: list(v.shape)}


class _AllocateOnMeta(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _META_SHAPES and args and isinstance(args[0], torch.Tensor) and args[0].is_meta:
            return torch.empty(_META_SHAPES[func](*args, **kwargs), dtype=args[0].dtype, device="meta")
        if kwargs.get("device") is None:
            if func in _RANDOM:
                dtype = kwargs.get("dtype") or (torch.int64 if func is torch.randint else None)
                return torch.empty(_size(func, args, kwargs), dtype=dtype, device="meta")
            if func in _EMPTY or (func in _CONSTANT_FILLS and math.prod(_size(func, args, kwargs)) > _SMALL):
                kwargs = {**kwargs, "device": "meta"}
        return func(*args, **kwargs)


@contextlib.contextmanager
def _initialisers_skipped():
    """Initialisers would only touch meta tensors (and on those, torch routes through its Python reference
    ops, importing torch._dynamo): skip them while building."""
    initialisers = {n: f for n, f in vars(nn.init).items() if n.endswith("_") and not n.startswith("_") and callable(f)}
    for name in initialisers:
        setattr(nn.init, name, _leave_unchanged)
    try:
        yield
    finally:
        for name, function in initialisers.items():
            setattr(nn.init, name, function)


@contextlib.contextmanager
def weights_on_meta():
    """Build modules whose parameters (and weight-sized buffers) live on the meta device from the start: no
    memory is allocated and nothing is initialised, however large the config says the model is."""
    with _initialisers_skipped(), _AllocateOnMeta():
        yield


@contextlib.contextmanager
def parameters_on_meta():
    """Create parameters on the CPU and move each to the meta device as it is registered; buffers stay real.

    The fallback for a module whose non-persistent buffers weights_on_meta would leave without values."""
    original = nn.Module.register_parameter

    def register_on_meta(module, name, param):
        if param is not None and param.device.type != "meta":
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        original(module, name, param)

    nn.Module.register_parameter = register_on_meta
    try:
        with _initialisers_skipped():
            yield
    finally:
        nn.Module.register_parameter = original


def _leave_unchanged(tensor, *args, **kwargs):
    return tensor


def _computed_buffers_lost(model: nn.Module) -> bool:
    """True when a non-persistent buffer (computed in __init__, never in a checkpoint) ended up on meta."""
    return any(buffer is not None and buffer.is_meta and name in module._non_persistent_buffers_set
               for module in model.modules() for name, buffer in module._buffers.items())  # fmt: skip


def resolve_dtype(dtype, config: PretrainedConfig, state) -> torch.dtype | None:
    if dtype is None:
        return None
    if dtype == "auto":
        if isinstance(config.dtype, str) and config.dtype in _DTYPES:
            return _DTYPES[config.dtype]
        for key in state:
            get_dtype = getattr(state, "dtype", None)
            name = str(get_dtype(key)) if callable(get_dtype) else str(state[key].dtype)
            if name in _DTYPES:
                return _DTYPES[name]
        return None
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(f"torch_dtype={dtype!r} is not one of 'auto', {', '.join(_DTYPES)}.")
        return _DTYPES[dtype]
    return dtype


class PreTrainedModel(ModelMixin, nn.Module):
    config_class: type[PretrainedConfig] | None = None
    base_model_prefix = ""
    main_input_name = "input_ids"
    backend = "torch"
    framework = "pt"
    # Canonical keys the model shares with another (tied embeddings): absent from checkpoints by design.
    _tied_weights_keys: list[str] = []
    # Regexes of checkpoint keys that older files carry and this model does not need.
    _keys_to_ignore_on_load_unexpected: list[str] = []

    def __init__(self, config: PretrainedConfig, *args, **kwargs):
        super().__init__()
        if not isinstance(config, PretrainedConfig):
            raise TypeError(f"{type(self).__name__} expects a PretrainedConfig, got {type(config).__name__}.")
        self.config = config

    def _flag(self, value, name):
        """The call's explicit argument, else the config's setting of the same name."""
        return getattr(self.config, name) if value is None else value

    def _finish(self, result, return_dict):
        return result if self._flag(return_dict, "return_dict") else result.to_tuple()

    # -- hooks for architectures --------------------------------------------------------------------
    def _init_weights(self, module: nn.Module) -> None:
        std = getattr(self.config, "initializer_range", 0.02)
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d)):
            if module.weight is not None:
                nn.init.ones_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif type(module).__name__.endswith("Norm") and isinstance(getattr(module, "weight", None), nn.Parameter):
            with torch.no_grad():  # RMS/T5-style norms: scale 1, no shift
                module.weight.fill_(1.0)
                if isinstance(getattr(module, "bias", None), nn.Parameter):
                    module.bias.zero_()
        for name, param in module.named_parameters(recurse=False):
            if param.device.type == "meta":  # a parameter the generic rules do not know: zeros
                setattr(module, name, nn.Parameter(torch.zeros(param.shape, dtype=param.dtype)))

    def get_input_embeddings(self) -> nn.Module | None:
        base = getattr(self, self.base_model_prefix, self)
        return base.get_input_embeddings() if base is not self else None

    def get_output_embeddings(self) -> nn.Module | None:
        return None

    def tie_weights(self) -> None:
        out = self.get_output_embeddings()
        if out is not None and getattr(self.config, "tie_word_embeddings", True):
            out.weight = self.get_input_embeddings().weight

    @property
    def base_model(self) -> nn.Module:
        return getattr(self, self.base_model_prefix, self)

    @property
    def device(self) -> torch.device:
        """Where inputs go: the first parameter's device, or for a model dispatched by device_map the device its
        offloaded modules run on (the first accelerator in hf_device_map, else the CPU)."""
        placed = getattr(self, "hf_device_map", None)
        if placed and (len(set(placed.values())) > 1 or "disk" in placed.values()):
            devices = [d for d in placed.values() if d not in ("cpu", "disk")]
            return torch.device(devices[0]) if devices else torch.device("cpu")
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def num_parameters(self, only_trainable: bool = False) -> int:
        params = {id(p): p for p in self.parameters() if p.requires_grad or not only_trainable}
        return sum(p.numel() for p in params.values())

    def get_memory_footprint(self, return_buffers: bool = True) -> int:
        """Bytes held by the parameters (and buffers), each shared tensor once."""
        tensors = {id(t): t for t in (*self.parameters(), *(self.buffers() if return_buffers else ()))}
        return sum(t.numel() * t.element_size() for t in tensors.values())

    supports_gradient_checkpointing = True

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None) -> None:
        """While training, the repeated blocks (layers) recompute their activations in the backward pass instead
        of keeping them (backends/torch/checkpointing.py). gradient_checkpointing_kwargs go to
        torch.utils.checkpoint.checkpoint; use_reentrant defaults to False (PyTorch's recommended variant, which
        also trains behind frozen embeddings; transformers defaults to True)."""
        checkpointing.enable(self, gradient_checkpointing_kwargs)

    def gradient_checkpointing_disable(self) -> None:
        checkpointing.disable(self)

    @property
    def is_gradient_checkpointing(self) -> bool:
        return checkpointing.is_enabled(self)

    def resize_token_embeddings(self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None,
                                mean_resizing: bool = True) -> nn.Module | None:
        """Grow or cut every tensor the vocabulary sizes (token tables, output projections, vocabulary biases)
        to `new_num_tokens` rows, in place (tied weights stay tied), and set the config's vocab_size; returns the
        input embeddings. New rows: see autoload.resize."""
        parameters, buffers = dict(self.named_parameters()), dict(self.named_buffers())
        tensors = {**buffers, **parameters}
        embeddings = {id(module.weight) for module in self.modules() if isinstance(module, nn.Embedding)}
        tables = {name for name, parameter in parameters.items() if id(parameter) in embeddings}
        size, axes = resize.plan(type(self).__name__, self.config, {k: tuple(v.shape) for k, v in tensors.items()},
                                 tables, new_num_tokens, pad_to_multiple_of)  # fmt: skip
        for name in axes:
            if tensors[name].is_meta or type(tensors[name].data) is not torch.Tensor:
                where = "on the meta device" if tensors[name].is_meta else "distributed"
                raise ValueError(f"{name} is {where}: resize the token embeddings before dispatching or "
                                 "distributing the model.")  # fmt: skip
        rng = np.random.default_rng()
        initializer_range = getattr(resize.text_config(self.config), "initializer_range", 0.02)
        with torch.no_grad():
            for name, axis in axes.items():
                tensor = tensors[name]
                array = tensor.detach().cpu().float().numpy()
                new = resize.resized(name, array, axis, size, mean_resizing, initializer_range, rng)
                value = torch.from_numpy(new).to(dtype=tensor.dtype, device=tensor.device)
                if name in parameters:
                    tensor.data = value  # the same Parameter object: every module sharing it sees the new rows
                else:
                    owner, _, leaf = name.rpartition(".")
                    self.get_submodule(owner)._buffers[leaf] = value
        for module in self.modules():
            if isinstance(module, nn.Embedding):
                module.num_embeddings = module.weight.shape[0]
            elif isinstance(module, nn.Linear):
                module.out_features = module.weight.shape[0]
        resize.set_vocab_size(self.config, size)
        return self.get_input_embeddings()

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def _from_config(cls, config: PretrainedConfig, torch_dtype=None, dtype=None, **kwargs):
        config = copy.deepcopy(config)
        for key, value in kwargs.items():
            setattr(config, key, value)
        model = cls(config)
        model.apply(model._init_weights)
        if hasattr(model, "generate"):
            model.generation_config = GenerationConfig.from_model_config(config)
        model.tie_weights()
        target = resolve_dtype(dtype or torch_dtype, config, {})
        if target is not None:
            model.to(target)
        return model

    @classmethod
    def from_config(cls, config: PretrainedConfig, **kwargs):
        return cls._from_config(config, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, config=None, **kwargs):
        with collection_paused():
            return cls._from_pretrained(pretrained_model_name_or_path, *model_args, config=config, **kwargs)

    @classmethod
    def _from_pretrained(cls, pretrained_model_name_or_path, *model_args, config=None, **kwargs):
        dtype = kwargs.pop("dtype", None) or kwargs.pop("torch_dtype", None)
        kwargs.pop("torch_dtype", None)
        state_dict = kwargs.pop("state_dict", None)
        tp_plan, device_mesh, tp_size = kwargs.pop("tp_plan", None), kwargs.pop("device_mesh", None), \
            kwargs.pop("tp_size", None)
        device_map, max_memory = kwargs.pop("device_map", None), kwargs.pop("max_memory", None)
        offload_folder, offload_buffers = kwargs.pop("offload_folder", None), kwargs.pop("offload_buffers", False)
        kwargs.pop("offload_state_dict", None)  # accepted and unused, as in transformers 4.57: no state dict is held whole
        if tp_plan is not None and device_map is not None:
            raise ValueError("tp_plan and device_map are mutually exclusive: tp_plan splits each weight over torchrun's "
                             "ranks, device_map places whole modules on this process' devices. Pass one of them.")  # fmt: skip
        mesh = None
        if tp_plan is not None:
            from .tensor_parallel import device_mesh_for

            mesh = device_mesh_for(device_mesh)
            if tp_size is not None and tp_size != mesh.size():
                raise ValueError(f"tp_size={tp_size} but the device mesh has {mesh.size()} ranks; launch as many "
                                 "processes as tp_size (torchrun --nproc-per-node), or leave tp_size out.")  # fmt: skip
        request = LoadRequest.parse(cls, pretrained_model_name_or_path, config, kwargs)
        if state_dict is None:
            state, where = request.read_weights("torch")
        else:
            state = {k: _to_numpy(v) if isinstance(v, torch.Tensor) else v for k, v in state_dict.items()}
            where = "the given state_dict"
        dtype = resolve_dtype(dtype, request.config, state)
        # Read whole into host memory the model keeps: only then are pages worth faulting in while it is built.
        whole = state_dict is None and mesh is None and device_map is None
        keeps = str(dtype or torch.get_default_dtype()).removeprefix("torch.")
        with reserve_pages(state, keeps) if whole else contextlib.nullcontext():
            model = cls._build_empty(request.config, *model_args)
            if mesh is not None:
                from .tensor_parallel import parallelize

                parallelize(model, tp_plan, mesh)
            placement = None
            if device_map is not None:  # every module's device decided (and the map checked) before anything is read
                from . import device_map as placing

                placement = placing.plan(model, device_map, max_memory, offload_folder, offload_buffers, dtype, state,
                                         where)  # fmt: skip
            info = model._load_canonical(state, where, request.ignore_mismatched_sizes, dtype, placement)
        if placement is not None:
            placing.finish(model, placement)
        model.eval()
        return request.finish(model, info, where)

    @classmethod
    def _build_empty(cls, config, *model_args):
        """The model with its weights on the meta device, for loading to fill."""
        with weights_on_meta():
            model = cls(config, *model_args)
        if _computed_buffers_lost(model):
            with parameters_on_meta():
                model = cls(config, *model_args)
        return model

    def _load_canonical(self, state, where: str, ignore_mismatched_sizes: bool, dtype, placement=None) -> LoadingInfo:
        """Put canonical numpy weights into a model whose weights are on the meta device: each tensor's memory
        is the array the reader filled (no copy unless the dtype changes), and whatever the checkpoint lacks
        is initialised afterwards. placement (device_map): each weight is made on its device, or stays on
        meta with its place on disk recorded."""
        expected = self.state_dict(keep_vars=True)
        split = {name for name, tensor in expected.items() if _is_dtensor(tensor)}  # tensor parallel: rank's slice
        offloaded = set()

        def put(name: str, array, stored: str) -> None:
            module_name, _, leaf = name.rpartition(".")
            module, old = self.get_submodule(module_name), expected[name]
            if placement is not None and placement.offloads(name, leaf in module._parameters):
                want = dtype if (dtype is not None and old.is_floating_point()) else old.dtype
                placement.offload(name, array, want, lambda: _to_tensor(array.read(), stored, old, dtype))
                offloaded.add(name)
                return
            if split:  # array is a TensorSource: read this rank's slice only of a split weight
                from .tensor_parallel import from_local, local_index

                array = array.read(local_index(old)) if name in split else array.read()
            elif placement is not None:
                array = array.read()
            tensor = _to_tensor(array, stored, old, dtype)
            if placement is not None and placement.device_of(name) not in ("cpu", "disk"):
                tensor = tensor.to(placement.device_of(name))
            if name in split:
                tensor = from_local(tensor, old)
            if leaf in module._parameters:
                module._parameters[leaf] = nn.Parameter(tensor, requires_grad=old.requires_grad)
            else:
                module._buffers[leaf] = tensor

        def initialise(names: list[str]) -> None:
            unsplit = [name for name in names if name in split]
            if unsplit:
                raise NotImplementedError(
                    f"{', '.join(unsplit)} of the modules tp_plan splits are not in {where}; tensor-parallel loading "
                    "needs every split weight in the checkpoint. Leave those modules out of tp_plan."
                )
            self.tie_weights()  # a tied weight takes its source's tensor, not a fresh one
            for name in names:  # small parameters __init__ made real: initialised like the rest
                module_name, _, leaf = name.rpartition(".")
                module = self.get_submodule(module_name)
                param = module._parameters.get(leaf)
                if param is not None and param is expected[name] and not param.is_meta:
                    module._parameters[leaf] = nn.Parameter(param.detach().to("meta"), param.requires_grad)
            self._initialise_missing(dtype, keep_meta=offloaded)

        targets = {name: tuple(tensor.shape) for name, tensor in expected.items()}
        info = load_canonical(self, targets, state, put, initialise, where=where, lazy=bool(split) or placement is not None,
                              ignore_mismatched_sizes=ignore_mismatched_sizes)  # fmt: skip
        self.tie_weights()
        if dtype is not None:
            self._cast_floating(dtype)
        return info

    def _initialise_missing(self, dtype, keep_meta=frozenset()) -> None:
        """Give every weight the checkpoint did not provide real memory and its initial values: parameters by
        the architecture's _init_weights, buffers as zeros (running variances as ones). Names in keep_meta
        (offloaded to disk) stay on meta."""
        for prefix, module in self.named_modules():
            dotted = prefix + "." if prefix else ""
            for name, buffer in module._buffers.items():
                if buffer is not None and buffer.is_meta and dotted + name not in keep_meta:
                    fill = torch.ones if name == "running_var" else torch.zeros
                    want = dtype if (dtype is not None and buffer.is_floating_point()) else buffer.dtype
                    module._buffers[name] = fill(buffer.shape, dtype=want)
            meta = {n for n, p in module.named_parameters(recurse=False)
                    if p.device.type == "meta" and dotted + n not in keep_meta}  # fmt: skip
            if not meta:
                continue
            kept = {n: p.detach().clone() for n, p in module.named_parameters(recurse=False) if n not in meta}
            for name in meta:
                param = getattr(module, name)
                fresh = torch.zeros(param.shape, dtype=dtype or param.dtype)
                setattr(module, name, nn.Parameter(fresh, requires_grad=param.requires_grad))
            self._init_weights(module)
            with torch.no_grad():  # the init hook touches whole modules: restore the loaded values
                for name, value in kept.items():
                    getattr(module, name).copy_(value)

    def _cast_floating(self, dtype: torch.dtype) -> None:
        """Weights the checkpoint did not hold (kept from construction) in the requested dtype as well."""
        for module in self.modules():
            for slots in (module._parameters, module._buffers):
                for name, tensor in slots.items():
                    if tensor is not None and tensor.is_floating_point() and tensor.dtype != dtype:
                        cast = tensor.detach().to(dtype)
                        slots[name] = nn.Parameter(cast, tensor.requires_grad) if isinstance(tensor, nn.Parameter) else cast

    # -- saving -------------------------------------------------------------------------------------
    @saves_atomically  # staged, so an interrupted save never leaves a mix of old and new files
    def save_pretrained(self, save_directory, safe_serialization: bool = True, max_shard_size="5GB",
                        state_dict=None, variant: str | None = None, **kwargs) -> None:  # fmt: skip
        from autoload.weights import write_sharded

        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory {save_directory} is a file; pass a folder.")
        os.makedirs(save_directory, exist_ok=True)
        config = copy.deepcopy(self.config)
        config.architectures = [type(self).__name__]
        config.dtype = str(self.dtype).replace("torch.", "")
        config.save_pretrained(save_directory)
        tensors = state_dict if state_dict is not None else self.state_dict()
        if state_dict is None and any(map(_is_dtensor, tensors.values())):
            raise NotImplementedError(
                "This model is split over ranks (tp_plan); gathering its weights is a collective step every rank "
                "must take: state = {k: v.full_tensor() if isinstance(v, DTensor) else v for k, v in "
                "model.state_dict().items()} on every rank, then model.save_pretrained(folder, state_dict=state) "
                "on rank 0 only."
            )
        skip = set(self._tied_weights_keys) if getattr(self.config, "tie_word_embeddings", True) else set()
        if state_dict is None and getattr(self, "hf_device_map", None):  # weights offloaded by device_map
            from .device_map import offloaded_value

            tensors = {k: offloaded_value(self, k) if v.is_meta else v for k, v in tensors.items()}
        arrays = {k: _to_numpy(v) for k, v in tensors.items() if k not in skip}
        write_sharded(arrays, save_directory, "safetensors" if safe_serialization else "pt", max_shard_size,
                      variant=check_variant(variant))  # fmt: skip


def _is_dtensor(tensor) -> bool:
    # No tensor is a DTensor before torch.distributed.tensor is imported (a tensor-parallel load imports it), and
    # importing it here would cost every plain load about two seconds (it pulls in sympy).
    module = sys.modules.get("torch.distributed.tensor")
    return module is not None and isinstance(tensor, module.DTensor)


def _to_tensor(array: np.ndarray, stored: str, target: torch.Tensor, dtype) -> torch.Tensor:
    """The tensor for `target` sharing the array's memory (copied only to make it contiguous or writable, or
    converted to another dtype). bfloat16 arrives as raw bits and is viewed as bfloat16, never widened first."""
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array) if array.flags.writeable else array.copy()
    tensor = torch.from_numpy(array)
    if stored == "bfloat16" and array.dtype == np.uint16:
        tensor = tensor.view(torch.bfloat16)
    want = dtype if (dtype is not None and target.is_floating_point()) else target.dtype
    if tensor.dtype != want:
        tensor = tensor.to(want)
    return tensor


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.float().numpy()
    return tensor.contiguous().numpy()
