"""The browser app, served at ``/`` from the files Vite built into ``web_dist/``.

Caching follows what changes: files under ``/assets/`` carry a content hash in
their name, so a phone on metered data keeps them for a year; the HTML shell,
the service worker and the manifest are revalidated on every visit, so a new
release reaches everyone at their next open. Client-side routes (``/parent/...``,
``/kiosk/...``, ``/console/...``) answer the shell and let the app route; the
API, the documentation and the operations endpoints never do.

The Content-Security-Policy allows only this origin: no inline script, no
eval, no third-party host (the app ships everything it uses), blob: media for
listening back to a recording that is still on the phone, and the object
store's own host when it is S3: playback answers with a presigned redirect
there (the bucket's CORS must allow the app's origin; SeaweedFS does by default).
"""

from __future__ import annotations

import gzip
import mimetypes
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Response
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from voicebridge.storage.base import ObjectStore

DIST = Path(__file__).parent / "web_dist"
CLIENT_ROOTS = ("parent", "kiosk", "console")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def csp(audio_origins: Sequence[str] = ()) -> str:
    """The policy; ``audio_origins`` is the object store a playback redirect leads to
    (an S3 store answers ``/audio`` with a presigned URL on its own host, which the
    app fetches and plays), and nothing else is ever added."""
    extra = "".join(f" {origin}" for origin in audio_origins)
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            f"media-src 'self' blob:{extra}",
            f"connect-src 'self'{extra}",
            "worker-src 'self'",
            "manifest-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def security_headers(audio_origins: Sequence[str] = ()) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp(audio_origins),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # The recorder needs the microphone on this origin; nothing else does.
        "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    }


CSP = csp()
SECURITY_HEADERS = security_headers()


def store_origin(store: ObjectStore) -> str | None:
    """Where the store's presigned playback URLs point (scheme://host[:port]), if anywhere."""
    url = store.presigned_get_url("playable/origin-probe.opus", 60)
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


# Files at the root of the build that must not be cached for long.
_ROOT_FILES = ("sw.js", "manifest.webmanifest", "icon.svg", "icon-192.png", "icon-512.png")

mimetypes.add_type("application/manifest+json", ".webmanifest")


class _HashedAssets(StaticFiles):
    """Hashed files, sent gzipped when the phone accepts it (a metered connection pays per byte)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        accepted = dict(scope["headers"]).get(b"accept-encoding", b"")
        packed = Path(str(self.directory)) / f"{path}.gz"
        if b"gzip" in accepted and path.endswith(_PACKED) and packed.is_file():
            response = await super().get_response(f"{path}.gz", scope)
            if response.status_code == 200:
                kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
                charset = "; charset=utf-8" if kind.startswith("text/") else ""
                response.headers["Content-Type"] = kind + charset
                response.headers["Content-Encoding"] = "gzip"
        else:
            response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
            response.headers["Vary"] = "Accept-Encoding"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


_PACKED = (".js", ".css", ".svg", ".json")


def precompress(assets: Path) -> None:
    """Writes ``name.gz`` beside each text asset once; a read-only install serves them plain."""
    for file in assets.glob("*"):
        packed = file.with_name(f"{file.name}.gz")
        if file.suffix not in _PACKED or packed.exists():
            continue
        try:
            packed.write_bytes(gzip.compress(file.read_bytes(), 9, mtime=0))
        except OSError:
            return


def built(dist: Path = DIST) -> bool:
    return (dist / "index.html").is_file()


def install(app: FastAPI, dist: Path = DIST, store: ObjectStore | None = None) -> None:
    """Serve the app when it was built; without it the API works alone."""
    if not built(dist):
        return
    origin = store_origin(store) if store is not None else None
    headers = security_headers([origin] if origin else [])
    precompress(dist / "assets")
    app.mount("/assets", _HashedAssets(directory=dist / "assets", check_dir=False), name="assets")

    def shell() -> Response:
        return FileResponse(
            dist / "index.html",
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": REVALIDATE, **headers},
        )

    for name in _ROOT_FILES:
        if (dist / name).is_file():

            def root_file(file: Path = dist / name) -> Response:
                headers = {"Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff"}
                if file.name == "sw.js":
                    headers["Service-Worker-Allowed"] = "/"
                return FileResponse(file, headers=headers)

            app.add_api_route(
                f"/{name}", root_file, methods=["GET", "HEAD"], include_in_schema=False
            )

    app.add_api_route("/", shell, methods=["GET", "HEAD"], include_in_schema=False)

    def client_route(rest: str) -> Response:
        return shell()

    for root in CLIENT_ROOTS:
        app.add_api_route(f"/{root}", shell, methods=["GET", "HEAD"], include_in_schema=False)
        app.add_api_route(
            f"/{root}/{{rest:path}}", client_route, methods=["GET", "HEAD"], include_in_schema=False
        )
