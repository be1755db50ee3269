"""learn, remember, sleep, the log callback."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

import bit_ttt

from conftest import write_model


def test_learn_counts_tokens_and_changes_the_soul(model, ctx):
    text = "Learning without generating."
    n = ctx.learn(text)
    assert n == len(model.tokenize(text)) == ctx.position == ctx.soul_level
    assert ctx.learn(text.encode()) == n  # bytes work too
    assert ctx.learn("") == 0
    assert ctx.learn("<|endoftext|>", parse_special=True) == 1
    assert ctx.learn("x", add_special=True) >= 1
    with model.context() as fresh:
        probe = [7, 8, 9]
        assert np.abs(fresh.forward(probe) - ctx.forward(probe)).max() > 0


def test_remember_writes_upstream_jsonl(tmp_path):
    mem = tmp_path / "memories"
    bit_ttt.remember(mem, "user", "こんにちは、覚えていてね")
    bit_ttt.remember(str(mem), "assistant", b"raw bytes are fine")
    files = list(mem.iterdir())
    assert len(files) == 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}\.jsonl", files[0].name)
    lines = [json.loads(line) for line in files[0].read_text(encoding="utf-8").splitlines()]
    assert [(l["role"], l["text"]) for l in lines] == [
        ("user", "こんにちは、覚えていてね"),
        ("assistant", "raw bytes are fine"),
    ]
    assert all("timestamp" in l for l in lines)


def test_remember_errors(tmp_path):
    with pytest.raises(bit_ttt.InvalidArgumentError, match="role"):
        bit_ttt.remember(tmp_path, "", "text")
    with pytest.raises(ValueError, match="NUL"):
        bit_ttt.remember(tmp_path, "us\0er", "text")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(bit_ttt.IoError) as info:
        bit_ttt.remember(blocker / "memories", "user", "text")
    assert info.value.filename == str(blocker / "memories")


@pytest.fixture
def memories(tmp_path):
    mem = tmp_path / "memories"
    for i in range(3):
        (mem).mkdir(exist_ok=True)
        day = mem / ("2024-01-%02d.jsonl" % (i + 1))
        day.write_text(
            "\n".join(
                json.dumps({"role": r, "text": "day %d %s: %s" % (i, r, "words " * 50), "timestamp": "2024-01-01T00:00:00"})
                for r in ("user", "assistant")
            )
            + "\n",
            encoding="utf-8",
        )
    return mem


def test_sleep_replays_memories(ctx, memories, tmp_path):
    seen = []
    autosave = tmp_path / "after_sleep.soul"
    n = ctx.sleep(memories, max_days=0, progress=seen.append, autosave_path=autosave, max_piece_chars=100)
    assert n > 0 and ctx.soul_level == n
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert autosave.read_bytes() == ctx.soul_bytes()
    ctx.reset()
    assert 0 < ctx.sleep(memories, max_days=1) < n
    ctx.reset()
    a = ctx.sleep(memories, max_days=2, random_days=True, seed=5)
    ctx.reset()
    assert ctx.sleep(memories, max_days=2, random_days=True, seed=5) == a


def test_sleep_progress_can_stop_and_exceptions_are_reraised(ctx, memories):
    with pytest.raises(bit_ttt.AbortedError) as stopped:
        ctx.sleep(memories, max_days=0, max_piece_chars=50, progress=lambda f: f < 0.3)
    stopped_at = ctx.soul_level
    assert stopped_at > 0  # the soul keeps what it learned before the stop
    assert stopped.value.n_tokens == stopped_at  # and the exception says how much

    def boom(f):
        if f > 0.5:
            raise KeyError("progress failed")

    with pytest.raises(KeyError, match="progress failed") as info:
        ctx.sleep(memories, max_days=0, max_piece_chars=50, progress=boom)
    assert isinstance(info.value.__cause__, bit_ttt.AbortedError)


def test_sleep_argument_errors(ctx, memories):
    with pytest.raises(bit_ttt.InvalidArgumentError):
        ctx.sleep(memories, max_days=-1)
    with pytest.raises(bit_ttt.InvalidArgumentError):
        ctx.sleep(memories, max_piece_chars=0)
    with pytest.raises(bit_ttt.InvalidArgumentError):
        ctx.sleep("")


def test_log_callback_receives_library_messages(tmp_path, capsys):
    path = write_model(tmp_path / "extra", extra_tensor=True, tokenizer=False)
    messages = []
    bit_ttt.set_log_callback(lambda level, text: messages.append((level, text)), bit_ttt.LOG_DEBUG)
    try:
        bit_ttt.Model(path).close()
    finally:
        bit_ttt.set_log_callback(None)
    assert any(level == bit_ttt.LOG_WARN and "extra.unused.weight" in text for level, text in messages), messages
    # a failing Python log function is reported on stderr and does not break the library call
    def broken(level, text):
        raise RuntimeError("log function failed")

    bit_ttt.set_log_callback(broken, bit_ttt.LOG_WARN)
    try:
        bit_ttt.Model(path).close()
    finally:
        bit_ttt.set_log_callback(None)
    assert "log function failed" in capsys.readouterr().err
    # the default (stderr) is back: no callback of ours is called any more
    count = len(messages)
    bit_ttt.Model(path).close()
    assert len(messages) == count


def test_log_level_filters(tmp_path):
    path = write_model(tmp_path / "extra", extra_tensor=True, tokenizer=False)
    messages = []
    bit_ttt.set_log_callback(lambda level, text: messages.append(level), bit_ttt.LOG_ERROR)
    try:
        bit_ttt.Model(path).close()
    finally:
        bit_ttt.set_log_callback(None)
    assert bit_ttt.LOG_WARN not in messages
