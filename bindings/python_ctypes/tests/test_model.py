"""Models: loading from every form, errors, lifetime, the tokenizer."""
from __future__ import annotations

import gc
import json
import os
import threading

import pytest

import bit_ttt

from conftest import GOLDEN, MALFORMED, write_model

MANIFEST = json.loads((MALFORMED / "manifest.json").read_text())
STATUS_CLASS = {
    0: None,
    14: bit_ttt.UnsupportedError,
    50: bit_ttt.IoError,
    51: bit_ttt.FormatError,
    52: bit_ttt.IncompatibleError,
}


# -- loading ------------------------------------------------------------------------------------------------------


def test_load_directory_and_info(text_model_dir):
    with bit_ttt.Model(text_model_dir) as m:
        info = m.info
        assert isinstance(info, bit_ttt.ModelInfo)
        assert (info.vocab_size, info.hidden_dim, info.num_layers) == (1000, 16, 2)
        assert (info.intermediate_dim, info.ttt_dim, info.ttt_chunk, info.act_bits) == (64, 4, 1, 0)
        assert info.bitlinear_scale is False and info.has_tokenizer is True
        assert info.inner_lr == pytest.approx(0.1) and info.norm_eps == pytest.approx(1e-5)
        assert info.n_params == 2 * 1000 * 16 + 16 + 2 * (2 * 16 + 2 * 4 * 16 + 3 * 64 * 16)
        assert info.fingerprint != 0
        assert m.vocab_size == 1000
        assert "V=1000" in repr(m)
        assert not m.closed
    assert m.closed and "closed" in repr(m)


def test_load_pathlike_str_and_safetensors_file(text_model_dir):
    a = bit_ttt.Model(str(text_model_dir))
    b = bit_ttt.Model(text_model_dir / "model.safetensors")
    assert a.info == b.info
    a.close()
    b.close()


def test_load_bitt_file_and_bytes():
    path = MALFORMED / "valid_model.bitt"
    with bit_ttt.Model(path) as from_file, bit_ttt.Model(path.read_bytes()) as from_bytes:
        assert from_file.info == from_bytes.info
        assert from_bytes.source.startswith("<")
        info = from_file.info
    with bit_ttt.Model(bytearray(path.read_bytes())) as m1, bit_ttt.Model(memoryview(path.read_bytes())) as m2:
        assert m1.info == m2.info == info


def test_verify_checksum_flag_is_accepted():
    path = MALFORMED / "valid_model.bitt"
    with bit_ttt.Model(path, verify_checksum=False) as m:
        assert m.vocab_size == 11


def test_bad_path_is_io_error_naming_the_path(tmp_path):
    bad = tmp_path / "no" / "such_model_dir"
    with pytest.raises(bit_ttt.IoError) as info:
        bit_ttt.Model(bad)
    assert str(bad) in str(info.value)
    assert info.value.filename == str(bad)
    assert info.value.status == 50
    assert isinstance(info.value, OSError)


def test_bad_bytes_are_format_error():
    with pytest.raises(bit_ttt.FormatError, match="memory buffer"):
        bit_ttt.Model(b"BITT garbage")
    with pytest.raises(bit_ttt.FormatError):
        bit_ttt.Model(b"")


def test_path_with_nul_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        bit_ttt.Model("a\0b")


def test_wrong_type_is_refused():
    with pytest.raises(TypeError):
        bit_ttt.Model(12)  # type: ignore[arg-type]


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["name"] for e in MANIFEST])
def test_malformed_corpus(entry):
    """Every entry of tests/data/malformed raises the exception class of its expected status, with the keyword."""
    path = MALFORMED / entry["path"]
    expected = STATUS_CLASS[entry["expect_status"]]
    if entry["load"] == "soul":
        with bit_ttt.Model(MALFORMED / entry["model"]) as m, m.context() as ctx:
            if expected is None:
                ctx.load_soul(path)
                return
            with pytest.raises(expected) as info:
                ctx.load_soul(path)
            if path.exists() and expected is not bit_ttt.IoError:  # the same bytes through the buffer API
                with pytest.raises(expected):
                    ctx.load_soul_bytes(path.read_bytes())
    else:
        if expected is None:
            bit_ttt.Model(path).close()
            return
        with pytest.raises(expected) as info:
            bit_ttt.Model(path)
        if entry["load"] == "bitt" and path.exists():  # the same image from memory
            with pytest.raises(expected):
                bit_ttt.Model(path.read_bytes())
    assert info.value.status == entry["expect_status"]
    assert entry["expect_in_message"] in str(info.value).lower()


def test_progress_callback_is_called_and_can_abort(text_model_dir):
    seen = []
    bit_ttt.Model(text_model_dir, progress=lambda f: seen.append(f)).close()
    assert seen and seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(bit_ttt.AbortedError):
        bit_ttt.Model(text_model_dir, progress=lambda f: f < 0.5)


def test_exception_in_progress_callback_is_reraised(text_model_dir):
    class Boom(Exception):
        pass

    def progress(f):
        if f > 0.2:
            raise Boom("from the callback")
        return True

    with pytest.raises(Boom, match="from the callback") as info:
        bit_ttt.Model(text_model_dir, progress=progress)
    assert isinstance(info.value.__cause__, bit_ttt.AbortedError)


# -- lifetime -----------------------------------------------------------------------------------------------------


def test_use_after_close_is_a_clear_error(text_model_dir):
    m = bit_ttt.Model(text_model_dir)
    m.close()
    m.close()  # double close is fine
    for call in (lambda: m.info, lambda: m.vocab_size, lambda: m.tokenize("x"), lambda: m.detokenize([1]),
                 lambda: m.token_to_piece(1), lambda: m.is_eog(1), lambda: m.context()):
        with pytest.raises(bit_ttt.ClosedError, match="closed"):
            call()
    with pytest.raises(ValueError):
        m.tokenize("x")


def test_del_is_safe(text_model_dir):
    m = bit_ttt.Model(text_model_dir)
    del m
    gc.collect()
    m = bit_ttt.Model(text_model_dir)
    m.close()
    del m
    gc.collect()


def test_failed_constructor_leaves_a_safe_object(tmp_path):
    obj = bit_ttt.Model.__new__(bit_ttt.Model)
    with pytest.raises(bit_ttt.IoError):
        obj.__init__(tmp_path / "missing")
    obj.close()
    del obj
    gc.collect()


def test_context_keeps_the_native_model_alive(text_model_dir):
    m = bit_ttt.Model(text_model_dir)
    ctx = m.context()
    logits_before = ctx.forward([5, 6, 7])
    m.close()
    ctx.reset()
    assert (ctx.forward([5, 6, 7]) == logits_before).all()
    assert ctx.model is m
    ctx.close()


def _rss_pages() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1])


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm (Linux)")
def test_load_free_loop_does_not_leak(tmp_path):
    """100 x (load, context, forward, soul bytes, close): RSS must not grow with the count."""
    path = write_model(tmp_path / "m", dim=64)  # ~0.6 MB of float weights per load plus the tokenizer

    def cycle():
        with bit_ttt.Model(path) as m, m.context() as c:
            c.forward(m.tokenize("hello world"))
            c.soul_bytes()

    for _ in range(10):
        cycle()
    gc.collect()
    before = _rss_pages()
    for _ in range(100):
        cycle()
    gc.collect()
    grown_mb = (_rss_pages() - before) * os.sysconf("SC_PAGE_SIZE") / 2**20
    assert grown_mb < 8, "RSS grew by %.1f MB over 100 load/free cycles" % grown_mb


def test_many_threads_share_one_model(model):
    text = "Threads share one immutable model."
    expected = model.tokenize(text)
    results = []

    def worker():
        for _ in range(50):
            results.append(model.tokenize(text) == expected)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 200 and all(results)


# -- tokenizer ----------------------------------------------------------------------------------------------------


def test_tokenize_detokenize_round_trip(model):
    text = "Hello world, this is bit_ttt."
    ids = model.tokenize(text)
    assert ids and all(isinstance(i, int) and 0 <= i < 1000 for i in ids)
    assert model.detokenize(ids) == text
    assert b"".join(model.token_to_piece(i) for i in ids) == text.encode()


@pytest.mark.parametrize(
    "text",
    ["日本語のテキストを学習する", "中文 한국어 😀🎉👩‍👩‍👧", "mixed: café naïve — «quotes» 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "", " ", "\n\t\r"],
)
def test_utf8_round_trip(model, text):
    ids = model.tokenize(text)
    assert model.detokenize(ids) == text
    assert model.detokenize_bytes(ids) == text.encode("utf-8")


def test_invalid_utf8_goes_through_byte_tokens(model):
    raw = b"ok \xff\xfe broken \xe6\x97"
    ids = model.tokenize(raw)
    assert b"".join(model.token_to_piece(i) for i in ids) == raw  # lossless at the token level
    # detokenize returns valid UTF-8 text (the header's contract): invalid bytes become U+FFFD
    assert model.detokenize(ids) == raw.decode("utf-8", errors="replace")
    assert model.detokenize_bytes(ids) == raw.decode("utf-8", errors="replace").encode()


def test_emoji_pieces_may_be_partial_bytes(model):
    ids = model.tokenize("😀")
    pieces = [model.token_to_piece(i) for i in ids]
    assert b"".join(pieces) == "😀".encode()


def test_special_tokens(model):
    eos = "<|endoftext|>"
    assert model.is_eog(0) is True
    assert model.is_eog(model.tokenize("a")[0]) is False
    plain = model.tokenize(eos)
    assert 0 not in plain  # user text cannot inject the control token
    assert model.tokenize(eos, parse_special=True) == [0]
    assert model.detokenize([0]) == eos
    assert model.detokenize([0], skip_special=True) == ""
    ids = model.tokenize("hi", add_special=True)
    assert isinstance(ids, list)


def test_tokenizer_errors(model):
    with pytest.raises(bit_ttt.InvalidArgumentError, match="outside"):
        model.token_to_piece(5000)
    with pytest.raises(bit_ttt.InvalidArgumentError):
        model.detokenize([1, -1])
    with pytest.raises(bit_ttt.InvalidArgumentError):
        model.is_eog(1000)
    with pytest.raises(TypeError):
        model.tokenize(123)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        model.detokenize([2**40])


def test_detokenize_accepts_numpy_and_large_input(model):
    import numpy as np

    text = "long text " * 500
    ids = model.tokenize(text)
    assert model.detokenize(np.array(ids, dtype=np.int64)) == text
    assert model.detokenize(np.array(ids, dtype=np.int32)) == text
    assert model.detokenize([]) == ""


def test_model_without_tokenizer(tmp_path):
    with bit_ttt.Model(write_model(tmp_path / "notok", tokenizer=False)) as m:
        assert m.info.has_tokenizer is False
        with pytest.raises(bit_ttt.UnsupportedError, match="tokenizer"):
            m.tokenize("x")
        with m.context() as ctx:
            assert ctx.forward([1, 2]).shape == (1000,)  # tokens still work
            with pytest.raises(bit_ttt.UnsupportedError):
                ctx.learn("x")
            with pytest.raises(bit_ttt.UnsupportedError):
                ctx.generate("x")


def test_golden_model_loads_with_its_tokenizer():
    with bit_ttt.Model(GOLDEN / "d12_v37_l3") as m:
        assert m.vocab_size == 37 and m.info.has_tokenizer


def test_size_query_retry_path(model):
    """The binding's first buffer guess is too small here: the size the library asks for is used on the retry."""
    from ctypes import c_int32

    from bit_ttt._lib import LIB

    ids = model.tokenize("a longer piece of text to detokenize")
    arr = (c_int32 * len(ids))(*ids)
    text = model._fill_bytes(lambda buf, cap, out: LIB.ttt_detokenize(model._handle, arr, len(ids), 0, buf, cap, out), 1)
    assert text == model.detokenize_bytes(ids)


def test_get_model_returns_the_contexts_model(model, ctx):
    from ctypes import addressof, byref

    from bit_ttt._lib import LIB, ModelHandle

    out = ModelHandle()
    LIB.ttt_get_model(ctx._handle, byref(out))
    assert addressof(out.contents) == addressof(model._handle.contents)
