"""``toldfeed serve --demo``: a separate store filled from the bundled sample snapshots.

The samples (``app/samples``: three snapshots of the agency's pages and feed) are served by
an in-process transport (``app.fetch.StaticTransport``), so the demo needs no network and shows every feature within
seconds: the real pipeline polls t1, t2 and t3 at their original times, then keeps polling t3.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any

from app.config import Settings
from app.fetch import StaticTransport
from app.upstream.dates import local_to_utc

SAMPLES = files("app").joinpath("samples")


def _expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLES.joinpath("expected.json").read_text(encoding="utf-8"))
    return data


def snapshots() -> list[dict[str, Any]]:
    """The sample snapshots in order."""
    result: list[dict[str, Any]] = _expected()["snapshots"]
    return result


class SampleTransport(StaticTransport):
    """Answers the upstream URLs of one snapshot from the bundled files (404 otherwise)."""

    def __init__(self, snapshot: str = "t3") -> None:
        super().__init__()
        self.use(snapshot)

    def use(self, name: str) -> None:
        """Serve snapshot ``name`` from now on."""
        snap = next(s for s in snapshots() if s["name"] == name)
        self.serve(
            {
                url: (
                    SAMPLES.joinpath(file).read_bytes(),
                    "application/rss+xml; charset=utf-8"
                    if file.endswith(".xml")
                    else "text/html; charset=utf-8",
                )
                for url, file in snap["documents"].items()
            }
        )


def demo_settings(settings: Settings) -> Settings:
    """Settings of the demo: its own data directory and the sample sources."""
    data_dir = settings.data_dir / "demo"
    data_dir.mkdir(parents=True, exist_ok=True)
    sources = data_dir / "sources.toml"
    lines = []
    for src in snapshots()[-1]["sources"]:
        lines += [
            "[[source]]",
            f'kind = "{src["kind"]}"',
            f'url = "{src["url"]}"',
            f'lang = "{src["lang"]}"',
            "",
        ]
    sources.write_text("\n".join(lines), encoding="utf-8")
    return replace(settings, data_dir=data_dir, sources=sources, demo=True)


def fill_demo(runtime: Any, transport: SampleTransport) -> None:
    """Poll every snapshot at its original time, so the demo has a history."""
    for snap in snapshots():
        transport.use(snap["name"])
        runtime.poll(local_to_utc(datetime.fromisoformat(snap["polled_at_local"])))
    transport.use(snapshots()[-1]["name"])


def demo_clock(since: datetime | None = None) -> Callable[[], datetime]:
    """The demo's clock: from the last snapshot's poll time (or ``since``, if later) onwards
    in real time, so the pages read as they did that morning, not months later."""
    start = local_to_utc(datetime.fromisoformat(snapshots()[-1]["polled_at_local"]))
    start = max(start, since) if since is not None else start
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)
