"""Trust anchors: where they come from, and that a process loads them only for https://."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from app.fetch import Carriers, trust_context

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


def _get(context: ssl.SSLContext, url: str) -> int:
    with httpx.Client(verify=context) as client:
        return client.get(url).status_code


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
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        _get(context, https_url)


def test_a_client_makes_its_tls_context_only_at_its_first_https_request(
    ca_dir: Path, http_url: str, https_url: str
) -> None:
    made: list[ssl.SSLContext] = []

    def trust() -> ssl.SSLContext:
        made.append(trust_context({"SSL_CERT_DIR": str(ca_dir)}))
        return made[-1]

    carriers = Carriers.of(None, trust_env=False, trust=trust)
    with httpx.Client(
        transport=carriers.transport, mounts=carriers.mounts, verify=carriers.verify
    ) as client:
        assert client.get(http_url).text == "hello"
        assert made == []
        assert client.get(https_url).text == "hello"
        assert client.get(https_url).text == "hello"
        assert len(made) == 1


def test_the_plain_transport_never_carries_https(http_url: str, https_url: str) -> None:
    carriers = Carriers.of(None, trust_env=False)
    assert carriers.transport is not None
    with httpx.Client(transport=carriers.transport) as client:  # no https:// mount
        assert client.get(http_url).status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get(https_url)
