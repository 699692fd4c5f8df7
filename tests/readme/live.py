"""A real `voicebridge serve --demo`, started the README's way in a scratch folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without our settings, so the README's defaults apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VOICEBRIDGE_LOG_JSON"] = "false"
    env.update(extra)
    return env


@dataclass
class Server:
    base: str
    folder: Path
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def demo_server(folder: Path, *, wrapper: list[str] | None = None) -> Iterator[Server]:
    """``voicebridge serve --demo --port P`` with ``folder`` as the working directory."""
    port = free_port()
    log = folder / "server.log"
    command = [str(BIN / "voicebridge"), "serve", "--demo", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*(wrapper or []), *command],
            cwd=folder,
            env=clean_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", folder, process, log)
    try:
        if wrapper is None:
            _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server stopped:\n{server.output()}")
        try:
            if httpx.get(f"{server.base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the server did not get ready:\n{server.output()}")
