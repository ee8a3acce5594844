"""The OPML imported into a real feed reader: newsboat, headless, against a local server.

newsboat keeps one copy of an entry id, under the feed that last carried it, and takes any
outline's ``url`` for a feed. An OPML holding the calendars and overlapping feeds (``all``,
the statuses, the systems) imported 15 calendars that failed and left ``all`` and every
system feed empty. ``/feeds.opml`` must import only feeds, each showing every entry it has.
newsboat is a Debian package that ``.ci/run`` installs.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest
from werkzeug.serving import make_server

from app import create_app
from app.config import Settings
from tests.conftest import local_http

NEWSBOAT = shutil.which("newsboat")
if NEWSBOAT is None and os.environ.get("CI") != "true":
    pytest.skip("no newsboat on this machine", allow_module_level=True)


@pytest.fixture
def served(filled: Settings) -> Iterator[str]:
    """The app on a real local server whose documents link to where it listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    app = create_app(replace(filled, base_url=base, base_url_set=True), poll=False)
    server = make_server("127.0.0.1", port, app, threaded=True)
    # a short poll interval: shutdown() waits up to one interval
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["toldfeed"].runtime.close()


def newsboat(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """newsboat on its own files under ``home``, bounded in time."""
    assert NEWSBOAT is not None
    files = ["-u", str(home / "urls"), "-c", str(home / "cache.db"), "-C", str(home / "config")]
    return subprocess.run(
        [NEWSBOAT, *files, *args],
        env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.mark.parametrize("lang", ["", "/da"])
def test_newsboat_imports_the_opml_as_feeds_that_each_show_all_their_entries(
    served: str, tmp_path: Path, lang: str
) -> None:
    with local_http() as http:  # one for every request
        opml = tmp_path / "feeds.opml"
        opml.write_bytes(http.get(f"{served}{lang}/feeds.opml").content)
        (tmp_path / "config").write_text("", encoding="utf-8")
        newsboat(tmp_path, "-i", str(opml))
        subscribed = (tmp_path / "urls").read_text(encoding="utf-8").split()
        assert subscribed and not [u for u in subscribed if not u.startswith(served)], subscribed
        assert not [u for u in subscribed if u.endswith(".ics")]  # no calendar taken for a feed
        newsboat(tmp_path, "-x", "reload")
        with sqlite3.connect(tmp_path / "cache.db") as db:
            shown = dict(db.execute("SELECT feedurl, count(*) FROM rss_item GROUP BY feedurl"))
            guids = {guid for (guid,) in db.execute("SELECT guid FROM rss_item")}
        every = {
            e.id for e in feedparser.parse(http.get(f"{served}{lang}/feeds/all.atom").text).entries
        }
        assert guids == every  # every incident, once
        for url in subscribed:
            entries = len(feedparser.parse(http.get(url).text).entries)
            assert shown.get(url, 0) == entries, (
                f"{url}: newsboat shows {shown.get(url, 0)} of {entries}"
            )
