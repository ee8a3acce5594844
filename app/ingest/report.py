"""A poll's report in the log: one line per event."""

from __future__ import annotations

import logging

from app.store.records import PollReport

log = logging.getLogger("toldfeed.service")


def log_report(report: PollReport) -> None:
    """One line per source (failed ones as warnings), each parse warning and unknown name,
    each failed detail page, and a summary."""
    for s in report.sources:
        if s.outcome == "failed":
            log.warning("source failed url=%s reason=%s", s.url, s.error)
        else:
            log.info("source %s url=%s entries=%d", s.outcome, s.url, s.entries)
        for warning in s.warnings:
            log.warning("parse warning url=%s: %s", s.url, warning)
        if s.unknown_systems:
            log.warning("unknown system names url=%s names=%s", s.url, ", ".join(s.unknown_systems))
    for error in report.detail_errors:
        log.warning("detail page: %s", error)
    log.info(
        "poll done: details %d fetched, %d not modified, %d failed; incidents %d new, %d changed",
        report.details_fetched,
        report.details_not_modified,
        report.details_failed,
        len(report.new_keys),
        len(report.changed_keys),
    )
