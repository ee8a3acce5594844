"""Publishing to S3-compatible object storage, against a real S3-protocol server on 127.0.0.1.

moto's S3 app is served for the whole session; every test gets its own bucket. toldfeed talks
to it through ``S3Front``, a layer in front of it that logs every request (so PUTs are counted
where they arrive, not where they are sent), answers 503 while it is told to, and 403 to a
request signed with an access key it does not know (moto takes any). The ``admin`` client
reaches moto on a server of its own: what it does is neither counted nor failed.
"""

from __future__ import annotations

import functools
import hashlib
import io
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest
from werkzeug import Response
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.cli import main
from app.cli.export import export_all
from app.config import S3Target, Settings, parse_s3_target
from app.errors import ConfigError
from app.model import Status, Window
from app.publish.bucket import RemoteObject
from app.publish.upload_plan import Freshness, Wanted, plan_uploads
from app.runtime import Runtime
from app.service import Service
from app.store import Batch, Store
from app.store.records import PublishStatus, UploadRecord
from app.store.rendered import Document
from tests.conftest import Upstream, copy_for_test, polled_at, settings_for
from tests.receivers import free_port

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PREFIX = "cdn/"
# they link to the others
PAGES = (
    "index.html",
    "da/index.html",
    "feeds.opml",
    "feeds/systems.opml",
    "da/feeds.opml",
    "da/feeds/systems.opml",
)


KNOWN_KEY = "testing"  # the one access key id S3Front takes, as AWS takes only real ones
BAD_KEY = b"<Error><Code>InvalidAccessKeyId</Code><Message>no such key</Message></Error>"
UNAVAILABLE = b"<Error><Code>ServiceUnavailable</Code><Message>later</Message></Error>"


class S3Front:
    """In front of moto's S3 app: logs ``(method, path)``; answers 503 while ``down`` (or for
    the next ``fail_next`` requests, or once ``up_for`` more requests have passed), and 403
    ``InvalidAccessKeyId`` to a request not signed with ``KNOWN_KEY``. A WSGI app, served by
    ``serve``."""

    def __init__(self, moto: WSGIApplication) -> None:
        self.moto = moto
        self.log: list[tuple[str, str]] = []
        self.down = False
        self.fail_next = 0
        self.up_for: int | None = None
        self._lock = threading.Lock()
        self.url = ""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refused = self.refuse(environ["REQUEST_METHOD"], environ["RAW_URI"])
        if refused or f"Credential={KNOWN_KEY}/" not in environ.get("HTTP_AUTHORIZATION", ""):
            error = UNAVAILABLE if refused else BAD_KEY
            status = "503 Service Unavailable" if refused else "403 Forbidden"
            start_response(status, [("Content-Type", "application/xml")])
            return [error]
        return self.moto(environ, start_response)

    def refuse(self, method: str, path: str) -> bool:
        with self._lock:
            self.log.append((method, path))
            if self.up_for is not None:
                if self.up_for == 0:
                    self.down, self.up_for = True, None
                else:
                    self.up_for -= 1
            if self.fail_next:
                self.fail_next -= 1
                return True
            return self.down

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self.down, self.fail_next, self.up_for = False, 0, None

    def puts(self, bucket: str) -> list[str]:
        """The export paths PUT into ``bucket``, in order."""
        base = f"/{bucket}/{PREFIX}"
        return [unquote(urlsplit(p).path).removeprefix(base) for m, p in self.log if m == "PUT"]


@functools.cache
def keep_alive_handler() -> type[WSGIRequestHandler]:
    """moto's request handler (it keeps header names as sent), quiet, and keeping connections
    open: werkzeug's closes each one, so every request cost a new connection and a new server
    thread (twice as much CPU as moto's own work). moto is imported here, by the worker that
    runs these tests only (some 0.6 s of CPU)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveHandler(_KeepAlive, MotoRequestHandler):
        pass

    return KeepAliveHandler


class _KeepAlive(WSGIRequestHandler):
    """What ``keep_alive_handler`` puts before moto's handler."""

    disable_nagle_algorithm = True  # the headers and the body are two writes

    def log_request(self, *args: Any) -> None:
        pass

    def run_wsgi(self) -> None:  # (``parse_request`` answered any "Expect: 100-continue")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # all of it
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        environ.pop("HTTP_EXPECT", None)
        answer = Response.from_app(self.server.app, environ)
        data = answer.get_data()
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                self.send_header(name, value)
        length = answer.headers.get("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


@contextmanager
def serve(app: WSGIApplication) -> Iterator[str]:
    """``app`` on a free local port, one thread per connection; yields its base URL."""
    handler = keep_alive_handler()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def moto_app() -> WSGIApplication:
    """moto's S3 app on its own: moto's usual server (``ThreadedMotoServer``) puts its
    all-services dispatcher in front, which looks up the service on every request, a quarter
    of each request's cost here. Its buckets live in the process, shared by every server."""
    from moto.moto_server.werkzeug_app import create_backend_app

    app: WSGIApplication = create_backend_app("s3")
    return app


@pytest.fixture(scope="session")
def moto_url(moto_app: WSGIApplication) -> Iterator[str]:
    with serve(moto_app) as url:
        yield url


@pytest.fixture(scope="session")
def session_front(moto_app: WSGIApplication) -> Iterator[S3Front]:
    front = S3Front(moto_app)
    with serve(front) as front.url:
        yield front


@pytest.fixture
def front(session_front: S3Front, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Front:
    """The proxy, reset, and boto3's environment pointing at it (dummy credentials only)."""
    session_front.reset()
    aim_boto3_at(monkeypatch, session_front.url, tmp_path)
    return session_front


def aim_boto3_at(env: pytest.MonkeyPatch, url: str, tmp_path: Path) -> None:
    """boto3's environment pointing at ``url``, with dummy credentials only."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        env.delenv(name, raising=False)
    env.setenv("AWS_ENDPOINT_URL", url)
    env.setenv("AWS_ACCESS_KEY_ID", "testing")
    env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    env.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")


def moto_client(moto_url: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def admin(front: S3Front, moto_url: str) -> Any:
    """A boto3 client straight to moto, for setting up and inspecting buckets."""
    return moto_client(moto_url)


@pytest.fixture
def bucket(admin: Any) -> str:
    name = f"toldfeed-{uuid.uuid4().hex[:12]}"
    admin.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_settings(filled: Settings, bucket: str) -> Settings:
    """The filled store, publishing to this test's bucket (nothing put yet)."""
    return on_bucket(filled, bucket)


# The store put whole into a bucket, made once per run: what most tests start from
SYNCED = "toldfeed-synced"  # its bucket (each worker has its own moto)
SYNCED_AS_PUT = "toldfeed-synced-as-put"  # what that bucket held then (moto's own copy)
PUT_AT = polled_at("t3").replace(hour=12)  # when it was put


def on_bucket(settings: Settings, bucket: str) -> Settings:
    """``settings`` publishing to ``bucket``; no retries, so failures are quick."""
    s3 = f"s3://{bucket}/{PREFIX}"
    return replace(settings, publish_s3=s3, publish_retries=0, publish_timeout_seconds=2.0)


def _moto_backend(bucket: str) -> Any:
    """moto's backend holding ``bucket``: in this process, reached without a request."""
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket]
    return s3_backends[account][partition]


def copy_bucket(source: str, dest: str) -> None:
    """Make ``dest`` hold exactly what ``source`` holds, bytes and headers, inside moto (S3's
    ETags are the MD5 of the bytes, so equal to what was put)."""
    backend = _moto_backend(source)
    for name in list(backend.get_bucket(dest).keys.keys()):
        backend.delete_object(dest, name)
    for key in list(backend.get_bucket(source).keys.values()):
        backend.copy_object(key, dest, key.name)


@pytest.fixture(scope="session")
def synced_data_dir(
    filled_data_dir: Path,
    session_front: S3Front,
    moto_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The t1 → t2 → t3 store put whole into the bucket ``SYNCED`` at ``PUT_AT``, once per run, and
    the bucket copied as it then was into ``SYNCED_AS_PUT``. Read-only: tests get a copy of
    both (``synced``), instead of putting some 400 objects each."""
    directory = tmp_path_factory.mktemp("synced")
    shutil.copytree(filled_data_dir, directory / "data")
    settings = settings_for(directory, sources=filled_data_dir.parent / "sources.toml")
    admin = moto_client(moto_url)
    for name in (SYNCED, SYNCED_AS_PUT):
        admin.create_bucket(Bucket=name)
    with pytest.MonkeyPatch.context() as env:
        aim_boto3_at(env, session_front.url, directory)
        with Runtime.open(on_bucket(settings, SYNCED)) as runtime:
            result = Service(runtime, clock=lambda: PUT_AT).sync_bucket()
            assert result is not None and result.ok and result.pending == 0
    copy_bucket(SYNCED, SYNCED_AS_PUT)
    return settings.data_dir


@pytest.fixture
def synced(synced_data_dir: Path, upstream: Upstream, tmp_path: Path, front: S3Front) -> Settings:
    """A copy of ``synced_data_dir`` publishing to ``SYNCED``, which holds again what it held
    when that store was put (made inside moto, no request logged)."""
    copy_bucket(SYNCED_AS_PUT, SYNCED)
    return on_bucket(copy_for_test(synced_data_dir, upstream, tmp_path), SYNCED)


@dataclass(frozen=True)
class Held:
    body: bytes
    content_type: str
    cache_control: str
    sha256: str | None


def bucket_contents(admin: Any, bucket: str) -> dict[str, Held]:
    """Every object under the prefix with its headers, by export path (one GET each)."""
    found = {}
    for key in listing(admin, bucket):
        obj = admin.get_object(Bucket=bucket, Key=PREFIX + key)
        found[key] = Held(
            obj["Body"].read(),
            obj["ContentType"],
            obj.get("CacheControl", ""),
            obj.get("Metadata", {}).get("sha256"),
        )
    return found


def cache_controls(admin: Any, bucket: str) -> dict[str, str]:
    """The ``Cache-Control`` of every object under the prefix, read inside moto (what
    ``bucket_contents`` reads with a GET each)."""
    keys = _moto_backend(bucket).get_bucket(bucket).keys.values()
    held = {k.name.removeprefix(PREFIX): k.metadata.get("cache-control", "") for k in keys}
    assert set(held) == set(listing(admin, bucket))
    return held


def listing(admin: Any, bucket: str) -> dict[str, str]:
    """Every object under the prefix: export path → ETag (moto's is the MD5 of the bytes)."""
    found = {}
    for page in admin.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for item in page.get("Contents", ()):
            found[item["Key"].removeprefix(PREFIX)] = item["ETag"].strip('"')
    return found


def assert_bucket_holds(
    admin: Any, bucket: str, documents: dict[str, Document], others: dict[str, bytes] | None = None
) -> None:
    """The bucket holds exactly ``documents`` and ``others`` (bytes compared through moto's MD5
    ETags; the first test compares bytes and headers one by one)."""
    bodies = {**{p: d.body for p, d in documents.items()}, **(others or {})}
    assert listing(admin, bucket) == {p: hashlib.md5(b).hexdigest() for p, b in bodies.items()}


def assert_linked_first(puts: list[str]) -> None:
    pages = [i for i, p in enumerate(puts) if p in PAGES]
    linked = [i for i, p in enumerate(puts) if p not in PAGES]
    assert not pages or not linked or max(linked) < min(pages)


def change_one_incident(upstream: Upstream) -> None:
    """A new update line on the list row of INC000001822307 (DMS Transit)."""
    page = "/data.aspx?lang=us&oid=2367397"
    row = "<p>INC000001822307</p>"
    line = "<p>Update 13:05: Transit declarations are processed normally again.</p>"
    assert row.encode() in upstream.documents[page]
    upstream.documents[page] = upstream.documents[page].replace(row.encode(), (line + row).encode())


def stored(settings: Settings) -> dict[str, Document]:
    with Runtime.open(settings) as runtime:
        return Service(runtime).publisher.stored()


def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    for name, value in {
        "DATA_DIR": settings.data_dir,
        "SOURCES": settings.sources,
        "SYSTEMS": settings.systems,
        "BASE_URL": settings.base_url,
        "PUBLISH_S3": settings.publish_s3,
        "PUBLISH_RETRIES": settings.publish_retries,
        "PUBLISH_TIMEOUT_SECONDS": settings.publish_timeout_seconds,
    }.items():
        monkeypatch.setenv(f"TOLDFEED_{name}", str(value))


# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_publish_makes_the_bucket_equal_to_the_export_also_after_hands_change_it(
    s3_settings, front, admin, bucket, monkeypatch, capsys, tmp_path
) -> None:
    cli_env(monkeypatch, s3_settings)
    documents = stored(s3_settings)
    assert main(["publish"]) == 0
    assert f"s3://{bucket}/{PREFIX}  {len(documents)} put, 0 checked" in capsys.readouterr().out
    assert front.puts(bucket) == list(documents)  # stored() order: linked documents first
    assert front.puts(bucket)[-len(PAGES) :] == list(PAGES)
    held = bucket_contents(admin, bucket)
    for path, doc in documents.items():
        sha256 = hashlib.sha256(doc.body).hexdigest()
        assert held[path] == Held(doc.body, doc.content_type, "public, max-age=300", sha256)
    export_all(s3_settings, tmp_path / "site")  # what nginx would serve, byte for byte
    files = {str(p.relative_to(tmp_path / "site")): p for p in (tmp_path / "site").rglob("*")}
    files = {k: p for k, p in files.items() if p.is_file()}
    assert set(files) == set(held)
    assert all(held[k].body == p.read_bytes() for k, p in files.items())

    # by hand: one object deleted, one overwritten, one overwritten keeping toldfeed's headers
    # and content hash (only its ETag tells), one added; the rest is unchanged
    admin.delete_object(Bucket=bucket, Key=PREFIX + "feeds/all.atom")
    admin.put_object(Bucket=bucket, Key=PREFIX + "badge/ics2.svg", Body=b"<svg/>")
    rss = held["feeds/all.rss"]
    admin.put_object(
        Bucket=bucket,
        Key=PREFIX + "feeds/all.rss",
        Body=b"truncated",
        ContentType=rss.content_type,
        CacheControl=rss.cache_control,
        Metadata={"sha256": rss.sha256},
    )
    admin.put_object(Bucket=bucket, Key=PREFIX + "mine/notes.txt", Body=b"kept")
    front.reset()
    assert main(["publish"]) == 0  # one listing, a HEAD per listed document, three PUTs
    assert sorted(front.puts(bucket)) == ["badge/ics2.svg", "feeds/all.atom", "feeds/all.rss"]
    out = capsys.readouterr().out
    assert f"3 put, {len(documents) - 1} checked, {len(documents) + 3} requests" in out
    assert len(front.log) == len(documents) + 3
    assert_bucket_holds(admin, bucket, documents, {"mine/notes.txt": b"kept"})  # never deleted


@pytest.mark.slow
def test_a_poll_puts_only_the_documents_that_changed(synced, front, admin, upstream) -> None:
    settings, bucket = replace(synced, detail_refresh_seconds=0), SYNCED
    at = PUT_AT
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=lambda: at)
        before = service.publisher.stored()  # all in the bucket
        assert_bucket_holds(admin, bucket, before)

        change_one_incident(upstream)
        report = service.poll_once(force=True)
        assert report is not None and report.ok
        assert "INC000001822307" in report.changed_keys
        after = service.publisher.stored()
        changed = [p for p in after if before[p].body != after[p].body]
        puts = front.puts(bucket)
        assert puts == changed  # exactly what changed, in stored() order
        assert "feeds/all.atom" in puts and "feeds/system/dms-transit.atom" in puts
        assert "feeds/system/ics2.atom" not in puts and len(puts) < len(after) / 2
        assert_linked_first(puts)
        assert service.last_upload is not None and service.last_upload.requests == len(puts)
        assert_bucket_holds(admin, bucket, after)

        front.reset()  # nothing new upstream: only the time of the poll changed; nothing put
        at += timedelta(minutes=5)
        assert service.poll_once(force=True) is not None
        again = service.publisher.stored()
        timed = [p for p in again if after[p].body != again[p].body]
        assert timed and set(timed) <= service.publisher.time_paths  # the pages did change
        assert front.puts(bucket) == [] and front.log == []
        status = runtime.store.publish_status()
        assert status is not None and status.pending == 0  # waiting is not failing

        front.reset()  # still nothing new, but the refresh period has passed: the time pages
        at += timedelta(seconds=settings.publish_refresh_seconds)
        assert service.poll_once(force=True) is not None
        latest = service.publisher.stored()
        puts = front.puts(bucket)
        assert puts and set(puts) <= service.publisher.time_paths
        assert not [p for p in puts if p.endswith((".atom", ".rss", ".ics", ".opml"))]
        assert_bucket_holds(admin, bucket, latest)

        front.reset()
        result = service.upload()  # nothing changed since: no request at all
        assert result is not None and result.ok and result.requests == 0 and front.log == []


@pytest.mark.slow
def test_a_change_of_state_is_put_at_once_even_when_no_incident_changed(
    synced, front, admin, upstream
) -> None:
    """A service window that begins changes the state now: not a quiet poll."""
    settings, bucket = replace(synced, detail_refresh_seconds=0), SYNCED
    window = _a_window_to_come(settings)
    at = window.start_at - timedelta(minutes=30)
    with Runtime.open(settings) as runtime:
        service = Service(runtime, clock=lambda: at)
        assert service.poll_once(force=True) is not None
        assert service.last_upload is not None and service.last_upload.ok  # (a quiet poll)
        front.reset()
        at = window.start_at + timedelta(minutes=1)  # the window has begun
        report = service.poll_once(force=True)
        assert report is not None and not report.changed_keys and not report.new_keys
        puts = front.puts(bucket)
        assert "api/systems.json" in puts and "index.html" in puts
        assert "api/v2/components.json" in puts and "da/api/v2/status.json" in puts
        assert_bucket_holds(admin, bucket, service.publisher.stored())


def _a_window_to_come(settings: Settings) -> Window:
    store = Store.open(settings.data_dir)
    try:
        after = polled_at("t3")
        windows = [
            i.window
            for i in store.iter_incidents()
            if i.window is not None
            and i.window.start_at > after
            and not i.window.cancelled
            and i.status is not Status.CLOSED
        ]
    finally:
        store.close()
    assert windows, "the t3 store has a window to come"
    return min(windows, key=lambda w: w.start_at)


@pytest.mark.slow
def test_an_unreachable_then_failing_bucket_loses_nothing(
    s3_settings, front, admin, bucket, monkeypatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    at = polled_at("t3").replace(hour=12)
    failed_at = at
    with Runtime.open(s3_settings) as runtime:
        service = Service(runtime, clock=lambda: at)
        report = service.poll_once(force=True)
        assert report is not None and report.ok  # the exit status is the upstream's alone
        failed = service.last_upload
        assert failed is not None and not failed.ok and "connect" in (failed.error or "").lower()
        documents = service.publisher.stored()
        assert failed.pending == len(documents) and failed.put == ()

    app = create_app(s3_settings, poll=False)
    try:
        client = app.test_client()
        publish = client.get("/healthz").get_json()["publish"]
        metrics = client.get("/metrics").get_data(as_text=True)
    finally:
        app.extensions["toldfeed"].runtime.close()
    assert publish["target"] == f"s3://{bucket}/{PREFIX}"
    assert publish["last_success_at"] is None and publish["pending"] == len(documents)
    assert publish["failing_since"] == publish["last_failure_at"] == at.isoformat()
    assert "connect" in publish["last_error"].lower()
    assert "toldfeed_publish_failures_total 1.0" in metrics
    assert f"toldfeed_publish_pending {float(len(documents))}" in metrics
    gauges = {
        line.split()[0]: float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("toldfeed_publish_") and "timestamp" in line
    }
    assert gauges["toldfeed_publish_failing_since_timestamp_seconds"] == at.timestamp()
    assert gauges["toldfeed_publish_last_success_timestamp_seconds"] == 0.0

    # reachable again, but 503 after 50 PUTs: those 50 are kept, the rest stays pending
    monkeypatch.setenv("AWS_ENDPOINT_URL", front.url)
    front.up_for = 50
    at += timedelta(minutes=5)
    with Runtime.open(s3_settings) as runtime:
        service = Service(runtime, clock=lambda: at)
        assert service.poll_once(force=True) is not None
        documents = service.publisher.stored()
        second = service.last_upload
        assert second is not None and "HTTP 503" in (second.error or "")
        assert second.put == tuple(documents)[:50] and second.pending == len(documents) - 50
        status = runtime.store.publish_status()
        assert status is not None and status.failures == 2 and status.uploads == 50
        assert status.failing_since == failed_at and status.last_failure_at == at

    # back, with one throttled answer that the retry absorbs: exactly what is pending is put
    front.reset()
    front.fail_next = 1
    with Runtime.open(replace(s3_settings, publish_retries=1)) as runtime:
        service = Service(runtime, clock=lambda: at)
        third = service.upload()
        assert third is not None and third.ok and third.pending == 0
        assert third.put == tuple(documents)[50:] and third.requests == len(third.put) + 1
        assert_bucket_holds(admin, bucket, documents)
        status = runtime.store.publish_status()
    assert status is not None and status.failing_since is None and status.pending == 0
    assert status.last_success_at == at and status.uploads == len(documents)


def test_publish_without_a_bucket_or_with_a_bad_one_is_a_configuration_error(
    monkeypatch, capsys, tmp_path
) -> None:
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TOLDFEED_PUBLISH_S3", raising=False)
    assert main(["publish"]) == 2
    assert "TOLDFEED_PUBLISH_S3" in capsys.readouterr().err
    monkeypatch.setenv("TOLDFEED_PUBLISH_S3", "https://bucket/prefix")
    assert main(["poll"]) == 2
    assert "TOLDFEED_PUBLISH_S3" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "target"),
    [
        ("s3://feeds", S3Target("feeds", "")),
        ("s3://feeds/", S3Target("feeds", "")),
        ("s3://feeds/toldfeed", S3Target("feeds", "toldfeed/")),
        ("s3://my.feeds-1/a/b/", S3Target("my.feeds-1", "a/b/")),
        ("s3://feeds/v1.2_x", S3Target("feeds", "v1.2_x/")),
    ],
)
def test_good_targets(value: str, target: S3Target) -> None:
    assert parse_s3_target(value) == target
    settings = Settings.from_env({"TOLDFEED_PUBLISH_S3": value})
    assert settings.publish_target == target


@pytest.mark.parametrize(
    "value",
    [
        "feeds/prefix",
        "https://feeds/prefix",
        "s3://",
        "s3://Feeds",
        "s3://ab",
        "s3://feeds..x/p",
        "s3://feeds/a//b",
        "s3://feeds/../up",
        "s3://feeds/a b",
        "s3://feeds/p?x=1",
    ],
)
def test_bad_targets_name_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="TOLDFEED_PUBLISH_S3"):
        Settings.from_env({"TOLDFEED_PUBLISH_S3": value})


T = "s3://b/p/"
CC = "public, max-age=300"
A, B = Wanted("a.atom", "1", "application/atom+xml"), Wanted("index.html", "2", "text/html")
AT = polled_at("t3")


@pytest.mark.parametrize(
    ("uploaded", "remote", "put", "adopt"),
    [
        ({}, None, [A, B], []),  # never uploaded: everything, in order
        ({"a.atom": UploadRecord(T, "1", AT)}, None, [B], []),
        ({"a.atom": UploadRecord(T, "0", AT)}, None, [A, B], []),  # other bytes
        ({"a.atom": UploadRecord("s3://c/", "1", AT)}, None, [A, B], []),  # other target
        # the bucket decides: missing, other bytes, other headers; matching but unrecorded
        ({"a.atom": UploadRecord(T, "1", AT)}, {}, [A, B], []),
        ({}, {"a.atom": RemoteObject("1", A.content_type, CC)}, [B], [A]),
        ({}, {"a.atom": RemoteObject("1", "text/plain", CC)}, [A, B], []),
        ({}, {"a.atom": RemoteObject("1", A.content_type, "no-cache")}, [A, B], []),
        ({}, {"a.atom": RemoteObject(None, A.content_type, CC)}, [A, B], []),
        # put with another Cache-Control (a new poll interval): put again
        ({"a.atom": UploadRecord(T, "1", AT, "public, max-age=60")}, None, [A, B], []),
        # the bucket's object is not the one put (same metadata, other ETag): put again
        (
            {"a.atom": UploadRecord(T, "1", AT, CC, '"e1"')},
            {"a.atom": RemoteObject("1", A.content_type, CC, '"e2"')},
            [A, B],
            [],
        ),
        (
            {"a.atom": UploadRecord(T, "1", AT, CC, '"e1"')},
            {"a.atom": RemoteObject("1", A.content_type, CC, '"e1"')},
            [B],
            [],
        ),
    ],
)
def test_plan_uploads(uploaded, remote, put, adopt) -> None:
    uploaded = {p: replace(r, cache_control=r.cache_control or CC) for p, r in uploaded.items()}
    plan = plan_uploads([A, B], uploaded, T, CC, remote)
    assert (list(plan.put), list(plan.adopt)) == (put, adopt)


def test_plan_defers_what_changed_only_with_the_time_until_the_refresh_is_due() -> None:
    fresh = Freshness(frozenset({"index.html"}), AT, timedelta(minutes=15))
    recent = {"index.html": UploadRecord(T, "0", AT - timedelta(minutes=5), CC)}
    plan = plan_uploads([A, B], recent, T, CC, fresh=fresh)
    assert (list(plan.put), list(plan.deferred)) == ([A], [B])
    due = {"index.html": UploadRecord(T, "0", AT - timedelta(minutes=15), CC)}
    assert list(plan_uploads([A, B], due, T, CC, fresh=fresh).put) == [A, B]
    assert list(plan_uploads([A, B], {}, T, CC, fresh=fresh).put) == [A, B]  # never put yet
    assert list(plan_uploads([A, B], recent, T, CC).put) == [A, B]  # not quiet: put now
    # put with another Cache-Control (a new poll interval): put now, whatever its bytes
    header = {"index.html": UploadRecord(T, "0", AT - timedelta(minutes=5), "max-age=60")}
    assert list(plan_uploads([A, B], header, T, CC, fresh=fresh).put) == [A, B]
    assert list(plan_uploads([A, B], header, T, CC, fresh=fresh, header_known=False).put) == [
        A,
        B,
    ]
    older = {"index.html": UploadRecord(T, "0", AT - timedelta(minutes=5))}  # header not kept
    assert list(plan_uploads([A, B], older, T, CC, fresh=fresh).deferred) == [B]
    assert list(plan_uploads([A, B], older, T, CC, fresh=fresh, header_known=False).put) == [
        A,
        B,
    ]


@pytest.mark.slow
def test_a_new_poll_interval_puts_every_object_again_with_its_cache_control(
    synced, front, admin
) -> None:
    bucket = SYNCED
    assert set(cache_controls(admin, bucket).values()) == {"public, max-age=300"}
    faster = replace(synced, poll_seconds=60)
    with Runtime.open(faster) as runtime:
        service = Service(runtime, clock=lambda: PUT_AT + timedelta(minutes=5))
        assert service.poll_once(force=True) is not None
        documents = service.publisher.stored()
    assert set(cache_controls(admin, bucket).values()) == {"public, max-age=60"}
    assert len(front.puts(bucket)) == len(documents)


@pytest.mark.slow
def test_a_quiet_poll_by_a_new_process_puts_nothing(synced, front) -> None:
    """`toldfeed poll` from cron is a new process each time: what tells a quiet poll is in the
    store, not in memory."""
    s3_settings, bucket, at = synced, SYNCED, PUT_AT
    with Runtime.open(s3_settings) as runtime:
        service = Service(runtime, clock=lambda: at)
        assert service.poll_once(force=True) is not None
        assert service.last_upload is not None and service.last_upload.ok
    front.reset()
    with Runtime.open(s3_settings) as runtime:  # the next cron run
        service = Service(runtime, clock=lambda: at + timedelta(minutes=5))
        report = service.poll_once(force=True)
        assert report is not None and not report.changed_keys
        assert service.last_upload is not None and service.last_upload.ok
    assert front.puts(bucket) == [] and front.log == []


@pytest.mark.slow
def test_incidents_derived_again_after_an_upgrade_reach_every_page_in_the_bucket(
    synced, front, admin
) -> None:
    """Not a quiet poll: the re-derived incidents show on the time pages too (index, API)."""
    s3_settings, bucket, at = synced, SYNCED, PUT_AT
    with Runtime.open(s3_settings) as runtime:
        assert Service(runtime, clock=lambda: at).poll_once(force=True) is not None
        store = runtime.store
        incident = store.incident("WO0000001586573")
        assert incident is not None
        batch = Batch()
        stale = replace(incident, title={**incident.title, "en": "As the old rules said"})
        Store.stage_incident(batch, stale)  # as the old rules derived it, stored and uploaded
        Store.stage_generation(batch, store.generation() + 1, store.incident_count())
        store.commit(batch)
        service = Service(runtime, clock=lambda: at + timedelta(minutes=2))
        assert service.poll_once(force=True) is not None  # uploads the stale title everywhere
    index = admin.get_object(Bucket=bucket, Key=PREFIX + "index.html")["Body"].read()
    assert b"As the old rules said" in index
    front.reset()
    with Runtime.open(s3_settings) as runtime:
        Store.stage_merge_rules(batch := Batch(), "the rules before the upgrade")
        runtime.store.commit(batch)
        service = Service(runtime, clock=lambda: at + timedelta(minutes=4))
        report = service.poll_once(force=True)  # derives it again: the title comes back
        assert report is not None and not report.changed_keys
        documents = service.publisher.stored()
    assert "index.html" in front.puts(bucket) and "api/incidents.json" in front.puts(bucket)
    assert_bucket_holds(admin, bucket, documents)


def test_records_from_before_the_header_was_kept_count_as_put_with_it() -> None:
    """An upgrade does not put every object again: an old record (no Cache-Control kept) was
    put with the header of its day, which only a new poll interval changes."""
    old = {"a.atom": UploadRecord(T, "1", AT)}  # cache_control "" as decoded from before
    assert list(plan_uploads([A, B], old, T, CC).put) == [B]
    # ... until the header changes: then nothing tells what it was put with
    assert list(plan_uploads([A, B], old, T, CC, header_known=False).put) == [A, B]


def test_a_poll_says_what_reached_the_bucket_never_published_when_nothing_did(
    synced, front, upstream, monkeypatch, capsys
) -> None:
    """With wrong credentials, a poll with nothing to upload asks the bucket nothing: it says
    so (not "published"), and records no success; the next poll with something to put is
    refused, and says that."""
    s3_settings, bucket = synced, SYNCED  # the bucket holds everything
    cli_env(monkeypatch, s3_settings)
    assert main(["poll"]) == 0  # the right credentials: puts what this poll changed
    capsys.readouterr()
    before = _publish_status(s3_settings)

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")  # not a key the bucket knows
    front.reset()
    assert main(["poll"]) == 0  # the exit status is the agency's alone
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "s3://" in x]
    assert line.startswith(f"nothing to upload s3://{bucket}/{PREFIX}"), line
    assert "the bucket was not contacted" in line and "published" not in line
    assert front.log == []  # indeed: not one request
    after = _publish_status(s3_settings)
    assert after.last_success_at == before.last_success_at  # no success claimed either
    assert after.last_attempt_at == before.last_attempt_at and after.failing_since is None

    change_one_incident(upstream)  # something to put: the bucket refuses the key
    assert main(["poll"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "s3://" in x]
    assert line.startswith(f"publish failed s3://{bucket}/{PREFIX}"), line
    assert "HTTP 403 InvalidAccessKeyId" in line and "retried at the next poll" in line
    refused = _publish_status(s3_settings)
    assert refused.last_success_at == before.last_success_at and refused.failing_since


def _publish_status(settings: Settings) -> PublishStatus:
    store = Store.open(settings.data_dir)
    try:
        status = store.publish_status()
    finally:
        store.close()
    assert status is not None
    return status
