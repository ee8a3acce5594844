"""HTTP clients: ``Fetcher`` reads the upstream, ``Poster``
(``app.fetch.poster``, loaded where a target or hub is first served) posts to notification
targets and hubs; ``carriers`` says what carries their requests (a stand-in such as
``StaticTransport``, or ``network``: kept connections over http.client, routed by
``routing``, bodies decoded by ``inflate``), ``watchdog`` ends reads at the poll's deadline,
``trust`` says which CAs HTTPS servers are checked against.
"""

from app.fetch.carriers import StaticTransport, Transport
from app.fetch.fetcher import Fetcher
from app.fetch.network import Network
from app.fetch.trust import tls_context, trust_context

__all__ = [
    "Fetcher",
    "Network",
    "StaticTransport",
    "Transport",
    "tls_context",
    "trust_context",
]
