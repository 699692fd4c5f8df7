"""The web app's typed API client is generated from this server's OpenAPI document.

If a route or a schema changes and `web/scripts/gen-api.sh` was not run, the
committed web/src/lib/api/schema.d.ts no longer matches and this fails, so the
app cannot drift from the API it calls.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from voicebridge.app import create_app
from voicebridge.config import Settings

WEB = Path(__file__).resolve().parents[2] / "web"
GENERATOR = WEB / "node_modules" / ".bin" / "openapi-typescript"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_committed_client_matches_the_api(tmp_path: Path) -> None:
    if not GENERATOR.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    document = tmp_path / "openapi.json"
    spec = create_app(Settings(data_dir=tmp_path / "data")).openapi()
    document.write_text(json.dumps(spec, indent=1, sort_keys=True, ensure_ascii=False))
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
