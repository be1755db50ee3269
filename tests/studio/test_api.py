"""The studio's HTTP API, driven directly: chat against `bit-ttt generate`, souls, memories, sleep, locks, and
every kind of bad request (malformed bodies, wrong types, paths outside the studio's folders)."""
import json
import os
import time

import pytest

from studio_server import DEMO_MODEL, OTHER_MODEL, REPO, Studio, generate

pytestmark = pytest.mark.skipif(not os.path.exists(DEMO_MODEL), reason="models/shakespeare-demo.bitt is missing")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("studio-root"))


@pytest.fixture(scope="module")
def studio(root):
    s = Studio([root, os.path.join(REPO, "models"), os.path.join(REPO, "tests", "data", "golden")], model=DEMO_MODEL)
    yield s
    assert s.stop() == 0


def test_status_after_start(studio, root):
    s = studio.ok("GET", "/api/status")
    assert s["lab"]["model"]["loaded"] and s["lab"]["model"]["vocab_size"] == 1024
    assert [c["name"] for c in s["lab"]["characters"]] == ["Assistant"]
    assert s["roots"][0] == os.path.realpath(root)
    assert s["threads"] == 2


def test_page_is_served(studio):
    status, text = studio.get("/")
    assert status == 200 and "Bit-Llama Studio" in text
    status, text = studio.get("/app.js")
    assert status == 200 and "sseParser" in text
    assert studio.get("/nothing.js")[0] == 404


def test_chat_matches_generate(studio):
    c = studio.ok("POST", "/api/characters", {"name": "Fresh"})
    text, done = studio.chat(c["id"], "Good morrow", seed=7, max_tokens=40, temperature=0.8)
    expected = generate("User: Good morrow\nAssistant:", seed=7, max_tokens=40, temp=0.8, stop="\nUser:")
    assert text == expected and text
    assert done["format"] == "plain" and done["prompt"] == "User: Good morrow\nAssistant:"  # no chat template
    assert done["text"] == text and done["tokens"] > 0 and done["tokens_per_s"] > 0
    assert done["character"]["soul_level"] > 0
    history = studio.ok("GET", f"/api/chat/history?character={c['id']}")
    assert history["turns"] == [{"role": "user", "text": "Good morrow"}, {"role": "assistant", "text": text}]
    assert studio.get("/api/chat/history?character=x")[0] == 400
    assert studio.get("/api/chat/history?character=999")[0] == 404
    # The turn is in the character's memories.
    mem = studio.ok("GET", f"/api/memories?character={c['id']}")
    assert mem["days"] and mem["days"][0]["entries"] == 2
    day = studio.ok("GET", f"/api/memories?character={c['id']}&day={mem['days'][0]['day']}")
    assert [e["role"] for e in day["entries"]] == ["user", "assistant"]
    assert day["entries"][0]["text"] == "Good morrow" and day["entries"][1]["text"] == text
    # A malformed line is counted as skipped, as sleep skips it; the turns are still listed.
    with open(os.path.join(c["memories_dir"], mem["days"][0]["day"] + ".jsonl"), "a") as f:
        f.write("not json\n")
    day = studio.ok("GET", f"/api/memories?character={c['id']}&day={mem['days'][0]['day']}")
    assert len(day["entries"]) == 2 and day["skipped_lines"] == 1
    assert studio.get(f"/api/memories?character={c['id']}&day=1999-01-01")[0] == 404
    studio.ok("POST", "/api/characters/delete", {"character": c["id"]})


def test_soul_save_load_and_other_model(studio, root):
    c = studio.ok("POST", "/api/characters", {"name": "Keeper"})
    learned = studio.ok("POST", "/api/persona", {"character": c["id"], "text": "I am a keeper of the old castle gate."})
    assert learned["tokens"] > 0
    level = learned["character"]["soul_level"]
    saved = studio.ok("POST", "/api/soul/save", {"character": c["id"], "path": "keeper.soul"})
    assert saved["soul_path"] == os.path.join(os.path.realpath(root), "keeper.soul")
    assert studio.ok("POST", "/api/soul/reset", {"character": c["id"]})["soul_level"] == 0
    assert studio.ok("POST", "/api/soul/load", {"character": c["id"], "path": "keeper.soul"})["soul_level"] == level
    # A file that is no soul, and a missing one.
    with open(os.path.join(root, "notes.txt"), "w") as f:
        f.write("not a soul")
    status, err = studio.post("/api/soul/load", {"character": c["id"], "path": "notes.txt"})
    assert status == 422 and err["error"]["code"] == "format", err
    status, err = studio.post("/api/soul/load", {"character": c["id"], "path": "nope.soul"})
    assert status == 404
    # A soul of another model: refused with the fingerprint message, the character keeps its soul.
    other = Studio([root, OTHER_MODEL], model=OTHER_MODEL)
    try:
        oc = other.ok("GET", "/api/status")["lab"]["characters"][0]["id"]
        other.ok("POST", "/api/persona", {"character": oc, "text": "abc"})
        other.ok("POST", "/api/soul/save", {"character": oc, "path": "other.soul"})
    finally:
        assert other.stop() == 0
    status, err = studio.post("/api/soul/load", {"character": c["id"], "path": "other.soul"})
    assert status == 422 and err["error"]["code"] == "incompatible", err
    assert "model" in err["error"]["message"]
    assert studio.ok("GET", "/api/status")["lab"]["characters"][-1]["soul_level"] == level
    studio.ok("POST", "/api/characters/delete", {"character": c["id"]})


def test_paths_outside_the_folders_are_refused(studio, root):
    cid = studio.ok("GET", "/api/status")["lab"]["characters"][0]["id"]
    os.symlink("/etc", os.path.join(root, "etc-link"))
    os.symlink("/tmp/studio-outside.soul", os.path.join(root, "out.soul"))
    cases = [
        ("/api/soul/load", {"character": cid, "path": "/etc/passwd"}, 403),
        ("/api/soul/load", {"character": cid, "path": "../../../../etc/passwd"}, 403),
        ("/api/soul/load", {"character": cid, "path": "etc-link/passwd"}, 403),
        ("/api/soul/save", {"character": cid, "path": "/tmp/x.soul"}, 403),
        ("/api/soul/save", {"character": cid, "path": "etc-link/x.soul"}, 403),
        ("/api/soul/save", {"character": cid, "path": "out.soul"}, 403),  # a symlink: never written through
        ("/api/soul/save", {"character": cid, "path": "no/such/dir/x.soul"}, 404),
        ("/api/soul/save", {"character": cid, "path": ".."}, 400),
        ("/api/model/load", {"path": "/etc/hostname"}, 403),
        ("/api/train/vocab", {"inputs": ["/etc/passwd"], "out": "t.json"}, 403),
        ("/api/train/start", {"data": "..", "out": "run"}, 403),
    ]
    for path, body, expected in cases:
        status, err = studio.post(path, body)
        assert status == expected, (path, body, status, err)
        assert err["error"]["message"], err
    assert not os.path.exists("/tmp/studio-outside.soul")
    assert studio.get("/api/files?path=/")[0] == 403
    assert studio.get("/api/files?path=..")[0] == 403
    listing = studio.ok("GET", "/api/files?path=.")
    assert "etc-link" not in [e["name"] for e in listing["entries"]]  # links out of the folders are not shown


def test_malformed_requests(studio):
    cid = studio.ok("GET", "/api/status")["lab"]["characters"][0]["id"]
    raw = [
        (b"{", "application/json", 400),
        (b"[1,2]", "application/json", 400),
        (b"", "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        (b'{"character": 1}', "text/plain", 415),
        (b"x" * (2 << 20), "application/json", 413),
    ]
    for body, ctype, expected in raw:
        status, err = studio.request("POST", "/api/chat", raw=body, headers={"Content-Type": ctype})
        assert status == expected, (body[:20], status, err)
        assert isinstance(err, dict) and err["error"]["message"]
    bodies = [
        ({"message": "hi"}, 400),
        ({"character": "one", "message": "hi"}, 400),
        ({"character": 1.5, "message": "hi"}, 400),
        ({"character": cid, "message": 5}, 400),
        ({"character": cid, "message": ""}, 400),
        ({"character": cid, "message": "hi", "settings": {"temperature": -1}}, 400),
        ({"character": cid, "message": "hi", "settings": {"max_tokens": 100000}}, 400),
        ({"character": cid, "message": "hi", "settings": {"top_p": "high"}}, 400),
        ({"character": cid, "message": "hi", "settings": []}, 400),
        ({"character": 999, "message": "hi"}, 404),
    ]
    for body, expected in bodies:
        status, err = studio.post("/api/chat", body)
        assert status == expected, (body, status, err)
        assert err["error"]["message"]
    assert studio.get("/api/nothing")[0] == 404
    assert studio.get("/api/train?since=abc")[0] == 400
    assert studio.get("/api/memories?character=1&day=../../x")[0] == 400
    # Requests naming another host (DNS rebinding) or coming from another site are refused.
    assert studio.request("GET", "/api/status", headers={"Host": "evil.example:80"})[0] == 403
    status, _ = studio.request("POST", "/api/model/unload", body={}, headers={"Origin": "http://evil.example"})
    assert status == 403
    assert studio.ok("GET", "/api/status")["lab"]["model"]["loaded"]  # the server survived all of it


def test_bad_model_files(studio, root):
    with open(os.path.join(root, "fake.bitt"), "wb") as f:
        f.write(b"BITT" + b"\0" * 64)
    status, err = studio.post("/api/model/load", {"path": "fake.bitt"})
    assert status == 422, err
    status, err = studio.post("/api/model/load", {"path": "notes-missing.bitt"})
    assert status == 404
    assert studio.ok("GET", "/api/status")["lab"]["model"]["loaded"]  # the loaded model stays


def test_sleep_progress_wake_and_locks(studio, root):
    c = studio.ok("POST", "/api/characters", {"name": "Dreamer"})
    mem = studio.ok("GET", f"/api/memories?character={c['id']}")
    folder = os.path.join(os.path.realpath(root), mem["folder"])
    # Enough memories that the sleep lasts a while (several thousand tokens).
    with open(os.path.join(folder, "2026-01-01.jsonl"), "w") as f:
        for i in range(300):
            f.write(json.dumps({"role": "user", "text": f"Line {i}: the quality of mercy is not strained.", "timestamp": "2026-01-01T00:00:00"}) + "\n")
    studio.ok("POST", "/api/soul/save", {"character": c["id"], "path": "dreamer.soul"})
    sl = studio.ok("POST", "/api/sleep", {"character": c["id"], "max_days": 0})
    assert sl["running"]
    # While asleep: chat, soul and model operations are refused with a clear message.
    for path, body in [("/api/chat", {"character": c["id"], "message": "hi"}),
                       ("/api/chat", {"character": 1, "message": "hi"}),
                       ("/api/soul/reset", {"character": c["id"]}),
                       ("/api/model/load", {"path": DEMO_MODEL}),
                       ("/api/model/unload", {}),
                       ("/api/sleep", {"character": c["id"]})]:
        status, err = studio.post(path, body)
        assert status == 409 and "asleep" in err["error"]["message"], (path, status, err)
    studio.wait("/api/sleep", "progress", lambda p: p > 0.05)
    studio.ok("POST", "/api/wake", {})
    s = studio.wait("/api/sleep", "running", lambda r: not r)
    assert s["state"] == "woken" and 0 < s["tokens"], s
    assert studio.post("/api/wake", {})[0] == 409
    # A complete sleep on a small memory saves the soul (autosave).
    os.remove(os.path.join(folder, "2026-01-01.jsonl"))
    with open(os.path.join(folder, "2026-01-02.jsonl"), "w") as f:
        f.write(json.dumps({"role": "user", "text": "Short dream.", "timestamp": "2026-01-02T00:00:00"}) + "\n")
    before = os.path.getmtime(os.path.join(root, "dreamer.soul"))
    time.sleep(0.01)
    studio.ok("POST", "/api/sleep", {"character": c["id"], "max_days": 0})
    s = studio.wait("/api/sleep", "running", lambda r: not r)
    assert s["state"] == "done" and s["progress"] == 1 and "saved" in s["message"], s
    assert os.path.getmtime(os.path.join(root, "dreamer.soul")) > before
    studio.ok("POST", "/api/characters/delete", {"character": c["id"]})


def test_busy_character_and_stop(studio):
    import threading
    c = studio.ok("POST", "/api/characters", {"name": "Talker"})
    result = {}
    t = threading.Thread(target=lambda: result.update(r=studio.chat(c["id"], "Speak", max_tokens=4000, seed=3)))
    t.start()
    deadline = time.time() + 20
    while not studio.ok("GET", "/api/status")["lab"]["characters"][-1]["busy"]:
        assert time.time() < deadline
        time.sleep(0.02)
    status, err = studio.post("/api/chat", {"character": c["id"], "message": "again"})
    assert status == 409 and "busy" in err["error"]["message"]
    studio.ok("POST", "/api/chat/stop", {"character": c["id"]})
    t.join(30)
    text, done = result["r"]
    assert done["stop_reason"] in ("stopped", "eos", "stop_string"), done
    studio.ok("POST", "/api/characters/delete", {"character": c["id"]})


def test_training_options_are_checked(studio, root):
    est = studio.ok("POST", "/api/train/estimate", {"options": {"dim": 256, "layers": 4, "intermediate_dim": 1024}, "vocab_size": 1024})
    assert est["params"] == 3803392  # the demo model's parameter count (models/README.md)
    status, err = studio.post("/api/train/start", {"data": ".", "out": "run", "options": {"dim": 3}})
    assert status == 400 and "dim" in err["error"]["message"]
    status, err = studio.post("/api/train/start", {"data": ".", "out": "run", "options": {"steps": 10}})
    assert status == 200, err  # the folder is checked by the trainer on its thread
    s = studio.wait("/api/train", None, lambda d: not d["running"])
    assert s["state"] in ("failed",) and s["message"], s  # no train.u32 in the folder: a clear message
    assert studio.post("/api/train/stop", {})[0] == 409


def test_convert_and_characters_on_one_model(studio, root):
    out = studio.ok("POST", "/api/model/convert", {"input": DEMO_MODEL, "output": "demo-dir"})
    assert out["output"] == "demo-dir" and os.path.exists(os.path.join(root, "demo-dir", "config.json"))
    out = studio.ok("POST", "/api/model/convert", {"input": "demo-dir", "output": "demo-again.bitt"})
    with open(os.path.join(root, "demo-again.bitt"), "rb") as a, open(DEMO_MODEL, "rb") as b:
        again, demo = a.read(), b.read()

    def body(data):  # the safetensors body after "BITT" | u64 header length | header
        return data[12 + int.from_bytes(data[4:12], "little"):]

    # directory -> .bitt gives back the same weights, byte for byte; the header is now .bitt v3 (with its header
    # checksum), the committed demo file v2 (docs/formats.md 4.3)
    assert body(again) == body(demo)
    assert b'"format_version":3' in again[:200] and b'"header_crc32c"' in again[: 12 + len(again) - len(body(again))]
    status, err = studio.post("/api/model/convert", {"input": "notes.txt", "output": "x.bitt"})
    assert status == 422 and err["error"]["message"], err
    # Two characters on one model have their own souls: a persona learned by one leaves the other's alone.
    a = studio.ok("POST", "/api/characters", {"name": "Romeo"})
    b = studio.ok("POST", "/api/characters", {"name": "Juliet"})
    assert studio.post("/api/characters", {"name": "Juliet"})[0] == 409
    studio.ok("POST", "/api/persona", {"character": a["id"], "text": "Romeo, a young man of Verona."})
    chars = {c["name"]: c for c in studio.ok("GET", "/api/status")["lab"]["characters"]}
    assert chars["Romeo"]["soul_level"] > 0 and chars["Juliet"]["soul_level"] == 0
    assert chars["Romeo"]["memories_dir"] != chars["Juliet"]["memories_dir"]
    for c in (a, b):
        studio.ok("POST", "/api/characters/delete", {"character": c["id"]})
    assert studio.post("/api/characters/delete", {"character": a["id"]})[0] == 404


def test_new_root_gets_memories_folder(tmp_path):
    """Characters and model loads create the memories folders they need, in a root that has none."""
    s = Studio([str(tmp_path), os.path.join(REPO, "models")])
    try:
        status, err = s.post("/api/characters", {"name": "Early"})
        assert status == 409 and "load a model" in err["error"]["message"]
        loaded = s.ok("POST", "/api/model/load", {"path": DEMO_MODEL, "character": "Narrator"})
        assert loaded["character"]["name"] == "Narrator"
        assert loaded["character"]["memories_dir"] == os.path.join(os.path.realpath(tmp_path), "memories")
        c = s.ok("POST", "/api/characters", {"name": "Lady M."})
        assert c["memories_dir"] == os.path.join(os.path.realpath(tmp_path), "memories", "Lady_M_")
        s.ok("POST", "/api/model/unload", {})
        assert s.ok("GET", "/api/status")["lab"] == {"model": {"loaded": False}, "characters": [],
                                                      "sleep": s.ok("GET", "/api/sleep")}
    finally:
        assert s.stop() == 0


def test_random_bodies_never_break_the_server(tmp_path):
    """Every POST route gets a few hundred bodies of random shapes (seeded): each answer is JSON with a clear
    status, and the server is still there at the end."""
    import random
    s = Studio([str(tmp_path), os.path.join(REPO, "models")], model=DEMO_MODEL)
    routes = ["/api/model/load", "/api/model/convert", "/api/characters", "/api/characters/delete",
              "/api/soul/reset", "/api/soul/save", "/api/soul/load", "/api/persona", "/api/chat", "/api/chat/stop",
              "/api/sleep", "/api/wake", "/api/train/vocab", "/api/train/data", "/api/train/start",
              "/api/train/stop", "/api/train/estimate", "/api/train/export", "/api/model/unload"]
    values = [None, -1, 0, 1, 2, 2 ** 63, -2 ** 70, 1.5, 1e308, True, "", "1", "\u0000", "x" * 5000, "../x", "/", ".",
              "memories", "shakespeare-demo.bitt", [], ["a"], [1, 2], {}, {"a": {"b": []}}]
    keys = ["character", "path", "text", "message", "name", "input", "output", "inputs", "out", "data", "tokenizer",
            "vocab_size", "settings", "options", "force", "max_days", "autosave", "resume", "memories", "val_fraction"]
    rng = random.Random(19)
    allowed = {200, 400, 403, 404, 409, 415, 422}
    try:
        for i in range(400):
            route = routes[i % len(routes)]
            body = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(0, 6))}
            if rng.random() < 0.3 and "settings" in body:
                body["settings"] = {"max_tokens": rng.choice([1, 5, -3, "x"]), "temperature": rng.choice([0, 2, -1])}
            status, data = s.post(route, body)
            assert status in allowed, (route, body, status, data)
            if status != 200:
                assert isinstance(data, dict) and data["error"]["message"], (route, body, data)
            elif route == "/api/sleep":
                s.wait("/api/sleep", "running", lambda r: not r)
        assert s.ok("GET", "/api/status")["version"]
    finally:
        assert s.stop() == 0


def test_soul_of_same_shape_other_weights_needs_force(tmp_path):
    """The fingerprint check: a soul of a model with the same dimensions but other weights is refused with a
    message that says so, and loads with force."""
    s = Studio([str(tmp_path)], model=OTHER_MODEL)
    try:
        cid = s.ok("GET", "/api/status")["lab"]["characters"][0]["id"]
        s.ok("POST", "/api/persona", {"character": cid, "text": "abc abc"})
        level = s.ok("POST", "/api/soul/save", {"character": cid, "path": "a.soul"})["soul_level"]
        bf16 = os.path.join(os.path.dirname(OTHER_MODEL), "d12_v37_l3_bf16")
        cid = s.ok("POST", "/api/model/load", {"path": bf16})["character"]["id"]
        status, err = s.post("/api/soul/load", {"character": cid, "path": "a.soul"})
        assert status == 422 and err["error"]["code"] == "incompatible", err
        assert "fingerprint" in err["error"]["message"] or "weights" in err["error"]["message"], err
        assert s.ok("POST", "/api/soul/load", {"character": cid, "path": "a.soul", "force": True})["soul_level"] == level
    finally:
        assert s.stop() == 0
