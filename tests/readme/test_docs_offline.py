"""/docs and /redoc work with the network cut off: every asset comes from this server.

The server runs in a fresh network namespace (``unshare -n``) with only
loopback up, started the README's way; the probe fetches both pages and every
script, style sheet, icon and the OpenAPI document they reference, and refuses
any reference to another host. Where Chromium is installed it also renders
/docs headless in the same namespace and the page must show the operations.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme.live import BIN, clean_env, free_port

HERE = Path(__file__).parent


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return probe.returncode == 0


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(not _can_unshare(), reason="needs unshare -n (a network namespace)")
def test_docs_render_with_the_network_cut_off(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    browser = _chromium()
    render = ""
    if browser:
        render = (
            f"timeout 60 {browser} --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
            f"--user-data-dir={tmp_path}/chromium --virtual-time-budget=15000 "
            f"--dump-dom {base}/docs > {tmp_path}/dom.html 2>/dev/null || true"
        )
    script = f"""
set -euo pipefail
ip link set lo up
{BIN}/voicebridge serve --demo --port {port} > {tmp_path}/server.log 2>&1 &
trap 'kill %1' EXIT
{sys.executable} {HERE / "offline_probe.py"} {base}
{render}
"""
    result = subprocess.run(
        ["unshare", "-n", "bash", "-c", script],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = (tmp_path / "server.log").read_text() if (tmp_path / "server.log").exists() else ""
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{log[-3000:]}"
    fetched = json.loads(result.stdout.strip().splitlines()[-1])["fetched"]
    assert all(status == 200 for status in fetched.values()), fetched
    names = " ".join(fetched)
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "openapi.json"):
        assert asset in names, fetched
    if browser:
        dom = (tmp_path / "dom.html").read_text(errors="replace")
        assert "opblock" in dom, dom[:2000]
        assert "/api/v1/auth/login" in dom
