from __future__ import annotations

import zipfile
from pathlib import Path

from typer.testing import CliRunner

from voicebridge.cli import app


def test_verify_cli_rejects_a_non_bundle(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("audio/x.opus", b"x")
    result = CliRunner().invoke(app, ["storybox", "verify", str(empty)])
    assert result.exit_code == 1
    assert "manifest" in result.output
