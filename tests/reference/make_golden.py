#!/usr/bin/env python3
"""Writes the golden models of tests/data/golden/<case>/ (deterministic, idempotent).

Each case directory holds
  config.json         the model config (upstream keys + bit_ttt keys)
  tokenizer.json      a tiny valid Hugging Face BPE tokenizer with exactly vocab_size tokens (not used by the math)
  model.safetensors   latent weights, upstream tensor names, in the case's storage dtype
  golden.safetensors  tokens int32 [T]; logits f32 [T, V] (one forward over the T tokens from a fresh zero state);
                      w_state.{i} f32 [d, d] (applied TTT state after the T tokens, open chunk NOT applied);
                      pending.{i} f32 [d, d] (running sum of (z - fhat) fhat^T of the open chunk, not multiplied by
                      inner_lr; zeros when T is a multiple of ttt_chunk); metadata: case, T, ttt_chunk,
                      pending_tokens (= T mod ttt_chunk) and diagnostics.
plus tests/data/golden/index.json (machine-readable list of the cases and the recommended tolerances).

The golden values are computed by bitllama_ref.py in float64 from the exact values stored in model.safetensors (the
file is re-read after writing). Latent BitLinear weights are nudged so that no |W|/s lies within 2e-3 of the 0.5
rounding boundary (in the stored dtype), so a float32 implementation cannot flip a ternary value.

Usage: python3 tests/reference/make_golden.py [--out DIR] [--check]
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import sys

import numpy as np
import safetensors
import safetensors.numpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bitllama_ref as ref  # noqa: E402

DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "data", "golden"))
T = 20
TERNARY_MARGIN = 2e-3     # min distance of |W|/s from 0.5 after nudging
ACT_MARGIN_WANTED = 1e-3  # act_bits 8 cases: token sequences are chosen so every x*a is this far from k+0.5
TOL_LOGITS = 1e-3         # recommended: max|dlogit| <= TOL * max(1, max|logit|)  (all cases, act_bits 8 included)
TOL_STATE = 1e-4          # recommended: max|dW| <= TOL * max(1, max|W|) (same for pending)
TOL_LOGITS_ACT8_LOOSE = 5e-2  # act_bits 8, only if the activation rounding may legitimately differ (see README)
TOL_STATE_ACT8_LOOSE = 1e-2

BITLINEAR_KEYS = ("ttt.down.weight", "ttt.up.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                  "mlp.down_proj.weight", "ttt.key.weight", "ttt.value.weight", "ttt.query.weight")
CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


# ------------------------------------------------------------------------------------------------- storage dtypes

def stored_values(x: np.ndarray, st: str) -> np.ndarray:
    """float64 copy of the values x takes once stored as `st` (F32, F16 or BF16)."""
    x = np.asarray(x, dtype=np.float64)
    if st == "F32":
        return x.astype(np.float32).astype(np.float64)
    if st == "F16":
        return x.astype(np.float16).astype(np.float64)
    if st == "BF16":
        return ref.bf16_bits_to_f32(ref.f32_to_bf16_bits(x.astype(np.float32))).astype(np.float64)
    raise ValueError(st)


def storage_array(x: np.ndarray, st: str) -> np.ndarray:
    """The array whose bytes go into the file (bf16 as uint16 bit patterns)."""
    if st == "F32":
        return np.ascontiguousarray(x, dtype=np.float32)
    if st == "F16":
        return np.ascontiguousarray(x, dtype=np.float16)
    if st == "BF16":
        return ref.f32_to_bf16_bits(np.asarray(x, dtype=np.float32))
    raise ValueError(st)


def safe_latent(w: np.ndarray, st: str) -> np.ndarray:
    """Stored values of w, nudged until no |w|/s is within TERNARY_MARGIN of the 0.5 rounding boundary."""
    w = stored_values(w, st)
    for _ in range(100):
        s = np.mean(np.abs(w)) + ref.TERNARY_EPS
        r = np.abs(w) / s
        bad = np.abs(r - 0.5) < TERNARY_MARGIN
        if not bad.any():
            return w
        target = np.where(r < 0.5, 0.5 - 10 * TERNARY_MARGIN, 0.5 + 10 * TERNARY_MARGIN)
        w = w.copy()
        w[bad] = np.sign(w[bad]) * target[bad] * s
        w = stored_values(w, st)
    raise RuntimeError("could not move latent weights off the rounding boundary")


def ternary_margin(w: np.ndarray) -> float:
    s = np.mean(np.abs(w)) + ref.TERNARY_EPS
    return float(np.min(np.abs(np.abs(w) / s - 0.5)))


# ------------------------------------------------------------------------------------------------- models

def init_weights(seed: int, D: int, V: int, L: int, I: int) -> dict:
    """float64 draws (canonical names). Embeddings N(0,1), norms 1+0.1N(0,1), BitLinear N(0,0.5), head N(0,0.3)."""
    rng = np.random.default_rng(seed)
    d = D // 4
    w = {"embed.weight": rng.normal(0.0, 1.0, (V, D))}
    for i in range(L):
        p = f"layers.{i}."
        w[p + "norm1.weight"] = 1.0 + 0.1 * rng.normal(0.0, 1.0, (D,))
        w[p + "ttt.down.weight"] = rng.normal(0.0, 0.5, (d, D))
        w[p + "ttt.up.weight"] = rng.normal(0.0, 0.5, (D, d))  # the delta kind redraws it at its own width
        w[p + "norm2.weight"] = 1.0 + 0.1 * rng.normal(0.0, 1.0, (D,))
        w[p + "mlp.gate_proj.weight"] = rng.normal(0.0, 0.5, (I, D))
        w[p + "mlp.up_proj.weight"] = rng.normal(0.0, 0.5, (I, D))
        w[p + "mlp.down_proj.weight"] = rng.normal(0.0, 0.5, (D, I))
    w["norm_f.weight"] = 1.0 + 0.1 * rng.normal(0.0, 1.0, (D,))
    w["lm_head.weight"] = rng.normal(0.0, 0.3, (V, D))
    return w


def delta_weights(w: dict, seed: int, D: int, L: int, H: int, d: int) -> dict:
    """The delta kind's TTT core (docs/memory.md) instead of ttt.down, from its own generator (so the upstream
    models' draws are unchanged): key/value/query N(0,0.5); token mixing N(0,0.5); gate N(0,0.3); gate bias
    N(0,0.5) for the inner learning rate and 2+N(0,0.5) for the decay."""
    rng = np.random.default_rng(seed + 77)
    w = dict(w)
    for i in range(L):
        p = f"layers.{i}."
        del w[p + "ttt.down.weight"]
        for n in ("key", "value", "query"):
            w[p + f"ttt.{n}.weight"] = rng.normal(0.0, 0.5, (d, D))
        w[p + "ttt.conv_k.weight"] = rng.normal(0.0, 0.5, (d, 4))
        w[p + "ttt.conv_q.weight"] = rng.normal(0.0, 0.5, (d, 4))
        w[p + "ttt.gate.weight"] = rng.normal(0.0, 0.3, (2 * H, D))
        w[p + "ttt.gate.bias"] = np.concatenate([rng.normal(0.0, 0.5, H), 2.0 + rng.normal(0.0, 0.5, H)])
        if d != D // 4:  # drawn last, so the default-width models' draws are unchanged
            w[p + "ttt.up.weight"] = rng.normal(0.0, 0.5, (D, d))
    return w


MODELS = {
    # key: (seed, D, V, L, intermediate_dim or None)
    "d12": (1234, 12, 37, 3, None),
    "d8": (99, 8, 23, 2, None),
    "d16": (7, 16, 50, 2, 30),
    "d16d": (15, 16, 23, 2, 24),
}


def all_f32(name):
    return "F32"


def all_f16(name):
    return "F16"


def all_bf16(name):
    return "BF16"


def mixed_dtypes(name):
    """Every float dtype appears, for every kind of tensor."""
    if name.endswith("embed.weight") or "ttt." in name or "gate_proj" in name:
        return "F16"
    if name.startswith("lm_head") or "up_proj" in name or "norm1" in name:
        return "BF16"
    return "F32"


def head_names(name):
    hv = ref.head_variant(name)
    return hv if hv is not None else name


def legacy_names(name):
    return name


# ------------------------------------------------------------------------------------------------- cases

CASES = [
    dict(name="d12_v37_l3", model="d12", storage=all_f32, names=legacy_names,
         config=dict(vocab_size=37, hidden_dim=12, num_layers=3, inner_lr=0.5),
         covers="base case; upstream 4-key config.json, so every bit_ttt field takes its default "
                "(ttt_chunk 1 = sequential TTT, intermediate_dim 4D = 48, bitlinear_scale false, act_bits 0, "
                "norm_eps 1e-5); f32 weights"),
    dict(name="d12_v37_l3_c3", model="d12", storage=all_f32, names=legacy_names,
         config=dict(vocab_size=37, hidden_dim=12, num_layers=3, inner_lr=0.5, ttt_chunk=3),
         covers="same weights, ttt_chunk 3: 6 closed chunks + 2 tokens pending (pending.{i} non-zero)"),
    dict(name="d12_v37_l3_c16", model="d12", storage=all_f32, names=legacy_names,
         config=dict(vocab_size=37, hidden_dim=12, num_layers=3, inner_lr=0.5, ttt_chunk=16),
         covers="same weights, ttt_chunk 16: tokens 0-15 all see W=0 (TTT branch output 0), one chunk applied "
                "after token 15, 4 tokens pending"),
    dict(name="d12_v37_l3_f16", model="d12", storage=all_f16, names=legacy_names,
         config=dict(vocab_size=37, hidden_dim=12, num_layers=3, inner_lr=0.5),
         covers="d12 weights stored as F16 (every tensor); golden computed from the exact f16 values"),
    dict(name="d12_v37_l3_bf16", model="d12", storage=all_bf16, names=legacy_names,
         config=dict(vocab_size=37, hidden_dim=12, num_layers=3, inner_lr=0.5),
         covers="d12 weights stored as BF16 (every tensor); golden computed from the exact bf16 values"),
    dict(name="d8_v23_l2_scale", model="d8", storage=all_f32, names=legacy_names,
         config=dict(vocab_size=23, hidden_dim=8, num_layers=2, inner_lr=0.5, bitlinear_scale=True),
         covers="bitlinear_scale true: every BitLinear output multiplied by s = mean|W| + 1e-6"),
    dict(name="d8_v23_l2_act8", model="d8", storage=all_f32, names=legacy_names, act_search=True,
         config=dict(vocab_size=23, hidden_dim=8, num_layers=2, inner_lr=0.5, act_bits=8),
         covers="act_bits 8: per-token absmax int8 fake-quantisation of every BitLinear input"),
    dict(name="d8_v23_l2_scale_act8_c3", model="d8", storage=all_f32, names=legacy_names, act_search=True,
         config=dict(vocab_size=23, hidden_dim=8, num_layers=2, inner_lr=0.5, bitlinear_scale=True, act_bits=8,
                     ttt_chunk=3),
         covers="bitlinear_scale true + act_bits 8 + ttt_chunk 3 together (2 tokens pending)"),
    dict(name="d8_v23_l2_head_names", model="d8", storage=all_f32, names=head_names,
         config=dict(vocab_size=23, hidden_dim=8, num_layers=2, inner_lr=0.5),
         covers="upstream HEAD tensor names: model.embed_tokens.weight, layers.{i}.norm1.model.norm.weight, "
                "layers.{i}.norm2.model.norm.weight, model.norm.weight (others legacy)"),
    dict(name="d8_v23_l2_lr0", model="d8", storage=all_f32, names=legacy_names,
         config=dict(vocab_size=23, hidden_dim=8, num_layers=2, inner_lr=0.0),
         covers="inner_lr 0: TTT off; W stays 0, so the TTT branch output is 0 for every token and "
                "w_state/pending are all zeros"),
    dict(name="d8_v23_l2_mixed_dtypes", model="d8", storage=mixed_dtypes, names=legacy_names,
         config=dict(vocab_size=23, hidden_dim=8, num_layers=2, inner_lr=0.5, ttt_chunk=2),
         covers="F32, F16 and BF16 tensors in one file (embed/ttt/gate_proj F16; lm_head/up_proj/norm1 BF16; "
                "rest F32), ttt_chunk 2 (T even: nothing pending)"),
    dict(name="d16_v50_l2_i30", model="d16", storage=all_f32, names=legacy_names,
         config=dict(vocab_size=50, hidden_dim=16, num_layers=2, inner_lr=0.5, intermediate_dim=30),
         covers="D=16 (d=4), V=50, explicit odd intermediate_dim 30, all bit_ttt fields written explicitly "
                "with their default values",
         extra_config=dict(bitlinear_scale=False, act_bits=0, ttt_chunk=1, norm_eps=1e-5)),
    dict(name="d16_v23_l2_delta_h2", model="d16d", storage=all_f32, names=legacy_names,
         config=dict(vocab_size=23, hidden_dim=16, num_layers=2, inner_lr=1.0, intermediate_dim=24,
                     bitlinear_scale=True, ttt_kind="delta", ttt_heads=2),
         covers="ttt_kind delta (docs/memory.md): key/value/query projections, width-4 causal token mixing, "
                "2 heads of 2x2 fast weights, learned inner lr and decay, delta rule read after the update; "
                "w_state.{i} [2, 2, 2] and mix_tail.{i} [3, 8] (the last 3 raw key/query rows)"),
    dict(name="d16_v23_l2_delta_act8", model="d16d", storage=all_f32, names=legacy_names, act_search=True,
         config=dict(vocab_size=23, hidden_dim=16, num_layers=2, inner_lr=1.0, intermediate_dim=24,
                     bitlinear_scale=True, act_bits=8, ttt_kind="delta", ttt_heads=1),
         covers="ttt_kind delta with act_bits 8 and one head of 4x4 fast weights"),
    dict(name="d16_v23_l2_delta_w12_h3", model="d16d", storage=all_f32, names=legacy_names,
         config=dict(vocab_size=23, hidden_dim=16, num_layers=2, inner_lr=1.0, intermediate_dim=24,
                     bitlinear_scale=True, ttt_kind="delta", ttt_heads=3, ttt_dim=12),
         covers="ttt_kind delta with a TTT width other than hidden_dim/4 (ttt_dim 12 of D 16) in 3 heads of 4x4 "
                "fast weights: key/value/query [12, 16], up [16, 12], w_state.{i} [3, 4, 4], mix_tail.{i} [3, 24]"),
]


def tokenizer_json(V: int) -> dict:
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for k in range(3, V):
        vocab[CHARS[k - 3]] = k
    return {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": [], "unk_token": "<unk>"}}


def write_model(path: str, tensors_by_name: dict, storage_by_name: dict):
    """tensors_by_name: file name -> float64 stored values."""
    if all(st != "BF16" for st in storage_by_name.values()):
        safetensors.numpy.save_file(
            {n: storage_array(v, storage_by_name[n]) for n, v in tensors_by_name.items()}, path)
        return
    # numpy has no bfloat16: serialise raw bytes through the torch-free path of the safetensors package
    keep = {}
    specs = {}
    names = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
    for n, v in tensors_by_name.items():
        a = storage_array(v, storage_by_name[n])
        keep[n] = a
        specs[n] = safetensors.TensorSpec(dtype=names[storage_by_name[n]], shape=list(v.shape),
                                          data_ptr=a.ctypes.data, data_len=a.nbytes)
    safetensors.serialize_file(specs, path)
    del keep


def with_metadata(data: bytes, meta: dict) -> bytes:
    """Adds __metadata__ to a safetensors file in a fixed key order (the safetensors package writes metadata from a
    hash map, in an order that changes from run to run)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    raw = json.dumps(dict({"__metadata__": meta}, **header), separators=(",", ":")).encode("utf-8")
    raw += b" " * ((-len(raw)) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + n:]


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def write_if_changed(path: str, data: bytes):
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return
    with open(path, "wb") as f:
        f.write(data)


# act_bits 8 diagnostics: count act-quant calls, find the element closest to a rounding boundary, force-flip it
class ActQuantSpy:
    def __init__(self, flip=None):
        self.calls = 0
        self.best = (1.0, None, None)  # margin, call, element
        self.flip = flip
        self.orig = ref.act_quant8

    def __call__(self, x):
        y = self.orig(x)
        xd = np.asarray(x, dtype=np.float64)
        m = max(float(np.max(np.abs(xd))), ref.ACT_MIN_ABSMAX)
        a = 127.0 / m
        v = np.abs(xd * a)
        dist = np.abs(v - np.floor(v) - 0.5)
        j = int(np.argmin(dist))
        if dist[j] < self.best[0]:
            self.best = (float(dist[j]), self.calls, j)
        if self.flip is not None and self.flip[0] == self.calls:
            k = self.flip[1]
            y = y.copy()
            # move to the integer on the other side of the nearest boundary
            q = xd[k] * a
            y[k] = (np.floor(q) if y[k] * a > q else np.ceil(q)) / a
        self.calls += 1
        return y

    def __enter__(self):
        ref.act_quant8 = self
        return self

    def __exit__(self, *exc):
        ref.act_quant8 = self.orig


def build_case(case: dict, outdir: str) -> dict:
    seed, D, V, L, I = MODELS[case["model"]]
    Ieff = I if I is not None else 4 * D
    draws = init_weights(seed, D, V, L, Ieff)
    if case["config"].get("ttt_kind") == "delta":
        draws = delta_weights(draws, seed, D, L, case["config"].get("ttt_heads", 1),
                              case["config"].get("ttt_dim", D // 4))
    storage = case["storage"]
    stored = {}
    for n, v in draws.items():
        st = storage(n)
        stored[n] = safe_latent(v, st) if n.endswith(BITLINEAR_KEYS) else stored_values(v, st)
    file_names = {n: case["names"](n) for n in stored}
    tensors = {file_names[n]: v for n, v in stored.items()}
    st_by_file = {file_names[n]: storage(n) for n in stored}

    cfg_dict = dict(case["config"])
    cfg_dict.update(case.get("extra_config", {}))
    cdir = os.path.join(outdir, case["name"])
    os.makedirs(cdir, exist_ok=True)
    write_if_changed(os.path.join(cdir, "config.json"), json_bytes(cfg_dict))
    write_if_changed(os.path.join(cdir, "tokenizer.json"), json_bytes(tokenizer_json(V)))
    tmp = os.path.join(cdir, "model.safetensors.tmp")
    write_model(tmp, tensors, st_by_file)
    with open(tmp, "rb") as f:
        model_bytes = f.read()
    os.remove(tmp)
    write_if_changed(os.path.join(cdir, "model.safetensors"), model_bytes)

    # golden from exactly what is in the files
    model = ref.load_model_dir(cdir)
    cfg = model.cfg
    file_tensors = ref.resolve_weights(ref.read_safetensors(os.path.join(cdir, "model.safetensors"))[0], cfg)
    for n, v in file_tensors.items():
        assert np.array_equal(v.astype(np.float64), stored[n]), n   # the file holds exactly what we meant
        if n.endswith(BITLINEAR_KEYS):
            assert ternary_margin(v.astype(np.float64)) >= TERNARY_MARGIN * 0.99, n

    rng_seed = 1000 + sum(map(ord, case["name"]))
    tokens = None
    act_margin = None
    if case.get("act_search"):
        best = None
        for k in range(400):
            cand = np.random.default_rng(rng_seed + k).integers(0, V, size=T).astype(np.int32)
            m = ref.load_model_dir(cdir)
            m.forward(cand)
            if best is None or m.min_act_margin > best[0]:
                best = (m.min_act_margin, cand)
            if m.min_act_margin >= ACT_MARGIN_WANTED:
                break
        act_margin, tokens = best
    else:
        tokens = np.random.default_rng(rng_seed).integers(0, V, size=T).astype(np.int32)

    logits = model.forward(tokens)
    w_states = [model.w_state(i) for i in range(L)]
    pendings = [model.pending(i) for i in range(L)]
    assert np.all(np.isfinite(logits))
    max_logit = float(np.max(np.abs(logits)))
    denom = max(1.0, max_logit)

    # the golden must be reproducible by a token-by-token / split run (state persists between calls)
    m2 = ref.load_model_dir(cdir)
    split = np.concatenate([m2.forward(tokens[:7]), m2.forward(tokens[7:8]), m2.forward(tokens[8:])])
    assert np.max(np.abs(split - logits)) < 1e-12

    # TTT must visibly matter
    ttt_effect = None
    if cfg.inner_lr != 0.0:
        cfg0 = dict(cfg.__dict__)
        cfg0["inner_lr"] = 0.0
        m0 = ref.BitLlamaRef(ref.Config(**cfg0), ref.read_safetensors(os.path.join(cdir, "model.safetensors"))[0])
        ttt_effect = float(np.max(np.abs(m0.forward(tokens) - logits)))
        assert ttt_effect > 1e-2, (case["name"], ttt_effect)
    else:
        assert all(np.all(w == 0) for w in w_states)

    # how far does the same algorithm in float32 drift?
    m32 = ref.load_model_dir(cdir, dtype=np.float32)
    l32 = m32.forward(tokens)
    f32_err = float(np.max(np.abs(l32 - logits))) / denom
    wden = max(1.0, max(float(np.max(np.abs(w))) for w in w_states + pendings))
    f32_state_err = max(float(np.max(np.abs(m32.w_state(i) - w_states[i]))) for i in range(L)) / wden

    flip_delta = flip_state = None
    if cfg.act_bits == 8:
        with ActQuantSpy() as spy:
            ref.load_model_dir(cdir).forward(tokens)
        _, call, elem = spy.best
        with ActQuantSpy(flip=(call, elem)):
            mf = ref.load_model_dir(cdir)
            lf = mf.forward(tokens)
        flip_delta = float(np.max(np.abs(lf - logits))) / denom
        flip_state = max(float(np.max(np.abs(mf.w_state(i) - w_states[i]))) for i in range(L)) / wden

    golden = {"tokens": tokens.astype(np.int32), "logits": logits.astype(np.float32)}
    second = "mix_tail" if cfg.ttt_kind == "delta" else "pending"   # the soul file's names
    for i in range(L):
        golden[f"w_state.{i}"] = w_states[i].astype(np.float32)
        golden[f"{second}.{i}"] = pendings[i].astype(np.float32)
    act8 = cfg.act_bits == 8
    meta = {"case": case["name"], "T": str(T), "ttt_chunk": str(cfg.ttt_chunk),
            "pending_tokens": str(T % cfg.ttt_chunk), "generator": "tests/reference/make_golden.py",
            "logit_tolerance_rel": repr(TOL_LOGITS), "state_tolerance_rel": repr(TOL_STATE)}
    if act8:
        meta["logit_tolerance_rel_loose"] = repr(TOL_LOGITS_ACT8_LOOSE)
        meta["state_tolerance_rel_loose"] = repr(TOL_STATE_ACT8_LOOSE)
        meta["min_act_quant_margin_lsb"] = f"{act_margin:.3g}"
    write_if_changed(os.path.join(cdir, "golden.safetensors"), with_metadata(safetensors.numpy.save(golden), meta))

    return {
        "name": case["name"], "covers": case["covers"],
        "dims": {"vocab_size": V, "hidden_dim": D, "d": case["config"].get("ttt_dim", D // 4), "num_layers": L, "intermediate_dim": Ieff},
        "config": cfg_dict,
        "storage_dtypes": sorted(set(st_by_file.values())),
        "tensor_names": "head" if case["names"] is head_names else "legacy",
        "T": T, "pending_tokens": T % cfg.ttt_chunk,
        "tolerance": dict({"logits_rel": TOL_LOGITS, "state_rel": TOL_STATE},
                          **({"loose_logits_rel": TOL_LOGITS_ACT8_LOOSE, "loose_state_rel": TOL_STATE_ACT8_LOOSE}
                             if act8 else {})),
        "diagnostics": {
            "max_abs_logit": round(max_logit, 6),
            "ttt_effect_max_abs_dlogit_vs_inner_lr_0": None if ttt_effect is None else round(ttt_effect, 6),
            "float32_same_algorithm_rel_err": float(f"{f32_err:.3g}"),
            "float32_same_algorithm_state_rel_err": float(f"{f32_state_err:.3g}"),
            "min_act_quant_margin_lsb": None if act_margin is None else float(f"{act_margin:.3g}"),
            "one_act_rounding_flip_rel_dlogit": None if flip_delta is None else float(f"{flip_delta:.3g}"),
            "one_act_rounding_flip_state_rel_err": None if flip_state is None else float(f"{flip_state:.3g}"),
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    index = {
        "format": "bit_ttt golden models v1",
        "generator": "tests/reference/make_golden.py (numpy float64 reference tests/reference/bitllama_ref.py)",
        "tolerance_rule": {
            "logits": "max_t,v |logit_impl - logit_golden| <= logits_rel * max(1, max|logit_golden|)",
            "state": "max |W_impl - w_state.i| <= state_rel * max(1, max|w_state.i|), same for pending.i",
            "act_bits_8": "the strict bounds apply (tokens chosen so no activation is near a rounding boundary); "
                          "loose_* only where activation rounding may legitimately differ - see README.md",
        },
        "cases": [build_case(c, args.out) for c in CASES],
    }
    write_if_changed(os.path.join(args.out, "index.json"), json_bytes(index))
    total = 0
    for root, _, files in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    for c in index["cases"]:
        print(f'{c["name"]:28s} {json.dumps(c["diagnostics"])}')
    print(f"total size of {args.out}: {total} bytes")


if __name__ == "__main__":
    main()
