"""The legacy single TTT layer."""
from __future__ import annotations

import numpy as np
import pytest

import bit_ttt


def test_first_output_equals_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 32)).astype(np.float32)
    with bit_ttt.Layer(32, 0.1, seed=11) as layer:
        y = layer.forward(x)
    assert y.shape == (6, 32) and y.dtype == np.float32
    np.testing.assert_array_equal(y[0], x[0])  # the state starts at zero: W f = 0, up(0) = 0
    assert np.abs(y[1:] - x[1:]).max() > 0  # later tokens see the learned state


def test_seeded_and_default_layers_are_deterministic():
    x = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    a, b, c, d = bit_ttt.Layer(16, 0.5), bit_ttt.Layer(16, 0.5, seed=0), bit_ttt.Layer(16, 0.5, seed=7), bit_ttt.Layer(16, 0.5, seed=7)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))  # seed None is upstream's seed 0
    np.testing.assert_array_equal(c.forward(x), d.forward(x))
    assert np.abs(a.forward(x) - c.forward(x)).max() > 0
    np.testing.assert_array_equal(a.forward(x), a.forward(x))  # every call starts from a zero state
    for layer in (a, b, c, d):
        layer.close()


def test_list_input_and_shapes():
    with bit_ttt.Layer(4, 0.1, seed=3) as layer:
        rows = [[1.0, 2.0, 3.0, 4.0], [0.5, -0.5, 0.25, 1.0]]
        y = layer.forward(rows)
        np.testing.assert_array_equal(y, layer.forward(np.array(rows)))
        np.testing.assert_array_equal(layer.forward([1.0, 2.0, 3.0, 4.0]), y[:1])  # one flat row
        assert layer.forward(np.zeros((0, 4), dtype=np.float32)).shape == (0, 4)
        assert layer.forward([]).shape == (0, 4)
        with pytest.raises(ValueError, match="hidden_dim"):
            layer.forward([[1.0, 2.0]])
        with pytest.raises(ValueError):
            layer.forward(np.zeros((2, 5)))


def test_layer_errors_and_close():
    with pytest.raises(bit_ttt.InvalidArgumentError, match="hidden_dim"):
        bit_ttt.Layer(3, 0.1)
    with pytest.raises(bit_ttt.InvalidArgumentError, match="inner_lr"):
        bit_ttt.Layer(8, float("nan"))
    with pytest.raises(ValueError):
        bit_ttt.Layer(-1, 0.1)
    layer = bit_ttt.Layer(8, 0.1)
    layer.close()
    layer.close()
    assert layer.closed
    with pytest.raises(bit_ttt.ClosedError, match="layer is closed"):
        layer.forward([[0.0] * 8])
