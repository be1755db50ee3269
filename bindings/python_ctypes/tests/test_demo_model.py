"""The trained demo model (models/shakespeare-demo.bitt): Python generates readable text, and the same token ids as
the C API (pull-style in independent contexts, streaming) and as the bit-ttt C program.

Skipped when the checkout has no demo model. About 24 tokens per run, a handful of runs: a few seconds.
"""
from __future__ import annotations

import codecs
import os
import string
import subprocess
from pathlib import Path

import pytest

import bit_ttt

from conftest import CLI, LIBRARY

DEMO = Path(__file__).resolve().parent / ".." / ".." / ".." / "models" / "shakespeare-demo.bitt"
PROMPT = "ROMEO:"
SAMPLING = dict(max_tokens=24, seed=1, temperature=0.8)

pytestmark = pytest.mark.skipif(
    not DEMO.is_file(), reason="the trained demo model is absent: no file %s" % DEMO.resolve()
)


def find_cli():
    """bit-ttt beside the library under test (BIT_TTT_LIBRARY's directory), else BIT_TTT_CLI / build/bit-ttt."""
    for candidate in (Path(LIBRARY).parent / "bit-ttt", CLI):
        if candidate.is_file() and os.access(str(candidate), os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def demo():
    with bit_ttt.Model(DEMO) as m:
        yield m


def pull(model):
    """Pull-style generation (ttt_generate_begin / ttt_generate_next) on a fresh context: (text, token ids).
    An end-of-generation token that ended it is listed but spells no text."""
    with model.context() as ctx:
        gen = ctx.generate(PROMPT, **SAMPLING)
        text = "".join(gen)
        assert gen.stop_reason in (bit_ttt.StopReason.MAX_TOKENS, bit_ttt.StopReason.EOS)
        return text, list(gen.tokens)


def spoken(model, tokens):
    """The ids that spell the text: without an end-of-generation token that ended the generation."""
    return tokens[:-1] if tokens and model.is_eog(tokens[-1]) else tokens


def test_demo_model_generates_readable_text(demo):
    info = demo.info
    assert info.vocab_size == demo.vocab_size > 0 and info.has_tokenizer
    text, tokens = pull(demo)
    assert 0 < len(tokens) <= SAMPLING["max_tokens"]
    assert all(0 <= t < demo.vocab_size for t in tokens)
    # Valid UTF-8 that the tokens spell out exactly.
    assert demo.detokenize_bytes(spoken(demo, tokens)).decode("utf-8") == text
    assert text.strip(), "nothing but whitespace was generated: %r" % text
    # Shakespeare-shaped: mostly letters, spaces and punctuation, and some real words.
    plain = sum(c in string.ascii_letters or c.isspace() or c in string.punctuation for c in text)
    letters = sum(c.isalpha() for c in text)
    assert plain >= 0.9 * len(text), "too many unusual characters: %r" % text
    assert letters >= 0.5 * len(text.replace(" ", "").replace("\n", "")), "too few letters: %r" % text
    assert any(len(w.strip(string.punctuation)) >= 3 for w in text.split()), "no word of 3+ letters: %r" % text


def test_demo_model_tokens_equal_the_c_api(demo):
    text, tokens = pull(demo)
    # An independent context with the same prompt, seed and parameters gives the same token ids.
    again_text, again_tokens = pull(demo)
    assert again_tokens == tokens and again_text == text
    # So does streaming (ttt_generate + callback), which reports the token that completed each piece of text.
    streamed, streamed_tokens = [], []

    def on_piece(piece, token):
        streamed.append(piece)
        streamed_tokens.append(token)

    with demo.context() as ctx:
        reason = ctx.stream(PROMPT, on_piece, **SAMPLING)
    assert reason in (bit_ttt.StopReason.MAX_TOKENS, bit_ttt.StopReason.EOS)
    assert "".join(streamed) == text
    decoder = codecs.getincrementaldecoder("utf-8")()
    completing = [t for t in spoken(demo, tokens) if decoder.decode(demo.token_to_piece(t))]
    assert streamed_tokens == completing


def test_demo_model_text_equals_the_c_program(demo):
    cli = find_cli()
    if cli is None:
        pytest.skip("bit-ttt is not built next to %s (set BIT_TTT_CLI)" % LIBRARY)
    args = [str(cli), "generate", "-m", str(DEMO), "-p", PROMPT, "-n", str(SAMPLING["max_tokens"])]
    args += ["--seed", str(SAMPLING["seed"]), "--temp", str(SAMPLING["temperature"])]
    r = subprocess.run(args, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    text, tokens = pull(demo)
    # bit-ttt generate prints prompt + generated text + newline; the text is what these token ids spell.
    assert r.stdout.decode("utf-8") == PROMPT + demo.detokenize(spoken(demo, tokens)) + "\n" == PROMPT + text + "\n"


UPSTREAM = Path(__file__).resolve().parent / ".." / ".." / ".." / "tests" / "data" / "models" / "shakespeare-upstream.bitt"


def test_model_info_names_the_ttt_layer_kind_and_heads(demo):
    # The demo model has the delta layer (docs/memory.md); the first demo model, kept as a fixture, upstream's.
    assert demo.info.ttt_kind == "delta"
    assert demo.info.ttt_heads >= 1 and demo.info.ttt_dim % demo.info.ttt_heads == 0
    if not UPSTREAM.is_file():
        pytest.skip("no upstream-form fixture at %s" % UPSTREAM.resolve())
    with bit_ttt.Model(UPSTREAM) as up:
        assert up.info.ttt_kind == "upstream" and up.info.ttt_heads == 1


def test_int8_activations_run_the_float_demo_model_close_to_its_own(demo):
    # The demo model was trained with float activations (act_bits 0); activations="int8" runs its ternary products
    # on int8 rows (docs/performance.md: "Int8 activations for a float model"). The logits move by the rounding of
    # the activations only: far less than a nat, and the same greedy choices on this prompt.
    tokens = demo.tokenize("ROMEO: Is the day so young?")
    with demo.context() as own, demo.context(activations="model") as model_acts, \
            demo.context(activations="int8") as int8:
        a, b, c = own.forward_all(tokens), model_acts.forward_all(tokens), int8.forward_all(tokens)
    rows = range(len(tokens))
    diffs = [max(abs(float(x) - float(y)) for x, y in zip(a[r], c[r])) for r in rows]
    if not os.environ.get("TTT_ACTIVATIONS"):
        assert all(list(a[r]) == list(b[r]) for r in rows)  # the default is the model's own activations
    assert 0.0 < max(diffs) < 0.5, diffs
    argmax = lambda row: max(range(len(row)), key=lambda i: row[i])
    assert sum(argmax(a[r]) == argmax(c[r]) for r in rows) >= len(tokens) - 1
    with pytest.raises(ValueError, match="activations"):
        demo.context(activations="int4")
