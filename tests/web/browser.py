"""A real VoiceBridge (`voicebridge serve --demo`) and Debian's Chromium with a fake microphone.

The server runs as a subprocess on the embedded default (SQLite and a local
object directory, exactly what `serve --demo` gives a new user), on loopback.
Chromium's fake capture device plays a real speech recording (the demo's
samples/hello.m4a, decoded to WAV) in a loop, so MediaRecorder records speech.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from voicebridge.demo import SCHOOL_NAME

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
DIST = ROOT / "src" / "voicebridge" / "web_dist" / "index.html"


def speech_wav(target: Path) -> Path:
    """samples/hello.m4a as 48 kHz mono 16-bit WAV, the format Chromium's fake mic reads."""
    import av

    pcm = []
    with av.open(str(ROOT / "samples" / "hello.m4a")) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                pcm.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(pcm).astype(np.int16)
    with wave.open(str(target), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(samples.tobytes())
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Demo:
    base: str
    device_token: str
    children: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (id, pin)
    box_id: str = ""
    process: subprocess.Popen[bytes] | None = None
    out: Path | None = None
    data_dir: Path | None = None

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def stop(self, grace: float = 120) -> None:
        """SIGTERM, as a service manager stops it: open streams end with `stream.end` at once;
        the server then finishes its requests and lets the in-process worker finish its job
        (up to 30 s, longer on a loaded machine). After ``grace`` seconds it is killed, as a
        service manager would."""
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def start(self) -> None:
        """The same server again: same port, same data directory (database, objects, keys)."""
        assert self.process is not None
        assert self.process.poll() is not None, "stop() first"
        assert self.data_dir is not None
        assert self.out is not None
        self.process = _launch(self.data_dir, self.port, self.out)

    def sms_code(self, phone: str, timeout: float = 60) -> str:
        """The code the development SMS backend wrote to the server's log for ``phone``."""
        assert self.out is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in reversed(self.out.read_text(errors="replace").splitlines()):
                if "SMS (log backend)" not in line:
                    continue
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    found = re.search(r"(?<!\d)(\d{6})(?!\d)", record.get("text", ""))
                    if record.get("to") == phone and found:
                        return found.group(1)
            time.sleep(0.5)
        raise AssertionError(f"no SMS code for {phone} in the server log")

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=headers, timeout=30)

    def token(self, login: str, password: str = "demo-password") -> str:
        with self.api() as api:
            answer = api.post("/auth/login", json={"login": login, "password": password})
            answer.raise_for_status()
            return str(answer.json()["access_token"])

    def json(self, method: str, path: str, token: str, **kwargs: Any) -> Any:
        with self.api(token) as api:
            answer = api.request(method, path, **kwargs)
            assert answer.status_code < 400, answer.text
            return answer.json() if answer.content else None


def _launch(data_dir: Path, port: int, out: Path) -> subprocess.Popen[bytes]:
    """`voicebridge serve --demo` on ``port`` over ``data_dir``, ready when this returns."""
    env = {**os.environ, "VOICEBRIDGE_DATA_DIR": str(data_dir), "VOICEBRIDGE_LOG_LEVEL": "info"}
    env.pop("VOICEBRIDGE_DATABASE_URL", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "voicebridge"), "serve", "--demo", "--port", str(port)],
        stdout=out.open("ab"),  # a restart appends: the SMS codes and demo lines stay readable
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 420  # a loaded CI machine seeds the demo slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voicebridge serve exited: {out.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError("voicebridge serve did not become ready")


def start_demo(data_dir: Path) -> Demo:
    port = free_port()
    out = data_dir.parent / "serve.out"
    process = _launch(data_dir, port, out)
    text = out.read_text()
    token = re.search(r"X-Device-Token\): (\S+)", text)
    box = re.search(r"Story box for Grade 3: (\S+)", text)
    assert token is not None, text
    assert box is not None, text
    demo = Demo(
        base=f"http://127.0.0.1:{port}",
        device_token=token.group(1),
        box_id=box.group(1),
        process=process,
        out=out,
        data_dir=data_dir,
    )
    for name, pin, child_id in re.findall(r"child (\w+) \w+ +Grade \d +PIN (\d+) +id (\S+)", text):
        demo.children[name] = (child_id, pin)
    _always_listening(demo)
    return demo


def _always_listening(demo: Demo) -> None:
    """The demo school listens 18:30-19:30 on weekdays; the journeys run at any hour."""
    admin = demo.token("admin@demo.voicebridge")
    school = demo_school(demo, admin)
    hours = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]
    demo.json("PATCH", f"/schools/{school['id']}", admin, json={"listening_hours": hours})


def demo_school(demo: Demo, admin: str) -> dict[str, Any]:
    """The demo's own school; an admin journey may have opened others beside it."""
    [school] = [s for s in demo.json("GET", "/schools", admin) if s["name"] == SCHOOL_NAME]
    return dict(school)


def new_phone() -> str:
    return "+86136" + str(uuid.uuid4().int)[:8]
