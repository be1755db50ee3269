"""Exceptions of the bit_ttt binding: one class per ``ttt_status`` family.

Every non-zero status a C function returns becomes an exception. Its ``status`` is the C code and its ``message``
the text of ``ttt_last_error()``, read on the same thread right after the failing call (it names the function,
the file, the field and the reason). The classes also derive from the closest built-in exception, so
``except OSError`` catches I/O failures and ``except ValueError`` catches bad arguments and bad data.
"""
from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "BitTttError",
    "NullPointerError",
    "DimensionMismatchError",
    "InvalidArgumentError",
    "BufferTooSmallError",
    "BusyError",
    "InvalidStateError",
    "ClosedError",
    "UnsupportedError",
    "IoError",
    "FormatError",
    "IncompatibleError",
    "OutOfMemoryError",
    "AbortedError",
    "BackendError",
    "PanicError",
    "LibraryLoadError",
    "AbiMismatchError",
    "error_for_status",
]

# The status codes (include/bit_ttt.h). Numbers are stable forever.
TTT_OK = 0
TTT_ERR_NULL_POINTER = 1
TTT_ERR_DIMENSION_MISMATCH = 2
TTT_ERR_INVALID_ARGUMENT = 10
TTT_ERR_BUFFER_TOO_SMALL = 11
TTT_ERR_BUSY = 12
TTT_ERR_INVALID_STATE = 13
TTT_ERR_UNSUPPORTED = 14
TTT_ERR_IO = 50
TTT_ERR_FORMAT = 51
TTT_ERR_INCOMPATIBLE = 52
TTT_ERR_OUT_OF_MEMORY = 53
TTT_ERR_ABORTED = 54
TTT_ERR_BACKEND = 55
TTT_ERR_PANIC = 99


class BitTttError(Exception):
    """Base class of every error a bit_ttt call reports.

    Attributes:
        status: the C ``ttt_status`` code (e.g. 51 for ``TTT_ERR_FORMAT``).
        message: the library's message (``ttt_last_error()``), or the binding's own message.
    """

    #: The status this class stands for (the base class: any).
    default_status: int = -1

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message: str = message
        self.status: int = self.default_status if status is None else int(status)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keeps pickling (multiprocessing) working despite the extra constructor argument
        return (self.__class__, (self.message, self.status))


class NullPointerError(BitTttError, ValueError):
    """TTT_ERR_NULL_POINTER (1): a required pointer argument was NULL."""

    default_status = TTT_ERR_NULL_POINTER


class DimensionMismatchError(BitTttError, ValueError):
    """TTT_ERR_DIMENSION_MISMATCH (2): sizes do not fit each other (or would overflow)."""

    default_status = TTT_ERR_DIMENSION_MISMATCH


class InvalidArgumentError(BitTttError, ValueError):
    """TTT_ERR_INVALID_ARGUMENT (10): a value is out of its allowed range, or a handle is not live."""

    default_status = TTT_ERR_INVALID_ARGUMENT


class BufferTooSmallError(BitTttError):
    """TTT_ERR_BUFFER_TOO_SMALL (11): a caller buffer was too small (the binding sizes buffers itself)."""

    default_status = TTT_ERR_BUFFER_TOO_SMALL


class BusyError(BitTttError, RuntimeError):
    """TTT_ERR_BUSY (12): the context is in use by another thread (a context serves one thread at a time)."""

    default_status = TTT_ERR_BUSY


class InvalidStateError(BitTttError, RuntimeError):
    """TTT_ERR_INVALID_STATE (13): the call does not fit the object's state."""

    default_status = TTT_ERR_INVALID_STATE


class ClosedError(InvalidStateError, ValueError):
    """A method was called on a Model, Context or Layer after ``close()`` (like I/O on a closed file).

    Raised by the binding itself, never by the C library: a closed handle is never passed to C.
    """


class UnsupportedError(BitTttError, NotImplementedError):
    """TTT_ERR_UNSUPPORTED (14): a valid request this build or model does not support
    (e.g. text functions on a model without a tokenizer, the CUDA backend in a CPU build)."""

    default_status = TTT_ERR_UNSUPPORTED


class IoError(BitTttError, OSError):
    """TTT_ERR_IO (50): a file could not be opened, read or written. ``filename`` holds the path when known."""

    default_status = TTT_ERR_IO


class FormatError(BitTttError, ValueError):
    """TTT_ERR_FORMAT (51): malformed or corrupted data (file, buffer, JSON, UTF-8)."""

    default_status = TTT_ERR_FORMAT


class IncompatibleError(BitTttError, ValueError):
    """TTT_ERR_INCOMPATIBLE (52): well-formed data that does not fit, such as a soul of another model."""

    default_status = TTT_ERR_INCOMPATIBLE


class OutOfMemoryError(BitTttError, MemoryError):
    """TTT_ERR_OUT_OF_MEMORY (53): an allocation in the library failed."""

    default_status = TTT_ERR_OUT_OF_MEMORY


class AbortedError(BitTttError):
    """TTT_ERR_ABORTED (54): stopped by ``Context.cancel()`` or by a callback returning False.

    ``n_tokens``: for ``Context.learn`` and ``Context.sleep``, the tokens learned before the stop (the soul keeps
    them); None for other calls."""

    default_status = TTT_ERR_ABORTED
    n_tokens: Optional[int] = None


class BackendError(BitTttError, RuntimeError):
    """TTT_ERR_BACKEND (55): the compute backend failed or is unavailable."""

    default_status = TTT_ERR_BACKEND


class PanicError(BitTttError, RuntimeError):
    """TTT_ERR_PANIC (99): an internal error of the library, caught at the API boundary (please report it)."""

    default_status = TTT_ERR_PANIC


class LibraryLoadError(ImportError):
    """The native library could not be found or loaded. The message lists every place tried and why it failed."""


class AbiMismatchError(ImportError):
    """The loaded native library has another ``TTT_ABI_VERSION`` than the one this binding was written for."""

    def __init__(self, message: str, library_version: int, binding_version: int) -> None:
        super().__init__(message)
        self.library_version = library_version
        self.binding_version = binding_version


_BY_STATUS: Dict[int, Type[BitTttError]] = {
    cls.default_status: cls
    for cls in (
        NullPointerError,
        DimensionMismatchError,
        InvalidArgumentError,
        BufferTooSmallError,
        BusyError,
        InvalidStateError,
        UnsupportedError,
        IoError,
        FormatError,
        IncompatibleError,
        OutOfMemoryError,
        AbortedError,
        BackendError,
        PanicError,
    )
}


def error_for_status(status: int, message: str) -> BitTttError:
    """The exception for a non-zero status (an unknown code gives a plain ``BitTttError``)."""
    cls = _BY_STATUS.get(int(status), BitTttError)
    return cls(message, int(status))
