"""Integers crossing into the library are range-checked by the binding: ctypes would wrap them silently
(max_tokens=2**32+5 made 5 tokens, token_to_piece(2**31) reported token -2147483648). Each refusal names the
argument and its range."""
from __future__ import annotations

import pytest

import bit_ttt


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"max_tokens": 2**40}, "max_tokens"),
        ({"max_tokens": 2**32 + 5}, "max_tokens"),
        ({"top_k": -(2**31) - 1}, "top_k"),
        ({"penalty_window": 2**31}, "penalty_window"),
        ({"seed": 2**64}, "seed"),
        ({"seed": -1}, "seed"),
        ({"logit_bias": {2**31: -1.0}}, "logit_bias token"),
    ],
)
def test_generate_integers_out_of_range(ctx, kwargs, name):
    with pytest.raises(ValueError, match=r"%s must be in \[" % name):
        ctx.generate_text("x", **kwargs)


@pytest.mark.parametrize("kwargs", [{"max_tokens": 1.5}, {"max_tokens": "3"}, {"top_k": True}, {"temperature": "hot"}])
def test_generate_wrong_types(ctx, kwargs):
    with pytest.raises(TypeError, match="must be"):
        ctx.generate_text("x", **kwargs)


def test_token_ids_out_of_int32(model):
    for bad in (2**31, -(2**31) - 1, 2**40):
        with pytest.raises(ValueError, match=r"token must be in \[-2147483648, 2147483647\]"):
            model.token_to_piece(bad)
        with pytest.raises(ValueError, match="token must be in"):
            model.is_eog(bad)


def test_sleep_seed_and_counts(ctx, tmp_path):
    # seed=-1 used to be refused by generate but accepted (wrapped) by sleep.
    with pytest.raises(ValueError, match=r"seed must be in \[0, 18446744073709551615\]"):
        ctx.sleep(tmp_path, seed=-1)
    with pytest.raises(ValueError, match="max_days must be in"):
        ctx.sleep(tmp_path, max_days=2**31)
    with pytest.raises(ValueError, match="max_piece_chars must be in"):
        ctx.sleep(tmp_path, max_piece_chars=2**32 + 500)


def test_context_and_layer_arguments(model):
    with pytest.raises(ValueError, match="n_threads must be in"):
        bit_ttt.Context(model, n_threads=2**32)
    with pytest.raises(ValueError, match="seed must be in"):
        bit_ttt.Layer(8, 0.1, seed=-1)
    with pytest.raises(ValueError, match="hidden_dim must be in"):
        bit_ttt.Layer(-1, 0.1)


def test_log_callback_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        bit_ttt.set_log_callback(123)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level must be in"):
        bit_ttt.set_log_callback(print, level=2**40)
    bit_ttt.set_log_callback(None)
