"""A strict, validating reader of bit_ttt model inputs, in Python - the executable statement of what the C++ readers
must reject and with which status. Used by tests/malformed/test_corpus.py to prove that every entry of the
malformed-file corpus fails for the reason its manifest states (and only that reason), and that the valid entries
load. It is written from DESIGN.md section 3 and upstream-spec.md sections 1.5, 5.1, 5.2 - not from the C++ code.

Statuses: 0 ok, 14 unsupported, 50 I/O, 51 format, 52 incompatible. Errors are LoadError(status, message); the
message names the file, the field/tensor and the reason.

Order of checks for a model directory: config.json (exists, UTF-8, JSON object, fields), then model.safetensors
(exists, framing, header, every tensor entry), then the model (every required tensor present, float dtype, shape
from the config, finite values).
"""
from __future__ import annotations

import json
import math
import os
import struct
from typing import Dict, Optional, Tuple

import numpy as np

from bitllama_ref import Config, bf16_bits_to_f32, canonical_names, expected_shapes, head_variant

OK, UNSUPPORTED, IO_ERROR, FORMAT_ERROR, INCOMPATIBLE = 0, 14, 50, 51, 52

ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
            "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
FLOAT_WEIGHT_DTYPES = ("F32", "F16", "BF16")


class LoadError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"[{status}] {message}")
        self.status = status
        self.message = message


def _fmt(err: LoadError, where: str) -> LoadError:
    return LoadError(err.status, f"{where}: {err.message}")


# ------------------------------------------------------------------------------------------------ safetensors

class SafeTensors:
    def __init__(self, entries: Dict[str, Tuple[str, tuple, bytes]], metadata: dict):
        self.entries = entries
        self.metadata = metadata

    def array(self, name: str) -> np.ndarray:
        dtype, shape, raw = self.entries[name]
        if dtype == "BF16":
            a = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            a = np.frombuffer(raw, dtype=np.dtype({"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8",
                                                   "I32": "<i4", "I16": "<i2", "I8": "i1", "U64": "<u8",
                                                   "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}[dtype]))
        return a.reshape(shape)


def _is_uint(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def parse_safetensors(data: bytes) -> SafeTensors:
    size = len(data)
    if size < 8:
        raise LoadError(FORMAT_ERROR, f"file truncated: {size} bytes, a safetensors file needs at least 8")
    (n,) = struct.unpack("<Q", data[:8])
    if n == 0:
        raise LoadError(FORMAT_ERROR, "safetensors header length is 0")
    if n > size - 8:
        raise LoadError(FORMAT_ERROR, f"safetensors header length {n} exceeds the file size {size} "
                                      "(file truncated?)")
    try:
        text = data[8:8 + n].decode("utf-8")
    except UnicodeDecodeError:
        raise LoadError(FORMAT_ERROR, "safetensors header is not valid UTF-8")
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates)
    except ValueError as e:
        raise LoadError(FORMAT_ERROR, f"safetensors header is not valid JSON ({e})")
    if not isinstance(header, dict):
        raise LoadError(FORMAT_ERROR, "safetensors header JSON is not an object")
    data_size = size - 8 - n
    meta = header.pop("__metadata__", None)
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise LoadError(FORMAT_ERROR, "safetensors __metadata__ is not a JSON object of strings")
    entries = {}
    spans = []
    for name, e in header.items():
        if not isinstance(e, dict):
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': header entry is not a JSON object")
        if "dtype" not in e:
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': missing dtype")
        dt = e["dtype"]
        if not isinstance(dt, str) or dt not in ITEMSIZE:
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': unknown dtype {json.dumps(dt)}")
        if "shape" not in e:
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': missing shape")
        shape = e["shape"]
        if not isinstance(shape, list) or not all(_is_uint(x) for x in shape):
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': shape {json.dumps(shape)} is not a list of "
                                          "non-negative integers")
        if "data_offsets" not in e:
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': missing data_offsets")
        off = e["data_offsets"]
        if not (isinstance(off, list) and len(off) == 2 and all(_is_uint(x) for x in off)):
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': data_offsets {json.dumps(off)} is not a pair of "
                                          "non-negative integers")
        b, en = off
        if en < b:
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': data_offsets [{b}, {en}] end before they begin")
        if en > data_size:
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': data_offsets [{b}, {en}] out of range, the data "
                                          f"section has {data_size} bytes (file truncated?)")
        count = 1
        for x in shape:
            count *= x
        if count * ITEMSIZE[dt] != en - b:
            raise LoadError(FORMAT_ERROR, f"tensor '{name}': shape {shape} of {dt} needs {count * ITEMSIZE[dt]} "
                                          f"bytes but data_offsets give {en - b}")
        spans.append((b, en, name))
        entries[name] = (dt, tuple(shape), data[8 + n + b: 8 + n + en])
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise LoadError(FORMAT_ERROR, f"tensors '{n0}' and '{n1}': data_offsets overlap")
    return SafeTensors(entries, meta or {})


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {json.dumps(k)}")
        d[k] = v
    return d


# ------------------------------------------------------------------------------------------------ config

REQUIRED_INT = (("vocab_size",), ("hidden_dim", "hidden_size"), ("num_layers", "num_hidden_layers", "n_layers"))


def _positive_int(c, key):
    v = c[key]
    if not (isinstance(v, int) and not isinstance(v, bool)):
        raise LoadError(FORMAT_ERROR, f"config field '{key}' must be an integer, got {json.dumps(v)}")
    if v <= 0:
        raise LoadError(FORMAT_ERROR, f"config field '{key}' must be positive, got {v}")
    return v


def validate_config(c) -> Config:
    if not isinstance(c, dict):
        raise LoadError(FORMAT_ERROR, "config JSON is not an object")
    arch = c.get("arch", "ttt")
    if arch == "llama":
        raise LoadError(UNSUPPORTED, "config field 'arch' = \"llama\" is not supported yet (only \"ttt\")")
    if arch != "ttt":
        raise LoadError(FORMAT_ERROR, f"config field 'arch' has unknown value {json.dumps(arch)}")
    vals = {}
    for keys in REQUIRED_INT:
        k = next((k for k in keys if k in c), None)
        if k is None:
            raise LoadError(FORMAT_ERROR, f"config is missing required field '{keys[0]}'")
        vals[keys[0]] = _positive_int(c, k)
    if vals["hidden_dim"] % 4 != 0:
        raise LoadError(FORMAT_ERROR, f"config field 'hidden_dim' = {vals['hidden_dim']} is not divisible by 4")
    if "inner_lr" not in c:
        raise LoadError(FORMAT_ERROR, "config is missing required field 'inner_lr'")
    lr = c["inner_lr"]
    if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and math.isfinite(lr)):
        raise LoadError(FORMAT_ERROR, f"config field 'inner_lr' must be a finite number, got {json.dumps(lr)}")
    inter = None
    k = next((k for k in ("intermediate_dim", "intermediate_size") if k in c and c[k] is not None), None)
    if k is not None:
        inter = _positive_int(c, k)
    scale = c.get("bitlinear_scale", False)
    if not isinstance(scale, bool):
        raise LoadError(FORMAT_ERROR, "config field 'bitlinear_scale' must be true or false")
    act = c.get("act_bits", 0)
    if not (isinstance(act, int) and not isinstance(act, bool) and act in (0, 8)):
        raise LoadError(FORMAT_ERROR, f"config field 'act_bits' must be 0 or 8, got {json.dumps(act)}")
    chunk = _positive_int(c, "ttt_chunk") if "ttt_chunk" in c else 1
    kind = c.get("ttt_kind", "upstream")
    if kind not in ("upstream", "delta"):
        raise LoadError(FORMAT_ERROR, f"config field 'ttt_kind' must be \"upstream\" or \"delta\", got {json.dumps(kind)}")
    heads = _positive_int(c, "ttt_heads") if "ttt_heads" in c else 1
    width = _positive_int(c, "ttt_dim") if "ttt_dim" in c else vals["hidden_dim"] // 4
    if width > 65536 or (kind == "upstream" and width != vals["hidden_dim"] // 4):
        raise LoadError(FORMAT_ERROR, f"config field 'ttt_dim' = {width} must be hidden_dim/4 for upstream's layer "
                                      "and in 1..65536 for the delta kind")
    if width % heads != 0 or (kind == "upstream" and heads != 1):
        raise LoadError(FORMAT_ERROR, f"config field 'ttt_heads' = {heads} must divide the TTT width {width} "
                                      "(delta kind only)")
    if kind == "delta" and chunk != 1:
        raise LoadError(FORMAT_ERROR, "config field 'ttt_chunk' must be 1 for ttt_kind delta")
    eps = c.get("norm_eps", 1e-5)
    if not (isinstance(eps, (int, float)) and not isinstance(eps, bool) and math.isfinite(eps) and eps > 0):
        raise LoadError(FORMAT_ERROR, f"config field 'norm_eps' must be a positive number, got {json.dumps(eps)}")
    return Config(vocab_size=vals["vocab_size"], hidden_dim=vals["hidden_dim"], num_layers=vals["num_layers"],
                  inner_lr=float(lr), intermediate_dim=inter, bitlinear_scale=scale, act_bits=act,
                  ttt_chunk=chunk, norm_eps=float(eps), ttt_kind=kind, ttt_heads=heads,
                  ttt_dim=None if "ttt_dim" not in c else width)


def parse_json_bytes(raw: bytes, what: str):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LoadError(FORMAT_ERROR, f"{what} is not valid UTF-8")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except ValueError as e:
        raise LoadError(FORMAT_ERROR, f"{what} is not valid JSON ({e})")


# ------------------------------------------------------------------------------------------------ model

class LoadedModel:
    def __init__(self, cfg: Config, weights: Dict[str, np.ndarray]):
        self.cfg = cfg
        self.weights = weights


def validate_weights(st: SafeTensors, cfg: Config) -> LoadedModel:
    shapes = expected_shapes(cfg)
    weights = {}
    for name in canonical_names(cfg.num_layers, cfg.ttt_kind):
        hv = head_variant(name)
        src = hv if (hv is not None and hv in st.entries) else name
        if src not in st.entries:
            alt = f" (or '{hv}')" if hv else ""
            raise LoadError(FORMAT_ERROR, f"missing tensor '{name}'{alt}")
        dt, shape, _ = st.entries[src]
        if dt not in FLOAT_WEIGHT_DTYPES:
            raise LoadError(FORMAT_ERROR, f"tensor '{src}' has dtype {dt}; a weight must be F32, F16 or BF16")
        if shape != shapes[name]:
            raise LoadError(FORMAT_ERROR, f"tensor '{src}' has shape {list(shape)}, the config needs "
                                          f"{list(shapes[name])}")
        a = st.array(src)
        if not np.all(np.isfinite(a)):
            raise LoadError(FORMAT_ERROR, f"tensor '{src}' contains NaN or Inf")
        weights[name] = a.astype(np.float64)
    return LoadedModel(cfg, weights)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise LoadError(IO_ERROR, f"cannot read {path}: {e.strerror}")


def load_model_dir(path: str) -> LoadedModel:
    if not os.path.isdir(path):
        raise LoadError(IO_ERROR, f"model directory {path} does not exist")
    cpath = os.path.join(path, "config.json")
    try:
        cfg = validate_config(parse_json_bytes(_read(cpath), "config.json"))
    except LoadError as e:
        raise _fmt(e, cpath)
    mpath = os.path.join(path, "model.safetensors")
    try:
        model = validate_weights(parse_safetensors(_read(mpath)), cfg)
    except LoadError as e:
        raise _fmt(e, mpath)
    tpath = os.path.join(path, "tokenizer_config.json")
    if os.path.exists(tpath):
        try:
            validate_tokenizer_config(parse_json_bytes(_read(tpath), "tokenizer_config.json"))
        except LoadError as e:
            raise _fmt(e, tpath)
    return model


def validate_tokenizer_config(cfg) -> None:
    """What a loader needs of tokenizer_config.json: its chat template (a string, or a list of {name, template}) and
    special tokens (a string or an object with "content")."""
    if not isinstance(cfg, dict):
        raise LoadError(FORMAT_ERROR, "tokenizer_config.json must be a JSON object")
    t = cfg.get("chat_template")
    if isinstance(t, list):
        for entry in t:
            if not isinstance(entry, dict) or not isinstance(entry.get("template"), str):
                raise LoadError(FORMAT_ERROR, "a chat_template list entry has no template string")
    elif t is not None and not isinstance(t, str):
        raise LoadError(FORMAT_ERROR, f"chat_template must be a string or a list, not {type(t).__name__}")
    for key in ("bos_token", "eos_token"):
        v = cfg.get(key)
        if v is not None and not isinstance(v, (str, dict)):
            raise LoadError(FORMAT_ERROR, f"{key} must be a string or an object with content")


def load_bitt(path: str) -> LoadedModel:
    data = _read(path)
    try:
        if len(data) < 4:
            raise LoadError(FORMAT_ERROR, f"file truncated: {len(data)} bytes, a .bitt file needs at least 12")
        if data[:4] != b"BITT":
            raise LoadError(FORMAT_ERROR, f"bad magic {data[:4]!r}, expected b'BITT'")
        if len(data) < 12:
            raise LoadError(FORMAT_ERROR, f"file truncated: {len(data)} bytes, a .bitt file needs at least 12")
        (n,) = struct.unpack("<Q", data[4:12])
        if n == 0:
            raise LoadError(FORMAT_ERROR, ".bitt header length is 0")
        if n > len(data) - 12:
            raise LoadError(FORMAT_ERROR, f".bitt header length {n} exceeds the file size {len(data)} "
                                          "(file truncated?)")
        header = parse_json_bytes(data[12:12 + n], ".bitt header")
        if not isinstance(header, dict):
            raise LoadError(FORMAT_ERROR, ".bitt header JSON is not an object")
        if "config" not in header:
            raise LoadError(FORMAT_ERROR, ".bitt header has no \"config\"")
        cfg = validate_config(header["config"])
        # A .bitt without a tokenizer is valid: token-id APIs work, text APIs are unsupported for it.
        tok = header.get("tokenizer")
        if tok is None:
            pass
        elif isinstance(tok, str):
            tok = parse_json_bytes(tok.encode("utf-8"), ".bitt tokenizer string")
        if tok is not None and not (isinstance(tok, dict) and isinstance(tok.get("model"), dict)):
            raise LoadError(FORMAT_ERROR, ".bitt tokenizer is not a tokenizer.json object")
        body = data[12 + n:]
        if len(body) == 0:
            raise LoadError(FORMAT_ERROR, ".bitt file truncated: no safetensors body after the header")
        return validate_weights(parse_safetensors(body), cfg)
    except LoadError as e:
        raise _fmt(e, path)


def load_soul(path: str, model: LoadedModel) -> Dict[int, np.ndarray]:
    data = _read(path)
    cfg = model.cfg
    d = cfg.d
    try:
        st = parse_safetensors(data)
        meta_ok = False
        if "meta_config" in st.entries:
            dt, shape, _ = st.entries["meta_config"]
            if dt != "U32" or len(shape) != 1 or shape[0] < 2:
                raise LoadError(FORMAT_ERROR, f"tensor 'meta_config' must be U32 [2] or [4], got {dt} {list(shape)}")
            meta = st.array("meta_config")
            if int(meta[0]) != cfg.hidden_dim:
                raise LoadError(INCOMPATIBLE, f"soul is for hidden_dim {int(meta[0])}, the model has "
                                              f"hidden_dim {cfg.hidden_dim}")
            if int(meta[1]) != cfg.num_layers:
                raise LoadError(INCOMPATIBLE, f"soul is for num_layers {int(meta[1])}, the model has "
                                              f"num_layers {cfg.num_layers}")
            meta_ok = True
        states = {}
        for i in range(cfg.num_layers):
            name = f"w_state.{i}"
            if name not in st.entries:
                continue  # upstream V030: keep the current state
            dt, shape, _ = st.entries[name]
            if dt not in FLOAT_WEIGHT_DTYPES:
                raise LoadError(FORMAT_ERROR, f"tensor '{name}' has dtype {dt}, expected F32")
            if shape not in ((1, d, d), (d, d)):
                # the meta block says the dims match, so a wrong state shape means the file contradicts itself
                raise LoadError(FORMAT_ERROR if meta_ok else INCOMPATIBLE,
                                f"tensor '{name}' has shape {list(shape)}, the model needs [1, {d}, {d}]")
            a = st.array(name).reshape(d, d)
            if not np.all(np.isfinite(a)):
                raise LoadError(FORMAT_ERROR, f"tensor '{name}' contains NaN or Inf")
            states[i] = a.astype(np.float64)
        return states
    except LoadError as e:
        raise _fmt(e, path)
