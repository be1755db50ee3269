#!/usr/bin/env python3
"""Writes the malformed-input corpus tests/data/malformed/ and its manifest.json (deterministic, idempotent).

Every entry mutates ONE thing of a valid tiny model (D=8, V=11, L=2, intermediate_dim 4;
embed/lm_head/mlp stored F16, norms/ttt F32; small, so that ~100 entries stay < 200 KB; the Hugging Face entries of
hf_corpus.py add ~130 KB), so it must fail for exactly the stated reason. Entry fields:
  name               unique id
  path               relative to tests/data/malformed (a model directory, or a .bitt / .soul file)
  load               "model_dir" | "bitt" | "soul" | "hf_dir" (a Hugging Face checkpoint directory, hf_corpus.py)
  model              (souls only) the model directory the soul is loaded into
  expect_status      0 ok, 14 unsupported, 50 I/O, 51 format, 52 incompatible
  expect_in_message  lowercase keyword the error message must contain (compare with the lowercased message)
  why                what is wrong
tests/malformed/test_corpus.py checks every entry with the Python strict reader (tests/reference/strict_loader.py).

Usage: python3 tests/malformed/make_corpus.py [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np
import safetensors.numpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "reference")))
import bitllama_ref as ref  # noqa: E402
from hf_corpus import build_hf  # noqa: E402

DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "data", "malformed"))
D, V, L, I = 8, 11, 2, 4
d = D // 4
CONFIG = {"vocab_size": V, "hidden_dim": D, "num_layers": L, "inner_lr": 0.1, "intermediate_dim": I}
TOKENIZER = {"version": "1.0", "model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2}, "merges": []}}


# ------------------------------------------------------------------------------------------------ building blocks

def valid_tensors() -> dict:
    rng = np.random.default_rng(20240611)
    t = {"embed.weight": rng.normal(0, 1, (V, D))}
    for i in range(L):
        p = f"layers.{i}."
        t[p + "norm1.weight"] = 1 + 0.1 * rng.normal(0, 1, (D,))
        t[p + "ttt.down.weight"] = rng.normal(0, 0.5, (d, D))
        t[p + "ttt.up.weight"] = rng.normal(0, 0.5, (D, d))
        t[p + "norm2.weight"] = 1 + 0.1 * rng.normal(0, 1, (D,))
        t[p + "mlp.gate_proj.weight"] = rng.normal(0, 0.5, (I, D))
        t[p + "mlp.up_proj.weight"] = rng.normal(0, 0.5, (I, D))
        t[p + "mlp.down_proj.weight"] = rng.normal(0, 0.5, (D, I))
    t["norm_f.weight"] = 1 + 0.1 * rng.normal(0, 1, (D,))
    t["lm_head.weight"] = rng.normal(0, 0.3, (V, D))
    # big matrices F16, small tensors F32: the baseline already mixes dtypes and stays small
    return {k: v.astype(np.float16 if k.startswith(("embed", "lm_head")) or ".mlp." in k else np.float32)
            for k, v in t.items()}


def st_save(tensors: dict, metadata=None) -> bytes:
    """A canonical safetensors file written by the safetensors package."""
    return bytes(safetensors.numpy.save(tensors, metadata=metadata))


def st_split(data: bytes):
    """(header dict, data section bytes) of a well-formed file (insertion order of the header kept)."""
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n].decode("utf-8")), data[8 + n:]


def header_bytes(header) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode("utf-8")
    return raw + b" " * ((-len(raw)) % 8)


def st_join(header, body: bytes, length=None) -> bytes:
    hb = header_bytes(header)
    n = len(hb) if length is None else length
    return struct.pack("<Q", n) + hb + body


def st_raw(entries: list, metadata=None) -> bytes:
    """Hand-serialised safetensors from (name, dtype string, shape, raw bytes) - for BF16 and odd dtypes."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    body = b""
    for name, dt, shape, raw in entries:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    return st_join(header, body)


def bitt_bytes(config, tokenizer, body: bytes, header=None, length=None) -> bytes:
    h = header if header is not None else json.dumps({"config": config, "tokenizer": tokenizer},
                                                     separators=(",", ":")).encode("utf-8")
    if not isinstance(h, bytes):
        h = json.dumps(h, separators=(",", ":")).encode("utf-8")
    return b"BITT" + struct.pack("<Q", len(h) if length is None else length) + h + body


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def soul_bytes(states: dict, meta=(D, L, 0, 7), extra=None) -> bytes:
    t = {k: np.asarray(v, dtype=np.float32) for k, v in states.items()}
    if meta is not None:
        t["meta_config"] = np.asarray(meta, dtype=np.uint32)
    if extra:
        t.update(extra)
    return bytes(safetensors.numpy.save(t))


def soul_states(dd=d, layers=L, lead=True, seed=5):
    rng = np.random.default_rng(seed)
    shape = (1, dd, dd) if lead else (dd, dd)
    return {f"w_state.{i}": (0.1 * rng.normal(0, 1, shape)).astype(np.float32) for i in range(layers)}


# ------------------------------------------------------------------------------------------------ the corpus

class Corpus:
    def __init__(self, out):
        self.out = out
        self.entries = []
        self.files = {}  # relative path -> bytes

    def model_dir(self, name, status, keyword, why, config=None, model=None, tokenizer=True,
                  drop_config=False, drop_model=False, tokenizer_config=None):
        cfg = json_bytes(CONFIG) if config is None else (config if isinstance(config, bytes) else json_bytes(config))
        if not drop_config:
            self.files[f"{name}/config.json"] = cfg
        if not drop_model:
            self.files[f"{name}/model.safetensors"] = VALID_ST if model is None else model
        if tokenizer:
            self.files[f"{name}/tokenizer.json"] = json.dumps(TOKENIZER, separators=(",", ":")).encode() + b"\n"
        if tokenizer_config is not None:
            self.files[f"{name}/tokenizer_config.json"] = tokenizer_config
        self.add(name, name, "model_dir", status, keyword, why)

    def file(self, name, path, load, status, keyword, why, data, model=None):
        if data is not None:
            self.files[path] = data
        self.add(name, path, load, status, keyword, why, model)

    def add(self, name, path, load, status, keyword, why, model=None):
        assert keyword is None or keyword == keyword.lower()
        e = {"name": name, "path": path, "load": load}
        if model is not None:
            e["model"] = model
        e["expect_status"] = status
        if keyword is not None:
            e["expect_in_message"] = keyword
        e["why"] = why
        assert all(x["name"] != name for x in self.entries), name
        self.entries.append(e)


VALID = valid_tensors()
VALID_ST = st_save(VALID)
VALID_HDR, VALID_BODY = st_split(VALID_ST)


def mutated_header(fn) -> bytes:
    h = json.loads(json.dumps(VALID_HDR))
    fn(h)
    return st_join(h, VALID_BODY)


def without(name) -> bytes:
    return st_save({k: v for k, v in VALID.items() if k != name})


def with_tensor(name, value) -> bytes:
    t = dict(VALID)
    t[name] = value
    return st_save(t)


def build(c: Corpus):
    S, F, IO, INC, UNS = 0, 51, 50, 52, 14

    # ---------------------------------------------------------------- baselines (must load)
    c.model_dir("valid_model", S, None, "the valid tiny model every other entry is mutated from "
                "(D=8, V=11, L=2, intermediate_dim 4; embed, lm_head and mlp.* stored F16, norms and ttt.* F32)")
    head = {(ref.head_variant(k) or k): v for k, v in VALID.items()}
    c.model_dir("valid_head_names", S, None, "the same weights under upstream HEAD names (model.embed_tokens.weight, "
                "layers.{i}.norm{1,2}.model.norm.weight, model.norm.weight)", model=st_save(head))
    c.file("valid_model_bitt", "valid_model.bitt", "bitt", S, None, "valid .bitt v1 of valid_model "
           "(tokenizer as a JSON object)", bitt_bytes(CONFIG, TOKENIZER, VALID_ST))
    c.file("valid_bitt_tokenizer_string", "valid_tokenizer_string.bitt", "bitt", S, None,
           "valid .bitt v1 whose tokenizer is a JSON string (as upstream Llama::export_to_bitt wrote it; "
           "DESIGN 3 says accept both)", bitt_bytes(CONFIG, json.dumps(TOKENIZER), VALID_ST))
    c.file("valid_soul", "valid.soul", "soul", S, None, "valid V030 soul: w_state.{i} f32 [1,2,2], meta_config u32 "
           "[8, 2, 0, 7]", soul_bytes(soul_states()), model="valid_model")
    c.file("valid_soul_dd", "valid_dd.soul", "soul", S, None, "valid soul with [d,d] states (DESIGN 3 accepts "
           "[1,d,d] or [d,d])", soul_bytes(soul_states(lead=False)), model="valid_model")

    # ---------------------------------------------------------------- tokenizer_config.json (chat template)
    c.model_dir("tokcfg_not_json", F, "tokenizer_config", "tokenizer_config.json is not JSON",
                tokenizer_config=b'{"chat_template": "{{ x }}"')
    c.model_dir("tokcfg_template_number", F, "chat_template", "tokenizer_config.json's chat_template is a number",
                tokenizer_config=json_bytes({"chat_template": 12}))

    # ---------------------------------------------------------------- safetensors framing
    c.model_dir("st_empty_file", F, "truncated", "model.safetensors has 0 bytes", model=b"")
    c.model_dir("st_truncated_in_length", F, "truncated", "file cut after 5 bytes, inside the 8-byte header "
                "length", model=VALID_ST[:5])
    n = struct.unpack("<Q", VALID_ST[:8])[0]
    c.model_dir("st_truncated_in_header", F, "truncated", f"file cut inside the JSON header (header length {n}, "
                f"file {8 + n // 2} bytes); the message should say the header length exceeds the file",
                model=VALID_ST[:8 + n // 2])
    c.model_dir("st_truncated_in_data", F, "truncated", "file cut 10 bytes before the end of the data section: "
                "the last tensor's data_offsets reach past the end", model=VALID_ST[:-10])
    c.model_dir("st_header_len_past_eof", F, "header", "header length = file size (the whole file is intact but "
                "the length points past its end)", model=struct.pack("<Q", len(VALID_ST)) + VALID_ST[8:])
    c.model_dir("st_header_len_zero", F, "header", "header length 0",
                model=struct.pack("<Q", 0) + VALID_ST[8:])
    c.model_dir("st_header_len_2pow63", F, "header", "header length 2^63 (overflows signed 64-bit arithmetic)",
                model=struct.pack("<Q", 1 << 63) + VALID_ST[8:])
    c.model_dir("st_header_len_max_u64", F, "header", "header length 2^64-1 (8 + N wraps around in unsigned "
                "arithmetic)", model=struct.pack("<Q", (1 << 64) - 1) + VALID_ST[8:])
    c.model_dir("st_header_not_json", F, "json", "the header is not JSON",
                model=st_join(b"this is not json at all", VALID_BODY))
    c.model_dir("st_header_json_array", F, "json", "the header is valid JSON but an array, not an object",
                model=st_join(b"[1,2,3]", VALID_BODY))
    bad_name = header_bytes(VALID_HDR).replace(b'"lm_head.weight"', b'"lm_head.\xff\xfeight"')
    c.model_dir("st_header_bad_utf8_name", F, "utf-8", "a tensor name in the header is not valid UTF-8 "
                "(bytes ff fe)", model=st_join(bad_name, VALID_BODY))
    dup = json.dumps(VALID_HDR, separators=(",", ":")).encode()
    e = json.dumps(VALID_HDR["norm_f.weight"], separators=(",", ":")).encode()
    dup = dup[:-1] + b',"norm_f.weight":' + e + b"}"
    c.model_dir("st_duplicate_tensor_name", F, "duplicate", "the header names 'norm_f.weight' twice",
                model=st_join(dup, VALID_BODY))
    c.model_dir("st_missing_dtype", F, "dtype", "tensor entry layers.0.norm1.weight has no dtype",
                model=mutated_header(lambda h: h["layers.0.norm1.weight"].pop("dtype")))
    c.model_dir("st_missing_shape", F, "shape", "tensor entry layers.0.norm1.weight has no shape",
                model=mutated_header(lambda h: h["layers.0.norm1.weight"].pop("shape")))
    c.model_dir("st_missing_data_offsets", F, "offset", "tensor entry layers.0.norm1.weight has no data_offsets",
                model=mutated_header(lambda h: h["layers.0.norm1.weight"].pop("data_offsets")))
    c.model_dir("st_unknown_dtype_q7", F, "dtype", "tensor layers.1.mlp.up_proj.weight has dtype \"Q7\"",
                model=mutated_header(lambda h: h["layers.1.mlp.up_proj.weight"].__setitem__("dtype", "Q7")))
    size = len(VALID_BODY)

    def out_of_range(h):
        b, e_ = h["embed.weight"]["data_offsets"]
        h["embed.weight"]["data_offsets"] = [size, size + (e_ - b)]
    c.model_dir("st_offsets_out_of_range", F, "offset", "embed.weight's data_offsets start at the end of the data "
                "section (right length, wrong place)", model=mutated_header(out_of_range))

    def overlap(h):
        a = h["layers.0.norm1.weight"]["data_offsets"]
        b = h["layers.0.norm2.weight"]["data_offsets"]
        h["layers.0.norm2.weight"]["data_offsets"] = [a[0] + 4, a[0] + 4 + (b[1] - b[0])]
    c.model_dir("st_offsets_overlap", F, "offset", "layers.0.norm2.weight's data overlaps layers.0.norm1.weight's "
                "(both in range, right lengths)", model=mutated_header(overlap))

    def reversed_(h):
        b, e_ = h["norm_f.weight"]["data_offsets"]
        h["norm_f.weight"]["data_offsets"] = [e_, b]
    c.model_dir("st_offsets_end_before_begin", F, "offset", "norm_f.weight's data_offsets are [end, begin]",
                model=mutated_header(reversed_))
    c.model_dir("st_shape_bytes_mismatch", F, "shape", "layers.0.ttt.down.weight says shape [2, 9] (72 bytes of "
                "F32) but its data_offsets span 64 bytes",
                model=mutated_header(lambda h: h["layers.0.ttt.down.weight"].__setitem__("shape", [2, 9])))
    c.model_dir("st_shape_overflow", F, "shape", "layers.0.ttt.down.weight has shape [2^62, 2^62, 4]: the element "
                "count overflows 64 bits (a naive product wraps to 0 bytes)",
                model=mutated_header(lambda h: h["layers.0.ttt.down.weight"].__setitem__(
                    "shape", [1 << 62, 1 << 62, 4])))

    # ---------------------------------------------------------------- model tensors
    for nm, why in [("embed.weight", "embedding"), ("layers.1.norm2.weight", "a norm gain"),
                    ("layers.0.ttt.down.weight", "a TTT projection"),
                    ("layers.1.mlp.up_proj.weight", "an MLP projection"), ("lm_head.weight", "the LM head")]:
        c.model_dir("missing_" + nm.replace(".weight", "").replace(".", "_"), F, nm,
                    f"tensor {nm} ({why}) is absent", model=without(nm))
    c.model_dir("wrong_shape_ttt_down", F, "layers.1.ttt.down.weight", "layers.1.ttt.down.weight is [d+1, D] = "
                "[3, 8] instead of [2, 8]", model=with_tensor("layers.1.ttt.down.weight",
                                                              np.zeros((d + 1, D), np.float32) + 0.25))
    c.model_dir("wrong_shape_ttt_up_transposed", F, "layers.0.ttt.up.weight", "layers.0.ttt.up.weight is stored "
                "transposed ([2, 8] instead of [8, 2])",
                model=with_tensor("layers.0.ttt.up.weight", np.ascontiguousarray(VALID["layers.0.ttt.up.weight"].T)))
    c.model_dir("wrong_num_layers_mismatch", F, "layers.2.", "config num_layers 3 but the file has layers 0-1 "
                "(some layers.2.* tensor is missing)", config=dict(CONFIG, num_layers=3))
    c.model_dir("weight_dtype_i32", F, "dtype", "layers.0.mlp.gate_proj.weight is stored as I32 (consistent "
                "header); a weight must be F32, F16 or BF16",
                model=with_tensor("layers.0.mlp.gate_proj.weight",
                                  np.ones((I, D), np.int32)))
    nan = VALID["layers.0.ttt.up.weight"].copy()
    nan[3, 1] = np.nan
    c.model_dir("nan_weight", F, "nan", "layers.0.ttt.up.weight holds a NaN (message: 'NaN or Inf')",
                model=with_tensor("layers.0.ttt.up.weight", nan))
    inf = VALID["embed.weight"].copy()
    inf[7, 2] = np.inf
    c.model_dir("inf_weight", F, "nan", "embed.weight (F16) holds +Inf (message: 'NaN or Inf')",
                model=with_tensor("embed.weight", inf))
    entries = []
    for k, v in VALID.items():
        if k == "layers.1.mlp.down_proj.weight":
            bits = ref.f32_to_bf16_bits(v)
            bits[5, 2] = 0x7FC0  # bf16 quiet NaN
            entries.append((k, "BF16", v.shape, bits.tobytes()))
        else:
            entries.append((k, "F16" if v.dtype == np.float16 else "F32", v.shape, v.tobytes()))
    c.model_dir("nan_weight_bf16", F, "nan", "layers.1.mlp.down_proj.weight stored as BF16 holds a NaN (0x7fc0)",
                model=st_raw(entries))

    # ---------------------------------------------------------------- config.json
    c.model_dir("config_invalid_json", F, "json", "config.json is not valid JSON (missing closing brace)",
                config=json_bytes(CONFIG).rstrip()[:-1])
    c.model_dir("config_not_object", F, "json", "config.json is a JSON array",
                config=b'[11, 8, 2, 0.1]\n')
    c.model_dir("config_invalid_utf8", F, "utf-8", "config.json contains the bytes c3 28 (invalid UTF-8) in a "
                "string value", config=json_bytes(dict(CONFIG, name="x")).replace(b'"x"', b'"\xc3\x28"'))
    for key in ("vocab_size", "hidden_dim", "num_layers", "inner_lr"):
        c.model_dir(f"config_missing_{key}", F, key, f"config.json lacks the required field {key}",
                    config={k: v for k, v in CONFIG.items() if k != key})
    c.model_dir("config_hidden_dim_not_div4", F, "hidden_dim", "hidden_dim 10 is not divisible by 4",
                config=dict(CONFIG, hidden_dim=10))
    c.model_dir("config_hidden_dim_negative", F, "hidden_dim", "hidden_dim -8",
                config=dict(CONFIG, hidden_dim=-8))
    c.model_dir("config_hidden_dim_string", F, "hidden_dim", "hidden_dim is the string \"8\"",
                config=dict(CONFIG, hidden_dim="8"))
    c.model_dir("config_num_layers_zero", F, "num_layers", "num_layers 0", config=dict(CONFIG, num_layers=0))
    c.model_dir("config_vocab_size_zero", F, "vocab_size", "vocab_size 0", config=dict(CONFIG, vocab_size=0))
    c.model_dir("config_intermediate_dim_zero", F, "intermediate_dim", "intermediate_dim 0",
                config=dict(CONFIG, intermediate_dim=0))
    c.model_dir("config_ttt_chunk_zero", F, "ttt_chunk", "ttt_chunk 0", config=dict(CONFIG, ttt_chunk=0))
    c.model_dir("config_act_bits_5", F, "act_bits", "act_bits 5 (only 0 and 8 exist)",
                config=dict(CONFIG, act_bits=5))
    c.model_dir("config_arch_llama", UNS, "llama", "arch \"llama\" (upstream HEAD's attention architecture) is "
                "well-formed but not supported yet", config=dict(CONFIG, arch="llama"))
    c.model_dir("missing_config_json", IO, "config.json", "the directory has no config.json", drop_config=True)
    c.model_dir("missing_model_safetensors", IO, "model.safetensors", "the directory has no model.safetensors",
                drop_model=True)
    c.add("missing_model_dir", "no_such_model", "model_dir", IO, "no_such_model", "the directory does not exist")

    # ---------------------------------------------------------------- .bitt v1
    good_bitt = bitt_bytes(CONFIG, TOKENIZER, VALID_ST)
    hlen = struct.unpack("<Q", good_bitt[4:12])[0]
    c.file("bitt_wrong_magic", "bitt_wrong_magic.bitt", "bitt", F, "magic", "magic \"BITX\" instead of \"BITT\"",
           b"BITX" + good_bitt[4:])
    c.file("bitt_empty", "bitt_empty.bitt", "bitt", F, "truncated", "0 bytes", b"")
    for k in (4, 8, 12):
        c.file(f"bitt_truncated_{k}", f"bitt_truncated_{k}.bitt", "bitt", F, "truncated",
               f"file cut after {k} bytes" + (" (magic and header length present, no header)" if k == 12 else ""),
               good_bitt[:k])
    c.file("bitt_header_len_past_eof", "bitt_header_len_past_eof.bitt", "bitt", F, "header",
           "header length = file size (points past the end of an intact file)",
           bitt_bytes(CONFIG, TOKENIZER, VALID_ST, length=len(good_bitt)))
    bad_json = good_bitt[12:12 + hlen].replace(b'"config":', b'"config"=')
    c.file("bitt_header_invalid_json", "bitt_header_invalid_json.bitt", "bitt", F, "json",
           "header JSON has '=' instead of ':'", bitt_bytes(None, None, VALID_ST, header=bad_json))
    c.file("bitt_header_no_config", "bitt_header_no_config.bitt", "bitt", F, "config",
           "header has \"tokenizer\" but no \"config\"", bitt_bytes(None, None, VALID_ST, header={"tokenizer": TOKENIZER}))
    c.file("bitt_header_no_tokenizer", "bitt_header_no_tokenizer.bitt", "bitt", 0, None,
           "header has \"config\" but no \"tokenizer\": loads (token-id APIs work; text APIs report unsupported)", bitt_bytes(None, None, VALID_ST, header={"config": CONFIG}))
    c.file("bitt_tokenizer_number", "bitt_tokenizer_number.bitt", "bitt", F, "tokenizer",
           "\"tokenizer\" is the number 42", bitt_bytes(CONFIG, 42, VALID_ST))
    c.file("bitt_config_missing_hidden_dim", "bitt_config_missing_hidden_dim.bitt", "bitt", F, "hidden_dim",
           "the embedded config lacks hidden_dim",
           bitt_bytes({k: v for k, v in CONFIG.items() if k != "hidden_dim"}, TOKENIZER, VALID_ST))
    c.file("bitt_body_missing", "bitt_body_missing.bitt", "bitt", F, "truncated",
           "the file ends right after the header (no safetensors body)", good_bitt[:12 + hlen])
    c.file("bitt_body_truncated", "bitt_body_truncated.bitt", "bitt", F, "truncated",
           "the safetensors body is cut 10 bytes short", good_bitt[:-10])
    c.add("bitt_missing_file", "no_such_file.bitt", "bitt", IO, "no_such_file.bitt", "the file does not exist")

    # ---------------------------------------------------------------- .soul (loaded into valid_model)
    good_soul = soul_bytes(soul_states())
    M = "valid_model"
    c.file("soul_wrong_hidden_dim", "soul_wrong_hidden_dim.soul", "soul", INC, "hidden_dim",
           "a consistent soul of a D=16 model (meta_config [16, 2, 0, 7], states [1, 4, 4])",
           soul_bytes(soul_states(dd=4), meta=(16, L, 0, 7)), model=M)
    c.file("soul_wrong_num_layers", "soul_wrong_num_layers.soul", "soul", INC, "num_layers",
           "a consistent soul of a 3-layer model (meta_config [8, 3, 0, 7], w_state.0-2)",
           soul_bytes(soul_states(layers=3), meta=(D, 3, 0, 7)), model=M)
    bad_shape = soul_states()
    bad_shape["w_state.1"] = np.zeros((1, 3, 3), np.float32)
    c.file("soul_wrong_state_shape", "soul_wrong_state_shape.soul", "soul", F, "w_state.1",
           "meta_config matches the model (hidden_dim 8 => d 2) but w_state.1 is [1, 3, 3]: the file contradicts "
           "itself, so it is malformed (51), not merely from another model", soul_bytes(bad_shape), model=M)
    c.file("soul_wrong_state_shape_no_meta", "soul_wrong_state_shape_no_meta.soul", "soul", INC, "w_state.0",
           "no meta_config, states [1, 4, 4] (a D=16 soul without metadata): well-formed but does not fit (52)",
           soul_bytes(soul_states(dd=4), meta=None), model=M)
    c.file("soul_truncated", "soul_truncated.soul", "soul", F, "truncated", "a valid soul cut 6 bytes short",
           good_soul[:-6], model=M)
    c.file("soul_empty", "soul_empty.soul", "soul", F, "truncated", "0 bytes", b"", model=M)
    garbage = np.random.default_rng(404).integers(0, 256, size=64, dtype=np.uint8).tobytes()
    assert struct.unpack("<Q", garbage[:8])[0] > len(garbage)
    c.file("soul_garbage", "soul_garbage.soul", "soul", F, "header", "64 random bytes (the first 8 read as a huge "
           "header length)", garbage, model=M)
    nan_soul = soul_states()
    nan_soul["w_state.0"][0, 1, 0] = np.nan
    c.file("soul_nan_state", "soul_nan_state.soul", "soul", F, "nan", "w_state.0 holds a NaN",
           soul_bytes(nan_soul), model=M)
    c.file("soul_meta_wrong_dtype", "soul_meta_wrong_dtype.soul", "soul", F, "meta_config",
           "meta_config is F32 instead of U32",
           soul_bytes(soul_states(), meta=None, extra={"meta_config": np.array([8, 2, 0, 7], np.float32)}), model=M)
    i32 = soul_states()
    i32["w_state.0"] = np.zeros((1, d, d), np.int32)
    c.file("soul_state_dtype_i32", "soul_state_dtype_i32.soul", "soul", F, "dtype", "w_state.0 is I32",
           bytes(safetensors.numpy.save(dict(i32, meta_config=np.array([D, L, 0, 7], np.uint32)))), model=M)
    c.file("soul_header_not_json", "soul_header_not_json.soul", "soul", F, "json", "the safetensors header is "
           "not JSON", st_join(b"{w_state.0: oops}", st_split(good_soul)[1]), model=M)
    # more safetensors-header faults, on souls (same parser, 250-byte files keep the corpus small)
    sh, sb = st_split(good_soul)

    def soul_mut(fn):
        h = json.loads(json.dumps(sh))
        fn(h)
        return st_join(h, sb)
    c.file("soul_st_trailing_garbage", "soul_st_trailing_garbage.soul", "soul", F, "json",
           "a valid JSON object followed by '}}' inside the safetensors header",
           st_join(header_bytes(sh).rstrip() + b"}}", sb), model=M)
    c.file("soul_st_metadata_not_strings", "soul_st_metadata_not_strings.soul", "soul", F, "metadata",
           "__metadata__ holds a number (safetensors allows only string values)",
           soul_mut(lambda h: h.__setitem__("__metadata__", {"level": 3})), model=M)
    c.file("soul_st_entry_not_object", "soul_st_entry_not_object.soul", "soul", F, "w_state.0",
           "the header entry of w_state.0 is a list", soul_mut(lambda h: h.__setitem__("w_state.0", [1, 2])),
           model=M)
    c.file("soul_st_dtype_not_string", "soul_st_dtype_not_string.soul", "soul", F, "dtype",
           "w_state.1 has dtype 7 (a number)", soul_mut(lambda h: h["w_state.1"].__setitem__("dtype", 7)), model=M)
    c.file("soul_st_offsets_negative", "soul_st_offsets_negative.soul", "soul", F, "offset",
           "w_state.1 has data_offsets [-16, 0]",
           soul_mut(lambda h: h["w_state.1"].__setitem__("data_offsets", [-16, 0])), model=M)
    c.file("soul_st_offsets_one_number", "soul_st_offsets_one_number.soul", "soul", F, "offset",
           "w_state.1 has data_offsets with one element",
           soul_mut(lambda h: h["w_state.1"].__setitem__("data_offsets", h["w_state.1"]["data_offsets"][:1])),
           model=M)
    c.file("soul_st_offsets_fraction", "soul_st_offsets_fraction.soul", "soul", F, "offset",
           "w_state.1 has data_offsets [0.5, 16.5]",
           soul_mut(lambda h: h["w_state.1"].__setitem__("data_offsets", [0.5, 16.5])), model=M)
    c.file("soul_st_shape_negative", "soul_st_shape_negative.soul", "soul", F, "shape",
           "w_state.1 has shape [-1, -2, 2] (product 4 would match the byte length)",
           soul_mut(lambda h: h["w_state.1"].__setitem__("shape", [-1, -2, 2])), model=M)
    c.file("soul_st_shape_not_list", "soul_st_shape_not_list.soul", "soul", F, "shape",
           "w_state.1 has shape \"1x2x2\" (a string)",
           soul_mut(lambda h: h["w_state.1"].__setitem__("shape", "1x2x2")), model=M)
    c.add("soul_missing_file", "no_such_soul.soul", "soul", IO, "no_such_soul.soul", "the file does not exist",
          model=M)


# ------------------------------------------------------------------------------------------------ chat templates

CHAT_MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                 {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}]


def build_chat(c: Corpus):
    """Bad chat templates, each a tokenizer_config.json-shaped file in chat_templates/, listed in chat_manifest.json:
    stage "config" fails when the file is read, "render" when the template is parsed or rendered over
    CHAT_MESSAGES (with the C ABI's default limits). tests/test_chat_api.cpp and the binding tests check them."""
    F, A = 51, 10
    entries = []

    def add(name, template, status, keyword, why, stage="render", raw=None):
        path = f"chat_templates/{name}.json"
        c.files[path] = raw if raw is not None else json.dumps({"chat_template": template, "eos_token": "</s>"}).encode()
        entries.append({"name": name, "path": path, "stage": stage, "expect_status": status,
                        "expect_in_message": keyword, "why": why})

    add("unclosed_if", "{% if messages %}yes", F, "endif", "an if block without {% endif %}")
    add("unclosed_for", "{% for m in messages %}{{ m.content }}", F, "endfor", "a for loop without {% endfor %}")
    add("unclosed_output", "{{ messages[0].content ", F, "not closed", "{{ without }}")
    add("unclosed_string", "{{ 'abc }}", F, "string is not closed", "a string literal without its closing quote")
    add("unclosed_comment", "{# note", F, "comment is not closed", "{# without #}")
    add("stray_endfor", "text{% endfor %}", F, "without the block", "{% endfor %} with no loop open")
    add("include", "{% include 'other.jinja' %}", F, "not supported", "{% include %}: templates cannot load files")
    add("unknown_filter", "{{ messages | shuffle }}", F, "no filter named", "a filter Jinja does not have")
    add("unknown_test", "{% if messages is tasty %}x{% endif %}", F, "no test named", "a test Jinja does not have")
    add("bad_operator", "{{ 1 +* 2 }}", F, "expression is expected", "an operator where an operand belongs")
    add("undefined_attribute", "{{ messages[0].meta.source }}", F, "undefined", "an attribute of an undefined value")
    add("type_error", "{{ messages[0].content + 1 }}", F, "unsupported operand", "str + int")
    add("divide_by_zero", "{{ messages | length / 0 }}", F, "division by zero", "division by zero")
    add("bad_escape", "{{ '\\u12' }}", F, "escape", "a \\u escape with too few hex digits")
    add("huge_integer", "{{ 123456789012345678901234567890 }}", F, "too large", "an integer beyond 64 bits")
    add("deep_parentheses", "{{ " + "(" * 150 + "1" + ")" * 150 + " }}", F, "nested too deeply",
        "150 nested parentheses (bounded recursion, not a stack overflow)")
    add("deep_blocks", "{% if true %}" * 80, F, "nested too deeply", "80 nested if blocks")
    add("macro_recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", A, "levels deep",
        "a macro calling itself without end")
    add("output_bomb", "{% set ns = namespace(s='0123456789') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s }}", A, "limit", "a string doubled 40 times (10 TB): stopped at the output limit")
    add("loop_bomb", "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
        "{% endfor %}{% endfor %}{% endfor %}", A, "loop iterations", "10^9 iterations: stopped at the limit")
    add("repeat_bomb", "{{ 'x' * 9000000000000000000 }}", A, "limit", "a string repeated 9e18 times")
    add("refuses_roles", "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not "
        "supported') }}{% endif %}{% endfor %}", A, "system role not supported",
        "raise_exception: the template refuses the conversation (as Gemma's does)")
    add("template_not_string", None, F, "chat_template", "chat_template is a number", stage="config",
        raw=json_bytes({"chat_template": 7}))
    add("config_bad_utf8", None, F, "utf-8", "the tokenizer_config.json text is not valid UTF-8", stage="config",
        raw=b'{"chat_template": "{{ \xff\xfe }}"}\n')
    c.files["chat_manifest.json"] = (json.dumps({"messages": CHAT_MESSAGES, "entries": entries}) + "\n").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    c = Corpus(args.out)
    build(c)
    build_hf(c)
    build_chat(c)
    c.files["manifest.json"] = json_bytes(c.entries)
    # write exactly the corpus: remove stale files, rewrite only what changed
    keep = set(c.files) | {"README.md"}
    if os.path.isdir(args.out):
        for root, dirs, files in os.walk(args.out, topdown=False):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), args.out)
                if rel not in keep:
                    os.remove(os.path.join(root, f))
            for dd in dirs:
                p = os.path.join(root, dd)
                if not os.listdir(p):
                    os.rmdir(p)
    for rel, data in sorted(c.files.items()):
        p = os.path.join(args.out, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.exists(p):
            with open(p, "rb") as f:
                if f.read() == data:
                    continue
        with open(p, "wb") as f:
            f.write(data)
    total = sum(len(b) for b in c.files.values())
    print(f"{len(c.entries)} manifest entries, {len(c.files)} files, {total} bytes in {args.out}")


if __name__ == "__main__":
    main()
