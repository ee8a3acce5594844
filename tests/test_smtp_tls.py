"""E-mail over TLS: STARTTLS and smtps:// against a local aiosmtpd server with a test CA's
certificate, checked against the process's one TLS context (made only when TLS is used)."""

from __future__ import annotations

import email.message
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.fetch import trust_context
from app.notify.smtp import RelayDown, SmtpSession
from app.notify.targets import SmtpServer
from tests.receivers import Inbox, smtp_server


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def _login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    good = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"mailer",
        b"s3cret",
    )
    return AuthResult(success=good, handled=False)


@contextmanager
def serving(**options: Any) -> Iterator[tuple[Inbox, int]]:
    """A local SMTP server with ``options`` (its TLS and login settings), keeping its mail."""
    inbox = Inbox()
    with smtp_server(inbox, **options) as port:
        yield inbox, port


def counted(
    make: Callable[[], ssl.SSLContext],
) -> tuple[list[ssl.SSLContext], Callable[[], ssl.SSLContext]]:
    made: list[ssl.SSLContext] = []

    def trust() -> ssl.SSLContext:
        made.append(make())
        return made[-1]

    return made, trust


def _message(subject: str) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["Subject"] = subject
    msg["From"] = "toldfeed@example.com"
    msg["To"] = "desk@example.com"
    msg.set_content("DMS Import is down.")
    return msg


def _send(server: SmtpServer, trust: Callable[[], ssl.SSLContext], subject: str) -> None:
    with SmtpSession(server, 5.0, trust) as session:
        assert session.send(_message(subject), "toldfeed@example.com", ["desk@example.com"]) == ()


def test_starttls_and_login_are_checked_against_the_process_trust(
    ca: trustme.CA, ca_file: str
) -> None:
    with serving(tls_context=_server_context(ca), require_starttls=True, authenticator=_login) as (
        inbox,
        port,
    ):
        made, trust = counted(lambda: trust_context({"SSL_CERT_FILE": ca_file}))
        server = SmtpServer("127.0.0.1", port, "starttls", "mailer", "s3cret")
        _send(server, trust, "over STARTTLS")
        _send(server, trust, "again")
        assert [m["Subject"] for m in inbox.messages] == ["over STARTTLS", "again"]
        assert len(made) == 2  # one context asked for per connection (the process keeps one)
        # a certificate the trust does not vouch for: nothing is sent, the relay is down
        with pytest.raises(RelayDown, match="CERTIFICATE_VERIFY_FAILED"):
            _send(server, lambda: trust_context({"SSL_CERT_FILE": str(_other_ca(ca_file))}), "x")
        with pytest.raises(RelayDown, match="535"):  # a wrong password, said by the server
            _send(SmtpServer("127.0.0.1", port, "starttls", "mailer", "wrong"), trust, "x")
        assert len(inbox.messages) == 2


def _other_ca(ca_file: str) -> Path:
    path = Path(ca_file).with_name("other-ca.pem")
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def test_smtps_is_tls_from_the_first_byte(ca: trustme.CA, ca_file: str) -> None:
    # (aiosmtpd takes a login over its implicit TLS only when told TLS is not required)
    tls = _server_context(ca)
    with serving(ssl_context=tls, auth_require_tls=False, authenticator=_login) as (inbox, port):
        made, trust = counted(lambda: trust_context({"SSL_CERT_FILE": ca_file}))
        _send(SmtpServer("127.0.0.1", port, "ssl", "mailer", "s3cret"), trust, "over TLS")
        assert [m["Subject"] for m in inbox.messages] == ["over TLS"]
        assert len(made) == 1


def test_a_server_without_tls_costs_no_tls_context_and_gets_no_password() -> None:
    with serving(auth_require_tls=False, authenticator=_login) as (inbox, port):
        made, trust = counted(lambda: pytest.fail("no TLS context for a server without TLS"))
        _send(SmtpServer("127.0.0.1", port), trust, "plain")
        assert [m["Subject"] for m in inbox.messages] == ["plain"]
        with pytest.raises(RelayDown, match="no STARTTLS"):  # a login only over TLS
            _send(SmtpServer("127.0.0.1", port, "starttls", "mailer", "s3cret"), trust, "x")
        assert made == [] and len(inbox.messages) == 1
