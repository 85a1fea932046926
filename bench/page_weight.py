"""The technician's test page on a phone: what loading it costs in requests and bytes on the wire.

    python bench/page_weight.py [--device-type RP]

Serves FlowTrack under gunicorn, signs in as the benchmark technician, fetches `/devices/<id>/tests/new` for one
of the large company's devices with a browser's `Accept-Encoding`, then every subresource the page names (stylesheets,
scripts, icons, images, and the `url(...)` of its stylesheets), as a browser with an empty cache would. For each
it prints the bytes transferred (headers and body as served) and, when the server did not compress it (pages,
on purpose), what gzip (level 6) would make of the body. Targets: under 60 KB transferred, at most 4 requests.
"""
from __future__ import annotations

import argparse
import gzip
import os
import re
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from _common import bench_app, seed_large_company
from pages import _cookie, _serve

TARGET_BYTES, TARGET_REQUESTS = 60_000, 4


class _Subresources(HTMLParser):
    """The URLs a browser fetches to show the page: stylesheets, icons, scripts, images."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        rels = set((attrs.get("rel") or "").lower().split())
        if tag == "link" and rels & {"stylesheet", "icon", "preload", "modulepreload"} and attrs.get("href"):
            self.urls.append(attrs["href"])
        elif tag in ("script", "img") and attrs.get("src"):
            self.urls.append(attrs["src"])


def _fetch(url: str, cookie: str) -> tuple[int, str, bytes, str]:
    """(bytes on the wire, Content-Encoding, body as sent, Content-Type). urllib does not decompress, so the body
    is what travelled."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip, deflate, br, zstd", "Cookie": cookie,
                                                   "User-Agent": "page-weight"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        head = f"HTTP/1.1 {response.status} {response.reason}\r\n{response.headers}"
        return (len(head.encode()) + len(body), response.headers.get("Content-Encoding", ""), body,
                response.headers.get("Content-Type", ""))


def _unpack(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        import brotli
        return brotli.decompress(body)
    if encoding == "zstd":
        try:
            from compression import zstd  # Python 3.14 and later
        except ImportError:
            from backports import zstd  # Flask-Compress's dependency before that
        return zstd.decompress(body)
    return gzip.decompress(body) if encoding == "gzip" else body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device-type", default="RP", help="the assembly type whose test form to load")
    args = parser.parse_args()

    import sqlalchemy as sa

    from flowtrack.models.customers import Device

    app = bench_app()
    settings = app.extensions["flowtrack.settings"]
    db = app.extensions["flowtrack.db"]
    company = seed_large_company(app)
    with db.service() as session:
        device_id = session.scalar(sa.select(Device.id).where(Device.company_id == company,
                                                              Device.device_type == args.device_type,
                                                              Device.status == "active")
                                   .order_by(Device.serial).limit(1))
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               SECRET_KEY=settings.secret_key)
    web, base = _serve("wsgi:app", env, 1)
    try:
        cookie = _cookie(app, company, "technician")
        queue, seen, rows = [f"{base}/devices/{device_id}/tests/new"], set(), []
        while queue:
            url = queue.pop(0)
            if url in seen or urlsplit(url).netloc != urlsplit(base).netloc:
                continue
            seen.add(url)
            wire, encoding, body, kind = _fetch(url, cookie)
            gzipped = None if encoding else len(gzip.compress(body, 6))
            rows.append((urlsplit(url).path, wire, encoding or "none", len(body), gzipped))
            if "html" in kind:
                found = _Subresources()
                found.feed(body.decode())
                queue += [urljoin(url, u) for u in found.urls]
            elif "css" in kind:
                text = _unpack(body, encoding).decode()
                queue += [urljoin(url, u.strip("'\"")) for u in re.findall(r"url\(([^)]+)\)", text)]
    finally:
        web.terminate()
    print(f"{'request':<58}{'on the wire':>12}{'encoding':>10}{'body':>9}{'gzip -6':>9}")
    for path, wire, encoding, size, gzipped in rows:
        gzip_column = f"{gzipped:,}" if gzipped is not None else ""
        print(f"{path:<58}{wire:12,}{encoding:>10}{size:9,}{gzip_column:>9}")
    wire_total = sum(row[1] for row in rows)
    # The app compresses only its static files: every page carries the CSRF token and some reflect what was typed
    # (search), so a compressed page invites BREACH. The last figure is what compressing the page too would save.
    gzip_total = sum(row[1] - row[3] + (row[4] if row[4] is not None else row[3]) for row in rows)
    print(f"{len(rows)} requests, {wire_total:,} bytes transferred as served (headers included); "
          f"{gzip_total:,} bytes if the page itself were gzipped too")
    print(f"targets: under {TARGET_BYTES:,} bytes and at most {TARGET_REQUESTS} requests: "
          f"bytes {'met' if wire_total < TARGET_BYTES else 'MISSED'}, "
          f"requests {'met' if len(rows) <= TARGET_REQUESTS else 'MISSED'}")


if __name__ == "__main__":
    main()
