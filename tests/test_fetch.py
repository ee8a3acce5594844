"""The fetcher against a real local HTTP server (ephemeral port)."""

from __future__ import annotations

import gzip
import os
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app.errors import FetchError, HTTPStatusError, NotAllowedError, TooLargeError
from app.fetch import Fetcher
from app.http_records import Validators, parse_max_age, parse_retry_after
from app.model import Lang
from app.upstream.markup import decode_body
from tests.conftest import ROOT

DANISH = "Ærø, Øster Søgård: Driftsforstyrrelse på Åbenrå"


@pytest.fixture
def fetcher(make_settings, httpserver: HTTPServer) -> Fetcher:
    sleeps: list[float] = []
    origin = httpserver.url_for("/")  # scheme, host and port, as a sources file names them
    f = Fetcher(make_settings(timeout_seconds=0.5, retries=2), {origin}, sleep=sleeps.append)
    f.sleeps = sleeps  # type: ignore[attr-defined]
    return f


def test_200_then_304_with_etag_and_last_modified(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(
            "hello", headers={"ETag": '"v1"', "Last-Modified": "Wed, 20 May 2026 07:00:00 GMT"}
        )

    httpserver.expect_request("/doc").respond_with_handler(handler)
    first = fetcher.get(httpserver.url_for("/doc"))
    assert first.status == 200 and first.body == b"hello"
    assert first.validators == Validators('"v1"', "Wed, 20 May 2026 07:00:00 GMT")
    second = fetcher.get(httpserver.url_for("/doc"), first.validators)
    assert second.not_modified and second.body == b""
    assert "toldfeed/" in httpserver.log[0][0].headers["User-Agent"]


def test_500_is_retried_with_backoff_then_fails(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/down").respond_with_data("boom", status=500)
    with pytest.raises(HTTPStatusError) as err:
        fetcher.get(httpserver.url_for("/down"))
    assert err.value.status == 500
    assert len(httpserver.log) == 3  # one try and two retries
    assert len(fetcher.sleeps) == 2 and fetcher.sleeps[1] > fetcher.sleeps[0]  # type: ignore[attr-defined]


def test_429_with_retry_after_is_honoured(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    calls = []

    def handler(request: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "3"})
        return Response("ok")

    httpserver.expect_request("/busy").respond_with_handler(handler)
    assert fetcher.get(httpserver.url_for("/busy")).body == b"ok"
    assert fetcher.sleeps == [pytest.approx(3.0, abs=0.01)] or fetcher.sleeps[0] >= 3  # type: ignore[attr-defined]


def test_retry_after_beyond_the_cap_is_not_waited_for(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    httpserver.expect_request("/later").respond_with_data(
        "", status=503, headers={"Retry-After": "7200"}
    )
    with pytest.raises(HTTPStatusError) as err:
        fetcher.get(httpserver.url_for("/later"))
    assert err.value.retry_after == 7200 and len(httpserver.log) == 1


def test_404_is_not_retried(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/gone").respond_with_data("", status=404)
    with pytest.raises(HTTPStatusError):
        fetcher.get(httpserver.url_for("/gone"))
    assert len(httpserver.log) == 1


@pytest.mark.slow
def test_timeout(httpserver: HTTPServer, make_settings) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    origin = httpserver.url_for("/")
    # three tries (as ``fetcher``'s), each cut at 0.2 s: the answer comes after 1 s
    fetcher = Fetcher(make_settings(timeout_seconds=0.2, retries=2), {origin}, sleep=lambda s: None)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetcher.get(httpserver.url_for("/slow"))
    assert time.monotonic() - started < 4


def test_redirect_is_followed(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new").respond_with_data("moved here")
    response = fetcher.get(httpserver.url_for("/old"))
    assert response.body == b"moved here" and response.url.endswith("/new")


@contextmanager
def raw_server(
    answer: Callable[[BaseHTTPRequestHandler], None], protocol: str = "HTTP/1.1"
) -> Iterator[str]:
    """A local server (HTTP/1.1: keep-alive) whose every GET is answered by ``answer``, byte
    by byte as written: for answers a framework would refuse to send."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = protocol

        def do_GET(self) -> None:
            answer(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # a short poll interval: shutdown() waits up to one interval
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_malformed_redirect_is_a_fetch_error(make_settings) -> None:
    def odd(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "http://[::1")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with raw_server(odd) as base:
        fetcher = Fetcher(make_settings(retries=0), {base})
        with pytest.raises(FetchError, match="malformed"):
            fetcher.get(base + "/odd")
        fetcher.close()


def test_repeated_headers_are_joined_and_gzip_is_decoded(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    body = DANISH.encode() * 100
    answer = Response(gzip.compress(body), headers={"Content-Encoding": "gzip"})
    answer.headers.add("Cache-Control", "public")
    answer.headers.add("Cache-Control", "max-age=60")
    httpserver.expect_request("/gz").respond_with_response(answer)
    response = fetcher.get(httpserver.url_for("/gz"))
    assert response.body == body
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.max_age == 60


def test_deflate_wrapped_or_raw_and_gzip_of_two_members_come_whole_in_bounded_pieces(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    """Every way a server may compress a body is read back whole; a body that expands a
    thousandfold comes in pieces no larger than a read, so the size limit cuts a bomb short; a
    body that only says it is compressed is a fetch error, not a crash."""
    from app.fetch import Network
    from app.fetch.carriers import READ_SIZE

    text = DANISH.encode() * 20_000  # 1.1 MB, some 4 KB compressed
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bodies = {
        "/wrapped": (zlib.compress(text), "deflate"),
        "/raw": (raw.compress(text) + raw.flush(), "deflate"),
        "/two": (gzip.compress(text[:1000]) + gzip.compress(text[1000:]), "gzip"),
        "/x": (gzip.compress(text), "x-gzip"),
    }
    for path, (body, coding) in bodies.items():
        httpserver.expect_request(path).respond_with_data(
            body, headers={"Content-Encoding": coding}
        )
        assert fetcher.get(httpserver.url_for(path)).body == text, path
    network = Network()
    answer = network.request("GET", httpserver.url_for("/x"), {"Accept-Encoding": "gzip"}, 5)
    sizes = [len(chunk) for chunk in answer.chunks()]
    answer.done()
    network.close()
    assert sum(sizes) == len(text) and max(sizes) <= READ_SIZE
    httpserver.expect_request("/liar").respond_with_data(
        b"plain words", headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(FetchError, match="DecodeFailure: a body that says it is compressed"):
        fetcher.get(httpserver.url_for("/liar"))


def test_a_kept_connection_the_server_closed_is_not_used_again(make_settings) -> None:
    """A server that closes each connection after its answer, without saying so: every next
    GET goes out on a new connection and is answered; the URL's unsafe letters are escaped."""
    paths: list[str] = []

    def once(handler: BaseHTTPRequestHandler) -> None:
        paths.append(handler.path)
        handler.send_response(200)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")
        handler.close_connection = True  # closed, though HTTP/1.1 and no "Connection: close"

    with raw_server(once) as base:
        fetcher = Fetcher(make_settings(timeout_seconds=2, retries=0), {base})
        for n in range(3):
            assert fetcher.get(f"{base}/data.aspx?oid={n}&q=a b").body == b"ok"
            time.sleep(0.05)  # the server's close reaches the kept connection
        fetcher.close()
    assert paths == [f"/data.aspx?oid={n}&q=a%20b" for n in range(3)]


def test_a_304_kept_by_its_caller_leaves_its_connection_ready_for_the_next(
    make_settings,
) -> None:
    """One keep-alive connection: a 304's answer is finished before the connection goes back
    to the pool, however long the caller holds the answer."""
    from app.fetch import Network

    def empty(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(304 if handler.path == "/same" else 200)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    network = Network(connections=1)
    with raw_server(empty) as base:
        held = network.request("GET", base + "/same", {}, 2)
        held.done()
        answer = network.request("GET", base + "/next", {}, 2)
        assert (held.status, answer.status) == (304, 200)
        answer.done()
    network.close()


def test_redirect_loop_is_bounded(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop"}
    )
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher.get(httpserver.url_for("/loop"))


def test_redirect_to_a_host_not_in_the_sources_is_refused(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    httpserver.expect_request("/away").respond_with_data(
        "", status=302, headers={"Location": f"http://127.0.0.1:{httpserver.port}/x"}
    )
    with pytest.raises(NotAllowedError):
        fetcher.get(httpserver.url_for("/away"))


def test_oversized_body_is_refused(httpserver: HTTPServer, make_settings) -> None:
    origin = httpserver.url_for("/")
    small = Fetcher(make_settings(max_body_bytes=4096), {origin}, sleep=lambda s: None)
    httpserver.expect_request("/big").respond_with_data(b"x" * 100_000)

    def chunked(request: Request) -> Response:
        return Response((b"y" * 1000 for _ in range(100)), direct_passthrough=True)

    httpserver.expect_request("/chunked").respond_with_handler(chunked)
    with pytest.raises(TooLargeError):
        small.get(httpserver.url_for("/big"))
    with pytest.raises(TooLargeError):
        small.get(httpserver.url_for("/chunked"))


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [
        ("utf-8", "iso-8859-1"),  # header lies: UTF-8 body declared Latin-1
        ("cp1252", "utf-8"),  # header lies the other way
        ("cp1252", None),  # nothing declared
        ("iso-8859-1", "iso-8859-1"),  # honest Latin-1
        ("utf-8", None),
    ],
)
def test_danish_letters_survive_any_declared_charset(
    httpserver: HTTPServer, fetcher: Fetcher, encoding: str, declared: str | None
) -> None:
    ctype = f"text/html; charset={declared}" if declared else "text/html"
    body = f"<html><body><p>{DANISH}</p></body></html>".encode(encoding)
    httpserver.expect_request("/dk").respond_with_data(body, headers={"Content-Type": ctype})
    response = fetcher.get(httpserver.url_for("/dk"))
    assert DANISH in decode_body(response.body, response.headers.get("content-type"))


def test_wrong_charset_list_page_parses_with_danish_letters(
    httpserver: HTTPServer, make_settings
) -> None:
    from app.catalogue import load_catalogue
    from app.upstream.listpage import parse_list_page

    page = (ROOT / "app" / "samples" / "t3" / "overview.da.html").read_text(encoding="utf-8")
    body = page.replace('charset=utf-8"', 'charset=windows-1252"').encode("cp1252")
    result = parse_list_page(
        body,
        {"content-type": "text/html; charset=utf-8"},
        url="https://info.skat.dk/data.aspx?oid=2367397",
        lang=Lang.DA,
        catalogue=load_catalogue(ROOT / "feeds" / "systems.toml"),
        observed_at=__import__("datetime").datetime.now(__import__("datetime").UTC),
    )
    titles = {o.title for o in result.observations}
    assert "PRD-servicevindue DMS lørdag 30. maj 2026" in titles


def test_parse_retry_after_http_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 5, 20, 7, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 20 May 2026 07:02:00 GMT", now) == 120
    assert parse_retry_after("soon", now) is None
    # digits that are not ASCII, a year past any calendar, an offset past any zone: no wait
    for said in (
        "²",
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Mon, 01 Jan 2026 0:0:0 +9999999999",
    ):
        assert parse_retry_after(said, now) is None
    assert parse_max_age("public, max-age=²") is None and parse_max_age("max-age=60") == 60


def test_static_transport_answers_from_its_table_with_etags(make_settings) -> None:
    from app.fetch import StaticTransport

    url = "https://info.skat.dk/data.aspx?oid=1"
    transport = StaticTransport({url: (b"<html>one</html>", "text/html; charset=utf-8")})
    fetcher = Fetcher(make_settings(retries=0), {"info.skat.dk"}, transport=transport)
    first = fetcher.get(url)
    assert first.body == b"<html>one</html>" and first.headers["content-type"].startswith("text/")
    assert fetcher.get(url, first.validators).not_modified
    transport.serve({url: (b"<html>two</html>", "text/html")})
    assert fetcher.get(url, first.validators).body == b"<html>two</html>"
    with pytest.raises(HTTPStatusError) as err:
        fetcher.get("https://info.skat.dk/other")
    assert err.value.status == 404
    fetcher.close()


@pytest.mark.slow
def test_a_body_that_ends_with_its_connection_is_not_taken_as_whole_at_the_deadline(
    make_settings,
) -> None:
    """HTTP/1.0 without Content-Length: the body ends when the connection does, so the
    deadline's shutdown must not pass for the end of a (truncated) body."""

    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.end_headers()
        try:
            handler.wfile.write(b"<rss><channel>")
            for _ in range(40):
                time.sleep(0.25)
                handler.wfile.write(b" ")
                handler.wfile.flush()
        except OSError:
            return

    with raw_server(drip, protocol="HTTP/1.0") as origin:
        fetcher = Fetcher(make_settings(timeout_seconds=2, retries=0), {origin})
        started = time.monotonic()
        try:
            with pytest.raises(FetchError, match="budget exhausted"):
                fetcher.get(origin + "/rss.xml", deadline=time.monotonic() + 0.6)
            assert time.monotonic() - started < 2.5
        finally:
            fetcher.close()


def test_the_poster_follows_no_redirect_and_keeps_the_start_of_a_long_answer(
    httpserver: HTTPServer, make_settings
) -> None:
    from app.fetch.poster import Poster

    httpserver.expect_request("/moved", method="POST").respond_with_data(
        "", status=302, headers={"Location": "/elsewhere"}
    )
    httpserver.expect_request("/long", method="POST").respond_with_data("x" * 100_000)
    poster = Poster(make_settings())
    moved = poster.post(httpserver.url_for("/moved"), b"{}", {"Content-Type": "application/json"})
    assert (moved.status, moved.ok) == (302, False)
    long = poster.post(httpserver.url_for("/long"), b"{}", {})
    assert long.ok and long.body.startswith("x") and len(long.body) <= Poster.BODY_KEPT + 64
    assert [r.path for r, _ in httpserver.log] == ["/moved", "/long"]  # nothing followed
    poster.close()


def test_sources_read_at_once_keep_their_connections_without_a_warning(
    httpserver: HTTPServer, fetcher: Fetcher, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll reads all its sources at the same time, several from one host: the pool keeps
    their connections rather than logging that it is full (a line in every cron mail)."""
    from concurrent.futures import ThreadPoolExecutor

    def slow(request: Request) -> Response:
        time.sleep(0.2)  # all in flight together
        return Response("ok")

    httpserver.expect_request("/s").respond_with_handler(slow)
    with caplog.at_level("WARNING"), ThreadPoolExecutor(max_workers=6) as pool:
        bodies = list(pool.map(lambda _: fetcher.get(httpserver.url_for("/s")).body, range(6)))
    assert bodies == [b"ok"] * 6
    assert [r.getMessage() for r in caplog.records] == []


# --- answers http.client takes quietly (a second reading's findings) ------------------------


@contextmanager
def socket_server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A local server whose every connection is handed to ``answer`` as a bare socket: for
    answers no HTTP server would write."""
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=closing_after, args=(conn,), daemon=True).start()

    def closing_after(conn: socket.socket) -> None:
        with conn:
            answer(conn)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def request_line(conn: socket.socket) -> bytes:
    """The request line of the next request on ``conn`` (b"": none came)."""
    got = b""
    while b"\r\n\r\n" not in got:
        if not (more := conn.recv(4096)):
            return b""
        got += more
    return got.split(b"\r\n")[0]


def test_a_body_cut_short_of_its_length_is_an_error_not_a_page(make_settings) -> None:
    def cut(conn: socket.socket) -> None:
        request_line(conn)
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: "v1"\r\n\r\n<rss>partial')
        conn.close()

    with socket_server(cut) as base:
        fetcher = Fetcher(make_settings(timeout_seconds=2, retries=0), {base})
        with pytest.raises(FetchError, match="IncompleteRead"):
            fetcher.get(base + "/rss.xml")
        fetcher.close()


def test_interim_answers_are_passed_over_and_never_taken_for_a_later_request_s(
    make_settings,
) -> None:
    """A 102 or 103 (Early Hints) before the answer is passed over, as http.client passes over
    a 100 (it took a 103 for the answer once, and gave the real answer to the next request on
    the connection); a server that sends nothing but interim answers fails the request."""

    def hints(conn: socket.socket) -> None:
        while line := request_line(conn):
            path = line.split()[1]
            interim = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
            if path == b"/b":
                interim = b"HTTP/1.1 102 Processing\r\n\r\n" + interim * 2
            conn.sendall(interim * (20 if path == b"/endless" else 1))
            body = b"body of " + path
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    with socket_server(hints) as base:
        fetcher = Fetcher(make_settings(timeout_seconds=2, retries=0), {base})
        for path in ("/a", "/b", "/a"):
            response = fetcher.get(base + path)
            assert (response.status, response.body) == (200, b"body of " + path.encode())
        with pytest.raises(FetchError, match="more than 8 interim answers"):
            fetcher.get(base + "/endless")
        fetcher.close()


@pytest.mark.parametrize(
    ("status", "count", "gap"),
    [(b"103 Early Hints", 6, 0.4), (b"102 Processing", 6, 0.4), (b"100 Continue", 60, 0.05)],
)
def test_interim_answers_dripped_slowly_cannot_hold_a_request_past_its_timeout(
    make_settings, status: bytes, count: int, gap: float
) -> None:
    """Every status line of one answer comes within the request's timeout, and at most 8
    interim answers come before it: a server dripping them (one well within the timeout each)
    held a GET for 2.4-3 s here, 9 x the timeout in all, past the poll's budget."""

    def drip(conn: socket.socket) -> None:
        with suppress(OSError):
            while request_line(conn):
                for _ in range(count):
                    conn.sendall(b"HTTP/1.1 " + status + b"\r\n\r\n")
                    time.sleep(gap)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with socket_server(drip) as base:
        fetcher = Fetcher(make_settings(timeout_seconds=0.5, retries=0), {base})
        started = time.monotonic()
        try:
            with pytest.raises(FetchError):
                fetcher.get(base + "/slow", deadline=started + 0.5)
            assert time.monotonic() - started < 1.5
        finally:
            fetcher.close()


def test_gzip_with_bytes_after_it_and_raw_deflate_of_any_length_come_whole(
    make_settings,
) -> None:
    """Bytes after a whole gzip member are ignored, as browsers do (they spun a fetch forever
    once); raw deflate comes whole at any length around a read's size, also when its first
    piece is one byte."""
    from app.fetch.carriers import READ_SIZE
    from app.fetch.inflate import Inflater

    text = b"a" * (READ_SIZE + 1)
    body = gzip.compress(text) + b"\n" * 8

    def serve(conn: socket.socket) -> None:
        request_line(conn)
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
        conn.sendall(head % len(body) + body)

    with socket_server(serve) as base:
        fetcher = Fetcher(make_settings(timeout_seconds=2, retries=0), {base})
        assert fetcher.get(base + "/gz", deadline=time.monotonic() + 5).body == text
        fetcher.close()
    for size in (1, READ_SIZE - 1, READ_SIZE, READ_SIZE + 1, 2 * READ_SIZE + 1, 300_001):
        plain = bytes(random.Random(size).choices(b"ab\n", k=size))
        raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        packed = raw.compress(plain) + raw.flush()
        for first in (1, len(packed)):  # the body's first piece
            inflater = Inflater(gzip=False)
            pieces = [*inflater.feed(packed[:first]), *inflater.feed(packed[first:])]
            assert b"".join(pieces) == plain and max(map(len, pieces)) <= READ_SIZE, size


def test_a_failed_redirect_body_closes_its_connection_and_close_keeps_nothing(
    make_settings,
) -> None:
    """A redirect whose short body stops coming closes its socket (no ResourceWarning); an
    answer read after its network was closed does not put its connection back."""
    import gc
    import warnings

    from app.fetch import Network

    def stall(conn: socket.socket) -> None:
        request_line(conn)
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 10\r\n\r\nabc")
        time.sleep(1.0)
        conn.close()

    with socket_server(stall) as base:
        fetcher = Fetcher(make_settings(timeout_seconds=0.3, retries=0), {base})
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", ResourceWarning)
            with pytest.raises(FetchError, match="timed out"):
                fetcher.get(base + "/a")
            gc.collect()
        fetcher.close()
    assert not [w for w in seen if issubclass(w.category, ResourceWarning)]

    def ok(conn: socket.socket) -> None:
        while request_line(conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with socket_server(ok) as base:
        network = Network()
        answer = network.request("GET", base + "/", {}, 2)
        network.close()  # as another thread would, while the answer is read
        assert b"".join(answer.chunks()) == b"ok"
        answer.done()
        assert not any(network._idle.values())


def test_a_kept_connection_is_used_again_in_a_process_with_many_files_open(
    make_settings,
) -> None:
    """More than 1,024 descriptors open (select() refuses them): the kept connection is still
    found alive and carries every request."""
    connections = [0]

    def counted(conn: socket.socket) -> None:
        connections[0] += 1
        while request_line(conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with socket_server(counted) as base:
            fetcher = Fetcher(make_settings(timeout_seconds=2, retries=0), {base})
            for _ in range(3):
                assert fetcher.get(base + "/").body == b"ok"
            fetcher.close()
    finally:
        for fd in held:
            os.close(fd)
    assert connections[0] == 1


def test_an_https_proxy_is_refused_rather_than_sent_the_login_in_clear(
    make_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "https://me:secret@127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    base = "http://127.0.0.1:8"
    fetcher = Fetcher(make_settings(proxy_from_env=True, retries=0), {base})
    with pytest.raises(FetchError, match="a proxy must be http://, not https://"):
        fetcher.get(base + "/")


def test_every_read_s_watchdog_is_watched_by_one_thread_and_fires_at_its_deadline() -> None:
    """One thread watches every body read under way (a thread per read cost each some 0.3 ms
    of CPU); each watchdog interrupts its answer at its deadline, and one left before its
    deadline never does."""
    from contextlib import ExitStack

    from app.fetch.watchdog import Watchdog

    class Answer:
        def __init__(self) -> None:
            self.interrupted = threading.Event()

        def interrupt(self) -> None:
            self.interrupted.set()

    Watchdog(Answer(), time.monotonic()).__enter__().__exit__()  # the thread runs
    threads = threading.active_count()
    soon, later = Answer(), Answer()
    with ExitStack() as reads:
        far = [reads.enter_context(Watchdog(Answer(), time.monotonic() + 60)) for _ in range(50)]
        assert threading.active_count() <= threads
        with Watchdog(later, time.monotonic() + 0.6) as left:
            pass  # the read ended before its deadline
        with Watchdog(soon, time.monotonic() + 0.1) as fired:
            assert soon.interrupted.wait(5)
        assert fired.fired and not any(dog.fired for dog in far)
    time.sleep(0.6)
    assert not later.interrupted.is_set() and not left.fired


def test_a_watchdog_never_fires_once_its_read_has_ended() -> None:
    """Two reads share a deadline and the first one's interrupt is slow: the second read ends
    meanwhile, and its watchdog must not fire after that (its connection may be another
    request's by then). One thread firing a batch made it likely, where each timer checked
    that it was not cancelled just before it fired."""
    from app.fetch.watchdog import Watchdog

    started, release = threading.Event(), threading.Event()

    class Answer:
        def __init__(self) -> None:
            self.at: float | None = None

        def interrupt(self) -> None:
            self.at = time.monotonic()

    class Slow(Answer):
        def interrupt(self) -> None:
            started.set()
            release.wait(5)

    deadline = time.monotonic() + 0.05
    answer = Answer()
    try:
        with Watchdog(Slow(), deadline):  # its exit waits for its interrupt under way
            with Watchdog(answer, deadline) as second:
                assert started.wait(5)
            ended = time.monotonic()
            release.set()
    finally:
        release.set()
    time.sleep(0.2)
    assert (answer.at is None or answer.at < ended) and not second.fired


def test_a_watchdog_whose_interrupt_fails_leaves_the_later_ones_firing(caplog) -> None:
    from app.fetch.watchdog import Watchdog

    class Broken:
        def interrupt(self) -> None:
            raise RuntimeError("cannot")

    class Answer:
        def __init__(self) -> None:
            self.interrupted = threading.Event()

        def interrupt(self) -> None:
            self.interrupted.set()

    with Watchdog(Broken(), time.monotonic()) as broken:
        deadline = time.monotonic() + 5
        while not broken.fired and time.monotonic() < deadline:
            time.sleep(0.01)
    later = Answer()
    with Watchdog(later, time.monotonic() + 0.05):
        assert later.interrupted.wait(5)
    assert "could not interrupt" in caplog.text
