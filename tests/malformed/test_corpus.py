"""Checks the malformed-input corpus itself: every manifest entry fails (or loads) in the Python strict reader with
exactly the status and message keyword the manifest states, and the corpus generator is deterministic.
Run: python3 -m pytest tests/malformed -q
"""
import hashlib
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "reference")))
import strict_hf  # noqa: E402
import strict_loader as sl  # noqa: E402

CORPUS = os.path.normpath(os.path.join(HERE, "..", "data", "malformed"))
with open(os.path.join(CORPUS, "manifest.json"), encoding="utf-8") as f:
    MANIFEST = json.load(f)


def _load(entry):
    path = os.path.join(CORPUS, entry["path"])
    if entry["load"] == "model_dir":
        return sl.load_model_dir(path)
    if entry["load"] == "hf_dir":
        return strict_hf.load_hf_dir(path)
    if entry["load"] == "bitt":
        return sl.load_bitt(path)
    if entry["load"] == "soul":
        return sl.load_soul(path, sl.load_model_dir(os.path.join(CORPUS, entry["model"])))
    raise AssertionError(entry["load"])


def test_manifest_shape():
    names = [e["name"] for e in MANIFEST]
    assert len(names) == len(set(names))
    assert sum(e["expect_status"] != 0 for e in MANIFEST) >= 40
    assert {"name": "valid_model", "path": "valid_model", "load": "model_dir", "expect_status": 0}.items() <= \
        next(e for e in MANIFEST if e["name"] == "valid_model").items()
    for e in MANIFEST:
        assert e["load"] in ("model_dir", "bitt", "soul", "hf_dir")
        assert e["expect_status"] in (0, 14, 50, 51, 52)
        assert e["why"]
        if e["expect_status"] != 0:
            kw = e["expect_in_message"]
            assert kw and kw == kw.lower()
        if e["load"] == "soul":
            assert os.path.isdir(os.path.join(CORPUS, e["model"]))
        if e["expect_status"] != 50:
            assert os.path.exists(os.path.join(CORPUS, e["path"])), e["path"]


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["name"] for e in MANIFEST])
def test_entry(entry):
    if entry["expect_status"] == 0:
        _load(entry)
        return
    with pytest.raises(sl.LoadError) as ei:
        _load(entry)
    err = ei.value
    assert err.status == entry["expect_status"], err.message
    assert entry["expect_in_message"] in err.message.lower(), err.message


def test_corpus_size():
    total = 0
    for root, _, files in os.walk(CORPUS):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    # ~200 KB of bit_ttt models, .bitt files and souls, ~130 KB of Hugging Face checkpoint directories
    assert total < 360 * 1024


def _digest(root):
    h = hashlib.sha256()
    for r, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            p = os.path.join(r, f)
            h.update(os.path.relpath(p, root).encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def test_generator_is_deterministic(tmp_path):
    """Regenerating into a temp dir reproduces the committed corpus byte for byte."""
    out = tmp_path / "malformed"
    subprocess.run([sys.executable, os.path.join(HERE, "make_corpus.py"), "--out", str(out)], check=True,
                   capture_output=True)
    committed = tmp_path / "committed"
    import shutil
    shutil.copytree(CORPUS, committed, ignore=shutil.ignore_patterns("README.md"))
    assert _digest(out) == _digest(committed)
