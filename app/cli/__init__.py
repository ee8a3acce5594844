"""toldfeed: clean feeds, pages and calendars from the Danish Customs Agency's status page.

Commands: poll, serve, export, publish, forget, notify-test, subscribers (see README.md and
docs/operations.md).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.cli.arguments import build_parser, command_of
from app.config import Settings
from app.errors import ConfigError, StoreError
from app.ingest import PollReport
from app.logs import setup_logging
from app.store.records import Outcome

if TYPE_CHECKING:
    from app.publish.upload_plan import UploadResult

# exit statuses (docs/operations.md, "Command line")
FAILED = 1  # a source could not be read, a target or the bucket refused, nothing to do
CONFIG_ERROR = 2  # the configuration cannot be used (usage errors too: argparse's own 2)
STORE_ERROR = 3  # the store cannot be opened, read or written
BUSY = 75  # another process holds the poll lock: try again later (sysexits.h's EX_TEMPFAIL)


def _busy() -> int:
    """Say that another process is polling; the status that tells a retry may work."""
    print(
        "toldfeed: another toldfeed process is polling this data directory; try again later",
        file=sys.stderr,
    )
    return BUSY


def format_report(report: PollReport) -> list[str]:
    """One line per source, then one line for detail pages and incidents."""
    lines = []
    for s in report.sources:
        detail = f"{s.entries} entries" if s.outcome != "failed" else (s.error or "failed")
        if s.via:
            detail += f" (via {s.via})"
        if s.warnings and s.outcome != "failed":
            detail += f"; {len(s.warnings)} warning(s): {s.warnings[0]}"
        lines.append(f"{s.outcome:<13} {s.url}  {detail}")
    lines.append(
        f"details: {report.details_fetched} fetched, {report.details_not_modified} not modified, "
        f"{report.details_failed} failed, {report.details_deferred} deferred; "
        f"incidents: {len(report.new_keys)} new, {len(report.changed_keys)} changed"
    )
    return lines


def format_upload(result: UploadResult) -> str:
    """One line for an upload run to the bucket: what happened, never "published" for a run
    that did not reach it."""
    figures = f"{len(result.put)} put, {result.checked} checked, {result.requests} requests"
    if result.ok and not result.reached:
        waiting = f" ({result.deferred} wait for their refresh)" if result.deferred else ""
        return (
            f"nothing to upload {result.target}  no document differs from the last upload"
            f"{waiting}; the bucket was not contacted"
        )
    if result.ok:
        return f"published     {result.target}  {figures}"
    return (
        f"publish failed {result.target}  {result.error}; {figures}, "
        f"{result.pending} pending (retried at the next poll)"
    )


def _cmd_poll(settings: Settings) -> int:
    from app.cli.notify import deliver_after_poll, format_queued
    from app.runtime import Runtime
    from app.service import Service

    started = time.monotonic()
    with Runtime.open(settings) as runtime:
        service = Service(runtime)
        report = service.poll_once(force=True)
        # then what the clock makes due (reminders, window events, digests), and delivery
        # after the poll's commit, within what is left of its budget
        queued = service.look_at_the_clock() if report is not None else []
        delivery = deliver_after_poll(service, started) if report is not None else None
        health = runtime.store.health()
    if report is None:
        return _busy()
    for line in format_report(report):
        print(line)
    if queued:
        print(format_queued(queued))
    if delivery is not None:
        print(delivery)
    if service.last_upload is not None:  # the exit status stays the upstream's alone
        print(format_upload(service.last_upload))
    # a source skipped while it backs off after failures was not read: that is a failure too
    # (one skipped within the upstream's max-age was read recently and is fine)
    backing_off = [
        s.url
        for s in report.sources
        if s.outcome == Outcome.SKIPPED
        and (h := health.get(s.url)) is not None
        and h.consecutive_failures > 0
    ]
    for url in backing_off:
        print(f"{url}: not read: backing off after {health[url].consecutive_failures} failures")
    return 0 if report.ok and not backing_off else FAILED


def _cmd_publish(settings: Settings) -> int:
    from app.runtime import Runtime
    from app.service import Service

    if settings.publish_target is None:
        raise ConfigError("TOLDFEED_PUBLISH_S3 is not set (s3://bucket/prefix)")
    with Runtime.open(settings) as runtime:
        # as long as forget: a running poll ends within its budget
        result = Service(runtime).sync_bucket(wait_seconds=settings.poll_budget_seconds)
    if result is None:
        return _busy()
    print(format_upload(result))
    return 0 if result.ok else FAILED


def _cmd_forget(settings: Settings, oid: int) -> int:
    from app.ingest.forget import forget_message
    from app.runtime import Runtime
    from app.service import Service

    with Runtime.open(settings) as runtime:
        service = Service(runtime)
        if not service.lock.acquire(wait_seconds=settings.poll_budget_seconds):
            return _busy()
        try:
            done = forget_message(runtime.store, oid)
            if done is not None:
                service.publish(done.keys)
        finally:
            service.lock.release()
    if done is None:
        print(f"no observations of oid {oid} are stored; nothing to forget")
        return FAILED
    what = [f"{len(done.changed_keys)} incident(s) derived again from what remains"]
    if done.removed_keys:
        what.append(f"removed {', '.join(done.removed_keys)}")
    if done.new_keys:
        what.append(f"split off {', '.join(done.new_keys)}")
    print(f"forgot oid {oid}: {done.observations} observation(s) dropped; {'; '.join(what)}")
    print("the next poll reads its list rows, feed items and detail pages again")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(__doc__, only=command_of(words)).parse_args(words)
    setup_logging(args.verbose)
    # what is loaded now (modules, the catalogue's tables) lives as long as the process: keep
    # it out of the collector's full passes, which a short poll would otherwise pay for
    gc.freeze()
    try:
        settings = Settings.from_env()
        if args.command == "poll":
            return _cmd_poll(settings)
        if args.command == "serve":
            from app.cli.serve import serve_forever

            return serve_forever(settings, args.host, args.port, demo=args.demo)
        if args.command == "export":
            from app.cli.export import export_all, has_data

            if not has_data(settings):
                print(
                    f"toldfeed: nothing to export: the store in {settings.data_dir} holds no "
                    "incidents and was never polled; run `toldfeed poll` first (the demo of "
                    "`serve --demo` keeps its store in <data dir>/demo: set TOLDFEED_DATA_DIR "
                    "to it to export the demo)",
                    file=sys.stderr,
                )
                return FAILED
            count = export_all(settings, args.dir, warn=lambda line: print(line, file=sys.stderr))
            print(f"wrote {count} documents under {args.dir}")
            return 0
        if args.command == "forget":
            return _cmd_forget(settings, args.oid)
        if args.command == "publish":
            return _cmd_publish(settings)
        if args.command == "notify-test":
            from app.cli.notify import notify_test

            return notify_test(settings, args.name, args.kind)
        if args.command == "subscribers":
            from app.cli.subscribers import subscribers

            value = getattr(args, "address", None) or getattr(args, "file", None)
            return subscribers(settings, args.action, value)
    except ConfigError as e:
        print(f"toldfeed: configuration error: {e}", file=sys.stderr)
        return CONFIG_ERROR
    except StoreError as e:  # one line naming the store and what to do
        print(f"toldfeed: store error: {e}", file=sys.stderr)
        return STORE_ERROR
    return CONFIG_ERROR


if __name__ == "__main__":
    sys.exit(main())
