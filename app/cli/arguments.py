"""The command line's grammar: commands, options, and the values they accept.

Every value is checked here, by argparse, before any command runs: a number out of its range
(``--port 99999``, ``--oid 0``) is a usage error like a misspelt option, one line on stderr
and exit status 2, never an exception from deep inside (a socket's ``OverflowError``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

USAGE_ERROR = 2  # exit status of every usage error (argparse's own)


class Parser(argparse.ArgumentParser):
    """argparse with usage errors in one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` and exit with status 2."""
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` to ``high`` (no upper bound: None)."""
    allowed = f"from {low} to {high}" if high is not None else f"{low} or more"

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number (one {allowed})"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range (one {allowed})")
        return value

    return parse


PORT = whole_number(1, 65535)  # a TCP port (0, "any free port", would be a surprise)
OID = whole_number(1)  # the agency's message numbers are positive


COMMANDS = ("poll", "serve", "export", "publish", "notify-test", "subscribers", "forget")


def command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names when it can be told before parsing (its first word, no help
    asked for before it), else None."""
    for word in argv:
        if word in ("-h", "--help"):
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(description: str | None = None, only: str | None = None) -> Parser:
    """Every command with its options; with ``only``, that command alone (what a cron poll
    parses: argparse would otherwise build ten more, some 2 ms of a poll)."""
    parser = Parser(prog="toldfeed", description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True)

    def wanted(name: str) -> bool:
        return only is None or only == name

    if wanted("poll"):
        sub.add_parser("poll", help="run one ingestion cycle over every source")
    if wanted("serve"):
        serve = sub.add_parser("serve", help="run the web server and the poller in one process")
        serve.add_argument("--host", default="127.0.0.1")
        serve.add_argument("--port", type=PORT, default=8000, help="1 to 65535 (default 8000)")
        serve.add_argument(
            "--demo", action="store_true", help="serve a demo store filled from the bundled samples"
        )
    if wanted("export"):
        export = sub.add_parser("export", help="write every published document under DIR")
        export.add_argument("dir")
    if wanted("publish"):
        sub.add_parser(
            "publish", help="make the bucket of TOLDFEED_PUBLISH_S3 hold every published document"
        )
    if wanted("notify-test"):
        notify = sub.add_parser(
            "notify-test", help="send a sample notification to one target and say what it answered"
        )
        notify.add_argument("name", help="the target's name in the TOLDFEED_NOTIFY file")
        notify.add_argument(
            "--kind",
            choices=("change", "reminder", "digest"),
            default="change",
            help="what the sample shows: a change (default), a reminder before a service window, "
            "a daily digest",
        )
    if wanted("subscribers"):
        subscribers = sub.add_parser(
            "subscribers", help="the self-service e-mail subscriptions: count, list, remove, export"
        )
        actions = subscribers.add_subparsers(dest="action", required=True)
        actions.add_parser("count", help="how many are confirmed and waiting")
        actions.add_parser("list", help="one line each: address, state, language, systems, what")
        remove = actions.add_parser("remove", help="delete one address and its choices")
        remove.add_argument("address")
        listing = actions.add_parser("export", help="write every subscription as JSON (mode 0600)")
        listing.add_argument("file")
    if wanted("forget"):
        forget = sub.add_parser(
            "forget", help="drop every observation of one message; the next poll reads it again"
        )
        forget.add_argument("--oid", type=OID, required=True, help="the message's oid")
    return parser
