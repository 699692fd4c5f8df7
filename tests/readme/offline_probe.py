"""Run inside a network namespace with only loopback: fetch /docs and /redoc and
every asset their HTML references, and fail on any reference that leaves the
server. Prints one JSON line. Usage: python offline_probe.py BASE"""

from __future__ import annotations

import json
import re
import sys
import time
from urllib.parse import urljoin, urlparse

import httpx


def main(base: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("server not ready")
        time.sleep(0.3)
    fetched: dict[str, int] = {}
    for page in ("/docs", "/redoc"):
        html = httpx.get(base + page).text
        refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        refs += re.findall(r"""url:\s*['"]([^'"]+)['"]""", html)
        refs += re.findall(r"""spec-url=["']([^"']+)["']""", html)
        for ref in refs:
            url = urljoin(base + page, ref)
            if urlparse(url).netloc != urlparse(base).netloc:
                raise SystemExit(f"{page} references {ref}, which is not on this server")
            fetched[url] = httpx.get(url).status_code
    print(json.dumps({"fetched": fetched}))  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1])
