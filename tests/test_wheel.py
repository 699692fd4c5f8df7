"""`voicebridge migrate` from an installed wheel: migrations/ lives at the repository's root
and ships inside the package, with nothing of the source tree on the path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_an_installed_wheel_migrates_a_database(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    [wheel] = dist.glob("voicebridge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "voicebridge/migrations/env.py" in names
    assert "voicebridge/migrations/script.py.mako" in names
    if shutil.which("npm") and shutil.which("node"):
        # Building the wheel built the web app into the package.
        assert "voicebridge/web_dist/index.html" in names
        assert any(n.startswith("voicebridge/web_dist/assets/index-") for n in names)
    versions = {n for n in names if n.startswith("voicebridge/migrations/versions/2")}
    assert len(versions) == len(list((ROOT / "migrations" / "versions").glob("2*.py")))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
    )
    # The dependencies come from this environment; the package only from the wheel.
    fresh = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(fresh) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    database = tmp_path / "fresh.db"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")},
        "VOICEBRIDGE_DATABASE_URL": f"sqlite:///{database}",
        "VOICEBRIDGE_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": "",
    }
    where = subprocess.run(
        [str(python), "-c", "import voicebridge.migrations as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    ).stdout
    assert where.startswith(str(venv)), where
    done = subprocess.run(
        [str(venv / "bin" / "voicebridge"), "migrate"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    check = subprocess.run(
        [str(venv / "bin" / "voicebridge"), "migrate", "--check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stderr
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    engine.dispose()
    assert {"alembic_version", "users", "messages", "jobs"} <= tables
