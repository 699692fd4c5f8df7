"""The web app's typed API client is generated from this server's OpenAPI document.

If a route or a schema changes and `web/scripts/gen-api.sh` was not run, the
committed web/src/lib/api/schema.d.ts no longer matches and this fails, so the
app cannot drift from the API it calls.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
GENERATOR = WEB / "node_modules" / ".bin" / "openapi-typescript"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_committed_client_matches_the_api(tmp_path: Path) -> None:
    if not GENERATOR.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    # A fresh process: tests register extra upload purposes that would show in the document.
    document = tmp_path / "openapi.json"
    with document.open("wb") as out:
        subprocess.run(
            [str(Path(sys.executable).parent / "voicebridge"), "openapi"], stdout=out, check=True
        )
    fresh = tmp_path / "schema.d.ts"
    subprocess.run(
        [str(GENERATOR), str(document), "-o", str(fresh)],
        cwd=WEB,
        check=True,
        capture_output=True,
    )
    committed = (WEB / "src" / "lib" / "api" / "schema.d.ts").read_text()
    assert fresh.read_text() == committed, (
        "web/src/lib/api/schema.d.ts is stale: run `sh web/scripts/gen-api.sh` and commit it"
    )
