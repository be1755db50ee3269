"""Conversions between Python values and the C buffers of the API. numpy is optional: with it, arrays go to C
without a copy (the binding passes the array's own buffer); without it, the standard ``array`` module is used."""
from __future__ import annotations

import array
import ctypes
from ctypes import POINTER, c_float, c_int32
from typing import Any, Iterable, List, Sequence, Tuple, Union

try:  # numpy is an optional extra
    import numpy as np
except ImportError:  # pragma: no cover - exercised by monkeypatching np = None in the tests
    np = None  # type: ignore[assignment]

_INT32_CODE = "i" if array.array("i").itemsize == 4 else "l"
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
INT32_MAX = _INT32_MAX
UINT64_MAX = 2**64 - 1
SIZE_MAX = 2 ** (8 * ctypes.sizeof(ctypes.c_size_t)) - 1


def int_arg(name: str, value: Any, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi], for a C integer parameter. ctypes would silently wrap a Python int that does
    not fit (2**32 + 5 becomes 5), so every integer crossing into the library goes through here first. Refuses
    bools, floats and strings (TypeError) and values outside the range (ValueError), naming the argument and range.
    """
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError("%s must be an integer in [%d, %d], got %r" % (name, lo, hi, value))
    v = value.__index__()
    if not lo <= v <= hi:
        raise ValueError("%s must be in [%d, %d], got %d" % (name, lo, hi, v))
    return v


def int32_arg(name: str, value: Any, lo: int = _INT32_MIN, hi: int = _INT32_MAX) -> int:
    return int_arg(name, value, lo, hi)


def float_arg(name: str, value: Any) -> float:
    """``value`` as a float for a C float parameter (any real number; the library checks its own ranges)."""
    if isinstance(value, bool):
        raise TypeError("%s must be a number, got %r" % (name, value))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError("%s must be a number, got %r" % (name, value)) from None

TokensLike = Union[int, Sequence[int], Iterable[int], Any]


def have_numpy() -> bool:
    return np is not None


def int32_buffer(tokens: TokensLike) -> Tuple[Any, int, Any]:
    """Token ids as (POINTER(c_int32), count, keep-alive object). Accepts an int, any iterable of ints, or a 1-D
    integer numpy array (passed without a copy when it already is C-contiguous int32)."""
    if np is not None and isinstance(tokens, np.ndarray):
        if tokens.ndim != 1:
            raise ValueError("token ids must be a 1-D array, got shape %s" % (tokens.shape,))
        if tokens.size and not np.issubdtype(tokens.dtype, np.integer):
            raise TypeError("token ids must be integers, got dtype %s" % tokens.dtype)
        if tokens.dtype != np.int32 and tokens.size:
            lo, hi = int(tokens.min()), int(tokens.max())
            if lo < _INT32_MIN or hi > _INT32_MAX:
                raise OverflowError("token id %d does not fit int32" % (lo if lo < _INT32_MIN else hi))
        arr = np.ascontiguousarray(tokens, dtype=np.int32)
        return arr.ctypes.data_as(POINTER(c_int32)), int(arr.size), arr
    if isinstance(tokens, int) or (np is not None and isinstance(tokens, np.integer)):
        tokens = [int(tokens)]
    if isinstance(tokens, (str, bytes)):
        raise TypeError("token ids must be integers; to turn text into ids use Model.tokenize()")
    buf = array.array(_INT32_CODE, tokens)  # TypeError for non-ints, OverflowError for out-of-range values
    address, n = buf.buffer_info()
    return ctypes.cast(address, POINTER(c_int32)), n, buf


def float_out(n: int) -> Tuple[Any, Any, Any]:
    """A new float32 buffer of n values: (returned object, POINTER(c_float), keep-alive). The returned object is a
    numpy array or an ``array.array('f')``; the pointer is never NULL (an empty result still gets one element of
    room, since the C API checks output pointers even for zero lengths)."""
    if np is not None:
        arr = np.empty(max(n, 1), dtype=np.float32)
        return arr[:n], arr.ctypes.data_as(POINTER(c_float)), arr
    buf = array.array("f", [0.0]) * max(n, 1)
    return (buf if n else array.array("f")), ctypes.cast(buf.buffer_info()[0], POINTER(c_float)), buf


def rows(flat: Any, n_rows: int, n_cols: int) -> Any:
    """Shape a flat float32 buffer from float_out as (n_rows, n_cols): a numpy view, or a list of array rows."""
    if np is not None and isinstance(flat, np.ndarray):
        return flat.reshape(n_rows, n_cols)
    return [flat[i * n_cols : (i + 1) * n_cols] for i in range(n_rows)]


def float_matrix(x: Any, n_cols: int) -> Tuple[Any, int, Any]:
    """A (rows, n_cols) float input (numpy array, list of rows, or one flat row) as
    (POINTER(c_float), rows, keep-alive)."""
    if np is not None and isinstance(x, np.ndarray):
        arr = np.ascontiguousarray(x, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2 or arr.shape[1] != n_cols:
            raise ValueError("expected shape (seq_len, %d), got %s" % (n_cols, tuple(np.shape(x))))
        return arr.ctypes.data_as(POINTER(c_float)), int(arr.shape[0]), arr
    seq: List[Any] = list(x)
    if seq and not hasattr(seq[0], "__len__"):
        seq = [seq]  # one flat row
    buf = array.array("f")
    for i, row in enumerate(seq):
        row = list(row)
        if len(row) != n_cols:
            raise ValueError("row %d has %d values, expected hidden_dim = %d" % (i, len(row), n_cols))
        buf.extend(float(v) for v in row)
    if not seq:
        buf.append(0.0)  # a non-NULL pointer for an empty input
    return ctypes.cast(buf.buffer_info()[0], POINTER(c_float)), len(seq), buf


def readonly_bytes(data: Any) -> bytes:
    """bytes for a C ``const void*`` argument (bytes pass through; other buffers are copied once)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if np is not None and isinstance(data, np.ndarray):
        return data.tobytes()
    raise TypeError("expected bytes, bytearray or memoryview, not %s" % type(data).__name__)
