"""Loading parameters straight onto a device mesh: every leaf a sharded jax.Array whose pieces are read from the
checkpoint by the devices that hold them.

Partition rules name canonical parameters and describe the canonical (PyTorch) layout (autoload.partitioning);
a Flax kernel stores that tensor with its axes permuted (dense [in, out], conv [spatial…, in, out]), so its
spec and each device's index are permuted back onto the canonical tensor, the canonical slice is read
(safetensors reads only those bytes) and transposed into the kernel's piece.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from autoload.convert.layout import kernel_shape_as_weight, weight_to_kernel
from autoload.partitioning import check_rules, default_partition_rules, spec_for


def kernel_axes(ndim: int) -> tuple[int, ...]:
    """For each kernel axis, the canonical axis it holds (weight_to_kernel's permutation)."""
    return (1, 0) if ndim == 2 else (*range(2, ndim), 1, 0)


def _is_kernel(path: tuple, ndim: int) -> bool:
    return path[-1] == "kernel" and ndim >= 2


class MeshPlacement:
    """Where each parameter goes on `mesh` under `rules` (None: autoload.partitioning's defaults)."""

    def __init__(self, mesh: Mesh, rules=None):
        if not isinstance(mesh, Mesh):
            raise TypeError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}.")
        self.mesh = mesh
        self.rules = check_rules(default_partition_rules() if rules is None else rules)
        self.axis_sizes = dict(mesh.shape)

    def sharding(self, name: str, path: tuple, shape: tuple) -> NamedSharding:
        """The NamedSharding of the Flax leaf at `path` (canonical name `name`, Flax shape `shape`)."""
        shape = tuple(shape)
        kernel = _is_kernel(path, len(shape))
        spec = spec_for(name, kernel_shape_as_weight(shape) if kernel else shape, self.rules, self.axis_sizes)
        if kernel:
            spec = tuple(spec[axis] for axis in kernel_axes(len(shape)))
        return NamedSharding(self.mesh, PartitionSpec(*spec))

    @staticmethod
    def load(source, stored: str, path: tuple, shape: tuple, dtype, sharding: NamedSharding) -> jax.Array:
        """The leaf as a sharded array; each device's callback reads only its piece of the canonical tensor
        (`source`, an autoload.loading.TensorSource). Devices holding the same piece share one read."""
        shape = tuple(shape)
        kernel = _is_kernel(path, len(shape))
        axes = kernel_axes(len(shape)) if kernel else tuple(range(len(shape)))
        pieces: dict = {}

        def piece(index: tuple) -> np.ndarray:
            index = tuple(index) + (slice(None),) * (len(shape) - len(index))
            key = tuple((s.start, s.stop, s.step) if isinstance(s, slice) else s for s in index)
            if key not in pieces:
                canonical = [slice(None)] * len(shape)
                for k, axis in enumerate(axes):
                    canonical[axis] = index[k]
                part = source.read(tuple(canonical))
                if stored == "bfloat16" and part.dtype == np.uint16:
                    part = part.view(jnp.bfloat16)
                part = weight_to_kernel(part) if kernel else part
                pieces[key] = np.ascontiguousarray(part.astype(dtype, copy=False))
            return pieces[key]

        return jax.make_array_from_callback(shape, sharding, piece)
