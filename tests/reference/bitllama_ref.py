"""Independent numpy reference ("oracle") of the BitLlama TTT model, bit_ttt DESIGN.md section 2.

Written from the specification only (DESIGN.md section 2, upstream-spec.md sections 1.5 and 2); it shares no code
with the C++ library. Plain, one token at a time, float64 by default.

Semantics (exactly as decided for bit_ttt):
  * weights are row-major [out, in], y = W x, no biases;
  * RMSNorm  y = x / sqrt(mean(x^2) + eps) * g;
  * BitLinear on a latent weight W: s = mean(|W|) + 1e-6 (always), Q = clamp(round_half_away(W / s), -1, 1);
    y = Q x (bitlinear_scale false, default) or y = s * (Q x) (true); with act_bits 8 the input vector is first
    fake-quantised per token: a = 127 / max(max|x|, 1e-5), x' = clamp(round_half_away(x a), -128, 127) / a;
  * TTT layer (d = D / 4): f = down(x), fhat = f / (||f||_2 + 1e-6); inside a chunk of C = ttt_chunk tokens
    (counted from the last reset) every token uses the chunk-start state: z = W fhat, out = up(z); when the chunk
    closes W <- W - inner_lr * sum_t (z_t - fhat_t) fhat_t^T. A partial chunk stays pending;
  * block: h = x + TTT(RMSNorm(x; norm1)); n = RMSNorm(h; norm2); y = h + down(silu(gate n) * up n);
  * model: x0 = embed[token]; L blocks; logits = lm_head . RMSNorm(y_L; norm_f). embed / lm_head float.

The model keeps its TTT state between forward() calls until reset(), so a sequence split into several calls gives
exactly the same result as one call (chunk boundaries count tokens since the reset).

`dtype=np.float32` runs the same code in float32; make_golden.py uses that only to estimate how far a correct
float32 implementation may drift from the float64 golden values.
"""
from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional

import numpy as np

TTT_NORM_EPS = 1e-6      # added to ||f||_2 in the TTT feature normalisation
TERNARY_EPS = 1e-6       # added to mean|W| for the ternary scale
ACT_MIN_ABSMAX = 1e-5    # floor of max|x| in the int8 activation fake-quantisation


# --------------------------------------------------------------------------------------------------------------
# Elementary pieces
# --------------------------------------------------------------------------------------------------------------

def round_half_away(v):
    """Round to nearest, ties away from zero: sign(v) * floor(|v| + 0.5)."""
    v = np.asarray(v)
    return np.sign(v) * np.floor(np.abs(v) + v.dtype.type(0.5))


def rmsnorm(x, g, eps):
    x = np.asarray(x)
    ms = np.mean(x * x)
    return x / np.sqrt(ms + x.dtype.type(eps)) * g


def silu(z):
    z = np.asarray(z)
    one = z.dtype.type(1.0)
    return z / (one + np.exp(-z))


def ternarize(w, dtype=np.float64):
    """Absmean ternarisation of a latent weight tensor. Returns (Q in {-1,0,1} as `dtype`, scale s)."""
    w = np.asarray(w, dtype=dtype)
    s = dtype(np.mean(np.abs(w)) + dtype(TERNARY_EPS))
    q = np.clip(round_half_away(w / s), -1, 1).astype(dtype)
    return q, s


def act_quant8(x):
    """Per-token absmax int8 fake-quantisation: returns x' (same dtype as x)."""
    x = np.asarray(x)
    t = x.dtype.type
    m = max(t(np.max(np.abs(x))) if x.size else t(0), t(ACT_MIN_ABSMAX))
    a = t(127.0) / m
    return np.clip(round_half_away(x * a), -128, 127) / a


def act_quant8_margin(x):
    """Smallest distance of x*a to a rounding boundary (k + 0.5) - how safe the quantisation is from rounding noise."""
    x = np.asarray(x, dtype=np.float64)
    m = max(float(np.max(np.abs(x))) if x.size else 0.0, ACT_MIN_ABSMAX)
    v = np.abs(x * (127.0 / m))
    frac = v - np.floor(v)
    return float(np.min(np.abs(frac - 0.5))) if x.size else 0.5


# --------------------------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------------------------

@dataclass
class Config:
    vocab_size: int
    hidden_dim: int
    num_layers: int
    inner_lr: float
    intermediate_dim: Optional[int] = None
    bitlinear_scale: bool = False
    act_bits: int = 0
    ttt_chunk: int = 1
    norm_eps: float = 1e-5
    ttt_kind: str = "upstream"   # "delta": the layer with associative recall (docs/memory.md)
    ttt_heads: int = 1
    ttt_dim: Optional[int] = None   # delta kind: the TTT width d; None = hidden_dim // 4

    @property
    def d(self) -> int:
        return self.ttt_dim if self.ttt_dim is not None else self.hidden_dim // 4

    @property
    def inter(self) -> int:
        return self.intermediate_dim if self.intermediate_dim is not None else 4 * self.hidden_dim

    @staticmethod
    def from_dict(c: dict) -> "Config":
        """Lenient: required keys + defaults (upstream aliases accepted). Strict validation: strict_loader.py."""
        def pick(*keys, default=None):
            for k in keys:
                if k in c:
                    return c[k]
            return default
        return Config(
            vocab_size=int(c["vocab_size"]),
            hidden_dim=int(pick("hidden_dim", "hidden_size")),
            num_layers=int(pick("num_layers", "num_hidden_layers", "n_layers")),
            inner_lr=float(c["inner_lr"]),
            intermediate_dim=(None if pick("intermediate_dim", "intermediate_size") is None
                              else int(pick("intermediate_dim", "intermediate_size"))),
            bitlinear_scale=bool(c.get("bitlinear_scale", False)),
            act_bits=int(c.get("act_bits", 0)),
            ttt_chunk=int(c.get("ttt_chunk", 1)),
            norm_eps=float(c.get("norm_eps", 1e-5)),
            ttt_kind=str(c.get("ttt_kind", "upstream")),
            ttt_heads=int(c.get("ttt_heads", 1)),
            ttt_dim=None if "ttt_dim" not in c else int(c["ttt_dim"]),
        )


# --------------------------------------------------------------------------------------------------------------
# Tensor names (upstream legacy names are canonical; HEAD variants accepted, HEAD name preferred like upstream)
# --------------------------------------------------------------------------------------------------------------

DELTA_TTT_TENSORS = ["ttt.key.weight", "ttt.value.weight", "ttt.query.weight", "ttt.conv_k.weight",
                     "ttt.conv_q.weight", "ttt.gate.weight", "ttt.gate.bias"]


def canonical_names(num_layers: int, ttt_kind: str = "upstream") -> List[str]:
    names = ["embed.weight"]
    for i in range(num_layers):
        p = f"layers.{i}."
        core = [p + n for n in DELTA_TTT_TENSORS] if ttt_kind == "delta" else [p + "ttt.down.weight"]
        names += [p + "norm1.weight"] + core + [p + "ttt.up.weight", p + "norm2.weight",
                  p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight"]
    names += ["norm_f.weight", "lm_head.weight"]
    return names


def head_variant(name: str) -> Optional[str]:
    """The odd name upstream HEAD checkpoints use for a canonical name (None if there is none)."""
    if name == "embed.weight":
        return "model.embed_tokens.weight"
    if name == "norm_f.weight":
        return "model.norm.weight"
    for n in ("norm1", "norm2"):
        if name.startswith("layers.") and name.endswith(f".{n}.weight"):
            return name[: -len(".weight")] + ".model.norm.weight"
    return None


def expected_shapes(cfg: Config) -> Dict[str, tuple]:
    D, d, I, V = cfg.hidden_dim, cfg.d, cfg.inter, cfg.vocab_size
    shapes = {"embed.weight": (V, D), "norm_f.weight": (D,), "lm_head.weight": (V, D)}
    for i in range(cfg.num_layers):
        p = f"layers.{i}."
        shapes.update({p + "norm1.weight": (D,), p + "ttt.down.weight": (d, D), p + "ttt.up.weight": (D, d),
                       p + "norm2.weight": (D,), p + "mlp.gate_proj.weight": (I, D),
                       p + "mlp.up_proj.weight": (I, D), p + "mlp.down_proj.weight": (D, I)})
        if cfg.ttt_kind == "delta":
            H2 = 2 * cfg.ttt_heads
            del shapes[p + "ttt.down.weight"]
            shapes.update({p + "ttt.key.weight": (d, D), p + "ttt.value.weight": (d, D),
                           p + "ttt.query.weight": (d, D), p + "ttt.conv_k.weight": (d, 4),
                           p + "ttt.conv_q.weight": (d, 4), p + "ttt.gate.weight": (H2, D),
                           p + "ttt.gate.bias": (H2,)})
    return shapes


def resolve_weights(tensors: Dict[str, np.ndarray], cfg: Config) -> Dict[str, np.ndarray]:
    """Map file tensors (legacy or HEAD names) to canonical names; checks presence and shape only."""
    out = {}
    shapes = expected_shapes(cfg)
    for name in canonical_names(cfg.num_layers, cfg.ttt_kind):
        hv = head_variant(name)
        src = hv if (hv is not None and hv in tensors) else name
        if src not in tensors:
            raise KeyError(f"missing tensor {name}")
        t = tensors[src]
        if tuple(t.shape) != shapes[name]:
            raise ValueError(f"tensor {src} has shape {list(t.shape)}, expected {list(shapes[name])}")
        out[name] = t
    return out


# --------------------------------------------------------------------------------------------------------------
# Minimal safetensors reader (independent of the `safetensors` package; handles BF16, which numpy lacks)
# --------------------------------------------------------------------------------------------------------------

_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": "bf16", "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32,
              "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_}


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, round to nearest even (finite inputs)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def parse_safetensors(data: bytes):
    """Returns (tensors: name -> numpy array, metadata dict). BF16 is returned as float32 (exact)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, e in header.items():
        b, en = e["data_offsets"]
        raw = data[base + b: base + en]
        dt = _ST_DTYPES[e["dtype"]]
        if dt == "bf16":
            arr = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<"))
        out[name] = arr.reshape(e["shape"]).copy()
    return out, meta


def read_safetensors(path: str):
    with open(path, "rb") as f:
        return parse_safetensors(f.read())


# --------------------------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------------------------

class BitLinear:
    def __init__(self, w_latent, scale: bool, act_bits: int, dtype=np.float64, probe=None):
        self.q, self.s = ternarize(w_latent, dtype=dtype)
        self.scale = scale
        self.act_bits = act_bits
        self.probe = probe

    def __call__(self, x):
        if self.act_bits == 8:
            if self.probe is not None:
                self.probe(x)
            x = act_quant8(x)
        y = self.q @ x
        return self.s * y if self.scale else y


class TTTState:
    """Per-layer fast-weight state: applied W, the pending running sum of the open chunk and its length."""

    def __init__(self, d, dtype):
        self.w = np.zeros((d, d), dtype=dtype)
        self.pending = np.zeros((d, d), dtype=dtype)
        self.pos = 0


class DeltaState:
    """Delta kind: fast weights per head W[h] (dh x dh) and the raw key/query rows of the last 3 tokens."""

    def __init__(self, d, heads, dtype):
        self.w = np.zeros((heads, d // heads, d // heads), dtype=dtype)
        self.tail = np.zeros((3, 2 * d), dtype=dtype)   # oldest first: [k_raw | q_raw]


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


class BitLlamaRef:
    def __init__(self, cfg: Config, weights: Dict[str, np.ndarray], dtype=np.float64):
        """weights: canonical name -> array (any float dtype; values are taken exactly as stored)."""
        self.cfg = cfg
        self.dtype = dtype
        self.min_act_margin = 0.5   # diagnostics for act_bits 8
        probe = self._probe if cfg.act_bits == 8 else None
        w = {k: np.asarray(v, dtype=np.float64) for k, v in resolve_weights(weights, cfg).items()}
        f = lambda a: np.asarray(a, dtype=dtype)
        bl = lambda a: BitLinear(a, cfg.bitlinear_scale, cfg.act_bits, dtype, probe)
        self.embed = f(w["embed.weight"])
        self.lm_head = f(w["lm_head.weight"])
        self.norm_f = f(w["norm_f.weight"])
        self.layers = []
        for i in range(cfg.num_layers):
            p = f"layers.{i}."
            layer = dict(
                norm1=f(w[p + "norm1.weight"]), norm2=f(w[p + "norm2.weight"]), up=bl(w[p + "ttt.up.weight"]),
                gate_proj=bl(w[p + "mlp.gate_proj.weight"]), up_proj=bl(w[p + "mlp.up_proj.weight"]),
                down_proj=bl(w[p + "mlp.down_proj.weight"]))
            if cfg.ttt_kind == "delta":
                layer.update(key=bl(w[p + "ttt.key.weight"]), value=bl(w[p + "ttt.value.weight"]),
                             query=bl(w[p + "ttt.query.weight"]), conv_k=f(w[p + "ttt.conv_k.weight"]),
                             conv_q=f(w[p + "ttt.conv_q.weight"]), gate=f(w[p + "ttt.gate.weight"]),
                             gate_bias=f(w[p + "ttt.gate.bias"]))
            else:
                layer["down"] = bl(w[p + "ttt.down.weight"])
            self.layers.append(layer)
        self.reset()

    def _probe(self, x):
        self.min_act_margin = min(self.min_act_margin, act_quant8_margin(x))

    def reset(self):
        if self.cfg.ttt_kind == "delta":
            self.states = [DeltaState(self.cfg.d, self.cfg.ttt_heads, self.dtype) for _ in range(self.cfg.num_layers)]
        else:
            self.states = [TTTState(self.cfg.d, self.dtype) for _ in range(self.cfg.num_layers)]

    # one TTT step for one token
    def ttt(self, i, x):
        L = self.layers[i]
        st = self.states[i]
        t = self.dtype
        f = L["down"](x)
        fhat = f / (t(np.sqrt(np.sum(f * f))) + t(TTT_NORM_EPS))
        z = st.w @ fhat
        out = L["up"](z)
        st.pending = st.pending + np.outer(z - fhat, fhat)
        st.pos += 1
        if st.pos == self.cfg.ttt_chunk:
            st.w = st.w - t(self.cfg.inner_lr) * st.pending
            st.pending = np.zeros_like(st.pending)
            st.pos = 0
        return out

    # one delta-rule step for one token (docs/memory.md): written from the math, not from the C++
    def ttt_delta(self, i, x):
        L = self.layers[i]
        st = self.states[i]
        t = self.dtype
        d, H = self.cfg.d, self.cfg.ttt_heads
        dh = d // H
        kr, v, qr = L["key"](x), L["value"](x), L["query"](x)
        g = L["gate"] @ x + L["gate_bias"]
        # causal depthwise convolution of width 4: tap s multiplies the raw row of the token s steps back
        hist_k = [st.tail[2, :d], st.tail[1, :d], st.tail[0, :d]]   # 1, 2, 3 tokens back
        hist_q = [st.tail[2, d:], st.tail[1, d:], st.tail[0, d:]]
        kc = L["conv_k"][:, 0] * kr + sum(L["conv_k"][:, s] * hist_k[s - 1] for s in range(1, 4))
        qc = L["conv_q"][:, 0] * qr + sum(L["conv_q"][:, s] * hist_q[s - 1] for s in range(1, 4))
        st.tail = np.concatenate([st.tail[1:], np.concatenate([kr, qr])[None, :]])
        o = np.zeros(d, dtype=t)
        for h in range(H):
            sl = slice(h * dh, (h + 1) * dh)
            k = kc[sl] / (t(np.sqrt(np.sum(kc[sl] * kc[sl]))) + t(TTT_NORM_EPS))
            q = qc[sl] / (t(np.sqrt(np.sum(qc[sl] * qc[sl]))) + t(TTT_NORM_EPS))
            eta = t(self.cfg.inner_lr) * sigmoid(g[h])
            alpha = sigmoid(g[H + h])
            W = st.w[h]
            e = W @ k - v[sl]
            st.w[h] = alpha * W - eta * np.outer(e, k)
            o[sl] = st.w[h] @ q          # read after the update
        return L["up"](o)

    def block(self, i, x):
        L = self.layers[i]
        eps = self.cfg.norm_eps
        core = self.ttt_delta if self.cfg.ttt_kind == "delta" else self.ttt
        h = x + core(i, rmsnorm(x, L["norm1"], eps))
        n = rmsnorm(h, L["norm2"], eps)
        return h + L["down_proj"](silu(L["gate_proj"](n)) * L["up_proj"](n))

    def forward_token(self, token: int):
        x = self.embed[int(token)].copy()
        for i in range(self.cfg.num_layers):
            x = self.block(i, x)
        return self.lm_head @ rmsnorm(x, self.norm_f, self.cfg.norm_eps)

    def forward(self, tokens: Iterable[int]) -> np.ndarray:
        """Logits [T, V] for the tokens, continuing from the current state (advances it)."""
        return np.stack([self.forward_token(t) for t in tokens])

    def w_state(self, i):
        return self.states[i].w.copy()

    def pending(self, i):
        """Upstream kind: the open chunk's sum. Delta kind: the token-mixing tail (the soul's mix_tail.{i})."""
        st = self.states[i]
        return st.tail.copy() if self.cfg.ttt_kind == "delta" else st.pending.copy()


def load_model_dir(path: str, dtype=np.float64) -> BitLlamaRef:
    with open(os.path.join(path, "config.json"), "rb") as f:
        cfg = Config.from_dict(json.loads(f.read().decode("utf-8")))
    tensors, _ = read_safetensors(os.path.join(path, "model.safetensors"))
    return BitLlamaRef(cfg, tensors, dtype=dtype)
