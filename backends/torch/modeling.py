"""PreTrainedModel: the PyTorch base class. Building, loading and saving; architectures add the layers."""

from __future__ import annotations

import contextlib
import copy
import os
import re

import numpy as np
import torch
from torch import nn

from autoload.atomic_save import saves_atomically
from autoload.configuration import PretrainedConfig
from autoload.errors import WeightMismatchError
from autoload.generation import GenerationConfig
from autoload.loading import (
    OPTIONAL_BUFFERS,
    LoadingInfo,
    LoadRequest,
    align_prefix,
    fit_shape,
    same_up_to_unit_axes,
    shape_of,
)

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}


@contextlib.contextmanager
def parameters_on_meta():
    """Create parameters on the meta device (no memory, no init compute); buffers stay real.

    Buffers such as position ids are cheap and computed in __init__, so keeping them real means
    nothing but the checkpoint's tensors has to be filled in after construction.
    """
    original = nn.Module.register_parameter

    def register_on_meta(module, name, param):
        if param is not None and param.device.type != "meta":
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        original(module, name, param)

    # Initialisers would only touch meta tensors (and on those, torch routes through its Python
    # reference ops, importing torch._dynamo): skip them while building.
    initialisers = {n: f for n, f in vars(nn.init).items() if n.endswith("_") and not n.startswith("_") and callable(f)}
    nn.Module.register_parameter = register_on_meta
    for name in initialisers:
        setattr(nn.init, name, _leave_unchanged)
    try:
        yield
    finally:
        nn.Module.register_parameter = original
        for name, function in initialisers.items():
            setattr(nn.init, name, function)


def _leave_unchanged(tensor, *args, **kwargs):
    return tensor


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


class PreTrainedModel(nn.Module):
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
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def num_parameters(self, only_trainable: bool = False) -> int:
        params = {id(p): p for p in self.parameters() if p.requires_grad or not only_trainable}
        return sum(p.numel() for p in params.values())

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
        dtype = kwargs.pop("dtype", None) or kwargs.pop("torch_dtype", None)
        kwargs.pop("torch_dtype", None)
        state_dict = kwargs.pop("state_dict", None)
        request = LoadRequest.parse(cls, pretrained_model_name_or_path, config, kwargs)
        if state_dict is None:
            state, where = request.read_weights("torch")
        else:
            state = {k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v) for k, v in state_dict.items()}
            where = "the given state_dict"
        with parameters_on_meta():
            model = cls(request.config, *model_args)
        info = model._load_canonical(state, where, request.ignore_mismatched_sizes, resolve_dtype(dtype, request.config, state))
        model.eval()
        return request.finish(model, info, where)

    def _load_canonical(self, state, where: str, ignore_mismatched_sizes: bool, dtype) -> LoadingInfo:
        """Put canonical numpy weights into a model whose parameters are on the meta device."""
        info = LoadingInfo()
        expected = self.state_dict(keep_vars=True)
        state = align_prefix(expected.keys(), state, self.base_model_prefix)
        tied = set(self._tied_weights_keys) if getattr(self.config, "tie_word_embeddings", True) else set()
        loaded: dict[str, torch.Tensor] = {}
        for key, target in expected.items():
            if key not in state:
                if key not in tied and not key.endswith(OPTIONAL_BUFFERS):
                    info.missing_keys.append(key)
                continue
            shape = shape_of(state, key)
            if not same_up_to_unit_axes(shape, tuple(target.shape)):
                if not ignore_mismatched_sizes:
                    raise WeightMismatchError(
                        f"{key} has shape {shape} in {where} but {tuple(target.shape)} in {type(self).__name__} "
                        f"(config: {type(self.config).__name__}). Check that the config matches the checkpoint, "
                        "or pass ignore_mismatched_sizes=True to re-initialise the mismatched weights."
                    )
                info.mismatched_keys.append((key, shape, tuple(target.shape)))
                continue
            loaded[key] = _to_tensor(fit_shape(np.asarray(state[key]), target.shape), target, dtype)
        ignore = [re.compile(p) for p in self._keys_to_ignore_on_load_unexpected]
        info.unexpected_keys = [
            k for k in state if k not in expected and not any(p.search(k) for p in ignore)
        ]
        self.load_state_dict(loaded, strict=False, assign=True)
        self._initialise_missing(dtype)
        self.tie_weights()
        return info

    def _initialise_missing(self, dtype) -> None:
        """Give every parameter the checkpoint did not provide real memory and its initial values."""
        for module in self.modules():
            meta = {n for n, p in module.named_parameters(recurse=False) if p.device.type == "meta"}
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

    # -- saving -------------------------------------------------------------------------------------
    @saves_atomically  # staged, so an interrupted save never leaves a mix of old and new files
    def save_pretrained(self, save_directory, safe_serialization: bool = True, max_shard_size="5GB",
                        state_dict=None, **kwargs) -> None:  # fmt: skip
        from autoload.weights import write_sharded

        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory {save_directory} is a file; pass a folder.")
        os.makedirs(save_directory, exist_ok=True)
        config = copy.deepcopy(self.config)
        config.architectures = [type(self).__name__]
        config.dtype = str(self.dtype).replace("torch.", "")
        config.save_pretrained(save_directory)
        tensors = state_dict if state_dict is not None else self.state_dict()
        skip = set(self._tied_weights_keys) if getattr(self.config, "tie_word_embeddings", True) else set()
        arrays = {k: _to_numpy(v) for k, v in tensors.items() if k not in skip}
        write_sharded(arrays, save_directory, "safetensors" if safe_serialization else "pt", max_shard_size)


def _to_tensor(array: np.ndarray, target: torch.Tensor, dtype) -> torch.Tensor:
    if not array.flags.writeable:
        array = array.copy()
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    want = dtype if (dtype is not None and target.is_floating_point()) else target.dtype
    if tensor.dtype != want:
        tensor = tensor.to(want)
    return tensor


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.float().numpy()
    return tensor.contiguous().numpy()
