"""Low-level ctypes declarations of the whole C ABI (include/bit_ttt.h) and the library loader.

This module mirrors the header one to one: every ``TTT_API`` function with its ``argtypes``/``restype``, every
constant, every params/info struct and every callback type. The friendly classes live in ``model.py``,
``context.py`` and ``layer.py``; use ``LIB`` here only for what they do not cover.

Finding the library (first that works wins; the error lists every place tried and why it failed):

1. ``BIT_TTT_LIBRARY``: a file path. When set, it is the only candidate, so an override never silently falls back
   to another build.
2. Next to the package: ``bit_ttt/libbit_ttt.so`` (Linux), ``bit_ttt/libbit_ttt.dylib`` (macOS),
   ``bit_ttt/bit_ttt.dll`` or ``bit_ttt/libbit_ttt.dll`` (Windows).
3. The system loader: ``ctypes.util.find_library("bit_ttt")``, then the plain names of the platform
   (``libbit_ttt.so``, ``libbit_ttt.so.1``; ``libbit_ttt.dylib``; ``bit_ttt.dll``), which the loader looks up on its
   search path (``LD_LIBRARY_PATH``, ``DYLD_LIBRARY_PATH``, ``PATH`` ...).

At import the binding checks ``ttt_abi_version() == ABI_VERSION`` and refuses a mismatch with ``AbiMismatchError``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_float,
    c_int32,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, Callable, Dict, List, Tuple

from . import errors as _errors
from .errors import AbiMismatchError, LibraryLoadError, error_for_status

#: The TTT_ABI_VERSION of the header this binding was written against.
ABI_VERSION = 1

#: The environment variable that names the library file to load.
LIBRARY_ENV = "BIT_TTT_LIBRARY"

# --------------------------------------------------------------------------------------------------------------
# Constants (same names and values as the header)
# --------------------------------------------------------------------------------------------------------------

TTT_OK = _errors.TTT_OK
TTT_ERR_NULL_POINTER = _errors.TTT_ERR_NULL_POINTER
TTT_ERR_DIMENSION_MISMATCH = _errors.TTT_ERR_DIMENSION_MISMATCH
TTT_ERR_INVALID_ARGUMENT = _errors.TTT_ERR_INVALID_ARGUMENT
TTT_ERR_BUFFER_TOO_SMALL = _errors.TTT_ERR_BUFFER_TOO_SMALL
TTT_ERR_BUSY = _errors.TTT_ERR_BUSY
TTT_ERR_INVALID_STATE = _errors.TTT_ERR_INVALID_STATE
TTT_ERR_UNSUPPORTED = _errors.TTT_ERR_UNSUPPORTED
TTT_ERR_IO = _errors.TTT_ERR_IO
TTT_ERR_FORMAT = _errors.TTT_ERR_FORMAT
TTT_ERR_INCOMPATIBLE = _errors.TTT_ERR_INCOMPATIBLE
TTT_ERR_OUT_OF_MEMORY = _errors.TTT_ERR_OUT_OF_MEMORY
TTT_ERR_ABORTED = _errors.TTT_ERR_ABORTED
TTT_ERR_BACKEND = _errors.TTT_ERR_BACKEND
TTT_ERR_PANIC = _errors.TTT_ERR_PANIC

TTT_LOG_DEBUG = 0
TTT_LOG_INFO = 1
TTT_LOG_WARN = 2
TTT_LOG_ERROR = 3

TTT_BACKEND_CPU = 0
TTT_BACKEND_CUDA = 1

TTT_LM_HEAD_DEFAULT = 0
TTT_LM_HEAD_F32 = 1
TTT_LM_HEAD_BF16 = 2
TTT_LM_HEAD_I8 = 3

TTT_SOUL_FORCE = 1

TTT_ARCH_TTT = 0
TTT_ARCH_LLAMA = 1
TTT_ARCH_BITNET = 2
TTT_KIND_UPSTREAM = 0
TTT_KIND_DELTA = 1

TTT_KV_F16 = 0
TTT_KV_INT8 = 1
TTT_KV_F32 = 2

TTT_ACTIVATIONS_DEFAULT = 0
TTT_ACTIVATIONS_MODEL = 1
TTT_ACTIVATIONS_INT8 = 2

TTT_TOKENIZE_ADD_SPECIAL = 1
TTT_TOKENIZE_PARSE_SPECIAL = 2
TTT_DETOKENIZE_SKIP_SPECIAL = 1

TTT_STOP_NONE = 0
TTT_STOP_EOS = 1
TTT_STOP_MAX_TOKENS = 2
TTT_STOP_STRING = 3
TTT_STOP_CALLBACK = 4

# --------------------------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------------------------

ttt_status = c_int32


class ttt_model(Structure):
    """Opaque model handle (only pointers to it exist)."""


class ttt_context(Structure):
    """Opaque context handle (only pointers to it exist)."""


class ttt_layer(Structure):
    """Opaque legacy-layer handle (only pointers to it exist)."""


ModelHandle = POINTER(ttt_model)
ContextHandle = POINTER(ttt_context)
LayerHandle = POINTER(ttt_layer)

# Callback types. TTT_CALL is cdecl on every platform, which is what CFUNCTYPE produces.
# Text arrives as (pointer, length): c_void_p keeps ctypes from converting it (it need not be NUL-terminated).
ttt_log_callback = CFUNCTYPE(None, c_int32, c_char_p, c_void_p)
ttt_progress_callback = CFUNCTYPE(c_int32, c_float, c_void_p)
ttt_text_callback = CFUNCTYPE(c_int32, c_void_p, c_size_t, c_int32, c_void_p)
ttt_abort_callback = CFUNCTYPE(c_int32, c_void_p)


class ttt_model_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("backend", c_int32),
        ("n_gpu_layers", c_int32),
        ("verify_checksum", c_int32),
        ("progress_callback", ttt_progress_callback),
        ("progress_user_data", c_void_p),
    ]


class ttt_model_info(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("vocab_size", c_int32),
        ("hidden_dim", c_int32),
        ("num_layers", c_int32),
        ("intermediate_dim", c_int32),
        ("ttt_dim", c_int32),
        ("ttt_chunk", c_int32),
        ("bitlinear_scale", c_int32),
        ("act_bits", c_int32),
        ("inner_lr", c_float),
        ("norm_eps", c_float),
        ("bos_id", c_int32),
        ("eos_id", c_int32),
        ("fingerprint", c_uint64),
        ("n_params", c_uint64),
        ("has_tokenizer", c_int32),
        ("architecture", c_int32),
        ("n_heads", c_int32),
        ("n_kv_heads", c_int32),
        ("head_dim", c_int32),
        ("max_position", c_int32),
        ("ttt_kind", c_int32),
        ("ttt_heads", c_int32),
    ]


class ttt_context_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("n_threads", c_int32),
        ("backend", c_int32),
        ("n_batch", c_int32),
        ("lm_head", c_int32),
        ("n_ctx", c_int32),
        ("kv_cache_type", c_int32),
        ("activations", c_int32),
    ]


class ttt_logit_bias(Structure):
    _fields_ = [
        ("token", c_int32),
        ("bias", c_float),
    ]


class ttt_generate_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("max_tokens", c_int32),
        ("temperature", c_float),
        ("top_k", c_int32),
        ("top_p", c_float),
        ("min_p", c_float),
        ("repetition_penalty", c_float),
        ("presence_penalty", c_float),
        ("frequency_penalty", c_float),
        ("penalty_window", c_int32),
        ("seed", c_uint64),
        ("logit_bias", POINTER(ttt_logit_bias)),
        ("n_logit_bias", c_size_t),
        ("stop_strings", POINTER(c_char_p)),
        ("n_stop_strings", c_size_t),
        ("tokenize_flags", c_uint32),
    ]


class ttt_sleep_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("memories_dir", c_char_p),
        ("max_days", c_int32),
        ("random_days", c_int32),
        ("seed", c_uint64),
        ("max_piece_chars", c_int32),
        ("progress_callback", ttt_progress_callback),
        ("progress_user_data", c_void_p),
        ("autosave_path", c_char_p),
    ]


class ttt_chat_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("chat_template", c_char_p),
        ("bos_token", c_char_p),
        ("eos_token", c_char_p),
        ("extra_json", c_char_p),
        ("add_generation_prompt", c_int32),
    ]


class ttt_perf(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("prompt_tokens", c_uint64),
        ("prompt_seconds", c_double),
        ("generated_tokens", c_uint64),
        ("generation_seconds", c_double),
    ]


# --------------------------------------------------------------------------------------------------------------
# Function table: (name, restype, argtypes). restype ttt_status means "check the status and raise".
# --------------------------------------------------------------------------------------------------------------

_P = POINTER
FUNCTIONS: List[Tuple[str, Any, List[Any]]] = [
    # versions and errors
    ("ttt_abi_version", c_uint32, []),
    ("ttt_version_string", c_char_p, []),
    ("ttt_status_string", c_char_p, [ttt_status]),
    ("ttt_last_error", c_char_p, []),
    # logging
    ("ttt_log_set", None, [ttt_log_callback, c_int32, c_void_p]),
    # models
    ("ttt_model_params_init", ttt_status, [_P(ttt_model_params), c_uint32]),
    ("ttt_load_model", ttt_status, [c_char_p, _P(ttt_model_params), _P(ModelHandle)]),
    ("ttt_load_bitt", ttt_status, [c_char_p, _P(ttt_model_params), _P(ModelHandle)]),
    ("ttt_load_bitt_buffer", ttt_status, [c_void_p, c_size_t, _P(ttt_model_params), _P(ModelHandle)]),
    ("ttt_model_free", None, [ModelHandle]),
    ("ttt_model_get_info", ttt_status, [ModelHandle, _P(ttt_model_info)]),
    # contexts
    ("ttt_context_params_init", ttt_status, [_P(ttt_context_params), c_uint32]),
    ("ttt_create", ttt_status, [ModelHandle, _P(ttt_context_params), _P(ContextHandle)]),
    ("ttt_destroy", None, [ContextHandle]),
    ("ttt_forward", ttt_status, [ContextHandle, _P(c_int32), c_size_t, _P(c_float)]),
    ("ttt_forward_all", ttt_status, [ContextHandle, _P(c_int32), c_size_t, _P(c_float)]),
    ("ttt_forward_batch", ttt_status, [_P(ContextHandle), c_size_t, _P(c_int32), _P(c_size_t), _P(c_float)]),
    ("ttt_reset", ttt_status, [ContextHandle]),
    ("ttt_cancel", ttt_status, [ContextHandle]),
    ("ttt_set_abort_callback", ttt_status, [ContextHandle, ttt_abort_callback, c_void_p]),
    ("ttt_get_position", ttt_status, [ContextHandle, _P(c_uint64)]),
    ("ttt_get_soul_level", ttt_status, [ContextHandle, _P(c_uint64)]),
    ("ttt_get_model", ttt_status, [ContextHandle, _P(ModelHandle)]),
    # souls
    ("ttt_save_soul", ttt_status, [ContextHandle, c_char_p]),
    ("ttt_load_soul", ttt_status, [ContextHandle, c_char_p, c_uint32]),
    ("ttt_save_soul_buffer", ttt_status, [ContextHandle, c_void_p, c_size_t, _P(c_size_t)]),
    ("ttt_load_soul_buffer", ttt_status, [ContextHandle, c_void_p, c_size_t, c_uint32]),
    # tokenizer
    ("ttt_tokenize", ttt_status, [ModelHandle, c_char_p, c_size_t, c_uint32, _P(c_int32), c_size_t, _P(c_size_t)]),
    ("ttt_detokenize", ttt_status, [ModelHandle, _P(c_int32), c_size_t, c_uint32, c_void_p, c_size_t, _P(c_size_t)]),
    ("ttt_token_to_piece", ttt_status, [ModelHandle, c_int32, c_void_p, c_size_t, _P(c_size_t)]),
    ("ttt_token_is_eog", ttt_status, [ModelHandle, c_int32, _P(c_int32)]),
    # chat templates (model may be NULL with an explicit template)
    ("ttt_chat_params_init", ttt_status, [_P(ttt_chat_params), c_uint32]),
    (
        "ttt_chat_apply_template",
        ttt_status,
        [ModelHandle, c_char_p, c_size_t, _P(ttt_chat_params), c_void_p, c_size_t, _P(c_size_t)],
    ),
    ("ttt_model_chat_template", ttt_status, [ModelHandle, c_void_p, c_size_t, _P(c_size_t)]),
    # generation
    ("ttt_generate_params_init", ttt_status, [_P(ttt_generate_params), c_uint32]),
    ("ttt_generate_begin", ttt_status, [ContextHandle, c_char_p, c_size_t, _P(ttt_generate_params)]),
    ("ttt_generate_next", ttt_status, [ContextHandle, _P(c_int32), _P(c_void_p), _P(c_size_t), _P(c_int32)]),
    (
        "ttt_generate",
        ttt_status,
        [ContextHandle, c_char_p, c_size_t, _P(ttt_generate_params), ttt_text_callback, c_void_p, _P(c_int32)],
    ),
    # learning, memories, sleep
    ("ttt_learn", ttt_status, [ContextHandle, c_char_p, c_size_t, c_uint32, _P(c_size_t)]),
    ("ttt_remember", ttt_status, [c_char_p, c_char_p, c_char_p, c_size_t]),
    ("ttt_sleep_params_init", ttt_status, [_P(ttt_sleep_params), c_uint32]),
    ("ttt_sleep", ttt_status, [ContextHandle, _P(ttt_sleep_params), _P(c_size_t)]),
    # performance counters
    ("ttt_get_perf", ttt_status, [ContextHandle, _P(ttt_perf)]),
    # legacy single layer
    ("ttt_layer_create", ttt_status, [c_size_t, c_float, _P(LayerHandle)]),
    ("ttt_layer_create_seeded", ttt_status, [c_size_t, c_float, c_uint64, _P(LayerHandle)]),
    ("ttt_layer_forward", ttt_status, [LayerHandle, _P(c_float), c_size_t, _P(c_float)]),
    ("ttt_layer_destroy", None, [LayerHandle]),
]

# Functions whose failure the binding answers itself (the size-query protocol); they still raise, as every
# status-returning function does, and the callers catch BufferTooSmallError where they expect it.


def _status_errcheck(result: int, func: Any, args: Tuple[Any, ...]) -> int:
    """errcheck of every status-returning function: a non-zero status raises, with ttt_last_error()'s text.

    ctypes runs this on the calling thread right after the foreign call returns, so the thread-local message
    belongs to this call.
    """
    if result != TTT_OK:
        raise _error_from_library(result)
    return result


def _error_from_library(status: int) -> _errors.BitTttError:
    message = b""
    try:
        message = LIB.ttt_last_error() or b""
        if not message:
            message = LIB.ttt_status_string(status) or b""
    except Exception:  # pragma: no cover - the library is gone (interpreter shutdown)
        pass
    text = message.decode("utf-8", errors="replace") or "bit_ttt status %d" % status
    return error_for_status(status, text)


def _missing_function(name: str, library_path: str) -> Callable[..., Any]:
    def missing(*_args: Any) -> Any:
        raise _errors.UnsupportedError(
            "%s is not exported by %s (an older library than this binding?); upgrade the library" % (name, library_path)
        )

    missing.__name__ = name
    return missing


# --------------------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------------------

if sys.platform == "win32":
    _PACKAGE_NAMES: Tuple[str, ...] = ("bit_ttt.dll", "libbit_ttt.dll")
    _SYSTEM_NAMES: Tuple[str, ...] = ("bit_ttt.dll", "libbit_ttt.dll")
elif sys.platform == "darwin":
    _PACKAGE_NAMES = ("libbit_ttt.dylib",)
    _SYSTEM_NAMES = ("libbit_ttt.dylib", "libbit_ttt.1.dylib")
else:
    _PACKAGE_NAMES = ("libbit_ttt.so",)
    _SYSTEM_NAMES = ("libbit_ttt.so", "libbit_ttt.so.1")


def _candidates() -> List[Tuple[str, str, bool]]:
    """(where, path or name, is_file_path) in search order."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return [("%s=%s" % (LIBRARY_ENV, env), env, True)]
    here = os.path.dirname(os.path.abspath(__file__))
    found: List[Tuple[str, str, bool]] = [("next to the package", os.path.join(here, n), True) for n in _PACKAGE_NAMES]
    located = ctypes.util.find_library("bit_ttt")
    if located:
        found.append(("ctypes.util.find_library('bit_ttt')", located, False))
    found.extend(("system loader", n, False) for n in _SYSTEM_NAMES)
    return found


def _open(path: str, is_file: bool) -> ctypes.CDLL:
    if is_file and not os.path.exists(path):
        raise OSError("no such file")
    if is_file and os.path.isdir(path):
        raise OSError("is a directory, expected the library file")
    if sys.platform == "win32" and is_file and hasattr(os, "add_dll_directory"):
        # Python >= 3.8 no longer searches PATH for the DLL's own dependencies.
        os.add_dll_directory(os.path.dirname(os.path.abspath(path)))
    return ctypes.CDLL(path)


def load_library() -> Tuple[ctypes.CDLL, str]:
    """Find and open the native library; returns (library, path). Raises LibraryLoadError listing every try."""
    tried: List[str] = []
    for where, path, is_file in _candidates():
        try:
            lib = _open(path, is_file)
        except OSError as e:
            tried.append("  %s: %s: %s" % (where, path, e))
            continue
        if not hasattr(lib, "ttt_abi_version"):
            tried.append("  %s: %s: loaded, but it exports no ttt_abi_version (not the bit_ttt library)" % (where, path))
            continue
        return lib, getattr(lib, "_name", path) or path
    hint = (
        "unset %s to search the default places" % LIBRARY_ENV
        if os.environ.get(LIBRARY_ENV)
        else "build it (cmake --build build --target bit_ttt) and set %s to the file, or copy it next to the package"
        % LIBRARY_ENV
    )
    raise LibraryLoadError("cannot load the bit_ttt native library; tried:\n" + "\n".join(tried) + "\n" + hint)


def declare(lib: ctypes.CDLL, library_path: str) -> Dict[str, Any]:
    """Set argtypes/restype (and the status check) of every function in FUNCTIONS on ``lib``.

    Returns {name: function}. A function the library lacks (an older library of the same ABI) becomes a stub that
    raises UnsupportedError when called.
    """
    table: Dict[str, Any] = {}
    for name, restype, argtypes in FUNCTIONS:
        try:
            fn = getattr(lib, name)
        except AttributeError:
            table[name] = _missing_function(name, library_path)
            continue
        fn.argtypes = argtypes
        fn.restype = restype
        if restype is ttt_status:
            fn.errcheck = _status_errcheck
        table[name] = fn
    return table


def check_abi(lib: Any, library_path: str = "") -> None:
    """Refuse a library built for another ABI. Compares ``ttt_abi_version()`` with this module's ABI_VERSION."""
    expected = ABI_VERSION  # read at call time (tests monkeypatch it)
    got = int(lib.ttt_abi_version())
    if got != expected:
        raise AbiMismatchError(
            "bit_ttt ABI mismatch: the library %s has ABI version %d, but this binding was written for ABI version %d; "
            "install the binding that matches the library (or the library that matches the binding)"
            % (library_path or "(loaded)", got, expected),
            library_version=got,
            binding_version=expected,
        )


class _Lib:
    """Attribute access to the declared functions (``LIB.ttt_forward(...)``)."""

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self._cdll = cdll
        self.path = path
        self.__dict__.update(declare(cdll, path))


_cdll, LIBRARY_PATH = load_library()
LIB = _Lib(_cdll, LIBRARY_PATH)
check_abi(LIB, LIBRARY_PATH)


# --------------------------------------------------------------------------------------------------------------
# Helpers shared by the wrapper classes
# --------------------------------------------------------------------------------------------------------------


def fspath_bytes(path: "os.PathLike[str] | str", what: str = "path") -> bytes:
    """A path as the NUL-terminated UTF-8 bytes the C API takes."""
    if isinstance(path, (bytes, bytearray)):
        raw = bytes(path)
    else:
        raw = os.fsencode(os.fspath(path))
    if b"\0" in raw:
        raise ValueError("%s contains a NUL byte" % what)
    return raw


def text_bytes(text: "str | bytes | bytearray | memoryview", what: str = "text") -> bytes:
    """Text as UTF-8 bytes (str is encoded; bytes-like objects pass through unchanged)."""
    if isinstance(text, str):
        return text.encode("utf-8", errors="surrogatepass")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(text).__name__))


def cstring(text: str, what: str) -> bytes:
    """A NUL-terminated UTF-8 string argument (no embedded NUL)."""
    raw = text_bytes(text, what)
    if b"\0" in raw:
        raise ValueError("%s contains a NUL byte" % what)
    return raw


def params_init(struct_type: Any, init_name: str) -> Any:
    """A params struct filled with the library's defaults (struct_size = ctypes.sizeof of our mirror)."""
    p = struct_type()
    getattr(LIB, init_name)(ctypes.byref(p), ctypes.sizeof(struct_type))
    return p


def library_struct_size(struct_type: Any, fill_name: str) -> int:
    """The library's own sizeof for a struct, learned through the struct_size protocol with a 4 KiB buffer.

    For params structs fill_name is the *_params_init function; for ttt_model_info / ttt_perf pass a callable
    fill(buffer_pointer) that runs the getter.
    """
    buf = ctypes.create_string_buffer(4096)
    ctypes.c_uint32.from_buffer(buf).value = 4096
    ptr = ctypes.cast(buf, POINTER(struct_type))
    if callable(fill_name):
        fill_name(ptr)
    else:
        getattr(LIB, fill_name)(ptr, 4096)
    return int(ctypes.c_uint32.from_buffer(buf).value)
