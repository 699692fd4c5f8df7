"""Build configuration that pyproject.toml cannot express on its own.

Alembic's environment lives at the repository's root in ``migrations/`` (where
operators and reviewers look for it) and ships inside the package as
``voicebridge.migrations``, so ``voicebridge migrate`` works from a wheel.

The browser app's TypeScript lives in ``web/``; building the package (``pip
install -e .``, ``python -m build``) runs ``npm ci && npm run build`` there,
which writes ``src/voicebridge/web_dist/`` (package data, never committed). A
stamp of the sources' hash skips the build when nothing changed. Without Node
the install prints a plain warning and the API works without the app;
``VOICEBRIDGE_SKIP_WEB_BUILD=1`` skips the build on purpose.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
DIST = ROOT / "src" / "voicebridge" / "web_dist"
STAMP = DIST / ".source-hash"
_SOURCES = ("package.json", "package-lock.json", "index.html", "vite.config.ts", "tsconfig.json")


def _warn(message: str) -> None:
    line = "=" * 72
    sys.stderr.write(f"\n{line}\nWARNING: {message}\n{line}\n\n")
    sys.stderr.flush()


def _source_hash() -> str:
    digest = hashlib.sha256()
    files = [WEB / name for name in _SOURCES]
    for folder in ("src", "public"):
        files += sorted(p for p in (WEB / folder).rglob("*") if p.is_file())
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(WEB)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_web() -> None:
    if os.environ.get("VOICEBRIDGE_SKIP_WEB_BUILD"):
        return
    if not (WEB / "package.json").is_file():
        return  # an sdist or checkout without the app's sources: ship what is there
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        _warn(
            "Node.js and npm were not found, so the web app was not built. The API works "
            "without it; install Node 20+ and npm, then run `pip install -e .` again to get "
            "the app at http://127.0.0.1:8000/."
        )
        return
    wanted = _source_hash()
    if STAMP.is_file() and STAMP.read_text() == wanted and (DIST / "index.html").is_file():
        return
    lock = hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()
    installed = WEB / "node_modules" / ".voicebridge-lock-hash"
    try:
        # `npm ci` starts from nothing each time; skip it when the lockfile did not change.
        if not installed.is_file() or installed.read_text() != lock:
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
            installed.write_text(lock)
        subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    except subprocess.CalledProcessError as exc:
        _warn(f"building the web app failed ({exc}); the API works without it.")
        return
    STAMP.write_text(wanted)


class BuildWithWeb(build_py):
    def run(self) -> None:
        build_web()
        super().run()


setup(
    package_dir={"": "src", "voicebridge.migrations": "migrations"},
    packages=[
        *find_namespace_packages(
            "src", include=["voicebridge*"], exclude=["*.__pycache__", "voicebridge.web_dist*"]
        ),
        "voicebridge.migrations",
        "voicebridge.migrations.versions",
    ],
    cmdclass={"build_py": BuildWithWeb},
)
