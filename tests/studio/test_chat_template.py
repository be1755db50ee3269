"""Studio chat on an attention model whose checkpoint has a chat template: each turn is written in the model's own
template (the whole conversation rendered, the model fed what it has not read yet, special tokens parsed, the reply
ending at its end-of-turn token); a soul reset starts the conversation afresh. The demo model's plain format is
tested in test_api.py (test_chat_matches_generate)."""
import os

import pytest

from studio_server import Studio
from tiny_chat_model import render, write_tiny_chat_model


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("studio-template-root"))
    model = write_tiny_chat_model(os.path.join(root, "tiny-llama-chat"))
    s = Studio([root], model=model)
    yield s
    assert s.stop() == 0


def test_model_reports_its_chat_template(studio):
    m = studio.ok("GET", "/api/status")["lab"]["model"]
    assert m["loaded"] and m["chat_template"] is True and m["vocab_size"] == 1000


def test_turns_are_written_in_the_models_template(studio):
    c = studio.ok("POST", "/api/characters", {"name": "Keeper"})
    text, done = studio.chat(c["id"], "Who keeps the light?", temperature=0, max_tokens=12)
    assert done["format"] == "chat_template"
    assert done["prompt"] == render([("user", "Who keeps the light?")])
    assert done["text"] == text and done["stop_reason"] in ("eos", "max_tokens")
    # The second turn feeds only what the model has not read: the end of its reply's turn and the new user turn.
    text2, done2 = studio.chat(c["id"], "And who lights it?", temperature=0, max_tokens=12)
    assert done2["prompt"] == "<|endoftext|>\n" + render([("user", "And who lights it?")])
    assert render([("user", "Who keeps the light?"), ("assistant", text)], False) + render(
        [("user", "And who lights it?")]) == render([("user", "Who keeps the light?")]) + text + done2["prompt"]
    # Greedy replies are reproducible: a new character given the same turns says the same.
    c2 = studio.ok("POST", "/api/characters", {"name": "Twin"})
    assert studio.chat(c2["id"], "Who keeps the light?", temperature=0, max_tokens=12)[0] == text
    # After a soul reset the conversation starts again from its first turn.
    studio.ok("POST", "/api/soul/reset", {"character": c["id"]})
    text3, done3 = studio.chat(c["id"], "Who keeps the light?", temperature=0, max_tokens=12)
    assert done3["prompt"] == render([("user", "Who keeps the light?")]) and text3 == text
    # A raw prompt is still fed as it is.
    _, raw = studio.chat_raw(c["id"], "<|user|>\nhello")
    assert raw["format"] == "raw" and raw["prompt"] == "<|user|>\nhello"
    for cid in (c["id"], c2["id"]):
        studio.ok("POST", "/api/characters/delete", {"character": cid})


def test_a_turn_that_does_not_fit_the_context_is_not_half_read(studio):
    c = studio.ok("POST", "/api/characters", {"name": "Overflow"})
    # Far more tokens than the model's 512 positions: refused before the model reads any of it.
    status, text = studio.post("/api/chat", {"character": c["id"], "message": "lighthouse " * 1200})
    assert status == 200 and "event: error" in text and "does not fit" in text
    soul = studio.ok("GET", "/api/status")["lab"]["characters"]
    assert [x for x in soul if x["id"] == c["id"]][0]["position"] == 0
    # The conversation forgot the refused turn: the next one is rendered from the start.
    _, done = studio.chat(c["id"], "Who keeps the light?", temperature=0, max_tokens=4)
    assert done["prompt"] == render([("user", "Who keeps the light?")])
    studio.ok("POST", "/api/characters/delete", {"character": c["id"]})
