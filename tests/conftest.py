"""Shared fixtures: the bundled upstream samples served by a real local HTTP server."""

from __future__ import annotations

import gc
import hashlib
import json
import re
import shutil
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app.config import Settings
from app.store import Store
from tests.processes import forker  # noqa: F401  (a fixture)
from tests.receivers import LocalServer, receiver, receiver_server, smtp  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "app" / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: takes seconds (work or a deadline); scheduled before the others"
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is loaded by now (pytest, the app, the tests, their libraries) lives as long as
    the run: keep it out of the collector's full passes, which would otherwise walk it again
    and again (some 5 % of the run's CPU). ``toldfeed`` itself does the same after start-up."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first, each part in collection order (see the scheduler below)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# test files whose tests run on one worker, one after the other (see the scheduler below)
TOGETHER = ("tests/test_browser", "tests/test_deploy.py", "tests/test_objectstore.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """On workers (``-n``, xdist's default ``--dist load``): one test at a time to whichever
    worker is free, in the order above, so the long tests are spread over the workers and the
    short ones fill in behind them (``load`` sends fixed chunks of neighbouring tests, leaving
    one worker alone with a long test at the end); the tests of each of ``TOGETHER`` go
    together to one worker, so what they share starts once: Chromium (tests/test_browser.py),
    the Procfile's gunicorn (tests/test_deploy.py), moto and the store put whole into it
    (tests/test_objectstore.py). Another ``--dist`` is obeyed.
    """
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneTestAtATime(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((p for p in TOGETHER if nodeid.startswith(p)), nodeid)

    return OneTestAtATime(config, log)


def snapshot(name: str) -> dict[str, Any]:
    """One snapshot of expected.json."""
    return next(s for s in EXPECTED["snapshots"] if s["name"] == name)


def polled_at(name: str) -> datetime:
    """The moment a snapshot was polled, in UTC."""
    local = datetime.fromisoformat(snapshot(name)["polled_at_local"])
    from app.upstream.dates import local_to_utc

    return local_to_utc(local)


@dataclass
class Upstream:
    """A local stand-in for info.skat.dk and rss.skat.dk serving one snapshot at a time.

    ``info.skat.dk`` becomes ``127.0.0.1:<port>`` and ``rss.skat.dk`` becomes
    ``localhost:<port>`` (two host names, one server), in URLs and in every body served.
    Every document gets an ETag; ``If-None-Match`` gets a 304. ``override`` replaces the answer
    for one path+query with any handler, to inject faults. ``on_request`` sees every path+query
    before it is answered and may block: tests use it to act after a given amount of work
    (the Nth request of a poll) instead of after a guessed sleep.
    """

    server: HTTPServer
    documents: dict[str, bytes] = field(default_factory=dict)
    overrides: dict[str, Callable[[Request], Response]] = field(default_factory=dict)
    log: list[tuple[str, int]] = field(default_factory=list)
    on_request: Callable[[str], None] | None = None

    @property
    def info(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def rss(self) -> str:
        return f"http://localhost:{self.server.port}"

    def rewrite(self, text: str) -> str:
        return text.replace("https://info.skat.dk", self.info).replace(
            "https://rss.skat.dk", self.rss
        )

    def url(self, original: str) -> str:
        return self.rewrite(original)

    def load(self, name: str) -> None:
        snap = snapshot(name)
        self.documents = {}
        for url, file in snap["documents"].items():
            parts = urlsplit(url)
            body = self.rewrite((SAMPLES / file).read_text(encoding="utf-8")).encode("utf-8")
            self.documents[f"{parts.path}?{parts.query}"] = body

    def sources_toml(self, name: str, path: Path) -> Path:
        lines = []
        for src in snapshot(name)["sources"]:
            lines += [
                "[[source]]",
                f'kind = "{src["kind"]}"',
                f'url = "{self.url(src["url"])}"',
                f'lang = "{src["lang"]}"',
                "",
            ]
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def serve(self) -> None:
        """Answer every request on the server (and nothing else: earlier handlers are dropped)."""
        self.server.clear_all_handlers()
        self.server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        key = f"{request.path}?{request.query_string.decode()}"
        if self.on_request is not None:
            self.on_request(key)
        if key in self.overrides:
            response = self.overrides[key](request)
        elif key in self.documents:
            body = self.documents[key]
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == etag:
                response = Response(status=304, headers={"ETag": etag})
            else:
                ctype = (
                    "application/rss+xml; charset=utf-8"
                    if "rss" in key
                    else "text/html; charset=utf-8"
                )
                response = Response(body, status=200, headers={"ETag": etag, "Content-Type": ctype})
        else:
            response = Response("not found", status=404)
        self.log.append((key, response.status_code))
        return response


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    """A threaded local server, like a real upstream: one slow answer does not block the rest."""
    server = LocalServer(host="localhost", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def upstream(httpserver: HTTPServer) -> Iterator[Upstream]:
    """A fresh upstream per test (no snapshot loaded, no overrides, empty log)."""
    up = Upstream(httpserver)
    up.serve()
    yield up


_NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, trusts nothing: never used


def local_http(**options: Any) -> httpx.Client:
    """An httpx client for the tests' own plain-HTTP servers: a default one loads the CA bundle
    (some 20 ms each), for TLS these never speak."""
    return httpx.Client(verify=_NO_TLS, **options)


def settings_for(directory: Path, **overrides: Any) -> Settings:
    """Settings on ``directory/data`` with fast retries; keyword overrides allowed."""
    values: dict[str, Any] = dict(
        data_dir=directory / "data",
        systems=ROOT / "feeds" / "systems.toml",
        sources=ROOT / "feeds" / "sources.toml",
        backoff_seconds=0.01,
        timeout_seconds=2.0,
        base_url="http://feeds.example.test",
    )
    values.update(overrides)
    return Settings.from_env({}, **values)


@contextmanager
def store_of(settings: Settings) -> Iterator[Store]:
    """The store of ``settings`` opened on its own, for reading what a test checks.

    ``Runtime.open`` would also build an HTTP client (its TLS context loads the CA bundle,
    some 25 ms) that reading the store never uses.
    """
    store = Store.open(settings.data_dir)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings on a fresh data directory with fast retries; keyword overrides allowed."""

    def make(**overrides: Any) -> Settings:
        return settings_for(tmp_path, **overrides)

    return make


def utc(text: str) -> datetime:
    """Parse an ISO time (Z allowed) as UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(scope="session")
def filled_data_dir(make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding t1 → t2 → t3, polled through the service once per test run.

    Read-only: tests get a copy (``filled``). It is polled from the one session-wide server, so
    the port, and with it every stored URL, is the one each test's ``upstream`` serves.
    """
    from app.runtime import Runtime
    from app.service import Service

    directory = tmp_path_factory.mktemp("filled")
    up = Upstream(make_httpserver)
    up.serve()
    try:
        settings = settings_for(directory, sources=directory / "sources.toml")
        for name in ("t1", "t2", "t3"):
            up.load(name)
            up.sources_toml(name, directory / "sources.toml")
            with Runtime.open(settings) as runtime:
                report = Service(runtime, clock=lambda name=name: polled_at(name)).poll_once(
                    force=True
                )
                assert report is not None and report.ok
    finally:
        make_httpserver.clear_all_handlers()  # each test's ``upstream`` registers its own
    return settings.data_dir


@pytest.fixture(scope="session")
def live_listener() -> Iterator[socket.socket]:
    """One listening socket on 127.0.0.1 for every live server of the run (tests/test_browser.py):
    one port, so one base URL for all the documents they serve."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener


def base_url_of(listener: socket.socket) -> str:
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture(scope="session")
def live_data_dir(
    filled_data_dir: Path, live_listener: socket.socket, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The t1 → t2 → t3 store with every document rendered for the live servers' base URL, once
    per run. Read-only: each live server serves a copy. (A store served under another base URL
    renders all its documents again, which each browser test did for itself.)"""
    from app import create_app

    directory = tmp_path_factory.mktemp("live")
    shutil.copytree(filled_data_dir, directory / "data")
    settings = settings_for(
        directory,
        sources=filled_data_dir.parent / "sources.toml",  # what the t3 poll read
        base_url=base_url_of(live_listener),
    )
    app = create_app(settings, poll=False)  # renders every document for that base URL
    app.extensions["toldfeed"].runtime.close()
    return settings.data_dir


# e-mail subscriptions on; the relay is a placeholder (nothing listens on the discard port):
# each test names its own local SMTP server
SUBSCRIBED = {
    "subscriptions": "email",
    "smtp_url": "smtp://127.0.0.1:9",
    "smtp_from": "toldfeed@feeds.example.test",
}


@pytest.fixture(scope="session")
def subscribed_data_dir(filled_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The t1 → t2 → t3 store with every document rendered with e-mail subscriptions on (the
    form on the pages), once per run: what each test of subscriptions rendered for itself.
    Read-only: tests get a copy (``filled_subscribed``)."""
    from app.runtime import Runtime
    from app.service import Service

    directory = tmp_path_factory.mktemp("subscribed")
    shutil.copytree(filled_data_dir, directory / "data")
    settings = settings_for(
        directory, sources=filled_data_dir.parent / "sources.toml", **SUBSCRIBED
    )
    with Runtime.open(settings) as runtime:
        assert Service(runtime).ensure_published()
    return settings.data_dir


def copy_for_test(template: Path, upstream: Upstream, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings on a copy of the store ``template`` in ``tmp_path``, its sources served by
    ``upstream``, now serving t3 as the three polls left it (no overrides; its log is empty:
    the polls happened once, before this test)."""
    shutil.copytree(template, tmp_path / "data")
    upstream.load("t3")
    sources = upstream.sources_toml("t3", tmp_path / "sources.toml")
    return settings_for(tmp_path, sources=sources, **overrides)


@pytest.fixture
def filled(filled_data_dir: Path, upstream: Upstream, tmp_path: Path) -> Settings:
    """A copy of the t1 → t2 → t3 store for this test; returns settings on it."""
    return copy_for_test(filled_data_dir, upstream, tmp_path)


@pytest.fixture
def filled_subscribed(subscribed_data_dir: Path, upstream: Upstream, tmp_path: Path) -> Settings:
    """Like ``filled``, with e-mail subscriptions on (``SUBSCRIBED``) and its documents
    rendered so."""
    return copy_for_test(subscribed_data_dir, upstream, tmp_path, **SUBSCRIBED)


@pytest.fixture
def client(filled):
    """A test client of the app on the filled store (no background poller)."""
    from app import create_app

    app = create_app(filled, poll=False)
    yield app.test_client()
    app.extensions["toldfeed"].runtime.close()


@pytest.fixture
def closed_store(filled: Settings, make_settings, tmp_path: Path) -> Settings:
    """Settings on a store holding only the fixture's closed incidents (nothing open), its
    sources read a moment ago (so the state is known)."""
    from datetime import UTC, datetime

    from app.model import Status
    from app.runtime import Runtime
    from app.store import Batch, Store
    from app.store.records import Outcome, SourceHealth

    with Runtime.open(filled) as runtime:
        closed = [i for i in runtime.store.iter_incidents() if i.status is Status.CLOSED]
        read = {
            url: SourceHealth(
                kind=r.kind, last_success_at=datetime.now(UTC), last_outcome=Outcome.FETCHED
            )
            for url, r in runtime.store.health().items()
        }
    settings: Settings = make_settings(data_dir=tmp_path / "closed")
    store = Store(settings.data_dir)
    batch = Batch()
    for incident in closed:
        Store.stage_incident(batch, incident)
    Store.stage_generation(batch, 1, len(closed))
    Store.stage_health(batch, read)
    store.commit(batch)
    store.close()
    return settings
