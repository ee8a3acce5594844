"""``toldfeed poll`` end to end: one line per source and the exit status of INTERFACE.md."""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import fields
from pathlib import Path

import pytest

from app.cli import main
from app.config import Settings
from app.errors import ConfigError
from tests.conftest import Upstream
from tests.processes import Forker


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOLDFEED_BACKOFF_SECONDS", "0.01")
    return tmp_path


def test_poll_prints_one_line_per_source_and_exits_0(
    upstream: Upstream, env: Path, monkeypatch, capsys
) -> None:
    upstream.load("t1")
    monkeypatch.setenv("TOLDFEED_SOURCES", str(upstream.sources_toml("t1", env / "s.toml")))
    assert main(["poll"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "13 entries" in out[0] and "13 entries" in out[1]  # distinct messages: page, RSS
    assert [line.split()[0] for line in out[:2]] == ["fetched", "fetched"]
    assert out[2].startswith("details: 13 fetched") and "12 new" in out[2]
    assert main(["poll"]) == 0
    again = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in again[:2]] == ["not", "not"]  # "not modified"


def test_poll_exits_1_when_a_source_fails_and_keeps_the_others(
    upstream: Upstream, env: Path, monkeypatch, capsys
) -> None:
    upstream.load("t1")
    upstream.documents.pop("/rss.aspx?oid=2367397")
    monkeypatch.setenv("TOLDFEED_SOURCES", str(upstream.sources_toml("t1", env / "s.toml")))
    assert main(["poll"]) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "HTTP 404" in out and "12 new" in out


def test_poll_exits_1_while_a_failed_source_is_skipped_for_its_backoff(
    upstream: Upstream, env: Path, monkeypatch, capsys
) -> None:
    """A source not read because it backs off after failures was not read: not a clean poll."""
    upstream.load("t1")
    upstream.documents.pop("/rss.aspx?oid=2367397")
    monkeypatch.setenv("TOLDFEED_RETRIES", "0")
    monkeypatch.setenv("TOLDFEED_SOURCES", str(upstream.sources_toml("t1", env / "s.toml")))
    assert main(["poll"]) == 1 and main(["poll"]) == 1  # the second failure starts a backoff
    capsys.readouterr()
    assert main(["poll"]) == 1  # within it: not read
    out = capsys.readouterr().out
    assert "skipped" in out and "not read: backing off after 2 failures" in out


@pytest.mark.parametrize(
    "content",
    [
        '[[source]]\nkind = "ftp"\nurl = "https://x"\n',
        "not toml [",
        '[[source]]\nkind="page"\nurl="https://x"\nlang="de"\n',
    ],
)
def test_poll_exits_2_on_a_configuration_error(
    env: Path, monkeypatch, capsys, content: str
) -> None:
    bad = env / "bad.toml"
    bad.write_text(content)
    monkeypatch.setenv("TOLDFEED_SOURCES", str(bad))
    assert main(["poll"]) == 2
    assert "configuration error" in capsys.readouterr().err


def test_bad_environment_value_is_a_configuration_error(env: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TOLDFEED_POLL_SECONDS", "often")
    assert main(["poll"]) == 2


def test_the_demo_reads_as_on_the_morning_of_its_samples(tmp_path) -> None:
    from app.cli.serve import build_app

    app = build_app(Settings.from_env({}, data_dir=tmp_path), demo=True)
    client = app.test_client()
    index = client.get("/").get_data(as_text=True)
    assert "ongoing disruption since 07:52" in index  # the same day: no date needed
    assert "Data last refreshed: 20 May 2026 09:30" in index
    assert client.get("/healthz").status_code == 200  # fresh on the demo's own clock
    app.extensions["toldfeed_stop"].set()  # the demo's poller
    app.extensions["toldfeed"].runtime.close()


def test_serve_on_a_port_in_use_is_one_line_and_exit_2(
    env: Path, monkeypatch, capsys, make_settings
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--demo", "--host", "127.0.0.1", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "choose another --port" in err


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOLDFEED_FEED_LIMIT_DEFAULT", "0"),
        ("TOLDFEED_FEED_LIMIT_DEFAULT", "1000"),
        ("TOLDFEED_POLL_JITTER", "5"),
        ("TOLDFEED_POLL_BUDGET_SECONDS", "0"),
        # numbers that are no numbers, or negative, in every numeric setting
        ("TOLDFEED_POLL_SECONDS", "nan"),
        ("TOLDFEED_POLL_SECONDS", "inf"),
        ("TOLDFEED_POLL_SECONDS", "1e400"),
        ("TOLDFEED_TIMEOUT_SECONDS", "nan"),
        ("TOLDFEED_NOTIFY_GIVE_UP_SECONDS", "-1"),
        ("TOLDFEED_NOTIFY_BACKOFF_SECONDS", "-inf"),
        ("TOLDFEED_RETRIES", "-1"),
        ("TOLDFEED_FETCH_WORKERS", "-1"),
        ("TOLDFEED_STALE_AFTER_SECONDS", "-60"),
        ("TOLDFEED_MAX_BACKOFF_SECONDS", "-1"),
        ("TOLDFEED_NOTIFY_GIVE_UP_SECONDS", "0"),
        # set but empty: a path that would be the working directory
        ("TOLDFEED_DATA_DIR", ""),
        ("TOLDFEED_SOURCES", " "),
        ("TOLDFEED_SMTP_FROM", "nobody"),
    ],
)
@pytest.mark.parametrize("command", ["export", "poll"])
def test_a_setting_that_cannot_be_used_is_exit_2(
    env: Path, monkeypatch, capsys, name: str, value: str, command: str
) -> None:
    monkeypatch.setenv(name, value)
    argv = ["export", str(env / "site")] if command == "export" else ["poll"]
    assert main(argv) == 2  # one line naming the setting, before anything is read
    err = capsys.readouterr().err
    assert name in err and len(err.strip().splitlines()) == 1, err


def test_a_bad_mail_relay_is_exit_2_even_with_nothing_to_send(
    env: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("TOLDFEED_SMTP_URL", "garbage")
    assert main(["poll"]) == 2  # before any source is read
    err = capsys.readouterr().err
    assert "TOLDFEED_SMTP_URL" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["serve", "--port", "99999"],
            "argument --port: 99999 is out of range (one from 1 to 65535)",
        ),
        (["serve", "--port", "65536"], "argument --port: 65536 is out of range"),
        (["serve", "--port", "0"], "argument --port: 0 is out of range"),
        (["serve", "--port", "-1"], "argument --port: -1 is out of range"),
        (["serve", "--port", "http"], "argument --port: 'http' is not a whole number"),
        (["serve", "--port", "80.5"], "argument --port: '80.5' is not a whole number"),
        (["forget", "--oid", "0"], "argument --oid: 0 is out of range (one 1 or more)"),
        (["forget", "--oid", "-5"], "argument --oid: -5 is out of range"),
        (["forget", "--oid", "x"], "argument --oid: 'x' is not a whole number"),
    ],
)
def test_a_number_out_of_range_on_the_command_line_is_one_line_and_exit_2(
    capsys, argv: list[str], said: str
) -> None:
    """Every numeric argument is checked by the parser, before any command runs."""
    from app.cli.arguments import build_parser

    with pytest.raises(SystemExit) as exit_status:
        build_parser().parse_args(argv)
    assert exit_status.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"toldfeed {argv[0]}: error: {said}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["poll"],
        ["-v", "poll"],
        ["serve", "--port", "8080", "--demo"],
        ["export", "site"],
        ["publish"],
        ["notify-test", "teams", "--kind", "digest"],
        ["subscribers", "remove", "someone@example.test"],
        ["forget", "--oid", "5"],
    ],
)
def test_the_parser_of_one_command_reads_it_as_the_whole_parser_does(argv: list[str]) -> None:
    """A cron poll builds the parser of its command alone; it must read the same."""
    from app.cli.arguments import build_parser, command_of

    assert command_of(argv) == next(w for w in argv if not w.startswith("-"))
    alone = build_parser(only=command_of(argv)).parse_args(argv)
    assert vars(alone) == vars(build_parser().parse_args(argv))


def test_every_command_is_listed_and_help_or_a_typo_gets_the_whole_parser(capsys) -> None:
    from app.cli import main
    from app.cli.arguments import COMMANDS, build_parser, command_of

    whole = build_parser()
    (commands,) = [a for a in whole._actions if a.dest == "command"]
    assert set(commands.choices or ()) == set(COMMANDS)  # a new command cannot be left out
    assert command_of(["-h", "poll"]) is None and command_of(["pol"]) is None
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    assert all(name in shown for name in COMMANDS)
    with pytest.raises(SystemExit) as typo:
        main(["pol"])
    assert typo.value.code == 2 and "invalid choice: 'pol'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "value"), [(["serve", "--port", "1"], 1), (["serve", "--port", "65535"], 65535)]
)
def test_the_ends_of_the_port_range_are_accepted(argv: list[str], value: int) -> None:
    from app.cli.arguments import build_parser

    assert build_parser().parse_args(argv).port == value


def test_serve_on_port_99999_is_one_line_and_exit_2_not_a_traceback(env: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_status:
        main(["serve", "--demo", "--port", "99999"])
    assert exit_status.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "toldfeed serve: error: argument --port: 99999 is out of range (one from 1 to 65535) "
        "(see toldfeed serve --help)"
    )


BOOLEAN_SETTINGS = [
    f"TOLDFEED_{f.name.upper()}"
    for f in fields(Settings)
    if isinstance(f.default, bool) and f.name not in ("demo", "base_url_set")
]
SPELLINGS = [
    *[(word, True) for word in ("1", "true", "yes", "on", "TRUE", "Yes", " on ", "ON")],
    *[(word, False) for word in ("0", "false", "no", "off", "FALSE", "No", " off", "OFF")],
    *[
        (word, None)  # None: a configuration error
        for word in ("flase", "ture", "y", "n", "2", "-1", "", " ", "enabled", "nej", "0n", "yes!")
    ],
]


def test_every_yes_no_setting_is_in_the_table() -> None:
    assert {"TOLDFEED_POLL_ON_SERVE", "TOLDFEED_PROXY_FROM_ENV"} <= set(BOOLEAN_SETTINGS)


@pytest.mark.parametrize("name", BOOLEAN_SETTINGS)
@pytest.mark.parametrize(("raw", "value"), SPELLINGS)
def test_a_yes_no_setting_is_read_by_one_parser(name: str, raw: str, value: bool | None) -> None:
    field = name.removeprefix("TOLDFEED_").lower()
    if value is None:
        with pytest.raises(ConfigError) as error:
            Settings.from_env({name: raw})
        assert str(error.value).startswith(f"{name}={raw!r}: not a yes/no value")
    else:
        assert getattr(Settings.from_env({name: raw}), field) is value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOLDFEED_SMTP_FROM", "toldfeed@feeds.example.dk\r"),  # an env file with CRLF endings
        ("TOLDFEED_BASE_URL", "https://feeds.example.dk\n"),
        ("TOLDFEED_BASE_URL", "https://feeds.example.dk/\u2028"),
        ("TOLDFEED_WEBSUB_HUB", "https://hub.example.dk/\r"),
    ],
)
def test_a_line_break_in_a_value_written_into_mails_and_links_is_a_configuration_error(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({name: value})
    assert str(error.value).startswith(f"{name} holds a control character or line break")


@pytest.mark.parametrize(
    "sender", ["toldfeed@tøld.dk", "Toldfeed <toldfeed@feeds.example.dk>", "toldfeed @x.dk"]
)
def test_the_sender_is_a_bare_ascii_address(sender: str) -> None:
    """The envelope's sender too: a relay without SMTPUTF8 would refuse every mail."""
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"TOLDFEED_SMTP_FROM": sender})
    assert "bare e-mail address in ASCII" in str(error.value)
    assert Settings.from_env({"TOLDFEED_SMTP_FROM": "toldfeed@xn--tld-ula.dk"}).smtp_from


@pytest.mark.parametrize("name", ["DMS\u2028Import", "DMS\nImport", "DMS\x85Import", " "])
def test_a_system_name_that_no_subject_line_can_hold_is_refused_when_read(
    tmp_path: Path, name: str
) -> None:
    """A name goes into mail subjects and page titles: a line break there would fail the first
    reminder that names the system, so the catalogue is refused when it is read."""
    from app.catalogue import load_catalogue

    path = tmp_path / "systems.toml"
    path.write_text(
        f'[[system]]\nslug = "dms-import"\nname = {json.dumps(name)}\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as error:
        load_catalogue(path)
    assert "holds a control character or line break" in str(error.value)
    fine = '[[system]]\nslug = "dms-import"\nname = "DMS Import: øæå"\n'
    path.write_text(fine + '[[system]]\nslug = "other"\nname = "Other"\n', "utf-8")
    assert load_catalogue(path).systems[0].name == "DMS Import: øæå"


def test_what_toldfeed_sets_itself_is_no_variable() -> None:
    """The demo (which turns notifications, WebSub and subscriptions off) is ``serve --demo``
    only, and whether a base URL was given is TOLDFEED_BASE_URL's presence: variables of their
    names change nothing, whatever they say."""
    for env in ({"TOLDFEED_DEMO": "1", "TOLDFEED_BASE_URL_SET": "1"}, {"TOLDFEED_DEMO": "flase"}):
        settings = Settings.from_env(env)
        assert (settings.demo, settings.base_url_set) == (False, False)
    assert Settings.from_env({"TOLDFEED_BASE_URL": "https://feeds.example.dk"}).base_url_set


def test_a_misspelt_yes_no_setting_makes_the_command_exit_2(env: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TOLDFEED_POLL_ON_SERVE", "flase")
    assert main(["poll"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "toldfeed: configuration error: TOLDFEED_POLL_ON_SERVE='flase': not a yes/no value: "
        "use 1/0, true/false, yes/no or on/off"
    )


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["poll"], {}),
        (["forget", "--oid", "2461231"], {}),
        (["publish"], {"TOLDFEED_PUBLISH_S3": "s3://toldfeed-test/cdn"}),
    ],
    ids=["poll", "forget", "publish"],
)
def test_a_command_that_finds_another_process_polling_exits_75_not_1(
    tmp_path: Path, argv: list[str], env: dict[str, str], forker: Forker
) -> None:
    """Another process holds the poll lock (this test process: an flock on poll.lock, as a
    running poll holds it); the command, a process of its own, says so and exits 75, which
    is neither 1 (a source failed) nor any other status of the command."""
    data = tmp_path / "data"
    data.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TOLDFEED_", "AWS_"))}
    environment.update(
        TOLDFEED_DATA_DIR=str(data),
        TOLDFEED_POLL_BUDGET_SECONDS="0.1",  # how long forget and publish wait for the lock
        **env,
    )
    out, err = tmp_path / "out", tmp_path / "err"
    with open(data / "poll.lock", "w") as held, open(out, "w") as o, open(err, "w") as e:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        command = forker.spawn(
            "import sys; from app.cli import main; sys.exit(main())",
            *argv,
            env=environment,
            stdout=o.fileno(),
            stderr=e.fileno(),
        )
        status = command.wait(60)
    stderr = err.read_text()
    assert status == 75, stderr
    assert stderr == (
        "toldfeed: another toldfeed process is polling this data directory; try again later\n"
    )
    assert out.read_text() == ""


# libraries (and parts of toldfeed) that only some polls need; a quiet poll loads none of them
ONLY_WHEN_USED = (
    "feedparser",  # an RSS body to read
    "feedgen",  # a feed to write
    "lxml",
    "icalendar",  # a calendar to write
    "werkzeug.routing",  # a request path to match
    "boto3",  # a bucket
    "smtplib",  # mail to send
    "itsdangerous",  # subscription links to sign
    "app.notify.delivery",  # a target or a subscriber
    "urllib.request",  # proxies from the environment (TOLDFEED_PROXY_FROM_ENV)
    "httpx",  # nothing in toldfeed uses it (http.client carries its requests)
    "urllib3",  # nothing but a bucket's boto3 (the fetcher is on http.client)
    "app.publish.s3",  # a bucket (TOLDFEED_PUBLISH_S3)
    "app.notify.websub",  # a hub (TOLDFEED_WEBSUB_HUB)
)
LOADED = """
import json, sys
from app.cli import main
status = main(["poll"])
print(json.dumps([m for m in {names} if m in sys.modules]))
sys.exit(status)
"""


def test_a_quiet_poll_in_a_new_process_loads_nothing_it_does_not_use(
    filled: Settings, upstream: Upstream
) -> None:
    """A cron poll is a new process: what it imports is part of what it costs. A poll in which
    every source answers 304, with no target and no subscriber, loads none of the libraries
    that only a feed, a calendar, an RSS body, a request, a bucket or a mail needs."""
    import json
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TOLDFEED_", "AWS_"))}
    environment.update(
        TOLDFEED_DATA_DIR=str(filled.data_dir),
        TOLDFEED_SOURCES=str(filled.sources),
        TOLDFEED_SYSTEMS=str(filled.systems),
        TOLDFEED_BASE_URL=filled.base_url,
    )
    rss = "/rss.aspx?oid=2367397"  # new bytes (not new items): the first poll reads its body
    upstream.documents[rss] = upstream.documents[rss].replace(b"</channel>", b"\n</channel>")
    code = LOADED.format(names=repr(ONLY_WHEN_USED))
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True
        )
        for _ in range(2)  # the first reads what is due at this moment; the second is quiet
    ]
    first, quiet = runs
    assert first.returncode == 0, first.stderr
    assert "feedparser" in json.loads(first.stdout.splitlines()[-1])  # the check can fail
    assert quiet.returncode == 0, quiet.stderr
    assert "not modified" in quiet.stdout and "0 new, 0 changed" in quiet.stdout
    assert json.loads(quiet.stdout.splitlines()[-1]) == []
