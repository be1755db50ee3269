"""Contexts: one conversation / one game character / one soul, on a shared Model."""
from __future__ import annotations

import codecs
import contextlib
import ctypes
import enum
import os
from ctypes import byref, c_char_p, c_int32, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from . import _convert
from ._handle import Closable, HandleGuard
from ._lib import (
    LIB,
    TTT_ACTIVATIONS_DEFAULT,
    TTT_ACTIVATIONS_INT8,
    TTT_ACTIVATIONS_MODEL,
    TTT_SOUL_FORCE,
    TTT_TOKENIZE_ADD_SPECIAL,
    TTT_TOKENIZE_PARSE_SPECIAL,
    ContextHandle,
    cstring,
    fspath_bytes,
    params_init,
    text_bytes,
    ttt_context_params,
    ttt_generate_params,
    ttt_logit_bias,
    ttt_perf,
    ttt_sleep_params,
    ttt_text_callback,
)
from .errors import AbortedError, BufferTooSmallError, InvalidStateError, IoError
from .model import Model, ProgressCallback, _ProgressTrampoline

__all__ = ["Context", "Generation", "Perf", "StopReason", "remember", "SAMPLING_KEYS"]


class StopReason(enum.IntEnum):
    """Why generation ended (TTT_STOP_*)."""

    NONE = 0  #: not ended
    EOS = 1  #: the model produced an end-of-generation token (not emitted)
    MAX_TOKENS = 2  #: max_tokens reached
    STOP_STRING = 3  #: a stop string was produced (it is never emitted)
    CALLBACK = 4  #: the stream callback returned False


@dataclass(frozen=True)
class Perf:
    """Per-context performance counters (``ttt_get_perf``), cumulative since the context was created."""

    prompt_tokens: int
    prompt_seconds: float
    generated_tokens: int
    generation_seconds: float

    @property
    def prompt_tokens_per_second(self) -> float:
        return self.prompt_tokens / self.prompt_seconds if self.prompt_seconds > 0 else 0.0

    @property
    def generation_tokens_per_second(self) -> float:
        return self.generated_tokens / self.generation_seconds if self.generation_seconds > 0 else 0.0


#: The keyword arguments accepted by generate(), generate_text() and stream(); they mirror ttt_generate_params.
SAMPLING_KEYS = (
    "max_tokens",
    "temperature",
    "top_k",
    "top_p",
    "min_p",
    "repetition_penalty",
    "presence_penalty",
    "frequency_penalty",
    "penalty_window",
    "seed",
    "logit_bias",
    "stop",
    "add_special",
    "parse_special",
)

# Each plain field with its conversion: integers are range-checked for their C type (and the library's own rule
# where it has one), so nothing wraps at the ctypes boundary; floats must be numbers.
_PLAIN_FIELDS = {
    "max_tokens": lambda v: _convert.int32_arg("max_tokens", v),
    "temperature": lambda v: _convert.float_arg("temperature", v),
    "top_k": lambda v: _convert.int32_arg("top_k", v),
    "top_p": lambda v: _convert.float_arg("top_p", v),
    "min_p": lambda v: _convert.float_arg("min_p", v),
    "repetition_penalty": lambda v: _convert.float_arg("repetition_penalty", v),
    "presence_penalty": lambda v: _convert.float_arg("presence_penalty", v),
    "frequency_penalty": lambda v: _convert.float_arg("frequency_penalty", v),
    "penalty_window": lambda v: _convert.int32_arg("penalty_window", v),
    "seed": lambda v: _convert.int_arg("seed", v, 0, _convert.UINT64_MAX),
}


class _GenerateParams:
    """ttt_generate_params built from keyword arguments, with the arrays it points to kept alive."""

    def __init__(self, sampling: Mapping[str, Any]) -> None:
        unknown = sorted(set(sampling) - set(SAMPLING_KEYS))
        if unknown:
            raise TypeError(
                "unknown sampling argument(s) %s; accepted: %s" % (", ".join(unknown), ", ".join(SAMPLING_KEYS))
            )
        p = params_init(ttt_generate_params, "ttt_generate_params_init")
        for key, conv in _PLAIN_FIELDS.items():
            value = sampling.get(key)
            if value is not None:
                setattr(p, key, conv(value))
        bias = sampling.get("logit_bias")
        if bias:
            items = list(dict(bias).items())
            self._bias = (ttt_logit_bias * len(items))(
                *[
                    ttt_logit_bias(_convert.int32_arg("logit_bias token", t), _convert.float_arg("logit_bias value", b))
                    for t, b in items
                ]
            )
            p.logit_bias = ctypes.cast(self._bias, ctypes.POINTER(ttt_logit_bias))
            p.n_logit_bias = len(items)
        stop = sampling.get("stop")
        if stop:
            if isinstance(stop, (str, bytes)):
                stop = [stop]
            self._stop_bytes = [cstring(s, "stop string") for s in stop]
            self._stop = (c_char_p * len(self._stop_bytes))(*self._stop_bytes)
            p.stop_strings = ctypes.cast(self._stop, ctypes.POINTER(c_char_p))
            p.n_stop_strings = len(self._stop_bytes)
        flags = p.tokenize_flags
        if sampling.get("add_special") is not None:
            flags = (flags & ~TTT_TOKENIZE_ADD_SPECIAL) | (TTT_TOKENIZE_ADD_SPECIAL if sampling["add_special"] else 0)
        if sampling.get("parse_special") is not None:
            flags = (flags & ~TTT_TOKENIZE_PARSE_SPECIAL) | (
                TTT_TOKENIZE_PARSE_SPECIAL if sampling["parse_special"] else 0
            )
        p.tokenize_flags = flags
        self.params = p


class Generation:
    """Iterator over the text pieces of one generation (pull-style, ``ttt_generate_next``).

    Yields non-empty ``str`` pieces of whole UTF-8 characters. After exhaustion ``stop_reason`` tells why it ended;
    ``tokens`` lists the ids the library reported (an EOS that ended generation included). Stopping early (``break``
    or ``close()``) leaves the context usable: the next generate/learn call starts afresh. Starting another
    generation on the same context ends this one (its next step raises InvalidStateError).
    """

    def __init__(self, ctx: "Context", serial: int) -> None:
        self._ctx = ctx
        self._serial = serial
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._done = False
        self.stop_reason: Optional[StopReason] = None
        self.tokens: List[int] = []

    def __iter__(self) -> "Generation":
        return self

    def __next__(self) -> str:
        ctx = self._ctx
        token = c_int32(-1)
        text = c_void_p()
        n = c_size_t(0)
        reason = c_int32(0)
        while not self._done:
            try:
                with ctx._guard.exclusive:
                    if ctx._generation_serial != self._serial:
                        raise InvalidStateError("this generation was ended by a later generate()/stream() on the context")
                    LIB.ttt_generate_next(ctx._handle, byref(token), byref(text), byref(n), byref(reason))
                    data = ctypes.string_at(text.value, n.value) if n.value else b""
            except BaseException:
                self._done = True
                raise
            if token.value >= 0:
                self.tokens.append(token.value)
            final = reason.value != 0
            piece = self._decoder.decode(data, final=final)
            if final:
                self._done = True
                self.stop_reason = StopReason(reason.value)
            if piece:
                return piece
        raise StopIteration

    def close(self) -> None:
        """Stop pulling (also what ``break`` amounts to). Nothing runs between steps, so nothing needs cancelling;
        the next generate()/learn()/forward() on the context starts afresh."""
        self._done = True


class Context(Closable):
    """One conversation / one game character: a soul (the TTT fast weights) on a shared Model.

    A context is used by one thread at a time; another thread entering gets BusyError. ``cancel()`` is the
    exception: any thread may call it. Use one context per thread for parallel work on one model (the GIL is
    released during every library call, so such threads really run in parallel).

    Args:
        model: the Model; the context keeps a reference to it.
        n_threads: worker threads for this context (0 = all cores); results are the same bits for any count.
        n_batch: prompt tokens per forward pass (0 = the library's default, 128). cancel() and the abort
            callback act between passes: 1 stops at any token, larger prefills faster.
        n_ctx: attention models (llama, bitnet): the KV cache length in tokens (0 = the model's
            max_position_embeddings); passing it raises an error before anything changes.
        kv_cache_type: attention models: "f16" (default), "int8" (one factor per token and head) or "f32".
        activations: the rows the ternary products read: None (the model's, or what the environment variable
            TTT_ACTIVATIONS says), "model" (as the model was trained) or "int8" (every model: a float model
            prefills about twice as fast, its logits move by the rounding of its activations).
    """

    _KV_TYPES = {"f16": 0, "int8": 1, "f32": 2}
    _ACTIVATIONS = {None: TTT_ACTIVATIONS_DEFAULT, "model": TTT_ACTIVATIONS_MODEL, "int8": TTT_ACTIVATIONS_INT8}

    def __init__(self, model: Model, n_threads: int = 0, n_batch: int = 0, n_ctx: int = 0,
                 kv_cache_type: str = "f16", activations: Optional[str] = None) -> None:
        self._handle = ContextHandle()
        self._guard = HandleGuard("the context")
        self._generation_serial = 0
        if not isinstance(model, Model):
            raise TypeError("model must be a bit_ttt.Model, not %s" % type(model).__name__)
        self.model = model
        self._vocab = model.info.vocab_size  # raises ClosedError for a closed model
        params = params_init(ttt_context_params, "ttt_context_params_init")
        params.n_threads = _convert.int32_arg("n_threads", n_threads)
        params.n_batch = _convert.int32_arg("n_batch", n_batch)
        params.n_ctx = _convert.int32_arg("n_ctx", n_ctx)
        if kv_cache_type not in self._KV_TYPES:
            raise ValueError("kv_cache_type must be one of %s, not %r" % (sorted(self._KV_TYPES), kv_cache_type))
        params.kv_cache_type = self._KV_TYPES[kv_cache_type]
        if activations not in self._ACTIVATIONS:
            raise ValueError("activations must be None, 'model' or 'int8', not %r" % (activations,))
        params.activations = self._ACTIVATIONS[activations]
        handle = ContextHandle()
        with model._guard.shared:
            LIB.ttt_create(model._handle, byref(params), byref(handle))
        self._handle = handle

    # -- lifetime -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Destroy the context. Idempotent. A call running on another thread is cancelled and waited for first."""
        guard = getattr(self, "_guard", None)
        if guard is None:
            return
        handle = self._handle
        if not guard.close(interrupt=lambda: LIB.ttt_cancel(handle)):
            return
        self._handle = ContextHandle()
        if handle:
            LIB.ttt_destroy(handle)

    def __repr__(self) -> str:
        return "<bit_ttt.Context%s on %r>" % (" closed" if self.closed else "", self.model)

    # -- forward ----------------------------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return self._vocab

    def forward(self, tokens: _convert.TokensLike) -> Any:
        """Run token ids through the model (the soul learns them); returns the logits after the last token.

        Returns a numpy float32 array of shape (V,) when numpy is installed, else ``array.array('f')``.
        """
        ptr, n, keep = _convert.int32_buffer(tokens)
        out, out_ptr, out_keep = _convert.float_out(self._vocab)
        with self._guard.exclusive:
            LIB.ttt_forward(self._handle, ptr, n, out_ptr)
        return out

    def forward_all(self, tokens: _convert.TokensLike) -> Any:
        """Like forward(), but returns the logits of every position: numpy (n, V) (written in place by the library,
        no copy), or a list of n ``array.array('f')`` rows without numpy."""
        ptr, n, keep = _convert.int32_buffer(tokens)
        out, out_ptr, out_keep = _convert.float_out(n * self._vocab)
        with self._guard.exclusive:
            LIB.ttt_forward_all(self._handle, ptr, n, out_ptr)
        return _convert.rows(out, n, self._vocab)

    def reset(self) -> None:
        """Clear the soul (state, position and level to zero); also clears a pending cancel."""
        with self._guard.exclusive:
            LIB.ttt_reset(self._handle)

    def cancel(self) -> None:
        """Stop the work in progress on this context at the next token: a forward/learn/sleep/stream call running
        now (it raises AbortedError; the soul keeps the whole tokens it learned), or a generate() iterator (its next
        step raises AbortedError and the generation ends). Safe from any thread. New work clears a cancel left over
        from earlier work, so a late cancel never stops future work."""
        with self._guard.shared:
            LIB.ttt_cancel(self._handle)

    def set_abort_callback(self, should_abort: "Optional[Callable[[], bool]]") -> None:
        """Install a check polled before every token of every call on this context (on the thread doing the work);
        returning True stops the work with AbortedError. Unlike cancel(), the condition is yours, so no timing can
        lose it. None removes it. An exception raised by the check counts as True."""
        if should_abort is None:
            thunk = ttt_abort_callback()
        else:
            def _check(_user: object) -> int:
                try:
                    return 1 if should_abort() else 0
                except BaseException:  # never let a Python exception cross into C
                    return 1
            thunk = ttt_abort_callback(_check)
        with self._guard.exclusive:
            LIB.ttt_set_abort_callback(self._handle, thunk, None)
        self._abort_thunk = thunk  # the C library keeps the pointer: keep the ctypes object alive with it

    @property
    def position(self) -> int:
        """Tokens seen since the last reset (readable from any thread, also while another thread works)."""
        out = c_uint64(0)
        with self._guard.shared:
            LIB.ttt_get_position(self._handle, byref(out))
        return out.value

    @property
    def soul_level(self) -> int:
        """Tokens the soul has learned in total (kept across save/load; readable from any thread)."""
        out = c_uint64(0)
        with self._guard.shared:
            LIB.ttt_get_soul_level(self._handle, byref(out))
        return out.value

    @property
    def perf(self) -> Perf:
        """Performance counters since the context was created."""
        raw = ttt_perf()
        raw.struct_size = ctypes.sizeof(ttt_perf)
        with self._guard.exclusive:
            LIB.ttt_get_perf(self._handle, byref(raw))
        return Perf(raw.prompt_tokens, raw.prompt_seconds, raw.generated_tokens, raw.generation_seconds)

    # -- souls ----------------------------------------------------------------------------------------------

    def save_soul(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Save the soul to a file, crash-safely (an existing file stays intact on failure)."""
        raw = fspath_bytes(path)
        with self._guard.exclusive:
            _with_filename(lambda: LIB.ttt_save_soul(self._handle, raw), path)

    def load_soul(self, path: Union[str, "os.PathLike[str]"], force: bool = False) -> None:
        """Load a soul file (ours or an upstream V030 soul). A soul of another model raises IncompatibleError unless
        ``force`` and the dimensions match. On failure the soul is unchanged."""
        raw = fspath_bytes(path)
        flags = TTT_SOUL_FORCE if force else 0
        with self._guard.exclusive:
            _with_filename(lambda: LIB.ttt_load_soul(self._handle, raw, flags), path)

    def soul_bytes(self) -> bytes:
        """The soul serialised (the bytes save_soul would write)."""
        n = c_size_t(0)
        with self._guard.exclusive:
            capacity = 0
            buf: Any = None
            for _ in range(3):
                try:
                    LIB.ttt_save_soul_buffer(self._handle, buf, capacity, byref(n))
                    return buf.raw[: n.value]
                except BufferTooSmallError:
                    if buf is not None and n.value <= capacity:
                        raise
                    capacity = n.value
                    buf = ctypes.create_string_buffer(capacity)
        raise AssertionError("the soul size kept changing")  # pragma: no cover

    def load_soul_bytes(self, data: Union[bytes, bytearray, memoryview], force: bool = False) -> None:
        """Restore the soul from bytes made by soul_bytes() or read from a .soul file. Same rules as load_soul()."""
        raw = _convert.readonly_bytes(data)
        flags = TTT_SOUL_FORCE if force else 0
        with self._guard.exclusive:
            LIB.ttt_load_soul_buffer(self._handle, raw, len(raw), flags)

    # -- generation -----------------------------------------------------------------------------------------

    def generate(self, prompt: Union[str, bytes], **sampling: Any) -> Generation:
        """Start generating; returns an iterator over the text pieces (whole characters, never empty).

        The prompt runs through the model now (the soul learns it); each step of the iterator produces one token.
        Sampling keywords mirror ttt_generate_params: max_tokens (256), temperature (0.8; <= 0 greedy), top_k (40),
        top_p (0.95), min_p (0.05), repetition_penalty (1.1), presence_penalty (0), frequency_penalty (0),
        penalty_window (64), seed (1), logit_bias ({token: bias}, -inf bans), stop ([strings], never emitted),
        add_special (True: BOS/EOS on the prompt), parse_special (False). None keeps the library default.
        Same model + soul + prompt + seed => same text.
        """
        gp = _GenerateParams(sampling)
        raw = text_bytes(prompt, "prompt")
        with self._guard.exclusive:
            self._generation_serial += 1
            serial = self._generation_serial
            LIB.ttt_generate_begin(self._handle, raw, len(raw), byref(gp.params))
        return Generation(self, serial)

    def generate_text(self, prompt: Union[str, bytes], **sampling: Any) -> str:
        """generate() collected into one string."""
        return "".join(self.generate(prompt, **sampling))

    def stream(
        self,
        prompt: Union[str, bytes],
        callback: Callable[[str, int], Optional[bool]],
        **sampling: Any,
    ) -> StopReason:
        """Generate, calling ``callback(text, token)`` on this thread for every piece of text (``ttt_generate``).

        Return False from the callback to stop (StopReason.CALLBACK). An exception raised in the callback stops
        generation and is re-raised here after the library call has returned. Returns why generation ended.
        Sampling keywords as for generate().
        """
        gp = _GenerateParams(sampling)
        raw = text_bytes(prompt, "prompt")
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        state: Dict[str, Any] = {"error": None}

        def on_text(text: Optional[int], n: int, token: int, _user: Any) -> int:
            try:
                piece = decoder.decode(ctypes.string_at(text, n) if n and text else b"")
                if piece and callback(piece, int(token)) is False:
                    return 0
                return 1
            except BaseException as e:  # noqa: B902 - never let it unwind through C; re-raised below
                state["error"] = e
                return 0

        c_callback = ttt_text_callback(on_text)  # referenced until the call returns
        reason = c_int32(0)
        try:
            with self._guard.exclusive:
                self._generation_serial += 1
                LIB.ttt_generate(self._handle, raw, len(raw), byref(gp.params), c_callback, None, byref(reason))
        except BaseException as e:
            if state["error"] is not None:
                raise state["error"] from e
            raise
        if state["error"] is not None:
            raise state["error"]
        tail = decoder.decode(b"", final=True)
        if tail:
            callback(tail, -1)
        return StopReason(reason.value)

    # -- learning and sleep -----------------------------------------------------------------------------------

    def learn(self, text: Union[str, bytes], add_special: bool = False, parse_special: bool = False) -> int:
        """Run text through the model so the soul learns it, without generating. Returns the tokens learned.
        Cancellable: AbortedError, whose ``n_tokens`` says how many tokens the soul kept."""
        raw = text_bytes(text)
        flags = (TTT_TOKENIZE_ADD_SPECIAL if add_special else 0) | (TTT_TOKENIZE_PARSE_SPECIAL if parse_special else 0)
        n = c_size_t(0)
        try:
            with self._guard.exclusive:
                LIB.ttt_learn(self._handle, raw, len(raw), flags, byref(n))
        except AbortedError as e:
            e.n_tokens = n.value
            raise
        return n.value

    def sleep(
        self,
        memories_dir: Union[str, "os.PathLike[str]"],
        max_days: int = 5,
        random_days: bool = False,
        seed: int = 0,
        max_piece_chars: int = 500,
        progress: Optional[ProgressCallback] = None,
        autosave_path: Optional[Union[str, "os.PathLike[str]"]] = None,
    ) -> int:
        """Replay the memories in ``memories_dir`` (YYYY-MM-DD.jsonl files) into the soul. Returns tokens learned.

        Args:
            max_days: replay at most this many day files (0 = all).
            random_days: False: the most recent days, oldest first; True: a seeded random sample.
            seed: for random_days.
            max_piece_chars: text is learned in pieces of this many characters.
            progress: ``progress(fraction) -> bool``; False stops (AbortedError); an exception stops and is re-raised.
            autosave_path: save the soul here (crash-safely) when sleep completes.
        """
        p = params_init(ttt_sleep_params, "ttt_sleep_params_init")
        dir_bytes = fspath_bytes(memories_dir, "memories_dir")
        save_bytes = fspath_bytes(autosave_path, "autosave_path") if autosave_path is not None else None
        p.memories_dir = dir_bytes
        p.max_days = _convert.int32_arg("max_days", max_days)
        p.random_days = 1 if random_days else 0
        p.seed = _convert.int_arg("seed", seed, 0, _convert.UINT64_MAX)
        p.max_piece_chars = _convert.int32_arg("max_piece_chars", max_piece_chars)
        p.autosave_path = save_bytes
        tramp = _ProgressTrampoline(progress)
        if progress is not None:
            p.progress_callback = tramp.c_fn
        n = c_size_t(0)
        try:
            with self._guard.exclusive:
                LIB.ttt_sleep(self._handle, byref(p), byref(n))
        except AbortedError as e:
            e.n_tokens = n.value
            tramp.rethrow(e)
            raise
        return n.value


def _with_filename(call: Callable[[], Any], path: Any) -> None:
    try:
        call()
    except IoError as e:
        e.filename = str(path)
        raise


def remember(memories_dir: Union[str, "os.PathLike[str]"], role: str, text: Union[str, bytes]) -> None:
    """Append one chat turn to ``<memories_dir>/YYYY-MM-DD.jsonl`` (local date), for a later Context.sleep().

    role: "user" or "assistant" (any non-empty text is accepted).
    """
    raw = text_bytes(text)
    try:
        LIB.ttt_remember(fspath_bytes(memories_dir, "memories_dir"), cstring(role, "role"), raw, len(raw))
    except IoError as e:
        e.filename = str(memories_dir)
        raise


def forward_batch(contexts: List["Context"], tokens: List[_convert.TokensLike]) -> Any:
    """Step many contexts of one model together, reading the weights once for all of them (many NPCs per frame).

    ``tokens[i]`` (one id or a sequence of at least one) runs on ``contexts[i]``. Returns the logits after each
    context's last token: numpy (n, V), or a list of n ``array.array('f')`` rows without numpy. The logits and souls
    are exactly those of calling ``forward`` on each context alone. Raises before any soul changes when an id is out
    of range, a context repeats, belongs to another model, or is busy.
    """
    contexts = list(contexts)
    tokens = list(tokens)
    if len(contexts) != len(tokens):
        raise ValueError("forward_batch needs one token list per context: %d contexts, %d token lists"
                         % (len(contexts), len(tokens)))
    if not contexts:
        raise ValueError("forward_batch needs at least one context")
    for c in contexts:
        if not isinstance(c, Context):
            raise TypeError("contexts must be bit_ttt.Context objects, not %s" % type(c).__name__)
    if len({id(c) for c in contexts}) != len(contexts):
        raise ValueError("each context may appear once in a batch")
    flat: List[int] = []
    counts = (c_size_t * len(contexts))()
    for i, t in enumerate(tokens):
        _, n, keep = _convert.int32_buffer(t)
        flat.extend(keep.tolist()[:n])
        counts[i] = n
    ptr, n, keep = _convert.int32_buffer(flat)
    handles = (ContextHandle * len(contexts))(*[c._handle for c in contexts])
    vocab = contexts[0].vocab_size
    out, out_ptr, out_keep = _convert.float_out(len(contexts) * vocab)
    with contextlib.ExitStack() as stack:
        for c in contexts:
            stack.enter_context(c._guard.exclusive)
        LIB.ttt_forward_batch(handles, len(contexts), ptr, counts, out_ptr)
    return _convert.rows(out, len(contexts), vocab)
