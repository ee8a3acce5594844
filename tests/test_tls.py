"""Trust anchors: where they come from, and that a process loads them only for https://; and the
network carrier's proxies from the environment (plain requests forwarded, https:// tunnelled)."""

from __future__ import annotations

import base64
import http.server
import select
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import trustme

from app.fetch import Network, trust_context

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *_: object) -> None:
        pass


def _serve(context: ssl.SSLContext | None) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    scheme = "https" if context is not None else "http"
    yield f"{scheme}://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_url(ca: trustme.CA) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    yield from _serve(context)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    yield from _serve(None)


@pytest.fixture
def ca_dir(ca: trustme.CA, tmp_path: Path) -> Path:
    """An OpenSSL hashed directory holding the test CA (as /etc/ssl/certs holds the system's)."""
    folder = tmp_path / "certs"
    folder.mkdir()
    ca.cert_pem.write_to_path(str(folder / "test-ca.pem"))
    subprocess.run(["openssl", "rehash", str(folder)], check=True, capture_output=True)
    return folder


def _body(network: Network, url: str) -> bytes:
    answer = network.request("GET", url, {}, 5)
    body = b"".join(answer.chunks())
    answer.done()
    return body


def _get(context: ssl.SSLContext, url: str) -> int:
    network = Network(trust=lambda: context)
    try:
        answer = network.request("GET", url, {}, 5)
        answer.abandon()
        return answer.status
    finally:
        network.close()


def test_a_hashed_directory_is_trusted_and_read_only_as_needed(
    ca_dir: Path, https_url: str
) -> None:
    context = trust_context({"SSL_CERT_DIR": str(ca_dir)})
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing parsed up front
    assert _get(context, https_url) == 200
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_a_certificate_file_wins_over_the_directory(
    ca: trustme.CA, ca_dir: Path, tmp_path: Path, https_url: str
) -> None:
    pem = tmp_path / "bundle.pem"
    ca.cert_pem.write_to_path(str(pem))
    empty = tmp_path / "empty"
    empty.mkdir()
    context = trust_context({"SSL_CERT_FILE": str(pem), "SSL_CERT_DIR": str(empty)})
    assert context.cert_store_stats()["x509_ca"] == 1
    assert _get(context, https_url) == 200


def test_without_a_hashed_directory_the_systems_bundle_is_trusted(
    ca: trustme.CA, tmp_path: Path, https_url: str
) -> None:
    """A system without a hashed CA directory (RHEL's keeps one bundle file): its bundle, where
    an administrator adds a private CA, is what mail relays and HTTPS servers are checked
    against."""
    bundle = tmp_path / "ca-bundle.crt"
    ca.cert_pem.write_to_path(str(bundle))
    context = trust_context({"SSL_CERT_DIR": str(tmp_path)}, system_bundle=str(bundle))
    assert context.cert_store_stats()["x509_ca"] == 1
    assert _get(context, https_url) == 200


def test_without_a_directory_or_bundle_certifi_is_trusted_and_a_stranger_is_refused(
    tmp_path: Path, https_url: str
) -> None:
    no_bundle = str(tmp_path / "none.pem")
    context = trust_context({"SSL_CERT_DIR": str(tmp_path)}, system_bundle=no_bundle)
    assert context.cert_store_stats()["x509_ca"] > 100  # certifi's bundle
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        _get(context, https_url)


def test_a_client_makes_its_tls_context_only_at_its_first_https_request(
    ca_dir: Path, http_url: str, https_url: str
) -> None:
    made: list[ssl.SSLContext] = []

    def trust() -> ssl.SSLContext:
        made.append(trust_context({"SSL_CERT_DIR": str(ca_dir)}))
        return made[-1]

    network = Network(trust=trust)
    assert _body(network, http_url) == b"hello"
    assert made == []
    assert _body(network, https_url) == b"hello"
    assert _body(network, https_url) == b"hello"
    assert len(made) == 1
    network.close()


def test_each_scheme_keeps_its_own_connections(ca_dir: Path, http_url: str, https_url: str) -> None:
    """http:// is carried on plain sockets, which cannot speak TLS, and https:// on sockets
    checked against the trust, whichever comes first."""
    network = Network(trust=lambda: trust_context({"SSL_CERT_DIR": str(ca_dir)}))
    sockets: list[object] = []
    for url in (http_url, https_url, http_url, https_url):
        answer = network.request("GET", url, {}, 5)
        assert b"".join(answer.chunks()) == b"hello"
        sockets.append(answer._sock)  # the socket it came on
        answer.done()
    assert [isinstance(s, ssl.SSLSocket) for s in sockets] == [False, True, False, True]
    network.close()


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy: a plain request in absolute form is fetched and passed on; CONNECT
    opens a tunnel. Every request line is kept in ``seen``."""

    seen: ClassVar[list[str]] = []
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # not itself

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path} {self.headers.get('Proxy-Authorization')}")
        with self.direct.open(self.path, timeout=5) as upstream:
            body = upstream.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_CONNECT(self) -> None:
        self.seen.append(f"CONNECT {self.path} {self.headers.get('Proxy-Authorization')}")
        host, _, port = self.path.rpartition(":")
        with socket.create_connection((host, int(port)), timeout=5) as upstream:
            self.send_response(200)
            self.end_headers()
            ends = [self.connection, upstream]
            while True:
                ready, _, _ = select.select(ends, [], [], 5)
                if not ready:
                    return
                for end in ready:
                    data = end.recv(65536)
                    if not data:
                        return
                    (upstream if end is self.connection else self.connection).sendall(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[str]:
    _Proxy.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_proxies_from_the_environment_forward_and_tunnel_and_no_proxy_is_honoured(
    proxy: str, ca_dir: Path, http_url: str, https_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.removeprefix("http://"))  # http:// understood
    monkeypatch.setenv("HTTPS_PROXY", proxy.replace("://", "://me:p%40ss@"))  # a login
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    trust = lambda: trust_context({"SSL_CERT_DIR": str(ca_dir)})  # noqa: E731
    network = Network(trust_env=True, trust=trust)
    assert _body(network, http_url) == b"hello"
    assert _body(network, https_url) == b"hello"  # checked against the trust, end to end
    authority = https_url.removeprefix("https://").rstrip("/")
    login = "Basic " + base64.b64encode(b"me:p@ss").decode()
    assert _Proxy.seen == [f"GET {http_url} None", f"CONNECT {authority} {login}"]
    network.close()

    assert _body(Network(trust_env=False, trust=trust), http_url) == b"hello"  # not asked
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert _body(Network(trust_env=True, trust=trust), http_url) == b"hello"
    assert len(_Proxy.seen) == 2  # neither went through the proxy
