#!/usr/bin/env python3
"""Writes a tiny random BitLlama model directory for the examples and the C# binding tests.

    python3 examples/make_tiny_model.py OUT_DIR [--tokenizer tests/data/tokenizer/ttt_bytelevel.json] [--seed 1]

OUT_DIR receives
  config.json         {"vocab_size":1000,"hidden_dim":16,"num_layers":2,"inner_lr":0.1}
  model.safetensors   latent f32 weights with upstream tensor names (random, deterministic for a seed)
  tokenizer.json      a copy of the byte-level BPE tokenizer (1000 tokens) from tests/data/tokenizer

Only the Python standard library is used (no numpy, no safetensors package), so this runs on a fresh clone.
The weights are random: the model "speaks" gibberish, but every property the examples check (determinism, soul
save/restore, cancellation, UTF-8 handling) holds for it exactly as for a trained model. Idempotent: the files are
rewritten only when their content would change.
"""
import argparse
import json
import os
import random
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TOKENIZER = os.path.join(HERE, "..", "tests", "data", "tokenizer", "ttt_bytelevel.json")

CONFIG = {"vocab_size": 1000, "hidden_dim": 16, "num_layers": 2, "inner_lr": 0.1}


def tensors(seed):
    """(name, shape, values) in upstream naming (DESIGN §2; tests/model_fixture.h)."""
    rng = random.Random(seed)
    V, D, L = CONFIG["vocab_size"], CONFIG["hidden_dim"], CONFIG["num_layers"]
    d, inter = D // 4, 4 * D

    def normal(n, mean, std):
        return [rng.gauss(mean, std) for _ in range(n)]

    out = [("embed.weight", [V, D], normal(V * D, 0.0, 1.0))]
    for i in range(L):
        p = "layers.%d." % i
        out += [
            (p + "norm1.weight", [D], normal(D, 1.0, 0.1)),
            (p + "ttt.down.weight", [d, D], normal(d * D, 0.0, 0.5)),
            (p + "ttt.up.weight", [D, d], normal(D * d, 0.0, 0.5)),
            (p + "norm2.weight", [D], normal(D, 1.0, 0.1)),
            (p + "mlp.gate_proj.weight", [inter, D], normal(inter * D, 0.0, 0.5)),
            (p + "mlp.up_proj.weight", [inter, D], normal(inter * D, 0.0, 0.5)),
            (p + "mlp.down_proj.weight", [D, inter], normal(D * inter, 0.0, 0.5)),
        ]
    out += [("norm_f.weight", [D], normal(D, 1.0, 0.1)), ("lm_head.weight", [V, D], normal(V * D, 0.0, 0.3))]
    return out


def safetensors_bytes(items):
    header, blobs, offset = {}, [], 0
    for name, shape, values in items:
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # keep the tensor data 8-byte aligned
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write_if_changed(path, data):
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--tokenizer", default=DEFAULT_TOKENIZER)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not os.path.isfile(a.tokenizer):
        sys.exit("make_tiny_model.py: tokenizer not found: %s" % a.tokenizer)
    os.makedirs(a.out_dir, exist_ok=True)
    write_if_changed(os.path.join(a.out_dir, "config.json"), json.dumps(CONFIG).encode("utf-8"))
    write_if_changed(os.path.join(a.out_dir, "model.safetensors"), safetensors_bytes(tensors(a.seed)))
    with open(a.tokenizer, "rb") as f:
        write_if_changed(os.path.join(a.out_dir, "tokenizer.json"), f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
