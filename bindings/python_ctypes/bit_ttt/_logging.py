"""Routing the library's log messages to Python."""
from __future__ import annotations

import sys
import threading
import traceback
from typing import Any, Callable, Optional

from . import _convert
from ._lib import LIB, TTT_LOG_WARN, ttt_log_callback

__all__ = ["set_log_callback"]

LogCallback = Callable[[int, str], None]

# The C callback object must stay referenced as long as the library may call it: kept here, module-global.
_current: Optional[Any] = None
_lock = threading.Lock()


def set_log_callback(fn: Optional[LogCallback], level: int = TTT_LOG_WARN) -> None:
    """Route library messages with level >= ``level`` to ``fn(level, message)``; None restores the default
    (stderr, warnings and errors).

    The setting is global: call it before other threads use the library. ``fn`` runs on the thread that logged,
    while the library's log lock is held: keep it short and do not call bit_ttt functions from it (loading a model
    or a soul logs, and would deadlock). An exception in ``fn`` is printed to stderr and otherwise ignored.
    """
    global _current
    if fn is not None and not callable(fn):
        raise TypeError("set_log_callback: fn must be a callable fn(level, message) or None, got %r" % (fn,))
    level = _convert.int32_arg("level", level)
    with _lock:
        if fn is None:
            LIB.ttt_log_set(ttt_log_callback(), int(level), None)  # a NULL callback
            _current = None
            return

        def on_log(lvl: int, message: Optional[bytes], _user: Any) -> None:
            try:
                fn(int(lvl), (message or b"").decode("utf-8", errors="replace"))
            except BaseException:  # noqa: B902 - never unwind through C
                try:
                    traceback.print_exc(file=sys.stderr)
                except Exception:
                    pass

        c_fn = ttt_log_callback(on_log)
        LIB.ttt_log_set(c_fn, int(level), None)
        _current = c_fn  # the previous one is released only after the library stopped using it
