"""Upstream's stand-alone TTT layer (the legacy Bit_TTT.dll API), deterministic."""
from __future__ import annotations

from ctypes import byref
from typing import Any, Optional

from . import _convert
from ._handle import Closable, HandleGuard
from ._lib import LIB, LayerHandle

__all__ = ["Layer"]


class Layer(Closable):
    """A single TTT layer with random ternary projections: y_t = x_t + up(W_{t-1} f_t). Every forward() starts
    from a zero state, so the first output row equals the first input row.

    Args:
        hidden_dim: D (>= 4).
        inner_lr: the TTT learning rate, in [0, 100].
        seed: seed of the projections (same seed => same layer on every machine); None = upstream's seed 0.
    """

    def __init__(self, hidden_dim: int, inner_lr: float, seed: Optional[int] = None) -> None:
        self._handle = LayerHandle()
        self._guard = HandleGuard("the layer")
        hidden_dim = _convert.int_arg("hidden_dim", hidden_dim, 0, _convert.SIZE_MAX)
        inner_lr = _convert.float_arg("inner_lr", inner_lr)
        handle = LayerHandle()
        if seed is None:
            LIB.ttt_layer_create(hidden_dim, inner_lr, byref(handle))
        else:
            seed = _convert.int_arg("seed", seed, 0, _convert.UINT64_MAX)
            LIB.ttt_layer_create_seeded(hidden_dim, inner_lr, seed, byref(handle))
        self._handle = handle
        self.hidden_dim = int(hidden_dim)
        self.inner_lr = float(inner_lr)
        self.seed = 0 if seed is None else int(seed)

    def forward(self, x: Any) -> Any:
        """x: (seq_len, hidden_dim) floats (numpy array, list of rows, or one flat row).

        Returns (seq_len, hidden_dim) float32: a numpy array when numpy is installed, else a list of
        ``array.array('f')`` rows.
        """
        ptr, seq_len, keep = _convert.float_matrix(x, self.hidden_dim)
        out, out_ptr, out_keep = _convert.float_out(seq_len * self.hidden_dim)
        with self._guard.exclusive:
            LIB.ttt_layer_forward(self._handle, ptr, seq_len, out_ptr)
        return _convert.rows(out, seq_len, self.hidden_dim)

    def close(self) -> None:
        """Destroy the layer. Idempotent."""
        guard = getattr(self, "_guard", None)
        if guard is None or not guard.close():
            return
        handle, self._handle = self._handle, LayerHandle()
        if handle:
            LIB.ttt_layer_destroy(handle)
