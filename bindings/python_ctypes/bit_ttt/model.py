"""Models: load, describe, tokenize. A Model is immutable and thread-safe; share it between contexts and threads."""
from __future__ import annotations

import ctypes
import json
import os
from ctypes import byref, c_char, c_int32, c_size_t
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Union

from . import _convert
from ._handle import Closable, HandleGuard
from ._lib import (
    LIB,
    TTT_DETOKENIZE_SKIP_SPECIAL,
    TTT_TOKENIZE_ADD_SPECIAL,
    TTT_TOKENIZE_PARSE_SPECIAL,
    ModelHandle,
    fspath_bytes,
    params_init,
    text_bytes,
    ttt_chat_params,
    ttt_model_info,
    ttt_model_params,
    ttt_progress_callback,
)
from .errors import AbortedError, BufferTooSmallError, IoError

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

__all__ = ["Model", "ModelInfo", "ProgressCallback", "apply_chat_template"]

#: progress(fraction in [0, 1]) -> return False to stop (anything else, None included, continues).
ProgressCallback = Callable[[float], Optional[bool]]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class ModelInfo:
    """What ``ttt_model_get_info`` reports about a model."""

    vocab_size: int
    hidden_dim: int
    num_layers: int
    intermediate_dim: int
    ttt_dim: int
    ttt_chunk: int
    bitlinear_scale: bool
    act_bits: int
    inner_lr: float
    norm_eps: float
    bos_id: int
    eos_id: int
    fingerprint: int
    n_params: int
    has_tokenizer: bool
    #: "ttt" (BitLlama), "llama" or "bitnet" (attention models from Hugging Face checkpoints, docs/models.md)
    architecture: str = "ttt"
    #: the TTT layer of BitLlama models: "upstream" or "delta" (docs/memory.md); "upstream" for attention models
    ttt_kind: str = "upstream"
    #: fast-weight heads per TTT layer (delta: H blocks of (d/H) x (d/H)); 1 for upstream, 0 for attention models
    ttt_heads: int = 1


class _ProgressTrampoline:
    """A C progress callback around a Python function: exceptions are caught (the call is stopped) and re-raised
    by ``rethrow()`` after the C call has returned, so no Python exception ever unwinds through C."""

    def __init__(self, fn: Optional[ProgressCallback]) -> None:
        self.fn = fn
        self.error: Optional[BaseException] = None
        self.c_fn = ttt_progress_callback(self._call) if fn is not None else ttt_progress_callback()

    def _call(self, fraction: float, _user: Any) -> int:
        try:
            return 0 if self.fn(float(fraction)) is False else 1  # type: ignore[misc]
        except BaseException as e:  # noqa: B902 - must not cross into C, re-raised after the call
            self.error = e
            return 0

    def rethrow(self, error: Optional[BaseException] = None) -> None:
        """Raise the callback's exception if there was one (chained to the library's AbortedError)."""
        if self.error is not None:
            exc, self.error = self.error, None
            raise exc from error


class Model(Closable):
    """A loaded BitLlama model: immutable weights, config and tokenizer.

    ``Model(path)`` loads a model directory (config.json + model.safetensors [+ tokenizer.json]), a ``.bitt`` file or
    a ``.safetensors`` file with config.json beside it; ``Model(bytes)`` loads a ``.bitt`` image from memory.

    Any number of threads and contexts may use one model at once. ``close()`` (or ``with``) releases it; contexts
    created on it keep the native model alive until they are closed too.

    Args:
        path_or_bytes: a path (str or os.PathLike) or a bytes-like ``.bitt`` image.
        verify_checksum: verify the body checksum of a ``.bitt`` v2 file while loading.
        progress: optional ``progress(fraction) -> bool``; return False to abort the load (AbortedError). An
            exception raised inside it aborts the load and is re-raised from the constructor.

    Raises:
        IoError: the path does not exist or cannot be read (``filename`` holds the path).
        FormatError: malformed file. UnsupportedError: a valid file this build does not support.
    """

    def __init__(
        self,
        path_or_bytes: Union[PathLike, bytes, bytearray, memoryview],
        *,
        verify_checksum: bool = True,
        progress: Optional[ProgressCallback] = None,
    ) -> None:
        self._handle = ModelHandle()
        self._guard = HandleGuard("the model")
        self._info: Optional[ModelInfo] = None
        params = params_init(ttt_model_params, "ttt_model_params_init")
        params.verify_checksum = 1 if verify_checksum else 0
        tramp = _ProgressTrampoline(progress)
        if progress is not None:
            params.progress_callback = tramp.c_fn
        handle = ModelHandle()
        try:
            if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
                data = _convert.readonly_bytes(path_or_bytes)
                self.source = "<%d bytes>" % len(data)
                LIB.ttt_load_bitt_buffer(data, len(data), byref(params), byref(handle))
            else:
                path = fspath_bytes(path_or_bytes)
                self.source = os.fsdecode(path)
                try:
                    LIB.ttt_load_model(path, byref(params), byref(handle))
                except IoError as e:
                    e.filename = self.source
                    raise
        except AbortedError as e:
            tramp.rethrow(e)
            raise
        self._handle = handle
        self._info = self._read_info()

    # -- lifetime -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the model. Idempotent. Contexts on it stay usable (they hold their own reference)."""
        guard = getattr(self, "_guard", None)
        if guard is None or not guard.close():
            return
        handle, self._handle = self._handle, ModelHandle()
        if handle:
            LIB.ttt_model_free(handle)

    def __repr__(self) -> str:
        if self._info is None or self.closed:
            return "<bit_ttt.Model %s%s>" % (getattr(self, "source", "?"), " closed" if self._info else "")
        i = self._info
        return "<bit_ttt.Model %s V=%d D=%d L=%d>" % (self.source, i.vocab_size, i.hidden_dim, i.num_layers)

    # -- description ----------------------------------------------------------------------------------------

    def _read_info(self) -> ModelInfo:
        raw = ttt_model_info()
        raw.struct_size = ctypes.sizeof(ttt_model_info)
        with self._guard.shared:
            LIB.ttt_model_get_info(self._handle, byref(raw))
        has_tok = raw.has_tokenizer if raw.struct_size >= ttt_model_info.has_tokenizer.offset + 4 else 1
        return ModelInfo(
            vocab_size=raw.vocab_size,
            hidden_dim=raw.hidden_dim,
            num_layers=raw.num_layers,
            intermediate_dim=raw.intermediate_dim,
            ttt_dim=raw.ttt_dim,
            ttt_chunk=raw.ttt_chunk,
            bitlinear_scale=bool(raw.bitlinear_scale),
            act_bits=raw.act_bits,
            inner_lr=raw.inner_lr,
            norm_eps=raw.norm_eps,
            bos_id=raw.bos_id,
            eos_id=raw.eos_id,
            fingerprint=raw.fingerprint,
            n_params=raw.n_params,
            has_tokenizer=bool(has_tok),
            architecture=("ttt", "llama", "bitnet")[raw.architecture]
            if raw.struct_size >= ttt_model_info.architecture.offset + 4 and 0 <= raw.architecture <= 2
            else "ttt",
            # A library older than these fields leaves them out of struct_size: it only knows upstream's layer.
            ttt_kind=("upstream", "delta")[raw.ttt_kind]
            if raw.struct_size >= ttt_model_info.ttt_kind.offset + 4 and 0 <= raw.ttt_kind <= 1
            else "upstream",
            ttt_heads=raw.ttt_heads if raw.struct_size >= ttt_model_info.ttt_heads.offset + 4 else 1,
        )

    @property
    def info(self) -> ModelInfo:
        """Dimensions, config values, special ids, fingerprint and parameter count."""
        self._check_open()
        assert self._info is not None
        return self._info

    @property
    def vocab_size(self) -> int:
        """V: the number of logits per position."""
        return self.info.vocab_size

    def _check_open(self) -> None:
        with self._guard.shared:
            pass

    # -- tokenizer ------------------------------------------------------------------------------------------

    def tokenize(
        self, text: Union[str, bytes], add_special: bool = False, parse_special: bool = False
    ) -> List[int]:
        """Text to token ids.

        Args:
            text: str (encoded as UTF-8) or bytes (any bytes; invalid UTF-8 goes through byte tokens losslessly).
            add_special: add BOS/EOS as the tokenizer's post-processor says.
            parse_special: recognise special tokens written in the text (off: user text cannot inject "</s>").

        Raises:
            UnsupportedError: the model has no tokenizer.
        """
        raw = text_bytes(text)
        flags = (TTT_TOKENIZE_ADD_SPECIAL if add_special else 0) | (TTT_TOKENIZE_PARSE_SPECIAL if parse_special else 0)
        n = c_size_t(0)
        capacity = len(raw) + 8  # byte-level BPE never needs more; the size-query protocol covers the rest
        with self._guard.shared:
            for _ in range(2):
                buf = (c_int32 * max(capacity, 1))()
                try:
                    LIB.ttt_tokenize(self._handle, raw, len(raw), flags, buf, capacity, byref(n))
                    return list(buf[: n.value])
                except BufferTooSmallError:
                    if n.value <= capacity:
                        raise
                    capacity = n.value
        raise AssertionError("unreachable")  # pragma: no cover

    def detokenize_bytes(self, ids: Sequence[int], skip_special: bool = False) -> bytes:
        """Token ids to the raw UTF-8 bytes of their text."""
        ptr, count, keep = _convert.int32_buffer(ids)
        flags = TTT_DETOKENIZE_SKIP_SPECIAL if skip_special else 0
        with self._guard.shared:
            return self._fill_bytes(
                lambda buf, cap, out: LIB.ttt_detokenize(self._handle, ptr, count, flags, buf, cap, out),
                16 * count + 16,
            )

    def detokenize(self, ids: Sequence[int], skip_special: bool = False) -> str:
        """Token ids to text. Bytes that are not valid UTF-8 (e.g. half of an emoji) become U+FFFD."""
        return self.detokenize_bytes(ids, skip_special).decode("utf-8", errors="replace")

    def token_to_piece(self, token: int) -> bytes:
        """The raw bytes one token contributes to the text (may be an incomplete UTF-8 sequence)."""
        token = _convert.int32_arg("token", token)
        with self._guard.shared:
            return self._fill_bytes(
                lambda buf, cap, out: LIB.ttt_token_to_piece(self._handle, token, buf, cap, out), 64
            )

    def is_eog(self, token: int) -> bool:
        """True if the token ends generation (EOS and other end-of-turn tokens)."""
        out = c_int32(0)
        token = _convert.int32_arg("token", token)
        with self._guard.shared:
            LIB.ttt_token_is_eog(self._handle, token, byref(out))
        return bool(out.value)

    # -- chat templates ---------------------------------------------------------------------------------------

    @property
    def chat_template(self) -> Optional[str]:
        """The model's own chat template (from its tokenizer_config.json), or None when it has none."""
        with self._guard.shared:
            text = self._fill_bytes(lambda buf, cap, out: LIB.ttt_model_chat_template(self._handle, buf, cap, out), 4096)
        return text.decode("utf-8") if text else None

    def apply_chat_template(
        self,
        messages: Sequence[dict],
        add_generation_prompt: bool = True,
        chat_template: Optional[str] = None,
        bos_token: Optional[str] = None,
        eos_token: Optional[str] = None,
        **variables: Any,
    ) -> str:
        """A conversation as prompt text, as Hugging Face's ``apply_chat_template(..., tokenize=False)``.

        ``messages`` is a list of ``{"role": ..., "content": ...}`` dicts (other keys, e.g. ``tool_calls``, reach the
        template too); the template is the model's own unless ``chat_template`` is given; ``variables`` are further
        template variables (``tools=[...]``, ``date_string="26 Jul 2024"`` ...), JSON-serialisable. Tokenize the
        result with ``parse_special=True``. Raises FormatError for a bad template (its line and column in the
        message), InvalidArgumentError when the template refuses the conversation, UnsupportedError when the model
        has no template and none is given.
        """
        return apply_chat_template(messages, chat_template, add_generation_prompt, bos_token, eos_token,
                                   _model=self, **variables)

    @staticmethod
    def _fill_bytes(call: Callable[[Any, int, Any], Any], guess: int) -> bytes:
        """Run a size-query function: try a buffer of ``guess`` bytes, then one of the size the library asked for."""
        n = c_size_t(0)
        capacity = max(guess, 1)
        for _ in range(2):
            buf = (c_char * capacity)()
            try:
                call(buf, capacity, byref(n))
                return buf.raw[: n.value]
            except BufferTooSmallError:
                if n.value < capacity:
                    raise
                capacity = n.value + 1
        raise AssertionError("unreachable")  # pragma: no cover

    # -- contexts -------------------------------------------------------------------------------------------

    def context(self, n_threads: int = 0, n_batch: int = 0, n_ctx: int = 0, kv_cache_type: str = "f16",
                activations: Optional[str] = None) -> "Context":
        """A new Context (conversation / character with its own soul) on this model (arguments: Context)."""
        from .context import Context

        return Context(self, n_threads=n_threads, n_batch=n_batch, n_ctx=n_ctx, kv_cache_type=kv_cache_type,
                       activations=activations)


def apply_chat_template(
    messages: Sequence[dict],
    chat_template: Optional[str] = None,
    add_generation_prompt: bool = True,
    bos_token: Optional[str] = None,
    eos_token: Optional[str] = None,
    _model: Optional[Model] = None,
    **variables: Any,
) -> str:
    """Render a conversation with a chat template without a model (``chat_template`` is then required).

    Same rules as :meth:`Model.apply_chat_template`; bos_token/eos_token default to "".
    """
    if _model is None and chat_template is None:
        raise TypeError("apply_chat_template needs a chat_template (or use Model.apply_chat_template)")
    messages_json = json.dumps(list(messages), ensure_ascii=False).encode("utf-8")
    params = params_init(ttt_chat_params, "ttt_chat_params_init")
    keep = []

    def text_arg(value: Optional[str]) -> Optional[bytes]:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError("chat_template, bos_token and eos_token must be str")
        if "\0" in value:
            raise ValueError("chat_template, bos_token and eos_token cannot contain NUL characters")
        b = value.encode("utf-8")
        keep.append(b)
        return b

    params.chat_template = text_arg(chat_template)
    params.bos_token = text_arg(bos_token)
    params.eos_token = text_arg(eos_token)
    params.extra_json = text_arg(json.dumps(variables, ensure_ascii=False)) if variables else None
    params.add_generation_prompt = 1 if add_generation_prompt else 0
    if _model is not None:
        with _model._guard.shared:
            out = Model._fill_bytes(
                lambda buf, cap, n: LIB.ttt_chat_apply_template(
                    _model._handle, messages_json, len(messages_json), byref(params), buf, cap, n
                ),
                4096,
            )
    else:
        out = Model._fill_bytes(
            lambda buf, cap, n: LIB.ttt_chat_apply_template(
                None, messages_json, len(messages_json), byref(params), buf, cap, n
            ),
            4096,
        )
    return out.decode("utf-8")
