"""Starts `bit-ttt studio` on a free port for the tests and talks to its HTTP API with http.client."""
import http.client
import json
import os
import socket
import subprocess
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIT_TTT = os.environ.get("BIT_TTT", os.path.join(REPO, "build", "bit-ttt"))
DEMO_MODEL = os.path.join(REPO, "models", "shakespeare-demo.bitt")
OTHER_MODEL = os.path.join(REPO, "tests", "data", "golden", "d12_v37_l3")  # another model, with a tokenizer
SHAKESPEARE = os.path.abspath(os.path.join(REPO, "..", "shared", "data", "tinyshakespeare.txt"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Studio:
    def __init__(self, roots, model=None, threads=2):
        self.port = free_port()
        args = [BIT_TTT, "studio", "--port", str(self.port), "--threads", str(threads), "--root", *roots]
        if model:
            args += ["--model", model]
        self.log = open(os.path.join(roots[0], "studio.log"), "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                self.get("/api/status")
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("the studio did not start; see " + self.log.name)
                time.sleep(0.1)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def request(self, method, path, body=None, headers=None, raw=None):
        """Returns (status, parsed JSON or text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        conn.close()
        if r.getheader("Content-Type", "").startswith("application/json"):
            return r.status, json.loads(text)
        return r.status, text

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body):
        return self.request("POST", path, body)

    def ok(self, method, path, body=None):
        status, data = self.request(method, path, body)
        assert status == 200, (status, data)
        return data

    def chat(self, character, message, **settings):
        """Returns (text from the streamed pieces, the done event)."""
        return self._chat({"character": character, "message": message, "settings": settings})

    def chat_raw(self, character, prompt, **settings):
        """The same with the prompt fed as it is (no chat format)."""
        return self._chat({"character": character, "message": prompt, "raw": True, "settings": settings})

    def _chat(self, body):
        status, text = self.post("/api/chat", body)
        assert status == 200, (status, text)
        pieces, done = [], None
        for block in text.split("\n\n"):
            if not block.strip():
                continue
            event, data = "message", ""
            for line in block.split("\n"):
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data += line[6:]
            payload = json.loads(data)
            if event == "message":
                pieces.append(payload["text"])
            elif event == "done":
                done = payload
            else:
                raise AssertionError(payload)
        return "".join(pieces), done

    def wait(self, path, key, until, timeout=60):
        deadline = time.time() + timeout
        while True:
            data = self.ok("GET", path)
            if until(data[key] if key else data):
                return data
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting on {path}: {data}")
            time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.log.close()
        return self.proc.returncode


def generate(prompt, soul=None, **opts):
    """What `bit-ttt generate` writes after the prompt for the same settings."""
    args = [BIT_TTT, "generate", "-m", DEMO_MODEL, "-p", prompt]
    for k, v in opts.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    if soul:
        args += ["--soul", soul]
    out = subprocess.run(args, check=True, capture_output=True).stdout.decode()
    assert out.startswith(prompt)
    return out[len(prompt):-1]  # generate ends with a newline
