"""The HTTP server: waitress, for ``toldfeed serve`` and inside every gunicorn worker.

The only importer of waitress and of gunicorn. waitress reads each request completely in its
I/O loop (headers and body buffered) before a worker thread sees it, so a slow or idle client
costs a socket, not a thread. gunicorn's own workers do not: ``sync`` and ``gthread`` hand a
connection to a thread as soon as its first byte arrives and the thread then reads the headers
blocking, so a handful of clients dripping their headers hold every thread (the Procfile's
gunicorn froze under 50 of them). ``WaitressWorker`` keeps gunicorn's master (workers, the
``PORT`` binding, restarts, heartbeats, metrics' multiprocess mode, one poller among the
workers) and runs waitress's loop on the listening sockets the master gives each worker.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from typing import Any

import waitress
from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.channel import HTTPChannel

from app.logs import setup_logging

# a connection that sends nothing (or drips) is closed after this long: it then costs nothing
CHANNEL_TIMEOUT = 30
# how often a gunicorn worker's loop wakes up to tell the master it is alive
HEARTBEAT_SECONDS = 1.0


def make_server(
    app: Any,
    host: str = "",
    port: int = 0,
    *,
    threads: int = 8,
    sockets: list[Any] | None = None,
    connections: dict[int, Any] | None = None,
) -> Any:
    """A waitress server on ``host:port`` (port 0: any free port) or on bound ``sockets``.

    ``connections`` is the I/O loop's map of sockets, for a caller that runs the loop itself.
    """
    # waitress warns for every request that waits for a thread; under load that is every
    # request (the I/O loop holding them is the point), a log line each and their cost
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    where: dict[str, Any] = {"sockets": sockets} if sockets else {"host": host, "port": port}
    return waitress.create_server(
        app,
        map={} if connections is None else connections,
        threads=threads,
        connection_limit=1000,  # sockets, not threads: slow clients wait in the I/O loop
        channel_timeout=CHANNEL_TIMEOUT,
        ident="toldfeed",
        # X-Forwarded-For reaches the app, which believes it only from TOLDFEED_TRUSTED_PROXIES
        # (app.web.subscription_pages.client_address); cleared here, the sign-up limit would
        # count every client behind a proxy as one
        clear_untrusted_proxy_headers=False,
        **where,
    )


class _SignalPipe(wasyncore.file_dispatcher):  # type: ignore[misc]  # waitress: no hints
    """The read end of the pipe gunicorn has every signal to a worker written to
    (``signal.set_wakeup_fd``), in the worker's I/O loop: a stop signal ends the loop's wait
    at once instead of at the next heartbeat."""

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        self.recv(64)  # the signal numbers; the handlers have run


class WaitressWorker(Worker):  # type: ignore[misc]  # gunicorn has no type hints
    """A gunicorn worker class: waitress's I/O loop and ``--threads`` application threads.

    ``gunicorn --worker-class app.web.server.WaitressWorker``: the master binds, forks and
    watches the workers as with any worker class; each worker accepts on the shared sockets.
    """

    def load_wsgi(self) -> None:
        """Build the app as ``app.wsgi`` does (``gunicorn "app:create_app()"`` too): logging
        first, and what start-up made kept out of every garbage collection afterwards."""
        setup_logging()
        super().load_wsgi()
        gc.freeze()  # it lives as long as the worker

    def run(self) -> None:
        """Serve until the master stops this worker (or goes away), then finish what is begun."""
        sockets = [getattr(s, "sock", s) for s in self.sockets]  # gunicorn wraps each socket
        connections: dict[int, Any] = {}
        server = make_server(
            self.wsgi, threads=max(self.cfg.threads, 1), sockets=sockets, connections=connections
        )
        _SignalPipe(self.PIPE[0], connections)  # a stop signal wakes the loop at once
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            wasyncore.loop(timeout=HEARTBEAT_SECONDS, map=connections, count=1)
        self._drain(connections)
        server.close()

    def _drain(self, connections: dict[int, Any]) -> None:
        """Stop accepting; answer the requests already read (within the graceful timeout)."""
        for listener in list(connections.values()):
            if not isinstance(listener, HTTPChannel) and hasattr(listener, "accepting"):
                listener.accepting = False  # waitress then stops listening to it
        until = time.monotonic() + float(self.cfg.graceful_timeout)
        while time.monotonic() < until and any(
            isinstance(c, HTTPChannel) and (c.requests or c.total_outbufs_len)
            for c in list(connections.values())
        ):
            self.notify()
            wasyncore.loop(timeout=0.1, map=connections, count=1)
