"""HTTP clients (the only importer of httpx): ``Fetcher`` reads the upstream, ``Poster`` posts
to notification targets and hubs; ``carriers`` says what carries their requests (the network, or
a stand-in such as ``StaticTransport``), ``trust`` which CAs HTTPS servers are checked against.
"""

from app.fetch.carriers import Carriers, StaticTransport, Transport
from app.fetch.fetcher import Fetcher
from app.fetch.poster import PostAnswer, Poster
from app.fetch.trust import tls_context, trust_context

__all__ = [
    "Carriers",
    "Fetcher",
    "PostAnswer",
    "Poster",
    "StaticTransport",
    "Transport",
    "tls_context",
    "trust_context",
]
