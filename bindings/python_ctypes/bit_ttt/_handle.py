"""Lifetime and thread guard for the native handles.

ctypes releases the GIL during every foreign call, so another Python thread can run while a call is inside the
library. The guard makes sure that

* a closed handle is never passed to C (methods after ``close()`` raise ``ClosedError``);
* ``close()`` never frees a handle that another thread is using: it waits for running calls to return (after
  asking the owner to cancel, for contexts), and refuses to run from inside one of the handle's own callbacks;
* for contexts, a second thread entering gets ``BusyError`` (as the C library answers ``TTT_ERR_BUSY``) instead
  of racing on the library-owned text buffer or on the getters the library does not lock; the same thread may
  re-enter from a callback, where the C library decides.
"""
from __future__ import annotations

from typing import TypeVar

import threading
from typing import Callable, Dict, Optional

from .errors import BusyError, ClosedError, InvalidStateError


class HandleGuard:
    """Counts the calls in flight per thread; one optional exclusive owner thread."""

    __slots__ = ("_what", "_cond", "_closed", "_users", "_owner", "_owner_depth", "shared", "exclusive")

    def __init__(self, what: str) -> None:
        self._what = what
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._users: Dict[int, int] = {}
        self._owner: Optional[int] = None
        self._owner_depth = 0
        self.shared = _Use(self, False)
        self.exclusive = _Use(self, True)

    @property
    def closed(self) -> bool:
        return self._closed

    def enter(self, exclusive: bool) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._closed:
                raise ClosedError("%s is closed" % self._what)
            if exclusive:
                if self._owner is not None and self._owner != me:
                    raise BusyError(
                        "%s is in use by another thread (a context serves one thread at a time; use one context per "
                        "thread, or cancel() it and wait)" % self._what
                    )
                self._owner = me
                self._owner_depth += 1
            self._users[me] = self._users.get(me, 0) + 1

    def leave(self, exclusive: bool) -> None:
        me = threading.get_ident()
        with self._cond:
            if exclusive:
                self._owner_depth -= 1
                if self._owner_depth == 0:
                    self._owner = None
            n = self._users[me] - 1
            if n:
                self._users[me] = n
            else:
                del self._users[me]
            if not self._users:
                self._cond.notify_all()

    def close(self, interrupt: Optional[Callable[[], None]] = None) -> bool:
        """Mark closed and wait until no call is in flight. Returns False if it was closed already.

        ``interrupt`` is called (under the guard's lock, every 10 ms) while other threads are inside calls, to make
        them return soon (a context cancels itself).
        """
        me = threading.get_ident()
        with self._cond:
            if self._closed:
                return False
            if self._users.get(me):
                raise InvalidStateError(
                    "cannot close %s from inside one of its own calls (a callback); close it after the call returns"
                    % self._what
                )
            self._closed = True
            while self._users:
                if interrupt is not None:
                    # Repeated: a cancel that lands before the running call starts its work may be cleared by it.
                    try:
                        interrupt()
                    except Exception:
                        pass
                self._cond.wait(0.01 if interrupt is not None else None)
        return True


class _Use:
    """``with guard.shared:`` / ``with guard.exclusive:``."""

    __slots__ = ("_guard", "_exclusive")

    def __init__(self, guard: HandleGuard, exclusive: bool) -> None:
        self._guard = guard
        self._exclusive = exclusive

    def __enter__(self) -> None:
        self._guard.enter(self._exclusive)

    def __exit__(self, *exc: object) -> None:
        self._guard.leave(self._exclusive)


_C = TypeVar("_C", bound="Closable")


class Closable:
    """Lifetime of a handle-owning object: ``closed``, use as a context manager, and a finaliser that closes.

    Subclasses set ``self._guard`` (a HandleGuard) and implement ``close()`` (idempotent)."""

    _guard: HandleGuard

    def close(self) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._guard.closed

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: module globals may be gone
            pass
