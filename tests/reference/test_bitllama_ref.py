"""Tests of the numpy oracle (bitllama_ref.py) against values computed by hand, and of the committed golden data.
Run: python3 -m pytest tests/reference -q
"""
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bitllama_ref as ref  # noqa: E402
import strict_loader as sl  # noqa: E402

GOLDEN = os.path.normpath(os.path.join(HERE, "..", "data", "golden"))


# ------------------------------------------------------------------------------------------------ elementary pieces

def test_round_half_away():
    v = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999, -0.49999, 0.0, 126.5, -127.5, 0.51, -1.49])
    assert ref.round_half_away(v).tolist() == [1, -1, 2, -2, 3, -3, 0, 0, 0, 127, -128, 1, -1]
    v32 = np.array([0.5, -0.5, 2.5], dtype=np.float32)
    assert ref.round_half_away(v32).tolist() == [1, -1, 3]


def test_rmsnorm():
    # mean(x^2) = (9 + 16) / 2 = 12.5
    y = ref.rmsnorm(np.array([3.0, 4.0]), np.array([1.0, 2.0]), 0.0)
    assert np.allclose(y, [3 / math.sqrt(12.5), 8 / math.sqrt(12.5)], rtol=0, atol=1e-15)
    assert np.allclose(y, [0.848528137423857, 2.262741699796952], rtol=0, atol=1e-12)
    # eps inside the sqrt: 1 / sqrt(1 + 1e-5) = 0.999995000037...
    y = ref.rmsnorm(np.array([1.0, -1.0, 1.0, -1.0]), np.array([0.5, 1.0, 2.0, 3.0]), 1e-5)
    assert np.allclose(y, [0.4999975, -0.999995, 1.99999, -2.9999850], rtol=0, atol=1e-9)


def test_silu():
    assert ref.silu(np.array([0.0]))[0] == 0.0
    assert np.allclose(ref.silu(np.array([1.0, -1.0, 2.0])), [0.7310585786300049, -0.2689414213699951,
                                                              1.7615941559557649], rtol=0, atol=1e-15)


def test_ternarize():
    # mean|W| = (0.1 + 0.5 + 2 + 0) / 4 = 0.65; W/s = [0.154, -0.769, 3.08, 0]
    q, s = ref.ternarize(np.array([[0.1, -0.5], [2.0, 0.0]]))
    assert s == pytest.approx(0.650001, abs=1e-12)
    assert q.tolist() == [[0, -1], [1, 0]]
    # the +1e-6 is always added: mean|W| = 2, so W/s = 1/2.000001 = 0.49999975 rounds to 0 (it would be 1 without)
    q, s = ref.ternarize(np.array([1.0, -1.0, 3.0, -3.0]))
    assert s == pytest.approx(2.000001, abs=1e-12)
    assert q.tolist() == [0, 0, 1, -1]
    # all-zero weight: s = 1e-6, Q = 0 (no NaN)
    q, s = ref.ternarize(np.zeros((2, 3)))
    assert s == pytest.approx(1e-6, abs=1e-18) and not q.any()
    # clamp: |W/s| > 1.5 still gives +-1
    q, _ = ref.ternarize(np.array([10.0, -10.0, 0.0, 0.0]))
    assert q.tolist() == [1, -1, 0, 0]


def test_act_quant8():
    # max|x| = 1 -> a = 127; x*a = [63.5, -127, 31.75, 0.4953] -> [64, -127, 32, 0]
    y = ref.act_quant8(np.array([0.5, -1.0, 0.25, 0.0039]))
    assert np.allclose(y, [64 / 127, -1.0, 32 / 127, 0.0], rtol=0, atol=1e-15)
    assert np.allclose(y, [0.5039370078740157, -1.0, 0.25196850393700787, 0.0], rtol=0, atol=1e-15)
    # max|x| below the 1e-5 floor: a = 127 / 1e-5 = 1.27e7; x*a = [12.7, -25.4, 0] -> [13, -25, 0]
    y = ref.act_quant8(np.array([1e-6, -2e-6, 0.0]))
    assert np.allclose(y, [13 / 1.27e7, -25 / 1.27e7, 0.0], rtol=1e-12, atol=0)
    assert not ref.act_quant8(np.zeros(4)).any()


def test_bitlinear():
    # mean|W| = (1 + 1 + 0.1 + 4) / 4 = 1.525; W/s = [0.656, -0.656, 0.066, 2.62] -> Q = [1, -1, 0, 1]
    w = np.array([[1.0, -1.0, 0.1, 4.0]])
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert ref.BitLinear(w, scale=False, act_bits=0)(x).tolist() == [3.0]            # 1 - 2 + 0 + 4
    assert ref.BitLinear(w, scale=True, act_bits=0)(x)[0] == pytest.approx(3 * 1.525001, abs=1e-12)
    # act_bits 8: x' = [64/127, -1, 32/127, 0] -> Q x' = 64/127 + 1 = 191/127
    xa = np.array([0.5, -1.0, 0.25, 0.0039])
    assert ref.BitLinear(w, scale=False, act_bits=8)(xa)[0] == pytest.approx(191 / 127, abs=1e-14)
    assert ref.BitLinear(w, scale=True, act_bits=8)(xa)[0] == pytest.approx(191 / 127 * 1.525001, abs=1e-12)


def test_bf16_helpers():
    bits = ref.f32_to_bf16_bits(np.array([1.0, -2.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -7], np.float32))
    # 1 + 2^-8 is a tie -> even (1.0); 1 + 3*2^-8 is a tie -> even (1 + 2^-6)
    assert bits.tolist() == [0x3F80, 0xC000, 0x3F80, 0x3F82, 0x3F81]
    assert ref.bf16_bits_to_f32(np.array([0x3F80, 0xC000, 0x3F81], np.uint16)).tolist() == [1.0, -2.0, 1 + 2 ** -7]


# ------------------------------------------------------------------------------------------------ TTT by hand

def _ttt_model(chunk, lr=0.5, scale=False):
    """D=8, d=2, L=1. ttt.down keeps x[0:2], ttt.up writes z to out[0:2]; the MLP is zero (Q = 0)."""
    D, d, V = 8, 2, 2
    down = np.zeros((d, D))
    down[0, 0] = down[1, 1] = 1.0      # s = 2/16 + 1e-6, W/s = 7.99994 -> Q = e1, e2
    up = np.zeros((D, d))
    up[0, 0] = up[1, 1] = 1.0
    w = {"embed.weight": np.zeros((V, D)), "layers.0.norm1.weight": np.ones(D), "layers.0.norm2.weight": np.ones(D),
         "layers.0.ttt.down.weight": down, "layers.0.ttt.up.weight": up,
         "layers.0.mlp.gate_proj.weight": np.zeros((4 * D, D)), "layers.0.mlp.up_proj.weight": np.zeros((4 * D, D)),
         "layers.0.mlp.down_proj.weight": np.zeros((D, 4 * D)), "norm_f.weight": np.ones(D),
         "lm_head.weight": np.zeros((V, D))}
    cfg = ref.Config(vocab_size=V, hidden_dim=D, num_layers=1, inner_lr=lr, ttt_chunk=chunk, bitlinear_scale=scale)
    return ref.BitLlamaRef(cfg, w)


def _x(a, b):
    x = np.zeros(8)
    x[0], x[1] = a, b
    return x


def test_ttt_two_tokens_chunk1():
    # fhat1 = [3,4]/5 = [0.6, 0.8]; z1 = 0 -> out 0; W1 = 0.5 * fhat1 fhat1^T = [[.18,.24],[.24,.32]]
    # fhat2 = [0, 1]; z2 = W1 fhat2 = [.24, .32] -> out2; W2 = W1 - 0.5 (z2 - fhat2) fhat2^T
    #   (z2 - fhat2) fhat2^T = [[0, .24], [0, -.68]]  ->  W2 = [[.18, .12], [.24, .66]]
    m = _ttt_model(chunk=1)
    out1 = m.ttt(0, _x(3, 4))
    assert np.allclose(out1, 0, atol=0)
    assert np.allclose(m.w_state(0), [[0.18, 0.24], [0.24, 0.32]], atol=1e-5)
    out2 = m.ttt(0, _x(0, 2))
    assert np.allclose(out2, [0.24, 0.32, 0, 0, 0, 0, 0, 0], atol=1e-5)
    assert np.allclose(m.w_state(0), [[0.18, 0.12], [0.24, 0.66]], atol=1e-5)
    assert not m.pending(0).any()


def test_ttt_two_tokens_chunk2():
    # both tokens predict with W = 0; after token 2 the chunk closes:
    #   sum (z - fhat) fhat^T = -(fhat1 fhat1^T + fhat2 fhat2^T) = -[[.36, .48], [.48, 1.64]]
    #   W = 0 - 0.5 * that = [[.18, .24], [.24, .82]]
    # token 3 (fhat [.6, .8]) uses the new W: z3 = [.108 + .192, .144 + .656] = [.3, .8]; it stays pending:
    #   pending = (z3 - fhat3) fhat3^T = [-.3, 0]^T [.6, .8] = [[-.18, -.24], [0, 0]]
    m = _ttt_model(chunk=2)
    assert np.allclose(m.ttt(0, _x(3, 4)), 0, atol=0)
    assert not m.w_state(0).any()
    assert np.allclose(m.pending(0), [[-0.36, -0.48], [-0.48, -0.64]], atol=1e-5)
    assert np.allclose(m.ttt(0, _x(0, 2)), 0, atol=0)
    assert np.allclose(m.w_state(0), [[0.18, 0.24], [0.24, 0.82]], atol=1e-5)
    assert not m.pending(0).any()
    assert np.allclose(m.ttt(0, _x(3, 4)), [0.3, 0.8, 0, 0, 0, 0, 0, 0], atol=1e-5)
    assert np.allclose(m.w_state(0), [[0.18, 0.24], [0.24, 0.82]], atol=1e-5)
    assert np.allclose(m.pending(0), [[-0.18, -0.24], [0, 0]], atol=1e-5)


def test_ttt_scaled():
    # bitlinear_scale: f = s [3,4] (s = 0.125001) normalises to the same fhat (up to the 1e-6), out = s * z
    m = _ttt_model(chunk=1, scale=True)
    m.ttt(0, _x(3, 4))
    out2 = m.ttt(0, _x(0, 2))
    assert np.allclose(out2[:2], [0.24 * 0.125001, 0.32 * 0.125001], atol=1e-5)


def test_ttt_eps_in_norm():
    # fhat = f / (||f|| + 1e-6): for f = [3e-6, 4e-6] (norm 5e-6) fhat = f / 6e-6 = [0.5, 0.6667]
    m = _ttt_model(chunk=1, lr=1.0)
    m.ttt(0, _x(3e-6, 4e-6))
    fh = np.array([0.5, 4 / 6])
    assert np.allclose(m.w_state(0), np.outer(fh, fh), rtol=1e-9, atol=0)


# ------------------------------------------------------------------------------------------------ block and model

def _mlp_model():
    """D=4, d=1, I=1, L=1; TTT inert (zero latents -> Q = 0); gate/up read x[0], down writes y[0]."""
    D, V = 4, 2
    e = np.zeros((V, D))
    e[0] = [2, 0, 0, 0]
    e[1] = [1, -1, 1, -1]
    g = np.array([[1.0, 0, 0, 0]])
    head = np.array([[1.0, 0, 0, 0], [0.5, 0.5, 0.5, 0.5]])
    w = {"embed.weight": e, "layers.0.norm1.weight": np.ones(D), "layers.0.norm2.weight": np.ones(D),
         "layers.0.ttt.down.weight": np.zeros((1, D)), "layers.0.ttt.up.weight": np.zeros((D, 1)),
         "layers.0.mlp.gate_proj.weight": g, "layers.0.mlp.up_proj.weight": g.copy(),
         "layers.0.mlp.down_proj.weight": g.T.copy(), "norm_f.weight": np.array([1.0, 2.0, 1.0, 1.0]),
         "lm_head.weight": head}
    cfg = ref.Config(vocab_size=V, hidden_dim=D, num_layers=1, inner_lr=0.5, intermediate_dim=1)
    return ref.BitLlamaRef(cfg, w)


def test_block_by_hand():
    # x = [2,0,0,0]: TTT branch 0 -> h = x; n = x / sqrt(1 + 1e-5) ~ [2,0,0,0]; gate = up = n0
    # y0 = 2 + silu(2) * 2 = 2 + 2 * 2 / (1 + e^-2) = 5.523188312...
    m = _mlp_model()
    y = m.block(0, np.array([2.0, 0, 0, 0]))
    n0 = 2 / math.sqrt(1 + 1e-5)
    assert np.allclose(y, [2 + n0 * n0 / (1 + math.exp(-n0)), 0, 0, 0], rtol=0, atol=1e-12)
    assert y[0] == pytest.approx(5.523188, abs=1e-4)


def test_model_by_hand():
    # token 1: x = [1,-1,1,-1]: n = x/sqrt(1+1e-5); gate = up = n0 ~ 1 -> y0 = 1 + silu(1)*1 = 1.7310586
    # final norm: y = [1.7310586, -1, 1, -1], mean(y^2) = (2.99656 + 3) / 4 = 1.49914
    # r = y / sqrt(1.49914 + 1e-5) * [1, 2, 1, 1] = [1.41380, -1.63346, 0.81673, -0.81673]
    # logits = [r0, 0.5 * sum(r)] = [1.41380, -0.10983]
    m = _mlp_model()
    logits = m.forward([1])
    n0 = 1 / math.sqrt(1 + 1e-5)
    y = np.array([1 + n0 * n0 / (1 + math.exp(-n0)), -1, 1, -1])
    r = y / math.sqrt(np.mean(y * y) + 1e-5) * np.array([1, 2, 1, 1])
    assert np.allclose(logits[0], [r[0], 0.5 * r.sum()], rtol=0, atol=1e-12)
    assert np.allclose(logits[0], [1.413800, -0.109830], atol=1e-5)


def test_split_calls_equal_one_call():
    m1 = _ttt_model(chunk=3)
    m1.embed = np.random.default_rng(0).normal(0, 1, m1.embed.shape)
    m1.lm_head = np.random.default_rng(1).normal(0, 1, m1.lm_head.shape)
    toks = [0, 1, 1, 0, 1, 0, 0, 1]
    whole = m1.forward(toks)
    w_whole, p_whole = m1.w_state(0), m1.pending(0)
    m1.reset()
    parts = np.concatenate([m1.forward(toks[:2]), m1.forward(toks[2:3]), m1.forward(toks[3:])])
    assert np.array_equal(whole, parts)
    assert np.array_equal(w_whole, m1.w_state(0)) and np.array_equal(p_whole, m1.pending(0))


def test_head_names_resolve():
    cfg = ref.Config(vocab_size=3, hidden_dim=4, num_layers=1, inner_lr=0.1)
    shapes = ref.expected_shapes(cfg)
    t = {(ref.head_variant(n) or n): np.ones(s) for n, s in shapes.items()}
    assert "model.embed_tokens.weight" in t and "layers.0.norm1.model.norm.weight" in t
    assert "model.norm.weight" in t and "layers.0.norm2.model.norm.weight" in t
    assert set(ref.resolve_weights(t, cfg)) == set(shapes)


# ------------------------------------------------------------------------------------------------ golden data

with open(os.path.join(GOLDEN, "index.json"), encoding="utf-8") as f:
    INDEX = json.load(f)
CASES = [c["name"] for c in INDEX["cases"]]


@pytest.mark.parametrize("name", CASES)
def test_golden_case(name):
    cdir = os.path.join(GOLDEN, name)
    info = next(c for c in INDEX["cases"] if c["name"] == name)
    g, meta = ref.read_safetensors(os.path.join(cdir, "golden.safetensors"))
    m = ref.load_model_dir(cdir)
    cfg = m.cfg
    T = info["T"]
    assert g["tokens"].dtype == np.int32 and g["tokens"].shape == (T,)
    assert g["logits"].dtype == np.float32 and g["logits"].shape == (T, cfg.vocab_size)
    logits = m.forward(g["tokens"])
    # the golden is the oracle's float64 result rounded to float32
    assert np.max(np.abs(logits - g["logits"])) <= 1e-6 * max(1.0, float(np.max(np.abs(g["logits"]))))
    assert info["tolerance"]["logits_rel"] == 1e-3 and info["tolerance"]["state_rel"] == 1e-4
    for i in range(cfg.num_layers):
        delta = cfg.ttt_kind == "delta"   # docs/memory.md: w_state [H, dh, dh], mix_tail [3, 2d]
        dh = cfg.d // cfg.ttt_heads
        for key, val, shape in (("w_state", m.w_state(i), (cfg.ttt_heads, dh, dh) if delta else (cfg.d, cfg.d)),
                                ("mix_tail" if delta else "pending", m.pending(i), (3, 2 * cfg.d) if delta else (cfg.d, cfg.d))):
            a = g[f"{key}.{i}"]
            assert a.dtype == np.float32 and a.shape == shape
            assert np.max(np.abs(val - a)) < 1e-6
        if not delta:
            assert (T % cfg.ttt_chunk == 0) == (not g[f"pending.{i}"].any())
    assert int(meta["pending_tokens"]) == T % cfg.ttt_chunk
    # every golden directory is a valid model directory for the strict reader too
    sl.load_model_dir(cdir)
    if cfg.inner_lr == 0:
        assert all(not g[f"w_state.{i}"].any() for i in range(cfg.num_layers))


def test_golden_tokenizers_load():
    tokenizers = pytest.importorskip("tokenizers")
    for c in INDEX["cases"]:
        tok = tokenizers.Tokenizer.from_file(os.path.join(GOLDEN, c["name"], "tokenizer.json"))
        assert tok.get_vocab_size() == c["dims"]["vocab_size"]


def test_golden_size():
    total = 0
    for root, _, files in os.walk(GOLDEN):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    assert total < 384 * 1024  # small enough to commit; every case is ~20-36 KB


def _digest(root, skip=("README.md",)):
    h = hashlib.sha256()
    for r, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if f in skip:
                continue
            p = os.path.join(r, f)
            h.update(os.path.relpath(p, root).encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def test_golden_generator_is_deterministic(tmp_path):
    out = tmp_path / "golden"
    subprocess.run([sys.executable, os.path.join(HERE, "make_golden.py"), "--out", str(out)], check=True,
                   capture_output=True)
    assert _digest(str(out)) == _digest(GOLDEN)
