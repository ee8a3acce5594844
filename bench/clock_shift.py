"""The bench's clock ahead of the real one, for polls as cron spaces them (a bench-only patch).

A cron user's polls are ``TOLDFEED_POLL_SECONDS`` apart (5 minutes by default): between two of
them the time shown on pages moves, a disruption's hours count up, and detail pages come due.
The bench cannot wait 5 minutes per poll, so its polls run with the clock moved ahead instead:
``BENCH_CLOCK_AHEAD`` seconds in the environment (set by bench/cron_bench.py) make the default
clock of ``app.service.Service`` read that much later. Only monotonic waits keep real time.
``BENCH_CLOCK_AT`` (an ISO 8601 time) stops that clock at one moment instead, for polls that
must do the same work however long they take (bench/instructions.py runs them under valgrind,
some 50 times slower, where what the pages show to the minute would move mid-poll).
Imported by bench/cron_poll.py and the plain ``toldfeed poll`` process before ``main``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

ENV = "BENCH_CLOCK_AHEAD"
AT = "BENCH_CLOCK_AT"
MARK = "bench clock ahead"


def clock_ahead(seconds: float) -> Callable[[], datetime]:
    """A clock ``seconds`` ahead of the real one."""
    ahead = timedelta(seconds=seconds)
    return lambda: datetime.now(UTC) + ahead


def shift_from_env() -> None:
    """Make ``Service``'s default clock read ``BENCH_CLOCK_AHEAD`` seconds ahead, or stop at
    ``BENCH_CLOCK_AT``, if set."""
    seconds = float(os.environ.get(ENV) or 0)
    stopped = os.environ.get(AT)
    if not seconds and not stopped:
        return
    import inspect
    import sys

    from app.service import Service

    named = [
        p.name for p in inspect.signature(Service).parameters.values() if p.default is not p.empty
    ]
    defaults = list(Service.__init__.__defaults__ or ())
    if named != ["clock"] or len(defaults) != 1:
        raise SystemExit(f"bench/clock_shift.py: Service's defaults are {named}, not ['clock']")
    if stopped:
        moment = datetime.fromisoformat(stopped)
        Service.__init__.__defaults__ = (lambda: moment,)
        print(f"bench clock at {moment.isoformat()}", file=sys.stderr)
        return
    Service.__init__.__defaults__ = (clock_ahead(seconds),)
    print(f"{MARK} {seconds:.0f} s", file=sys.stderr)  # the bench checks the shift took
