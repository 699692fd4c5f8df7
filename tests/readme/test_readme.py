"""The README runs as written: every ```sh block, in order, against `serve --demo`.

Blocks fenced as ```sh are executed by bash with ``set -euo pipefail`` in one
shell, so a variable set in one block is there in the next; ```text and
```console blocks are examples and are not run. The server is started as the
README says (``voicebridge serve --demo``) in a scratch folder holding the
repository's ``samples/``; only the port differs, through ``VOICEBRIDGE_API``,
which the README reads with the default it documents.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.readme.live import REPO, clean_env, demo_server

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


def sh_blocks(markdown: str) -> list[str]:
    return [body for lang, body in FENCE.findall(markdown) if lang == "sh"]


def readme_script() -> str:
    blocks = sh_blocks((REPO / "README.md").read_text())
    parts = [f"# --- README sh block {n} ---\n{block}" for n, block in enumerate(blocks, 1)]
    return "set -euo pipefail\n" + "\n".join(parts)


def test_every_curl_in_the_readme_fails_loudly() -> None:
    """A `curl` without -f exits 0 on a 4xx/5xx answer and would hide a broken command."""
    script = "\n".join(
        line for line in readme_script().splitlines() if not line.lstrip().startswith("#")
    )
    calls = re.findall(r"\bcurl( [^\n]*)", script)
    assert len(calls) > 30
    quiet = [c for c in calls if not re.search(r" -f|-w '%\{http_code\}'", c)]
    assert not quiet, quiet


def test_readme_links_resolve_inside_the_repository() -> None:
    markdown = (REPO / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)", markdown)
    local = [t for t in targets if "://" not in t and not t.startswith("mailto:")]
    assert local, "the README links its design notes"
    for target in local:
        path = (REPO / target).resolve()
        assert path.is_relative_to(REPO), f"{target} points outside the repository"
        assert path.exists(), f"{target} does not exist"


def test_license_matches_pyproject() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'license = "Apache-2.0"' in pyproject
    assert "Apache License" in (REPO / "LICENSE").read_text()[:200]
    assert "Version 2.0" in (REPO / "LICENSE").read_text()[:200]


@pytest.mark.slow
def test_readme_walk_throughs_run_against_the_demo_server(tmp_path: Path) -> None:
    (tmp_path / "samples").symlink_to(REPO / "samples", target_is_directory=True)
    with demo_server(tmp_path) as server:
        result = subprocess.run(
            ["bash", "-c", readme_script()],
            cwd=tmp_path,
            env=clean_env(VOICEBRIDGE_API=f"{server.base}/api/v1"),
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, (
        f"a README command failed (exit {result.returncode})\n--- stdout\n{result.stdout[-6000:]}"
        f"\n--- stderr\n{result.stderr[-6000:]}\n--- server\n{server.output()[-4000:]}"
    )
    assert "the server has 65536 of" in result.stdout
