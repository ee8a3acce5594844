"""HTTP clients (the only importer of urllib3): ``Fetcher`` reads the upstream, ``Poster``
(``app.fetch.poster``, loaded where a target or hub is first served) posts to notification
targets and hubs; ``carriers`` says what carries their requests (the network, or a stand-in such
as ``StaticTransport``), ``trust`` which CAs HTTPS servers are checked against.
"""

from app.fetch.carriers import Network, StaticTransport, Transport
from app.fetch.fetcher import Fetcher
from app.fetch.trust import tls_context, trust_context

__all__ = [
    "Fetcher",
    "Network",
    "StaticTransport",
    "Transport",
    "tls_context",
    "trust_context",
]
