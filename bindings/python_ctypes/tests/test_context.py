"""Contexts: forward against the golden logits, souls, threads, cancel, lifetime."""
from __future__ import annotations

import array
import threading
import time

import numpy as np
import pytest

import bit_ttt

from conftest import GOLDEN, read_golden

CASE_NAMES = sorted(p.name for p in GOLDEN.iterdir() if (p / "golden.safetensors").exists())


def _tolerance(golden_logits: np.ndarray) -> float:
    return 1e-3 * max(1.0, float(np.abs(golden_logits).max()))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_forward_all_matches_golden(case):
    g = read_golden(case)
    with bit_ttt.Model(GOLDEN / case) as m, m.context() as ctx:
        logits = ctx.forward_all(g["tokens"])
        assert isinstance(logits, np.ndarray) and logits.dtype == np.float32
        assert logits.shape == g["logits"].shape
        assert np.abs(logits - g["logits"]).max() <= _tolerance(g["logits"])
        assert ctx.position == len(g["tokens"]) == ctx.soul_level


def test_d12_golden_split_anyhow_gives_the_same_logits():
    g = read_golden("d12_v37_l3")
    tokens = [int(t) for t in g["tokens"]]
    with bit_ttt.Model(GOLDEN / "d12_v37_l3") as m, m.context() as ctx:
        whole = ctx.forward_all(tokens)
        ctx.reset()
        assert ctx.position == 0 and ctx.soul_level == 0
        part1 = ctx.forward_all(tokens[:7])
        last8 = ctx.forward(tokens[7])  # a bare int is one token
        part3 = ctx.forward_all(np.array(tokens[8:], dtype=np.int64))
        np.testing.assert_array_equal(np.vstack([part1, last8[None, :], part3]), whole)
        ctx.reset()
        for i, t in enumerate(tokens):
            np.testing.assert_array_equal(ctx.forward([t]), whole[i])
        assert np.abs(whole - g["logits"]).max() <= _tolerance(g["logits"])


def test_without_numpy(no_numpy):
    g = read_golden("d12_v37_l3")
    tokens = [int(t) for t in g["tokens"]]
    with bit_ttt.Model(GOLDEN / "d12_v37_l3") as m, m.context() as ctx:
        last = ctx.forward(tokens)
        assert isinstance(last, array.array) and last.typecode == "f" and len(last) == 37
        ctx.reset()
        rows = ctx.forward_all(tokens)
        assert isinstance(rows, list) and len(rows) == 20 and all(isinstance(r, array.array) for r in rows)
        assert max(abs(a - b) for a, b in zip(rows[-1], last)) == 0
        assert max(abs(a - b) for a, b in zip(rows[3], g["logits"][3])) <= _tolerance(g["logits"])
    with bit_ttt.Layer(8, 0.1) as layer:
        out = layer.forward([[1.0] * 8, [2.0] * 8])
        assert isinstance(out, list) and list(out[0]) == [1.0] * 8


def test_forward_errors(ctx):
    with pytest.raises(bit_ttt.InvalidArgumentError, match="n_tokens is 0"):
        ctx.forward([])
    with pytest.raises(bit_ttt.InvalidArgumentError, match="outside the vocabulary"):
        ctx.forward([1, 1000])
    assert ctx.position == 0  # refused before anything changed
    with pytest.raises(TypeError):
        ctx.forward(np.array([1.5, 2.0]))
    with pytest.raises(TypeError):
        ctx.forward("text")
    with pytest.raises(ValueError):
        ctx.forward(np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(OverflowError):
        ctx.forward(np.array([2**40]))


def test_forward_all_writes_into_the_returned_array(ctx):
    out = ctx.forward_all([1, 2, 3])
    assert out.flags.c_contiguous and out.flags.owndata is False  # a reshape view of the buffer C wrote
    assert out.shape == (3, 1000)


def test_reset_position_soul_level_perf(ctx):
    ctx.forward([1, 2, 3])
    assert (ctx.position, ctx.soul_level) == (3, 3)
    n = ctx.learn("some text to learn")
    assert n > 0 and ctx.position == 3 + n
    perf = ctx.perf
    assert isinstance(perf, bit_ttt.Perf)
    assert perf.prompt_tokens == 3 + n and perf.prompt_seconds > 0 and perf.generated_tokens == 0
    assert perf.prompt_tokens_per_second > 0 and perf.generation_tokens_per_second == 0
    ctx.reset()
    assert (ctx.position, ctx.soul_level) == (0, 0)


def test_context_manager_and_use_after_close(model):
    with bit_ttt.Context(model, n_threads=2) as ctx:
        ctx.forward([1])
    assert ctx.closed and "closed" in repr(ctx)
    ctx.close()  # double close is fine
    for call in (
        lambda: ctx.forward([1]),
        lambda: ctx.forward_all([1]),
        lambda: ctx.reset(),
        lambda: ctx.cancel(),
        lambda: ctx.position,
        lambda: ctx.soul_level,
        lambda: ctx.perf,
        lambda: ctx.soul_bytes(),
        lambda: ctx.load_soul_bytes(b"x"),
        lambda: ctx.save_soul("x.soul"),
        lambda: ctx.load_soul("x.soul"),
        lambda: ctx.generate("x"),
        lambda: ctx.generate_text("x"),
        lambda: ctx.stream("x", print),
        lambda: ctx.learn("x"),
        lambda: ctx.sleep("memories"),
    ):
        with pytest.raises(bit_ttt.ClosedError, match="context is closed"):
            call()


def test_context_vocab_size_and_model(model, ctx):
    assert ctx.vocab_size == model.vocab_size == 1000
    assert ctx.model is model
    assert "Context" in repr(ctx)


def test_context_del_is_safe(model):
    import gc

    c = bit_ttt.Context(model)
    c.forward([1])
    gen = c.generate("x", max_tokens=3)
    del c
    gc.collect()
    assert "".join(gen) is not None  # the iterator keeps its context alive
    del gen
    gc.collect()


def test_bad_context_arguments(model):
    with pytest.raises(bit_ttt.InvalidArgumentError, match="n_threads"):
        bit_ttt.Context(model, n_threads=-1)
    with pytest.raises(TypeError):
        bit_ttt.Context("not a model")  # type: ignore[arg-type]


# -- souls --------------------------------------------------------------------------------------------------------


def test_soul_bytes_round_trip_restores_identical_logits(model):
    probe = model.tokenize(" and then")
    with model.context() as a, model.context() as b:
        a.learn("The soul remembers what it read: apples are red, the sky is blue.")
        blob = a.soul_bytes()
        assert isinstance(blob, bytes) and len(blob) > 100
        b.load_soul_bytes(blob)
        assert (b.position, b.soul_level) == (a.position, a.soul_level)
        np.testing.assert_array_equal(a.forward(probe), b.forward(probe))
        # bytearray / memoryview work too, and the soul really changed the logits
        with model.context() as fresh:
            untrained = fresh.forward(probe)
            fresh.reset()
            fresh.load_soul_bytes(memoryview(bytearray(blob)))
            trained = fresh.forward(probe)
        assert np.abs(trained - untrained).max() > 1e-4


def test_soul_file_round_trip(model, tmp_path):
    path = tmp_path / "npc.soul"
    with model.context() as a, model.context() as b:
        a.learn("remember me")
        a.save_soul(path)
        assert path.read_bytes() == a.soul_bytes()
        b.load_soul(str(path))
        probe = [10, 20, 30]
        np.testing.assert_array_equal(a.forward(probe), b.forward(probe))


def test_soul_errors(model, other_model_dir, tmp_path):
    with bit_ttt.Model(other_model_dir) as other, other.context() as octx, model.context() as ctx:
        octx.learn("a soul of another model")
        foreign = octx.soul_bytes()
        ctx.learn("mine")
        mine = ctx.soul_bytes()
        with pytest.raises(bit_ttt.IncompatibleError) as info:
            ctx.load_soul_bytes(foreign)
        assert info.value.status == 52
        assert ctx.soul_bytes() == mine  # unchanged on failure
        octx.save_soul(tmp_path / "foreign.soul")
        with pytest.raises(bit_ttt.IncompatibleError):
            ctx.load_soul(tmp_path / "foreign.soul")
        ctx.load_soul_bytes(foreign, force=True)  # same dimensions: forcing is allowed
        assert ctx.soul_level == octx.soul_level
        ctx.load_soul(tmp_path / "foreign.soul", force=True)
    with pytest.raises(bit_ttt.FormatError):
        ctx2 = model.context()
        try:
            ctx2.load_soul_bytes(b"\x00" * 64)
        finally:
            ctx2.close()
    with model.context() as ctx3:
        missing = tmp_path / "missing.soul"
        with pytest.raises(bit_ttt.IoError) as info:
            ctx3.load_soul(missing)
        assert str(missing) in str(info.value) and info.value.filename == str(missing)
        with pytest.raises(bit_ttt.IoError):
            ctx3.save_soul(tmp_path / "no_dir" / "x.soul")


def test_soul_of_other_dimensions_is_refused_even_forced(model):
    with bit_ttt.Model(GOLDEN / "d12_v37_l3") as small, small.context() as sctx, model.context() as ctx:
        sctx.forward([1, 2, 3])
        with pytest.raises(bit_ttt.IncompatibleError, match="hidden_dim"):
            ctx.load_soul_bytes(sctx.soul_bytes(), force=True)


# -- threads and cancel -------------------------------------------------------------------------------------------


def test_two_threads_with_separate_contexts_match_sequential(model):
    rng = np.random.default_rng(3)
    seqs = [rng.integers(0, 1000, size=400, dtype=np.int32) for _ in range(2)]
    expected = []
    for s in seqs:
        with model.context() as c:
            expected.append(c.forward_all(s))
    results = [None, None]
    errors = []
    barrier = threading.Barrier(2)

    def run(i):
        try:
            with model.context() as c:
                barrier.wait()
                for _ in range(3):
                    c.reset()
                    results[i] = c.forward_all(seqs[i])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


LONG_TEXT = "The quick brown fox jumps over the lazy dog, again and again. " * 20000


def _start_long_learn(ctx):
    outcome = {}
    started = threading.Event()

    def run():
        started.set()
        try:
            outcome["n"] = ctx.learn(LONG_TEXT)
        except BaseException as e:
            outcome["error"] = e

    t = threading.Thread(target=run)
    t.start()
    started.wait()
    return t, outcome


def test_cancel_from_another_thread_during_learn(model):
    total = len(model.tokenize(LONG_TEXT))
    with model.context() as ctx:
        t, outcome = _start_long_learn(ctx)
        time.sleep(0.1)
        t0 = time.monotonic()
        while t.is_alive():
            ctx.cancel()
            t.join(0.01)
        assert time.monotonic() - t0 < 5
        assert isinstance(outcome.get("error"), bit_ttt.AbortedError), outcome
        assert "cancelled" in str(outcome["error"])
        learned = ctx.position
        assert 0 <= learned < total
        assert outcome["error"].n_tokens == learned  # the count of a stopped learn comes with the exception
        assert ctx.soul_level == learned  # whole tokens only, kept
        assert ctx.learn("still usable") > 0  # a cancel that arrived after the abort does not stop new work


def test_second_thread_gets_busy_error(model):
    with model.context() as ctx:
        t, outcome = _start_long_learn(ctx)
        time.sleep(0.1)
        try:
            with pytest.raises(bit_ttt.BusyError, match="another thread"):
                ctx.forward([1])
            # Position and soul level are published after every token: readable from any thread, and moving.
            first = ctx.position
            assert first > 0
            deadline = time.monotonic() + 5
            while ctx.position == first and t.is_alive() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert ctx.position > first or not t.is_alive()
            assert ctx.soul_level >= first
        finally:
            while t.is_alive():
                ctx.cancel()
                t.join(0.01)


def test_close_cancels_a_call_running_on_another_thread(model):
    ctx = model.context()
    t, outcome = _start_long_learn(ctx)
    time.sleep(0.1)
    ctx.close()  # cancels the learn, waits for it, then destroys
    t.join(5)
    assert not t.is_alive()
    assert isinstance(outcome.get("error"), bit_ttt.AbortedError)
    assert ctx.closed


def test_a_late_cancel_never_stops_future_work(ctx):
    ctx.cancel()  # nothing running: new work clears it
    assert ctx.forward([1, 2]).shape == (1000,)
    ctx.cancel()
    assert ctx.learn("hello") > 0
    assert ctx.position > 2


def test_forward_batch_equals_each_context_alone(model):
    """Three NPCs stepped together give the logits and souls each gets alone; n_threads and n_batch change nothing."""
    v = model.vocab_size
    rng = np.random.default_rng(5)
    steps = [[rng.integers(0, v, size=int(rng.integers(1, 4))).tolist() for _ in range(3)] for _ in range(6)]
    batched = [model.context(n_threads=t, n_batch=b) for t, b in ((1, 0), (2, 1), (3, 4))]
    alone = [model.context(n_threads=1) for _ in range(3)]
    try:
        for step in steps:
            got = bit_ttt.forward_batch(batched, step)
            assert got.shape == (3, v)
            for i in range(3):
                assert np.array_equal(got[i], alone[i].forward(step[i]))
        for b, a in zip(batched, alone):
            assert b.soul_bytes() == a.soul_bytes()
            assert b.position == a.position
    finally:
        for c in batched + alone:
            c.close()


def test_forward_batch_errors(model, other_model_dir):
    a, b = model.context(), model.context()
    other = bit_ttt.Model(other_model_dir)
    c = other.context()
    try:
        before = a.soul_bytes()
        with pytest.raises(ValueError):
            bit_ttt.forward_batch([a, a], [[1], [2]])
        with pytest.raises(ValueError):
            bit_ttt.forward_batch([a, b], [[1]])
        with pytest.raises(bit_ttt.InvalidArgumentError):
            bit_ttt.forward_batch([a, c], [[1], [2]])
        with pytest.raises(bit_ttt.InvalidArgumentError):
            bit_ttt.forward_batch([a, b], [[1], [model.vocab_size]])
        with pytest.raises(bit_ttt.InvalidArgumentError):
            bit_ttt.forward_batch([a, b], [[1], []])
        assert a.soul_bytes() == before
    finally:
        for x in (a, b, c):
            x.close()
        other.close()
