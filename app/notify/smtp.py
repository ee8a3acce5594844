"""One connection to an SMTP server, kept open for many messages (smtplib).

``smtps://`` is TLS from the start; ``smtp://`` uses STARTTLS when the server offers it and
refuses to log in without it. A message refused for its recipient (a full mailbox, an
unknown user) is that message's failure, and the connection goes on; a connection that breaks
is opened again once per message, then the relay counts as down.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType

from app.fetch.trust import tls_context
from app.notify.targets import SmtpServer


class RelayDown(Exception):
    """The server cannot be reached, or refuses every message (the sender, the login)."""

    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


@dataclass(frozen=True, slots=True)
class Refused:
    """The server refused one message; ``permanent`` for a 5xx (no point trying again)."""

    said: str
    permanent: bool


def said_of(e: smtplib.SMTPResponseException) -> str:
    """``SMTP <code> <text>`` of a server's answer."""
    text = e.smtp_error
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"SMTP {e.smtp_code} {words}"


def describe(e: BaseException) -> str:
    """An exception in one line."""
    if isinstance(e, smtplib.SMTPResponseException):
        return said_of(e)
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


class SmtpSession:
    """Sends messages through one server over one connection, opened when first needed.

    TLS is checked against the process's one context (``trust``, made at its first use: a
    server without TLS costs none), as every HTTPS request is."""

    def __init__(
        self,
        server: SmtpServer,
        timeout: float,
        trust: Callable[[], ssl.SSLContext] = tls_context,
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.trust = trust
        self._client: smtplib.SMTP | None = None

    def open(self) -> None:
        """Connect (TLS, login) unless connected; RelayDown when that fails."""
        if self._client is not None:
            return
        server = self.server
        client: smtplib.SMTP | None = None
        try:
            if server.tls == "ssl":
                client = smtplib.SMTP_SSL(
                    server.host, server.port, timeout=self.timeout, context=self.trust()
                )
            else:
                client = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
            client.ehlo()
            if server.tls == "starttls" and client.has_extn("starttls"):
                client.starttls(context=self.trust())
                client.ehlo()
            elif server.user and server.tls != "ssl":
                raise RelayDown("the server offers no STARTTLS; not logging in without TLS")
            if server.user:
                client.login(server.user, server.password)
        except RelayDown:
            _close(client)
            raise
        except (smtplib.SMTPException, OSError) as e:
            _close(client)
            raise RelayDown(describe(e)) from e
        self._client = client

    def send(self, msg: EmailMessage, sender: str, to: list[str]) -> Refused | tuple[str, ...]:
        """Hand ``msg`` over: the recipients refused of a message the server took for the
        others (usually none), ``Refused`` when it refused this message; RelayDown when the
        server is gone."""
        for again in (False, True):
            self.open()
            assert self._client is not None
            try:
                refused = self._client.send_message(msg, sender, to)
            except smtplib.SMTPRecipientsRefused as e:
                codes = [code for code, _ in e.recipients.values()]
                text = "; ".join(
                    f"{code} {m.decode('utf-8', 'replace') if isinstance(m, bytes) else m}"
                    for code, m in e.recipients.values()
                )
                return Refused(f"every recipient refused: SMTP {text}", min(codes) >= 500)
            except smtplib.SMTPSenderRefused as e:
                raise RelayDown(said_of(e)) from e  # refused for every message alike
            except smtplib.SMTPDataError as e:
                return Refused(said_of(e), e.smtp_code >= 500)
            except smtplib.SMTPNotSupportedError as e:  # an address the server cannot take
                return Refused(describe(e), permanent=True)  # (non-ASCII, without SMTPUTF8)
            except (smtplib.SMTPServerDisconnected, OSError) as e:
                self.close()
                if again:
                    raise RelayDown(describe(e)) from e
                continue  # a server that closes idle or long connections: once more, anew
            except smtplib.SMTPResponseException as e:
                self.close()
                if e.smtp_code == 421 and not again:  # closing this connection: anew
                    continue
                raise RelayDown(said_of(e)) from e
            except smtplib.SMTPException as e:
                self.close()
                raise RelayDown(describe(e)) from e
            return tuple(refused)
        raise AssertionError("not reached")

    def close(self) -> None:
        """Say goodbye and close (quietly: the server may be gone)."""
        client, self._client = self._client, None
        _close(client, polite=True)

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _close(client: smtplib.SMTP | None, polite: bool = False) -> None:
    if client is None:
        return
    try:
        if polite:
            client.quit()
        else:
            client.close()
    except (smtplib.SMTPException, OSError):
        client.close()
