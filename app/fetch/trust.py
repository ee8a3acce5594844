"""Trust anchors: the one TLS context of a process, and where its CAs come from (no urllib3)."""

from __future__ import annotations

import contextlib
import os
import re
import ssl
from collections.abc import Mapping

import certifi

_TLS: ssl.SSLContext | None = None
_HASHED = re.compile(r"[0-9a-f]{8}\.[0-9]+")  # an OpenSSL hashed-directory entry


def tls_context() -> ssl.SSLContext:
    """The one TLS context of this process, shared by every client it makes: the fetcher and
    the notification client, the mail relay, in any runtime (``trust_context`` of the
    environment)."""
    global _TLS
    if _TLS is None:
        _TLS = trust_context(os.environ)
    return _TLS


def trust_context(env: Mapping[str, str], system_bundle: str | None = None) -> ssl.SSLContext:
    """A client context (chain and host name verified, TLS 1.2 or later) trusting, in order:
    ``SSL_CERT_FILE``; ``SSL_CERT_DIR``; the system's hashed CA directory; the system's CA
    bundle file (``system_bundle``, by default OpenSSL's, where a system without a hashed
    directory keeps its CAs and an administrator adds a private one); certifi's bundle.

    A directory costs about a millisecond: OpenSSL reads from it only the CA that a server's
    chain names, when it names it. A bundle file is parsed whole, 150 certificates, 20 to 30 ms
    of every cron poll, so a bundle is the fallback for systems without a CA directory.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cafile := env.get("SSL_CERT_FILE"):
        context.load_verify_locations(cafile=cafile)
        return context
    paths = ssl.get_default_verify_paths()
    capath = env.get("SSL_CERT_DIR") or paths.capath
    if capath and _holds_hashed_certificates(capath):
        context.load_verify_locations(capath=capath)
        return context
    bundle = paths.openssl_cafile if system_bundle is None else system_bundle
    context.load_verify_locations(cafile=bundle if os.path.isfile(bundle) else certifi.where())
    return context


def _holds_hashed_certificates(capath: str) -> bool:
    """True when a directory (or one of a ``:``-separated list) holds OpenSSL hash links."""
    for folder in capath.split(os.pathsep):
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            if any(_HASHED.fullmatch(e.name) for e in entries):
                return True
    return False
