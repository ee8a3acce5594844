"""The ``toldfeed`` command: poll, serve, export, publish."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.config import Settings
from app.errors import ConfigError, StoreError
from app.ingest import PollReport
from app.logs import setup_logging

if TYPE_CHECKING:
    from app.objectstore import UploadResult


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
    """One line for an upload run to the bucket."""
    figures = f"{len(result.put)} put, {result.checked} checked, {result.requests} requests"
    if result.ok:
        return f"published     {result.target}  {figures}"
    return (
        f"publish failed {result.target}  {result.error}; {figures}, "
        f"{result.pending} pending (retried at the next poll)"
    )


def _cmd_poll(settings: Settings) -> int:
    from app.runtime import Runtime
    from app.service import Service

    with Runtime.open(settings) as runtime:
        service = Service(runtime)
        report = service.poll_once(force=True)
    if report is None:
        print("another toldfeed process is polling this data directory; try again later")
        return 1
    for line in format_report(report):
        print(line)
    if service.last_upload is not None:  # the exit status stays the upstream's alone
        print(format_upload(service.last_upload))
    return 0 if report.ok else 1


def _cmd_publish(settings: Settings) -> int:
    from app.runtime import Runtime
    from app.service import Service

    if settings.publish_target is None:
        raise ConfigError("TOLDFEED_PUBLISH_S3 is not set (s3://bucket/prefix)")
    with Runtime.open(settings) as runtime:
        result = Service(runtime).sync_bucket()
    if result is None:
        print("another toldfeed process is polling this data directory; try again later")
        return 1
    print(format_upload(result))
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = argparse.ArgumentParser(prog="toldfeed", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("poll", help="run one ingestion cycle over every source")
    serve = sub.add_parser("serve", help="run the web server and the poller in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--demo", action="store_true", help="serve a demo store filled from the bundled samples"
    )
    export = sub.add_parser("export", help="write every published document under DIR")
    export.add_argument("dir")
    sub.add_parser(
        "publish", help="make the bucket of TOLDFEED_PUBLISH_S3 hold every published document"
    )
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        settings = Settings.from_env()
        if args.command == "poll":
            return _cmd_poll(settings)
        if args.command == "serve":
            from app.serve import serve_forever

            return serve_forever(settings, args.host, args.port, demo=args.demo)
        if args.command == "export":
            from app.export import export_all

            count = export_all(settings, args.dir)
            print(f"wrote {count} documents under {args.dir}")
            return 0
        if args.command == "publish":
            return _cmd_publish(settings)
    except ConfigError as e:
        print(f"toldfeed: configuration error: {e}", file=sys.stderr)
        return 2
    except StoreError as e:
        print(f"toldfeed: store error: {e}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
