"""A strict reader of Hugging Face checkpoint directories (LlamaForCausalLM, BitNetForCausalLM), in Python: the
executable statement of what the C++ loader must refuse and with which status, for the "hf_dir" entries of the
malformed-file corpus (tests/malformed/hf_corpus.py). Written from docs/models.md (what loads, what is refused) and
transformers' conventions (config.json fields, model.safetensors.index.json, BitLinear packing), not from the C++.

Order of checks: config.json (JSON object, class, fields, what would change the math), generation_config.json, the
weights (index and shards, or model.safetensors), lm_head for an untied config, every tensor (presence, shape,
dtype, finite; packed: codes and weight_scale), tokenizer_config.json.
"""
from __future__ import annotations

import json
import os

import numpy as np

from strict_loader import (FORMAT_ERROR, IO_ERROR, UNSUPPORTED, LoadError, _fmt, _read, parse_json_bytes,
                           parse_safetensors, validate_tokenizer_config)

CLASSES = ("LlamaForCausalLM", "BitNetForCausalLM")
FLOATS = ("F32", "F16", "BF16")


def _int(c, key, default=None):
    if key not in c or c[key] is None:
        if default is None:
            raise LoadError(FORMAT_ERROR, f"required field \"{key}\" is missing")
        return default
    v = c[key]
    if not (isinstance(v, int) and not isinstance(v, bool)) or v <= 0:
        raise LoadError(FORMAT_ERROR, f"\"{key}\" must be a positive integer, got {json.dumps(v)}")
    return v


def parse_config(c: dict) -> dict:
    if not isinstance(c, dict):
        raise LoadError(FORMAT_ERROR, "config.json must be a JSON object")
    archs = c.get("architectures")
    if not (isinstance(archs, list) and archs and isinstance(archs[0], str)):
        raise LoadError(FORMAT_ERROR, "\"architectures\" must be a list naming the model class")
    if archs[0] not in CLASSES:
        raise LoadError(UNSUPPORTED, f"architecture \"{archs[0]}\" is not supported ({', '.join(CLASSES)})")
    bitnet = archs[0] == "BitNetForCausalLM"
    cfg = {"bitnet": bitnet}
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size", "num_attention_heads"):
        cfg[key] = _int(c, key)
    cfg["num_key_value_heads"] = _int(c, "num_key_value_heads", cfg["num_attention_heads"])
    cfg["head_dim"] = _int(c, "head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    if cfg["num_attention_heads"] % cfg["num_key_value_heads"]:
        raise LoadError(FORMAT_ERROR, "\"num_key_value_heads\" must divide num_attention_heads")
    for key in ("rope_scaling", "rope_parameters"):
        s = c.get(key)
        if s is None:
            continue
        if not isinstance(s, dict):
            raise LoadError(FORMAT_ERROR, f"\"{key}\" must be an object")
        kind = s.get("rope_type", s.get("type", "default"))
        if kind == "llama3":
            if "factor" not in s:
                raise LoadError(FORMAT_ERROR, "llama3 rope scaling needs \"factor\"")
        elif kind != "default":
            raise LoadError(UNSUPPORTED, f"rope scaling \"{kind}\" is not supported (default, llama3)")
    for key in ("attention_bias", "mlp_bias"):
        if c.get(key) is True:
            raise LoadError(UNSUPPORTED, f"\"{key}\": true (biases) is not supported")
    act = c.get("hidden_act", "relu2" if bitnet else "silu")
    if act != ("relu2" if bitnet else "silu"):
        raise LoadError(UNSUPPORTED, f"\"hidden_act\" \"{act}\" is not supported")
    cfg["tied"] = c.get("tie_word_embeddings", False) is True
    q = c.get("quantization_config")
    cfg["packed"] = bitnet and isinstance(q, dict) and q.get("quantization_mode", "offline") == "offline"
    return cfg


def check_generation_config(g) -> None:
    if not isinstance(g, dict):
        raise LoadError(FORMAT_ERROR, "generation_config.json must be a JSON object")
    for key in ("eos_token_id", "bos_token_id"):
        v = g.get(key)
        ids = v if isinstance(v, list) else [v]
        if v is not None and not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
            raise LoadError(FORMAT_ERROR, f"\"{key}\" must be a token id or a list of them")


def read_tensors(path: str) -> dict:
    """name -> (file, SafeTensors) over model.safetensors or the shards of model.safetensors.index.json."""
    index = os.path.join(path, "model.safetensors.index.json")
    out = {}

    def open_shard(name, where):
        full = os.path.join(path, name)
        if not os.path.isfile(full):
            raise LoadError(FORMAT_ERROR, f"{where}: shard {name} is missing")
        try:
            st = parse_safetensors(_read(full))
        except LoadError as e:
            raise _fmt(e, full)
        for t in st.entries:
            if t in out:
                raise LoadError(FORMAT_ERROR, f"{full}: tensor '{t}' is also in {out[t][0]}")
            out[t] = (name, st)

    if os.path.exists(index):
        doc = parse_json_bytes(_read(index), index)
        wmap = doc.get("weight_map") if isinstance(doc, dict) else None
        if not isinstance(wmap, dict) or not wmap:
            raise LoadError(FORMAT_ERROR, f"{index}: \"weight_map\" is missing or empty")
        files = sorted(set(wmap.values()))
        for f in files:
            if not isinstance(f, str) or not f or "/" in f or "\\" in f or f in (".", ".."):
                raise LoadError(FORMAT_ERROR, f"{index}: shard name {json.dumps(f)} is not a plain file name")
        for f in files:
            open_shard(f, index)
        for t, f in wmap.items():
            if t not in out or out[t][0] != f:
                raise LoadError(FORMAT_ERROR, f"{index}: lists tensor '{t}' in {f}, which does not hold it")
    elif os.path.exists(os.path.join(path, "model.safetensors")):
        open_shard("model.safetensors", path)
    else:
        raise LoadError(FORMAT_ERROR, f"{path}: no model.safetensors or model.safetensors.index.json")
    return out


def check_float(tensors, name, shape) -> None:
    if name not in tensors:
        raise LoadError(FORMAT_ERROR, f"tensor '{name}' is missing")
    st = tensors[name][1]
    dt, got, _ = st.entries[name]
    if got != tuple(shape):
        raise LoadError(FORMAT_ERROR, f"tensor '{name}' has shape {list(got)}, expected {list(shape)}")
    if dt not in FLOATS:
        raise LoadError(FORMAT_ERROR, f"tensor '{name}' has dtype {dt}, expected a float type")
    if not np.all(np.isfinite(st.array(name))):
        raise LoadError(FORMAT_ERROR, f"tensor '{name}' holds NaN or Inf")


def check_packed(tensors, name, rows, cols) -> None:
    """transformers' BitLinear packing: U8 [ceil(rows/4), cols] of value + 1 in 2 bits (code 3 is invalid), and a
    positive weight_scale [1]."""
    if name not in tensors:
        raise LoadError(FORMAT_ERROR, f"tensor '{name}' is missing")
    st = tensors[name][1]
    dt, got, _ = st.entries[name]
    R = (rows + 3) // 4
    if dt != "U8" or got != (R, cols):
        raise LoadError(FORMAT_ERROR, f"packed tensor '{name}' is {dt} {list(got)}, expected U8 {[R, cols]}")
    a = st.array(name)
    for shift in range(0, 2 * ((rows + R - 1) // R), 2):
        if np.any((a >> shift) & 3 == 3):
            raise LoadError(FORMAT_ERROR, f"packed tensor '{name}' holds the invalid code 3")
    scale = name[: -len("weight")] + "weight_scale"
    check_float(tensors, scale, (1,))
    if not tensors[scale][1].array(scale)[0] > 0:
        raise LoadError(FORMAT_ERROR, f"'{scale}' must be positive")


def load_hf_dir(path: str) -> dict:
    if not os.path.isdir(path):
        raise LoadError(IO_ERROR, f"model directory {path} does not exist")
    cpath = os.path.join(path, "config.json")
    try:
        cfg = parse_config(parse_json_bytes(_read(cpath), "config.json"))
    except LoadError as e:
        raise _fmt(e, cpath)
    gpath = os.path.join(path, "generation_config.json")
    if os.path.exists(gpath):
        try:
            check_generation_config(parse_json_bytes(_read(gpath), "generation_config.json"))
        except LoadError as e:
            raise _fmt(e, gpath)
    tensors = read_tensors(path)
    try:
        V, D, I = cfg["vocab_size"], cfg["hidden_size"], cfg["intermediate_size"]
        Q, KV = cfg["num_attention_heads"] * cfg["head_dim"], cfg["num_key_value_heads"] * cfg["head_dim"]
        if not cfg["tied"] and "lm_head.weight" not in tensors:
            raise LoadError(FORMAT_ERROR, "tensor 'lm_head.weight' is missing (and tie_word_embeddings is false)")
        check_float(tensors, "model.embed_tokens.weight", (V, D))
        check_float(tensors, "model.norm.weight", (D,))
        if "lm_head.weight" in tensors:
            check_float(tensors, "lm_head.weight", (V, D))
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            check_float(tensors, p + "input_layernorm.weight", (D,))
            check_float(tensors, p + "post_attention_layernorm.weight", (D,))
            for name, rows, cols in (("self_attn.q_proj", Q, D), ("self_attn.k_proj", KV, D), ("self_attn.v_proj", KV, D),
                                     ("self_attn.o_proj", D, Q), ("mlp.gate_proj", I, D), ("mlp.up_proj", I, D),
                                     ("mlp.down_proj", D, I)):
                if cfg["packed"]:
                    check_packed(tensors, p + name + ".weight", rows, cols)
                else:
                    check_float(tensors, p + name + ".weight", (rows, cols))
            if cfg["bitnet"]:
                check_float(tensors, p + "self_attn.attn_sub_norm.weight", (Q,))
                check_float(tensors, p + "mlp.ffn_sub_norm.weight", (I,))
    except LoadError as e:
        raise _fmt(e, path)
    tpath = os.path.join(path, "tokenizer_config.json")
    if os.path.exists(tpath):
        try:
            validate_tokenizer_config(parse_json_bytes(_read(tpath), "tokenizer_config.json"))
        except LoadError as e:
            raise _fmt(e, tpath)
    return cfg
