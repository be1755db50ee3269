"""Test setup: find the built library and the repository's test data, and write small models.

Library: BIT_TTT_LIBRARY, default <repo>/build/libbit_ttt.so. CLI (for the C-vs-Python generation test):
BIT_TTT_CLI, default <repo>/build/bit-ttt. The package is imported from this source tree.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent
REPO = PACKAGE_ROOT.parent.parent
HEADER = REPO / "include" / "bit_ttt.h"
TEST_DATA = REPO / "tests" / "data"
TOKENIZER_JSON = TEST_DATA / "tokenizer" / "ttt_bytelevel.json"
GOLDEN = TEST_DATA / "golden"
MALFORMED = TEST_DATA / "malformed"

os.environ.setdefault("BIT_TTT_LIBRARY", str(REPO / "build" / "libbit_ttt.so"))
LIBRARY = os.environ["BIT_TTT_LIBRARY"]
CLI = Path(os.environ.get("BIT_TTT_CLI", str(REPO / "build" / "bit-ttt")))
if str(PACKAGE_ROOT) not in sys.path:
    sys.path.insert(0, str(PACKAGE_ROOT))

import bit_ttt  # noqa: E402  (after the environment is set)


def write_model(
    directory: Path,
    *,
    vocab: int = 1000,
    dim: int = 16,
    layers: int = 2,
    inner_lr: float = 0.1,
    seed: int = 1,
    tokenizer: bool = True,
    extra_tensor: bool = False,
    config_extra: Optional[Dict[str, object]] = None,
) -> Path:
    """A random BitLlama model directory (config.json + model.safetensors with upstream names [+ tokenizer.json]),
    laid out as tests/model_fixture.h writes it."""
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    d, inter = dim // 4, 4 * dim

    def normal(shape, mean=0.0, std=1.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    tensors = {"embed.weight": normal((vocab, dim))}
    for i in range(layers):
        p = "layers.%d." % i
        tensors[p + "norm1.weight"] = normal((dim,), 1.0, 0.1)
        tensors[p + "ttt.down.weight"] = normal((d, dim), 0.0, 0.5)
        tensors[p + "ttt.up.weight"] = normal((dim, d), 0.0, 0.5)
        tensors[p + "norm2.weight"] = normal((dim,), 1.0, 0.1)
        tensors[p + "mlp.gate_proj.weight"] = normal((inter, dim), 0.0, 0.5)
        tensors[p + "mlp.up_proj.weight"] = normal((inter, dim), 0.0, 0.5)
        tensors[p + "mlp.down_proj.weight"] = normal((dim, inter), 0.0, 0.5)
    tensors["norm_f.weight"] = normal((dim,), 1.0, 0.1)
    tensors["lm_head.weight"] = normal((vocab, dim), 0.0, 0.3)
    if extra_tensor:
        tensors["extra.unused.weight"] = normal((4,))
    save_file(tensors, str(directory / "model.safetensors"))
    config = {"vocab_size": vocab, "hidden_dim": dim, "num_layers": layers, "inner_lr": inner_lr}
    config.update(config_extra or {})
    (directory / "config.json").write_text(json.dumps(config))
    if tokenizer:
        shutil.copyfile(TOKENIZER_JSON, directory / "tokenizer.json")
    return directory


@pytest.fixture(scope="session")
def text_model_dir(tmp_path_factory) -> Path:
    """V=1000, D=16, L=2, inner_lr 0.1, with the real byte-level BPE tokenizer (1000 tokens)."""
    return write_model(tmp_path_factory.mktemp("text_model"))


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory) -> Path:
    """Same dimensions as text_model_dir, other weights (another fingerprint)."""
    return write_model(tmp_path_factory.mktemp("other_model"), seed=2)


@pytest.fixture(scope="session")
def model(text_model_dir) -> "bit_ttt.Model":
    m = bit_ttt.Model(text_model_dir)
    yield m
    m.close()


@pytest.fixture
def ctx(model) -> "bit_ttt.Context":
    c = bit_ttt.Context(model)
    yield c
    c.close()


@pytest.fixture
def no_numpy(monkeypatch):
    """Run the binding as if numpy were not installed."""
    from bit_ttt import _convert

    monkeypatch.setattr(_convert, "np", None)


def read_golden(case: str):
    from safetensors.numpy import load_file

    return load_file(str(GOLDEN / case / "golden.safetensors"))
