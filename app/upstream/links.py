"""Which URLs toldfeed follows or republishes as entry links (pure).

Only ``http``/``https`` URLs on an origin the sources file names are followed (detail pages,
redirects, discovered feeds) or published as an entry's link: the scheme, the host and the
port must all be those of a configured source URL, and a URL carrying a user name or password
(``https://user:pass@host/``, also the classic ``https://info.skat.dk@evil.example/``) is
refused. Everything else (``javascript:``, ``file:``, another host, another port) is dropped
with a parse warning; the message's text is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias
from urllib.parse import urlsplit

Origin: TypeAlias = tuple[str, str, int]
"""(scheme, host, port) of a URL, lower case, the port explicit."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> Origin | None:
    """The origin of an http(s) URL, or None for any other URL (or a malformed one)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a port that is not a number, an unbalanced IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def origins_of(configured: Iterable[str]) -> frozenset[Origin]:
    """The origins of the configured source URLs.

    An entry without a scheme is a bare host name, allowed on the default http(s) ports.
    """
    found: set[Origin] = set()
    for item in configured:
        if "://" not in item:
            host = item.strip().lower()
            found |= {("http", host, 80), ("https", host, 443)}
        elif (origin := origin_of(item)) is not None:
            found.add(origin)
    return frozenset(found)


def link_problem(url: str, origins: frozenset[Origin] | None) -> str | None:
    """Why ``url`` may not be followed or published, or None when it may.

    ``origins`` None allows any host (the scheme and userinfo rules still apply): what a
    parser does when no sources file is at hand, as in the parser tests.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "malformed URL"
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return f"scheme {scheme or 'none'!r} is not followed"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "a user name or password in the URL"
    origin = origin_of(url)
    if origin is None:
        return "malformed URL"
    if origins is not None and origin not in origins:
        scheme, host, port = origin
        if any((s, h) == (scheme, host) for s, h, _ in origins):
            return f"port {port} is not the configured one"
        return f"{scheme}://{host}:{port} is not a configured upstream"
    return None
