"""Generation: pull-style iterator, streaming callback, sampling parameters, equality with the C API's CLI."""
from __future__ import annotations

import re
import subprocess

import pytest

import bit_ttt

from conftest import CLI

SAMPLING = dict(max_tokens=20, seed=7, temperature=0.8)


def fresh_text(model, prompt, **sampling):
    with model.context() as ctx:
        return ctx.generate_text(prompt, **sampling)


def test_generate_yields_nonempty_text_and_stop_reason(ctx):
    gen = ctx.generate("Once upon a time", **SAMPLING)
    assert isinstance(gen, bit_ttt.Generation)
    assert iter(gen) is gen
    assert gen.stop_reason is None
    pieces = list(gen)
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert gen.stop_reason is bit_ttt.StopReason.MAX_TOKENS
    assert len(gen.tokens) == 20 and all(0 <= t < 1000 for t in gen.tokens)
    with pytest.raises(StopIteration):
        next(gen)
    perf = ctx.perf
    assert perf.generated_tokens == 20 and perf.generation_seconds > 0


def test_same_seed_same_text(model):
    a = fresh_text(model, "The weather today", **SAMPLING)
    b = fresh_text(model, "The weather today", **SAMPLING)
    assert a == b and a
    others = {fresh_text(model, "The weather today", max_tokens=20, seed=s, temperature=0.8) for s in (8, 9, 10)}
    assert others != {a}


@pytest.mark.skipif(not CLI.exists(), reason="the bit-ttt CLI is not built (set BIT_TTT_CLI)")
@pytest.mark.parametrize("prompt", ["Hello there", "日本語で話して 😀", "a"])
def test_same_text_as_the_c_api(model, text_model_dir, prompt):
    """bit-ttt generate (C, ttt_generate_begin/next) prints prompt + generated text + newline on stdout."""
    r = subprocess.run(
        [str(CLI), "generate", "-m", str(text_model_dir), "-p", prompt, "-n", "20", "--seed", "7", "--temp", "0.8"],
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    ours = fresh_text(model, prompt, **SAMPLING)
    assert r.stdout.decode("utf-8") == prompt + ours + "\n"


def test_stream_gives_the_same_text_and_tokens(model):
    pieces, tokens = [], []
    with model.context() as ctx:
        reason = ctx.stream("Once upon a time", lambda t, tok: (pieces.append(t), tokens.append(tok)) and None, **SAMPLING)
    assert reason is bit_ttt.StopReason.MAX_TOKENS
    assert all(pieces) and "".join(pieces) == fresh_text(model, "Once upon a time", **SAMPLING)
    with model.context() as ctx:
        gen = ctx.generate("Once upon a time", **SAMPLING)
        list(gen)
    assert set(tokens) <= set(gen.tokens)


def test_stream_callback_can_stop(ctx):
    seen = []
    reason = ctx.stream("Stop me", lambda text, tok: seen.append(text) or False, max_tokens=50, seed=1)
    assert reason is bit_ttt.StopReason.CALLBACK
    assert len(seen) == 1


class Boom(Exception):
    pass


def test_exception_in_stream_callback_is_reraised_and_context_stays_usable(ctx):
    calls = []

    def callback(text, token):
        calls.append(text)
        raise Boom("raised in the callback")

    with pytest.raises(Boom, match="raised in the callback"):
        ctx.stream("Exceptions stay in Python", callback, max_tokens=50, seed=1)
    assert len(calls) == 1  # generation stopped at the first piece
    assert ctx.generate_text("still works", max_tokens=5, seed=1) is not None
    assert ctx.learn("and learning too") > 0


def test_reentry_from_the_callback_is_refused_cleanly(ctx):
    def forward_inside(text, token):
        ctx.forward([1])

    with pytest.raises(bit_ttt.BusyError):
        ctx.stream("re-enter", forward_inside, max_tokens=5, seed=1)

    def close_inside(text, token):
        ctx.close()

    with pytest.raises(bit_ttt.InvalidStateError, match="from inside"):
        ctx.stream("close inside", close_inside, max_tokens=5, seed=1)
    assert not ctx.closed

    # The C library marks the context busy for the whole ttt_generate call; reading the position and soul level is
    # still allowed from the callback (they are published after every token), and so is cancel().
    seen = []
    ctx.reset()
    ctx.stream("read inside", lambda t, tok: seen.append(ctx.position), max_tokens=5, seed=1)
    assert len(seen) >= 1 and seen == sorted(seen) and seen[0] >= len(ctx.model.tokenize("read inside"))
    pieces = []
    with pytest.raises(bit_ttt.AbortedError):
        ctx.stream("cancel inside", lambda t, tok: pieces.append(t) or ctx.cancel(), max_tokens=20, seed=1)
    assert len(pieces) == 1


def test_greedy_is_deterministic_and_seed_independent(model):
    a = fresh_text(model, "Greedy", max_tokens=15, temperature=0, seed=1)
    b = fresh_text(model, "Greedy", max_tokens=15, temperature=0, seed=99)
    assert a == b


def test_logit_bias_and_eos(model):
    only = model.tokenize("a")[0]
    ban_all_but_one = {t: float("-inf") for t in range(1000) if t != only}
    with model.context() as ctx:
        gen = ctx.generate("x", max_tokens=6, logit_bias=ban_all_but_one, repetition_penalty=1.0)
        assert "".join(gen) == "a" * 6 and gen.tokens == [only] * 6
    with model.context() as ctx:
        gen = ctx.generate("x", max_tokens=6, logit_bias={0: 1000.0})
        assert list(gen) == []
        assert gen.stop_reason is bit_ttt.StopReason.EOS and gen.tokens == [0]


def test_stop_strings(model):
    full = fresh_text(model, "Stop strings", max_tokens=40, temperature=0)
    m = re.search(r"[A-Za-z]{2,}", full[1:])
    if m is None:  # pragma: no cover - depends on the random model
        pytest.skip("greedy text has no ASCII word to stop at")
    stop = m.group(0)
    with model.context() as ctx:
        gen = ctx.generate("Stop strings", max_tokens=40, temperature=0, stop=[stop, "\u2603 never"])
        text = "".join(gen)
    assert gen.stop_reason is bit_ttt.StopReason.STOP_STRING
    assert text == full[: full.index(stop)]
    with model.context() as ctx:  # a single string works too
        assert ctx.generate_text("Stop strings", max_tokens=40, temperature=0, stop=stop) == text


def test_max_tokens_zero_and_empty_prompt(ctx):
    gen = ctx.generate("nothing", max_tokens=0)
    assert list(gen) == [] and gen.stop_reason is bit_ttt.StopReason.MAX_TOKENS


def test_all_sampling_keywords_are_accepted(ctx):
    text = ctx.generate_text(
        "All knobs",
        max_tokens=8,
        temperature=0.7,
        top_k=20,
        top_p=0.9,
        min_p=0.01,
        repetition_penalty=1.2,
        presence_penalty=0.5,
        frequency_penalty=0.5,
        penalty_window=16,
        seed=2**64 - 1,
        logit_bias={5: -1.0},
        stop=["\n\n"],
        add_special=False,
        parse_special=True,
    )
    assert isinstance(text, str)
    assert set(bit_ttt.SAMPLING_KEYS) == {
        "max_tokens", "temperature", "top_k", "top_p", "min_p", "repetition_penalty", "presence_penalty",
        "frequency_penalty", "penalty_window", "seed", "logit_bias", "stop", "add_special", "parse_special",
    }


def test_bad_sampling_arguments(ctx):
    with pytest.raises(TypeError, match="temprature"):
        ctx.generate("x", temprature=0.5)
    with pytest.raises(bit_ttt.InvalidArgumentError):
        ctx.generate("x", max_tokens=-1)
    with pytest.raises(bit_ttt.InvalidArgumentError):
        ctx.generate("x", stop=[""])
    with pytest.raises(ValueError):
        ctx.generate("x", seed=-1)
    with pytest.raises(ValueError, match="NUL"):
        ctx.generate("x", stop=["a\0b"])


def test_break_leaves_the_context_usable(ctx):
    for piece in ctx.generate("Break early", max_tokens=50, seed=3):
        break
    assert ctx.learn("more text") > 0
    assert isinstance(ctx.generate_text("again", max_tokens=5), str)
    gen = ctx.generate("close", max_tokens=50)
    next(gen)
    gen.close()
    assert list(gen) == []


def test_a_new_generation_ends_the_old_iterator(ctx):
    first = ctx.generate("first", max_tokens=30, seed=1)
    next(first)
    second = ctx.generate("second", max_tokens=5, seed=1)
    with pytest.raises(bit_ttt.InvalidStateError, match="later generate"):
        next(first)
    assert list(first) == []
    assert "".join(second) is not None


def test_cancel_ends_a_pull_generation(ctx):
    gen = ctx.generate("cancel me", max_tokens=50, seed=1)
    next(gen)
    ctx.cancel()
    with pytest.raises(bit_ttt.AbortedError):
        next(gen)
    assert list(gen) == []
    assert ctx.generate_text("fine again", max_tokens=3, seed=1) is not None


def test_generation_after_context_close_is_a_clear_error(model):
    ctx = model.context()
    gen = ctx.generate("x", max_tokens=10)
    ctx.close()
    with pytest.raises(bit_ttt.ClosedError):
        next(gen)
