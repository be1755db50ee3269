"""The studio page in headless Chromium: load the demo model, chat with a fixed seed (the streamed text must equal
`bit-ttt generate` for the same soul and settings), save and reload a soul, bad inputs shown as errors, sleep
with progress and wake, and a short training run whose curve updates. STUDIO_SCREENSHOTS=DIR saves one PNG of
each tab there (docs/studio-*.png are made this way)."""
import json
import os
import re
import subprocess
import time

import pytest

from cdp import Browser, find_chromium
from studio_server import BIT_TTT, DEMO_MODEL, OTHER_MODEL, REPO, SHAKESPEARE, Studio, generate

pytestmark = [
    pytest.mark.skipif(not find_chromium(), reason="chromium is not installed (Debian: apt-get install chromium)"),
    pytest.mark.skipif(not os.path.exists(DEMO_MODEL), reason="models/shakespeare-demo.bitt is missing"),
]
SHOTS = os.environ.get("STUDIO_SCREENSHOTS")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("studio-page"))


@pytest.fixture(scope="module")
def studio(root):
    s = Studio([root, os.path.join(REPO, "models")])
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def page(studio):
    b = Browser()
    b.navigate(studio.url)
    yield b
    b.close()


def shot(page, tab, name):
    if SHOTS:
        page.eval(f"showTab('{tab}')")
        time.sleep(0.3)
        page.screenshot(os.path.join(SHOTS, f"studio-{name}.png"))


def chat_turn(page, message):
    turns = int(page.eval("document.getElementById('messages').dataset.turns || '0'"))
    page.set("chat-input", message)
    page.click("chat-send")
    page.wait(f"Number(document.getElementById('messages').dataset.turns || 0) > {turns}", what="the reply")
    assert page.error() == ""
    return page.eval("document.getElementById('messages').dataset.lastReply")


def test_load_model_and_chat_like_generate(page, root):
    page.eval("showTab('lab')")
    page.set("model-path", DEMO_MODEL)
    page.click("model-load")
    page.wait("document.getElementById('model-info').textContent.includes('fingerprint')", what="the model info")
    # The parameter count `bit-ttt info` reports for the same file, as the page formats it.
    info = subprocess.run([BIT_TTT, "info", DEMO_MODEL], capture_output=True, text=True, check=True).stdout
    n_params = int(re.search(r"^parameters: (\d+)$", info, re.M).group(1))
    assert f"{n_params:,}" in page.text("model-info") or str(n_params) in page.text("model-info")

    page.eval("showTab('chat')")
    for k, v in {"seed": "5", "max_tokens": "40", "temperature": "0.8"}.items():
        page.set("set-" + k, v)
    settings = dict(seed=5, max_tokens=40, temp=0.8, stop="\nUser:")
    souls = [None]
    for i, message in enumerate(["Good morrow, my lord.", "What news from Padua?", "Farewell then."]):
        reply = chat_turn(page, message)
        assert reply == generate(f"User: {message}\nAssistant:", soul=souls[-1], **settings), f"turn {i + 1}"
        # Save the soul after each turn: the next turn must continue from exactly this soul.
        page.eval("showTab('lab')")
        page.set("soul-file", f"turn{i + 1}.soul")
        page.click("soul-saveas")
        page.wait(f"document.getElementById('soul-path').textContent.endsWith('turn{i + 1}.soul')")
        souls.append(os.path.join(root, f"turn{i + 1}.soul"))
        page.eval("showTab('chat')")
    assert "tokens/s" in page.text("chat-speed")
    shot(page, "chat", "chat")


def test_save_and_reload_soul(page):
    page.eval("showTab('lab')")
    level = int(page.text("soul-level"))
    assert level > 0
    page.click("soul-reset")
    page.wait("document.getElementById('soul-level').textContent === '0'")
    assert page.text("soul-path").endswith("turn3.soul")  # reset keeps the file
    page.click("soul-new")
    page.wait("document.getElementById('soul-path').textContent === '(not saved yet)'")
    page.set("soul-file", "turn3.soul")
    page.click("soul-load")
    page.wait(f"document.getElementById('soul-level').textContent === '{level}'", what="the reloaded soul level")
    page.click("memories-refresh")
    page.wait("document.querySelectorAll('#memories-days li').length > 0", what="the memories list")
    page.eval("document.querySelector('#memories-days li').click()")
    page.wait("document.getElementById('memories-entries').textContent.includes('Padua')")
    shot(page, "lab", "lab")


def test_characters_switch(page):
    page.eval("showTab('chat')")
    page.set("char-name", "Juliet")
    page.click("char-add")
    page.wait("document.querySelector('#char-list li.active').textContent.startsWith('Juliet')", what="Juliet active")
    assert page.eval("document.getElementById('messages').children.length") == 0  # a new conversation
    page.set("persona", "I am Juliet Capulet of Verona, thirteen years old.")
    page.click("persona-learn")
    page.wait("document.getElementById('persona-result').textContent.startsWith('learned')", what="the persona")
    chat_turn(page, "Wherefore art thou?")
    assert "Wherefore" in page.text("messages") and "Padua" not in page.text("messages")
    # Stop a long reply half-way.
    page.set("set-max_tokens", "4000")
    page.set("chat-input", "Speak on.")
    page.click("chat-send")
    page.wait("!document.getElementById('chat-stop').disabled", what="the stop button")
    page.click("chat-stop")
    page.wait("document.getElementById('chat-speed').textContent.includes('(stopped)')", what="the stopped reply")
    page.set("set-max_tokens", "40")
    # Back to the first character: its conversation and soul are where they were.
    page.eval("[...document.querySelectorAll('#char-list li')].find(li => li.textContent.startsWith('Assistant')).click()")
    page.wait("document.getElementById('messages').textContent.includes('Padua')", what="the first conversation")
    assert "Wherefore" not in page.text("messages")
    # A reloaded page shows the conversation again (the server keeps it).
    page.navigate(page.eval("location.href.split('#')[0]") + "#chat")
    page.wait("document.getElementById('messages').textContent.includes('Padua')", what="the conversation after a reload")


def test_bad_inputs_are_shown(page, root):
    page.eval("showTab('lab')")
    # A soul of another model.
    other = Studio([root, OTHER_MODEL], model=OTHER_MODEL)
    try:
        cid = other.ok("GET", "/api/status")["lab"]["characters"][0]["id"]
        other.ok("POST", "/api/soul/save", {"character": cid, "path": "other.soul"})
    finally:
        assert other.stop() == 0
    page.click("error-close")
    page.set("soul-file", "other.soul")
    page.click("soul-load")
    err = page.wait("document.getElementById('error').hidden ? '' : document.getElementById('error-text').textContent")
    assert "the soul is for" in err and "this model has" in err, err  # the check names what differs
    # A file that is not a model.
    with open(os.path.join(root, "notes.txt"), "w") as f:
        f.write("To be, or not to be.\n")
    page.click("error-close")
    page.set("model-path", "notes.txt")
    page.click("model-load")
    err = page.wait("document.getElementById('error').hidden ? '' : document.getElementById('error-text').textContent")
    assert "does not load" in err, err
    # A path outside the folders.
    page.click("error-close")
    page.set("soul-file", "/etc/passwd")
    page.click("soul-load")
    err = page.wait("document.getElementById('error').hidden ? '' : document.getElementById('error-text').textContent")
    assert "outside the folders" in err, err
    page.click("error-close")
    assert "shakespeare-demo" in page.text("model-info")  # the model stayed loaded


def test_sleep_progress_and_wake(page, studio, root):
    status = studio.ok("GET", "/api/status")
    folder = status["lab"]["characters"][0]["memories_dir"]
    with open(os.path.join(folder, "2026-01-01.jsonl"), "w") as f:
        # Enough to keep a fast machine asleep for seconds (the batched prefill learns 400 lines in well under the
        # status poll interval); the test wakes it early anyway.
        for i in range(20000):
            f.write(json.dumps({"role": "user", "text": f"Dream {i}: now is the winter of our discontent.",
                                "timestamp": "2026-01-01T00:00:00"}) + "\n")
    page.eval("showTab('sleep')")
    page.set("sleep-days", "0")
    page.click("sleep-start")
    page.wait("document.getElementById('sleep-progress').value > 0.02 && !document.getElementById('asleep-badge').hidden",
              what="sleep progress with the asleep badge shown")
    assert page.eval("document.getElementById('chat-send').disabled && document.getElementById('model-load').disabled")
    shot(page, "sleep", "sleep")
    page.eval("showTab('sleep')")
    page.click("sleep-wake")
    page.wait("document.getElementById('sleep-state').textContent.startsWith('woken')", what="woken state")
    page.wait("!document.getElementById('chat-send').disabled")
    os.remove(os.path.join(folder, "2026-01-01.jsonl"))


@pytest.mark.skipif(not os.path.exists(SHAKESPEARE), reason="../shared/data/tinyshakespeare.txt is missing")
def test_training_with_live_curve(page, root):
    with open(SHAKESPEARE, "rb") as f:
        text = f.read(200_000)
    with open(os.path.join(root, "shakespeare-slice.txt"), "wb") as f:
        f.write(text)
    page.eval("showTab('train')")
    # Pick the text file in the folder browser.
    page.eval("document.querySelector('.pick[data-target=train-files]').click()")
    page.wait("[...document.querySelectorAll('#picker-list li')].some(li => li.dataset.path === 'shakespeare-slice.txt')",
              what="the file in the picker")
    page.eval("[...document.querySelectorAll('#picker-list li')].find(li => li.dataset.path === 'shakespeare-slice.txt').click()")
    page.click("picker-done")
    assert page.eval("document.getElementById('train-files').value") == "shakespeare-slice.txt"
    page.set("vocab-size", "320")
    page.set("vocab-out", "tok.json")
    page.click("vocab-go")
    page.wait("document.getElementById('train-status').textContent.startsWith('vocab: done')", 60, "the tokenizer")
    assert page.eval("document.getElementById('data-tokenizer').value") == "tok.json"
    page.set("data-out", "data")
    page.click("data-go")
    page.wait("document.getElementById('train-status').textContent.startsWith('data: done')", 60, "the data")
    page.set("run-out", "run1")
    page.set("preset", "tiny")
    page.eval("applyPreset()")
    page.wait("document.getElementById('estimate').textContent.includes('parameters')", what="the memory estimate")
    page.eval("document.querySelector('[data-opt=steps]').value = 100000")
    page.click("train-go")
    page.wait("Number(document.getElementById('train-chart').dataset.points) >= 3", 60, "the first loss points")
    first = int(page.eval("document.getElementById('train-chart').dataset.points"))
    time.sleep(4)
    later = int(page.eval("document.getElementById('train-chart').dataset.points"))
    assert later > first, "the curve does not update"
    assert "ETA" in page.text("train-status")
    page.wait("state.trainPoints.some(p => p.val !== undefined)", 60, "a validation point")
    # The page reattaches: a reload redraws the whole curve of the running job.
    page.navigate(page.eval("location.href.split('#')[0]") + "#train")
    page.wait("Number(document.getElementById('train-chart').dataset.points) > 3", 20, "the curve after a reload")
    shot(page, "train", "train")
    page.eval("showTab('train')")
    page.click("train-stop")
    page.wait("document.getElementById('train-status').textContent.startsWith('train: stopped')", 60, "the stop")
    stopped_at = int(page.eval("state.status.training.step"))
    # Resume continues from the checkpoint written at the stop.
    page.click("train-resume")
    page.wait(f"state.status.training.running && state.status.training.step > {stopped_at}", 60, "the resumed run")
    assert "resume" in page.eval("state.status.training.description")
    page.click("train-stop")
    page.wait("document.getElementById('train-status').textContent.startsWith('train: stopped')", 60, "the second stop")
    page.click("train-export")
    page.wait("document.getElementById('train-message').textContent.startsWith('exported')", 60, "the export")
    exported = page.eval("document.getElementById('model-path').value")
    assert os.path.exists(os.path.join(root, exported))
