"""Processes of their own for tests of several processes at once (locks, SIGKILL mid-way), each
forked from one that has imported the app already instead of started afresh: a fork costs some
10 ms, a Python start-up and the app's imports some 0.6 s of CPU. Each child runs its code as
``python -c`` would (``__main__``, ``sys.argv``, exit status, tracebacks, exit handlers), with
its own environment and standard streams. The fixture ``forker`` is registered in
``conftest.py``: one forking process per test worker, started on first use.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import IO

import pytest

# The forking process: single-threaded (forking is only safe without threads), it has made what
# every process makes once (the TLS context, the page templates). Each request is one message
# on a SOCK_SEQPACKET socket carrying the child's stdin, stdout and stderr (SCM_RIGHTS); the
# answer is the child's pid. The child leaves the loop and runs its code at the top level, so
# that it ends as any ``python -c`` does. ``{"reap": pid}`` answers the wait status of an ended
# child.
FORKER = """
import json, os, socket, sys, threading
import app.cli, app.fetch, app.render.pages, app.runtime, app.service

app.fetch.tls_context()
for name in app.render.pages.templates().list_templates(extensions=["html"]):
    app.render.pages.templates().get_template(name)
assert threading.active_count() == 1, "forking is only safe without threads"
control = socket.socket(fileno=int(sys.argv[1]))
while True:
    message, fds, _, _ = socket.recv_fds(control, 1 << 20, 3)
    if not message:
        sys.exit(0)
    request = json.loads(message)
    if "reap" in request:
        control.send(json.dumps(os.waitpid(request["reap"], 0)[1]).encode())
        continue
    pid = os.fork()
    if pid == 0:
        break
    for fd in fds:
        os.close(fd)
    control.send(json.dumps(pid).encode())
control.close()
for target, fd in enumerate(fds):
    os.dup2(fd, target)
    os.close(fd)
os.chdir(request["cwd"])
os.environ.clear()
os.environ.update(request["env"])
sys.argv = ["-c", *request["argv"]]
code = compile(request["code"], "<string>", "exec")
exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
"""


class Child:
    """A forked child, used as a ``subprocess.Popen`` is: ``pid``, ``stdout`` (when asked for
    a pipe), ``wait``, ``communicate``, ``send_signal``, ``kill``, and ``returncode``."""

    def __init__(self, forker: Forker, pid: int, stdout: IO[str] | None) -> None:
        self.forker = forker
        self.pid = pid
        self.stdout = stdout
        self.returncode: int | None = None
        self.pidfd = os.pidfd_open(pid)  # names this process for good, reaped or not

    def wait(self, timeout: float | None = None) -> int:
        """The exit status as Popen gives it (``-N``: ended by signal N)."""
        if self.returncode is None:
            if not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"child {self.pid}", timeout or 0.0)
            self.returncode = os.waitstatus_to_exitcode(self.forker.reap(self.pid))
            os.close(self.pidfd)
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str | None, None]:
        out = None
        if self.stdout is not None:
            with self.stdout:
                out = self.stdout.read()
        self.wait(timeout)
        return out, None

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            signal.pidfd_send_signal(self.pidfd, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *_: object) -> None:
        if self.stdout is not None:
            self.stdout.close()
        self.wait()


def _stream(given: int | None, own: int) -> int:
    """A descriptor of its own for a child's stream given as Popen takes it."""
    if given == subprocess.DEVNULL:
        return os.open(os.devnull, os.O_WRONLY)
    return os.dup(own if given is None else given)


class Forker:
    """The forking process of this test worker (``FORKER``)."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", FORKER, str(theirs.fileno())],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()],
            )

    def spawn(
        self,
        code: str,
        *argv: str,
        env: dict[str, str],
        stdout: int | None = None,
        stderr: int | None = None,
    ) -> Child:
        """A child running ``code`` with ``argv`` and ``env`` in the project directory, its
        stdin empty. ``stdout`` and ``stderr`` as Popen takes them: None (this process's own),
        ``subprocess.DEVNULL``, a file descriptor, or for ``stdout`` ``subprocess.PIPE`` (read
        as text from the child's ``stdout``)."""
        request = {"code": code, "argv": list(argv), "env": env, "cwd": self.cwd}
        reader = None
        if stdout == subprocess.PIPE:
            read, write = os.pipe()
            reader = os.fdopen(read, "r")
        else:
            write = _stream(stdout, 1)
        streams = [os.open(os.devnull, os.O_RDONLY), write, _stream(stderr, 2)]
        try:
            socket.send_fds(self.control, [json.dumps(request).encode()], streams)
            pid = json.loads(self.control.recv(64))
        finally:
            for fd in streams:
                os.close(fd)
        return Child(self, pid, reader)

    def reap(self, pid: int) -> int:
        """The wait status of the ended child ``pid``."""
        self.control.send(json.dumps({"reap": pid}).encode())
        status: int = json.loads(self.control.recv(64))
        return status

    def close(self) -> None:
        self.control.close()  # the forker reads the end and exits
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def forker() -> Iterator[Forker]:
    from tests.conftest import ROOT

    started = Forker(str(ROOT))
    yield started
    started.close()
