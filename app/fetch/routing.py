"""Routing a request: the connection that carries it (its key, host and port: the origin's, or
a proxy's) and what it sends (the request target, a proxy's login), from the URL and the
proxies of the environment (for ``app.fetch.network``)."""

from __future__ import annotations

import base64
import http.client
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

_SAFE = "/%:@!$&'()*+,;=-._~?"  # kept as they are in a request target: the rest is escaped


class Route(NamedTuple):
    """How a request reaches its origin: the connection's key, host and port (the proxy's,
    when it goes through one), the tunnelled origin (https:// through a proxy) and the
    request target (absolute for http:// through a proxy)."""

    key: tuple[str, str, int, str]
    host: str
    port: int
    tunnel: tuple[str, int] | None  # the origin tunnelled to (https:// through a proxy)
    target: str
    login: dict[str, str]  # Proxy-Authorization, when the proxy's URL names a user


def _bypassed(host: str, proxies: dict[str, str]) -> bool:
    """True when ``NO_PROXY`` (in ``proxies`` as urllib reads the environment) names ``host``."""
    import urllib.request

    # the function is in the module, not in its stubs
    return bool(urllib.request.proxy_bypass_environment(host, proxies))  # type: ignore[attr-defined]


def _proxy_login(proxy: str) -> tuple[str, int, dict[str, str]]:
    """The host, port and login header of ``proxy`` as the environment names it (``host:port``
    means http://)."""
    where = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if where.scheme.lower() != "http":  # TLS to the proxy itself: its login would go in clear
        raise http.client.InvalidURL(f"a proxy must be http://, not {where.scheme}://")
    login = {}
    if where.username is not None:
        user = f"{unquote(where.username)}:{unquote(where.password or '')}"
        login = {"Proxy-Authorization": "Basic " + base64.b64encode(user.encode()).decode()}
    return where.hostname or "", where.port or 80, login


def route_of(url: str, proxies: dict[str, str]) -> Route:
    """How a request for ``url`` reaches its origin, through ``proxies`` (as urllib reads them
    from the environment) unless ``NO_PROXY`` names the host."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise http.client.InvalidURL(f"not an http:// or https:// URL: {url!r}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as e:  # a port that is not a number, or out of range
        raise http.client.InvalidURL(f"{e}: {url!r}") from None
    host = parts.hostname
    target = quote(parts.path or "/", safe=_SAFE) + (
        f"?{quote(parts.query, safe=_SAFE)}" if parts.query else ""
    )
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or _bypassed(host, proxies):
        return Route((scheme, host, port, ""), host, port, None, target, {})
    via, via_port, login = _proxy_login(proxy)
    if scheme == "http":  # forwarded: the request names the whole URL
        absolute = f"http://{parts.netloc.rpartition('@')[2]}{target}"
        return Route(("via", via, via_port, ""), via, via_port, None, absolute, login)
    key = ("tunnel", via, via_port, f"{host}:{port}")
    return Route(key, via, via_port, (host, port), target, login)
