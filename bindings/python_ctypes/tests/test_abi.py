"""The binding against the header: every function bound, constants, struct layouts, the ABI check, loading."""
from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys

import pytest

import bit_ttt
from bit_ttt import _lib

from conftest import HEADER, LIBRARY, PACKAGE_ROOT


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


HEADER_TEXT = _strip_comments(HEADER.read_text())


def header_functions():
    """{name: number of parameters} of every TTT_API function in the header."""
    out = {}
    for m in re.finditer(r"TTT_API\s+[^;{]*?\b(ttt_\w+)\s*\(([^;]*?)\)\s*;", HEADER_TEXT, flags=re.S):
        params = m.group(2).strip()
        out[m.group(1)] = 0 if params in ("", "void") else params.count(",") + 1
    return out


def header_defines():
    return {
        m.group(1): int(m.group(2), 0)
        for m in re.finditer(r"#define\s+(TTT_[A-Z0-9_]+)\s+(-?(?:0x[0-9a-fA-F]+|\d+))u?\b", HEADER_TEXT)
    }


def header_structs():
    """{struct name: [field names in order]}"""
    out = {}
    for m in re.finditer(r"typedef struct (\w+)\s*\{(.*?)\}\s*\1\s*;", HEADER_TEXT, flags=re.S):
        fields = [re.search(r"(\w+)\s*$", decl.strip()).group(1) for decl in m.group(2).split(";") if decl.strip()]
        out[m.group(1)] = fields
    return out


def test_header_parse_finds_the_api():
    names = header_functions()
    assert len(names) >= 40
    assert "ttt_forward" in names and names["ttt_forward"] == 4
    assert "ttt_abi_version" in names and names["ttt_abi_version"] == 0


def test_every_header_function_is_bound_with_argtypes_and_restype():
    declared = {name: (restype, argtypes) for name, restype, argtypes in _lib.FUNCTIONS}
    cdll = _lib.LIB._cdll
    for name, n_params in header_functions().items():
        assert name in declared, "%s is in bit_ttt.h but not bound" % name
        fn = getattr(_lib.LIB, name)
        assert fn is getattr(cdll, name), "%s is missing from the loaded library" % name
        assert fn.argtypes is not None and len(fn.argtypes) == n_params, name
        assert fn.restype is declared[name][0], name
        if declared[name][0] is _lib.ttt_status:
            assert fn.errcheck is _lib._status_errcheck, name
    # Nothing bound that the header does not declare.
    assert set(declared) == set(header_functions())


def test_status_functions_match_header_return_types():
    returns_status = set(
        m.group(1) for m in re.finditer(r"TTT_API\s+ttt_status\s+TTT_CALL\s+(ttt_\w+)", HEADER_TEXT)
    )
    for name, restype, _ in _lib.FUNCTIONS:
        assert (restype is _lib.ttt_status) == (name in returns_status), name


def test_constants_match_header():
    defines = header_defines()
    assert defines, "no #define parsed"
    for name, value in defines.items():
        if name == "TTT_ABI_VERSION":
            assert _lib.ABI_VERSION == value
        else:
            assert getattr(_lib, name) == value, name
    for code in (1, 2, 10, 11, 12, 13, 14, 50, 51, 52, 53, 54, 55, 99):
        assert bit_ttt.errors.error_for_status(code, "x").status == code


def test_struct_fields_match_header():
    structs = header_structs()
    mirrors = {
        "ttt_model_params": _lib.ttt_model_params,
        "ttt_model_info": _lib.ttt_model_info,
        "ttt_context_params": _lib.ttt_context_params,
        "ttt_logit_bias": _lib.ttt_logit_bias,
        "ttt_generate_params": _lib.ttt_generate_params,
        "ttt_sleep_params": _lib.ttt_sleep_params,
        "ttt_perf": _lib.ttt_perf,
        "ttt_chat_params": _lib.ttt_chat_params,
    }
    assert set(structs) == set(mirrors)
    for name, cls in mirrors.items():
        assert [f[0] for f in cls._fields_] == structs[name], name


def test_struct_sizes_match_the_library(model, ctx):
    """The library reports its own sizeof through the struct_size protocol; it must equal ctypes.sizeof."""
    for cls, init in [
        (_lib.ttt_model_params, "ttt_model_params_init"),
        (_lib.ttt_context_params, "ttt_context_params_init"),
        (_lib.ttt_generate_params, "ttt_generate_params_init"),
        (_lib.ttt_sleep_params, "ttt_sleep_params_init"),
        (_lib.ttt_chat_params, "ttt_chat_params_init"),
    ]:
        assert _lib.library_struct_size(cls, init) == ctypes.sizeof(cls), cls.__name__
    size = _lib.library_struct_size(_lib.ttt_model_info, lambda p: _lib.LIB.ttt_model_get_info(model._handle, p))
    assert size == ctypes.sizeof(_lib.ttt_model_info)
    size = _lib.library_struct_size(_lib.ttt_perf, lambda p: _lib.LIB.ttt_get_perf(ctx._handle, p))
    assert size == ctypes.sizeof(_lib.ttt_perf)


def test_params_init_defaults_land_in_the_right_fields():
    g = _lib.params_init(_lib.ttt_generate_params, "ttt_generate_params_init")
    assert g.struct_size == ctypes.sizeof(g)
    assert (g.max_tokens, g.top_k, g.penalty_window, g.seed, g.tokenize_flags) == (256, 40, 64, 1, 1)
    assert g.temperature == pytest.approx(0.8) and g.top_p == pytest.approx(0.95) and g.min_p == pytest.approx(0.05)
    assert g.repetition_penalty == pytest.approx(1.1) and g.presence_penalty == 0 and g.frequency_penalty == 0
    assert not g.logit_bias and g.n_logit_bias == 0 and not g.stop_strings and g.n_stop_strings == 0
    m = _lib.params_init(_lib.ttt_model_params, "ttt_model_params_init")
    assert (m.backend, m.n_gpu_layers, m.verify_checksum) == (0, -1, 1) and not m.progress_callback
    c = _lib.params_init(_lib.ttt_context_params, "ttt_context_params_init")
    assert (c.n_threads, c.backend) == (0, 0)
    s = _lib.params_init(_lib.ttt_sleep_params, "ttt_sleep_params_init")
    assert (s.max_days, s.random_days, s.seed, s.max_piece_chars) == (5, 0, 0, 500)
    assert s.memories_dir is None and s.autosave_path is None and not s.progress_callback


def test_versions():
    assert bit_ttt.abi_version() == bit_ttt.ABI_VERSION == 1
    assert re.match(r"^\d+\.\d+\.\d+", bit_ttt.version())
    assert bit_ttt.status_string(51).startswith("TTT_ERR_FORMAT")
    assert bit_ttt.status_string(12345) == "unknown status code"
    assert os.path.samefile(bit_ttt.LIBRARY_PATH, LIBRARY)


def test_abi_mismatch_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_lib, "ABI_VERSION", 999)
    with pytest.raises(bit_ttt.AbiMismatchError) as info:
        _lib.check_abi(_lib.LIB, _lib.LIBRARY_PATH)
    text = str(info.value)
    assert "ABI version 1" in text and "ABI version 999" in text and _lib.LIBRARY_PATH in text
    assert info.value.library_version == 1 and info.value.binding_version == 999
    assert isinstance(info.value, ImportError)


def test_abi_check_passes_for_this_library():
    _lib.check_abi(_lib.LIB, _lib.LIBRARY_PATH)


def _import_with(env_library: str):
    env = dict(os.environ, BIT_TTT_LIBRARY=env_library, PYTHONPATH=str(PACKAGE_ROOT))
    return subprocess.run(
        [sys.executable, "-c", "import bit_ttt"], env=env, capture_output=True, text=True, timeout=60
    )


def test_missing_library_lists_what_was_tried(tmp_path):
    missing = str(tmp_path / "nowhere" / "libbit_ttt.so")
    r = _import_with(missing)
    assert r.returncode != 0
    assert "LibraryLoadError" in r.stderr and missing in r.stderr and "no such file" in r.stderr


def test_wrong_library_file_is_refused(tmp_path):
    junk = tmp_path / "libbit_ttt.so"
    junk.write_bytes(b"not a shared library")
    r = _import_with(str(junk))
    assert r.returncode != 0 and "LibraryLoadError" in r.stderr and str(junk) in r.stderr


def test_search_order_without_override(monkeypatch):
    monkeypatch.delenv("BIT_TTT_LIBRARY", raising=False)
    where = [w for w, _, _ in _lib._candidates()]
    assert where[0] == "next to the package" and where[-1] == "system loader"
    monkeypatch.setenv("BIT_TTT_LIBRARY", "/x/libbit_ttt.so")
    assert [p for _, p, _ in _lib._candidates()] == ["/x/libbit_ttt.so"]


def test_missing_function_stub_raises_unsupported():
    stub = _lib._missing_function("ttt_future", "/lib/libbit_ttt.so")
    with pytest.raises(bit_ttt.UnsupportedError, match="ttt_future"):
        stub()


def test_error_classes():
    e = bit_ttt.errors.error_for_status(50, "cannot open 'x'")
    assert isinstance(e, bit_ttt.IoError) and isinstance(e, OSError) and isinstance(e, bit_ttt.BitTttError)
    assert e.status == 50 and e.message == str(e) == "cannot open 'x'"
    assert isinstance(bit_ttt.errors.error_for_status(53, "m"), MemoryError)
    assert isinstance(bit_ttt.errors.error_for_status(51, "m"), ValueError)
    assert isinstance(bit_ttt.errors.error_for_status(99, "m"), bit_ttt.PanicError)
    unknown = bit_ttt.errors.error_for_status(77, "m")
    assert type(unknown) is bit_ttt.BitTttError and unknown.status == 77
    assert issubclass(bit_ttt.ClosedError, ValueError) and issubclass(bit_ttt.ClosedError, bit_ttt.InvalidStateError)
    import pickle

    again = pickle.loads(pickle.dumps(e))
    assert type(again) is bit_ttt.IoError and again.status == 50 and str(again) == "cannot open 'x'"


def test_null_pointer_from_c_raises_null_pointer_error():
    with pytest.raises(bit_ttt.NullPointerError, match="argument .ctx. is NULL"):
        _lib.LIB.ttt_get_position(_lib.ContextHandle(), None)


def test_last_error_is_per_call():
    with pytest.raises(bit_ttt.InvalidArgumentError):
        bit_ttt.Layer(2, 0.1)
    assert _lib.LIB.ttt_last_error() == b"ttt_layer_create: hidden_dim 2 must be in 4..65536"
    bit_ttt.Layer(4, 0.1).close()
    assert _lib.LIB.ttt_last_error() == b""
