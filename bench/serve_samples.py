"""A stand-alone upstream for benchmarks: serves one snapshot of the bundled samples with ETags.

Run as ``python bench/serve_samples.py PORT SNAPSHOT``; it runs in its own process so that the
benchmark's CPU time counts toldfeed only. Hosts are rewritten to 127.0.0.1 / localhost.
"""

from __future__ import annotations

import hashlib
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

SAMPLES = Path(__file__).resolve().parent.parent / "app" / "samples"


def documents(port: int, name: str) -> dict[str, bytes]:
    """path?query -> body for every document of snapshot ``name``."""
    expected = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    snap = next(s for s in expected["snapshots"] if s["name"] == name)
    out = {}
    for url, file in snap["documents"].items():
        text = (SAMPLES / file).read_text(encoding="utf-8")
        text = text.replace("https://info.skat.dk", f"http://127.0.0.1:{port}")
        text = text.replace("https://rss.skat.dk", f"http://localhost:{port}")
        parts = urlsplit(url)
        out[f"{parts.path}?{parts.query}"] = text.encode("utf-8")
    return out


BUMPED = "/data.aspx?lang=us&oid=2461231&x=read"  # a detail page; /__bump adds a line to it
LISTED = "/data.aspx?lang=us&oid=2367397"  # the list page with its row; /__bump?row adds it there
MARKER = b'<div class="rteContent">'  # a message: newest update on top


def main() -> None:
    port, name = int(sys.argv[1]), sys.argv[2]
    docs = documents(port, name)
    original = dict(docs)
    bumps = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real server does

        def do_GET(self) -> None:
            if self.path in ("/__bump", "/__bump?row") and "bump" in sys.argv[3:]:
                bumps[0] += 1
                line = f"<p>Update 10:{bumps[0] % 60:02d} - bench line {bumps[0]}</p>".encode()
                docs[BUMPED] = docs[BUMPED].replace(MARKER, MARKER + line, 1)
                if self.path.endswith("?row"):  # the list row says it too, as upstream's does
                    page = docs[LISTED]
                    at = page.index(
                        MARKER, page.index(BUMPED.split("?")[1].replace("&", "&amp;").encode())
                    )
                    docs[LISTED] = page[:at] + MARKER + line + page[at + len(MARKER) :]
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/__reset" and "bump" in sys.argv[3:]:  # every bump undone
                docs.clear()
                docs.update(original)
                bumps[0] = 0
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = docs.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
