"""Matrix transposes through OpenBLAS's ?omatcopy, from the OpenBLAS that numpy's wheels bundle.

numpy has no blocked transpose: its strided copy moves a large float32 matrix at 2-4 GB/s, OpenBLAS's kernels
at 8-13 GB/s on the same core, and turning PyTorch-layout kernels into the TF / Flax layout is the one heavy
copy of such a load. The routine scales by alpha = 1, so a signalling NaN comes out quiet; every other value
keeps its bits. Each thread checks once that its floating-point unit keeps subnormals (a library built with
-ffast-math can switch that off), and uses numpy where it does not. Without such a library (another BLAS, an
older numpy, AUTOLOAD_BLAS_TRANSPOSE=0) everything stays with numpy.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading

import numpy as np

_VARIABLE = "AUTOLOAD_BLAS_TRANSPOSE"
_ROW_MAJOR, _TRANSPOSE = 101, 112  # CBLAS_ORDER / CBLAS_TRANSPOSE values
# The bundled OpenBLAS is built with 64-bit integers and these suffixed names (numpy >= 2.0: scipy_openblas;
# numpy 1.2x: openblas64_); an unsuffixed cblas_?omatcopy might take 32-bit integers, so it is not used.
_PREFIXES = ("scipy_cblas_", "cblas_")
_ROUTINES = {
    np.dtype(np.float32): ("somatcopy64_", ctypes.c_float),
    np.dtype(np.float64): ("domatcopy64_", ctypes.c_double),
}

_lock = threading.Lock()
_routines: dict | None = None
_checked = threading.local()


def _library_paths() -> list[str]:
    here = os.path.dirname(np.__file__)
    patterns = [os.path.join(here, os.pardir, "numpy.libs", "*openblas*"), os.path.join(here, ".dylibs", "*openblas*")]
    return sorted(path for pattern in patterns for path in glob.glob(pattern))


def _load() -> dict:
    if os.environ.get(_VARIABLE, "1") == "0":
        return {}
    for path in _library_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        found = {}
        for dtype, (suffix, scalar) in _ROUTINES.items():
            routine = next((getattr(library, p + suffix) for p in _PREFIXES if hasattr(library, p + suffix)), None)
            if routine is None:
                continue
            routine.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64, scalar,
                                ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]  # fmt: skip
            routine.restype = None
            found[dtype] = routine
        if found:  # each thread checks them before its first use (_routine)
            return found
    return {}


def _routine(dtype: np.dtype):
    global _routines
    if _routines is None:
        with _lock:
            if _routines is None:
                _routines = _load()
    routine = _routines.get(dtype)
    if routine is None:
        return None
    ok = getattr(_checked, "ok", None)
    if ok is None:
        ok = _checked.ok = all(_transposes_exactly(r, d) for d, r in _routines.items())
    return routine if ok else None


def _transposes_exactly(routine, dtype: np.dtype) -> bool:
    """Whether the routine, on this thread, transposes a band into a wider matrix bit for bit, subnormals too."""
    bits = np.dtype(f"u{dtype.itemsize}")
    source = np.random.default_rng(0).integers(1, 1 << 20, size=(5, 7)).astype(bits).view(dtype)
    source.view(bits)[0, :3] = (1, 2, 3)  # subnormals
    out = np.zeros((7, 9), dtype)
    _call(routine, out[:, 1:6], source)
    untouched = not out[:, 0].any() and not out[:, 6:].any()
    return bool(np.array_equal(out[:, 1:6].view(bits), source.T.view(bits)) and untouched)


def _call(routine, out: np.ndarray, array: np.ndarray) -> None:
    rows, columns = array.shape
    stride = out.strides[0] // out.itemsize
    routine(_ROW_MAJOR, _TRANSPOSE, rows, columns, 1.0, array.ctypes.data, columns, out.ctypes.data, stride)


def transpose_matrix_into(out: np.ndarray, array: np.ndarray) -> bool:
    """out[...] = array.T through OpenBLAS; False (out untouched) where it cannot: another dtype, no library,
    or layouts it does not take (array C-contiguous, out's rows contiguous)."""
    if array.ndim != 2 or out.shape != array.shape[::-1] or out.dtype != array.dtype or array.size == 0:
        return False
    routine = _routine(array.dtype)
    if routine is None or not array.flags.c_contiguous or out.strides[1] != out.itemsize:
        return False
    if out.strides[0] % out.itemsize or out.strides[0] < out.shape[1] * out.itemsize or not out.flags.writeable:
        return False
    _call(routine, out, array)
    return True
