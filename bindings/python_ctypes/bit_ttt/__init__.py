"""bit_ttt: Python binding (ctypes) of the bit_ttt C SDK — BitLlama models with 1.58-bit ternary weights and
Test-Time-Training layers whose state, the *soul*, keeps learning while the model runs.

    import bit_ttt
    with bit_ttt.Model("models/demo.bitt") as model, model.context() as ctx:
        for piece in ctx.generate("Hello", max_tokens=64, seed=1):
            print(piece, end="", flush=True)
        ctx.save_soul("npc.soul")

The native library is found through BIT_TTT_LIBRARY (a file path), next to this package, or by the system loader;
see ``bit_ttt._lib``. numpy is optional: with it, logits come back as numpy arrays filled in place by the library.
"""
from __future__ import annotations

from . import _lib
from ._lib import (
    ABI_VERSION,
    LIBRARY_PATH,
    TTT_LOG_DEBUG,
    TTT_LOG_ERROR,
    TTT_LOG_INFO,
    TTT_LOG_WARN,
)
from ._logging import set_log_callback
from .context import SAMPLING_KEYS, Context, Generation, Perf, StopReason, forward_batch, remember
from .errors import (
    AbiMismatchError,
    AbortedError,
    BackendError,
    BitTttError,
    BufferTooSmallError,
    BusyError,
    ClosedError,
    DimensionMismatchError,
    FormatError,
    IncompatibleError,
    InvalidArgumentError,
    InvalidStateError,
    IoError,
    LibraryLoadError,
    NullPointerError,
    OutOfMemoryError,
    PanicError,
    UnsupportedError,
)
from .layer import Layer
from .model import Model, ModelInfo, apply_chat_template

__version__ = "0.1.0"

LOG_DEBUG = TTT_LOG_DEBUG
LOG_INFO = TTT_LOG_INFO
LOG_WARN = TTT_LOG_WARN
LOG_ERROR = TTT_LOG_ERROR


def version() -> str:
    """The native library's release version, e.g. "0.1.0"."""
    return _lib.LIB.ttt_version_string().decode("utf-8")


def abi_version() -> int:
    """The native library's TTT_ABI_VERSION (equal to ABI_VERSION, the binding's, or the import would have failed)."""
    return int(_lib.LIB.ttt_abi_version())


def status_string(status: int) -> str:
    """Name and meaning of a status code, e.g. "TTT_ERR_FORMAT: malformed or corrupted data"."""
    return _lib.LIB.ttt_status_string(int(status)).decode("utf-8")


__all__ = [
    "ABI_VERSION",
    "LIBRARY_PATH",
    "LOG_DEBUG",
    "LOG_INFO",
    "LOG_WARN",
    "LOG_ERROR",
    "SAMPLING_KEYS",
    "AbiMismatchError",
    "AbortedError",
    "BackendError",
    "BitTttError",
    "BufferTooSmallError",
    "BusyError",
    "ClosedError",
    "Context",
    "DimensionMismatchError",
    "FormatError",
    "Generation",
    "IncompatibleError",
    "InvalidArgumentError",
    "InvalidStateError",
    "IoError",
    "Layer",
    "LibraryLoadError",
    "Model",
    "apply_chat_template",
    "ModelInfo",
    "NullPointerError",
    "OutOfMemoryError",
    "PanicError",
    "Perf",
    "StopReason",
    "UnsupportedError",
    "abi_version",
    "forward_batch",
    "remember",
    "set_log_callback",
    "status_string",
    "version",
]
