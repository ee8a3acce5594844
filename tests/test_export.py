"""``toldfeed export`` beside a running server: the export's links, and the server's.

The store's rendered documents are what every worker serves; an export with other settings
must leave them alone, and an export that would write this machine's address says so.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app import create_app
from app.cli import main
from app.cli.export import export_all
from app.config import Settings

SERVED = "https://feeds.served.example"
EXPORTED = "https://cdn.exported.example"


def _cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("TOLDFEED_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TOLDFEED_SOURCES", str(settings.sources))
    monkeypatch.setenv("TOLDFEED_SYSTEMS", str(settings.systems))
    monkeypatch.delenv("TOLDFEED_BASE_URL", raising=False)


def test_an_export_with_another_base_url_leaves_what_the_server_serves(
    filled: Settings, tmp_path: Path
) -> None:
    served = replace(filled, base_url=SERVED, base_url_set=True)
    app = create_app(served, poll=False)  # a running worker: publishes with its base URL
    try:
        client = app.test_client()
        before = client.get("/feeds/all.atom")
        assert f"{SERVED}/feeds/all.atom".encode() in before.data
        exported = replace(filled, base_url=EXPORTED, base_url_set=True)
        assert export_all(exported, tmp_path / "site") > 200
        atom = (tmp_path / "site" / "feeds" / "all.atom").read_text(encoding="utf-8")
        assert f"{EXPORTED}/feeds/all.atom" in atom and SERVED not in atom
        opml = (tmp_path / "site" / "feeds.opml").read_text(encoding="utf-8")
        assert EXPORTED in opml and SERVED not in opml
        # the worker still serves its own links, byte for byte what it served before
        after = client.get("/feeds/all.atom")
        assert after.data == before.data and after.headers["ETag"] == before.headers["ETag"]
        for path in ("/", "/feeds.opml", "/api/systems.json", "/calendar/all.ics"):
            body = client.get(path).data
            assert EXPORTED.encode() not in body, path
    finally:
        app.extensions["toldfeed"].runtime.close()


def test_an_export_rendered_apart_writes_what_a_store_rendered_alike_holds(
    filled: Settings, tmp_path: Path
) -> None:
    """The in-memory rendering is the publisher's: the same files, the same bytes."""
    exported = replace(filled, base_url=EXPORTED, base_url_set=True)
    export_all(exported, tmp_path / "apart")  # the store holds another base URL's documents
    create_app(exported, poll=False).extensions["toldfeed"].runtime.close()  # now it has these
    export_all(exported, tmp_path / "stored")
    apart = {p.relative_to(tmp_path / "apart") for p in (tmp_path / "apart").rglob("*")}
    stored = {p.relative_to(tmp_path / "stored") for p in (tmp_path / "stored").rglob("*")}
    assert apart == stored
    different = [
        str(p)
        for p in sorted(stored)
        if (tmp_path / "stored" / p).is_file()
        and (tmp_path / "stored" / p).read_bytes() != (tmp_path / "apart" / p).read_bytes()
    ]
    assert different == []


def test_an_export_that_links_to_localhost_says_so_in_one_line(
    filled: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # the store published by a `toldfeed serve` without TOLDFEED_BASE_URL: its own address
    local = replace(filled, base_url="http://localhost:8000", base_url_set=True)
    create_app(local, poll=False).extensions["toldfeed"].runtime.close()
    _cli_env(monkeypatch, filled)
    assert main(["export", str(tmp_path / "site")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "http://localhost:8000" in err[0] and "TOLDFEED_BASE_URL=" in err[0]
    atom = (tmp_path / "site" / "feeds" / "all.atom").read_text(encoding="utf-8")
    assert "http://localhost:8000/feeds/all.atom" in atom


def test_an_export_that_adopts_the_servers_public_base_url_says_nothing(
    filled: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    create_app(replace(filled, base_url=SERVED, base_url_set=True), poll=False).extensions[
        "toldfeed"
    ].runtime.close()
    _cli_env(monkeypatch, filled)
    assert main(["export", str(tmp_path / "site")]) == 0
    assert capsys.readouterr().err == ""
    atom = (tmp_path / "site" / "feeds" / "all.atom").read_text(encoding="utf-8")
    assert f"{SERVED}/feeds/all.atom" in atom
