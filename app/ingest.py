"""One poll: fetch → parse → merge → store. The one impure pipeline.

Every source is read on its own; one failing source never stops the others (its error goes
into the report). Detail pages are followed from list rows and RSS items, only to the hosts
the sources file names, at most ``max_details_per_poll`` per poll: first those never read,
then those a list row shows as changed, then those not read for ``detail_refresh_seconds``.
Everything is committed in one transaction at the end, validators included, so a poll killed
half-way leaves the store as it was and the next poll repeats the work.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.catalogue import Catalogue
from app.config import Settings, Source
from app.errors import FetchError
from app.fetch import Fetcher, Response, Validators
from app.merge import add_observations, derive_incident, fingerprint, group_oids
from app.model import Lang, Observation
from app.store import Batch, Store
from app.upstream.detail import parse_detail_page
from app.upstream.listpage import parse_list_page
from app.upstream.result import DetailLink, ParseResult
from app.upstream.rss import parse_rss

log = logging.getLogger("toldfeed.ingest")


@dataclass(slots=True)
class SourceReport:
    """What one source gave in one poll."""

    url: str
    kind: str
    outcome: str = "failed"  # fetched | not modified | failed | skipped
    entries: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    unknown_systems: list[str] = field(default_factory=list)
    retry_after: float | None = None
    max_age: float | None = None
    via: str | None = None  # the autodiscovered URL actually read, if not the configured one


@dataclass(slots=True)
class PollReport:
    """The outcome of one poll."""

    started_at: datetime
    finished_at: datetime | None = None
    sources: list[SourceReport] = field(default_factory=list)
    details_fetched: int = 0
    details_not_modified: int = 0
    details_failed: int = 0
    details_deferred: int = 0
    new_keys: list[str] = field(default_factory=list)
    changed_keys: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)
    detail_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every source was read (fetched or not modified)."""
        return all(s.outcome in {"fetched", "not modified", "skipped"} for s in self.sources)


def _parse(
    kind: str, response: Response, lang: Lang, catalogue: Catalogue, now: datetime
) -> ParseResult:
    parser = {"rss": parse_rss, "page": parse_list_page, "detail": parse_detail_page}[kind]
    return parser(
        response.body,
        response.headers,
        url=response.url,
        lang=lang,
        catalogue=catalogue,
        observed_at=now,
    )


def _truncated(kind: str, body: bytes) -> str | None:
    """Why a document looks cut off (a dropped connection, a full disk upstream), or None.

    A partial page would yield a partial last row whose text could overwrite a complete one.
    """
    tail = body[-4096:].rstrip().lower()
    if kind == "rss":
        return (
            None
            if tail.endswith((b"</rss>", b"</feed>", b"</rdf:rdf>"))
            else "not a complete feed (no closing </rss> or </feed>)"
        )
    return None if b"</html>" in tail or b"</body>" in tail else "truncated page (no </html>)"


def _links_to_json(links: tuple[DetailLink, ...]) -> list[list[Any]]:
    return [
        [
            ln.url,
            ln.oid,
            ln.lang.value,
            ln.last_updated_at.isoformat() if ln.last_updated_at else None,
        ]
        for ln in links
    ]


def _links_from_json(data: list[list[Any]]) -> tuple[DetailLink, ...]:
    return tuple(
        DetailLink(url, int(oid), Lang(lang), datetime.fromisoformat(at) if at else None)
        for url, oid, lang, at in data
    )


class Poller:
    """Runs polls against one store with one fetcher."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        fetcher: Fetcher,
        catalogue: Catalogue,
        sources: tuple[Source, ...],
    ) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.catalogue = catalogue
        self.sources = sources
        self._http: dict[str, dict[str, Any]] = {}
        self._skip: frozenset[str] = frozenset()
        self._states: dict[str, Any] = {}

    # fetching ------------------------------------------------------------------------------

    def _fetch(self, url: str, deadline: float) -> Response:
        state = self._http.get(url, {})
        validators = Validators(state.get("etag"), state.get("last_modified"))
        return self.fetcher.get(url, validators, deadline)

    def _stage_http(self, url: str, response: Response, now: datetime, **extra: Any) -> None:
        """Remember validators; written with the rest of the poll (one record for all URLs)."""
        state = dict(self._http.get(url, {}))
        state.update(
            etag=response.validators.etag,
            last_modified=response.validators.last_modified,
            checked_at=now.isoformat(),
            **extra,
        )
        self._http[url] = state

    def _read_source(
        self, source: Source, now: datetime, deadline: float
    ) -> tuple[SourceReport, ParseResult | None, dict[str, Any]]:
        report = SourceReport(url=source.url, kind=source.kind)
        state = dict(self._states.get(source.url) or {})
        if source.url in self._skip:
            report.outcome = "skipped"  # backing off after failures, or within max-age
            return report, None, state
        if time.monotonic() > deadline:
            report.error = "poll time budget exhausted"
            return report, None, state
        url = state.get("discovered") or source.url if source.kind == "rss" else source.url
        try:
            response = self._fetch(url, deadline)
        except FetchError as e:
            report.error, report.retry_after = e.reason, e.retry_after
            return report, None, state
        report.max_age = response.max_age
        report.via = url if url != source.url else None
        if response.not_modified:
            report.outcome = "not modified"
            report.entries = int(state.get("entries", 0))
            self._stage_http(url, response, now)
            return report, None, state
        if (truncated := _truncated(source.kind, response.body)) is not None:
            report.error = truncated
            return report, None, state  # nothing from a cut-off document; read it again next time
        result = _parse(source.kind, response, source.lang, self.catalogue, now)
        report.warnings = list(result.warnings)
        report.unknown_systems = list(result.unknown_systems)
        report.entries = len({o.oid for o in result.observations})
        if not result.observations:
            report.error = result.warnings[0] if result.warnings else "nothing readable"
            return report, None, state  # validators not saved: read it again next time
        report.outcome = "fetched"
        self._stage_http(url, response, now)
        state.update(
            links=_links_to_json(result.links),
            feed_links=list(result.feed_links),
            entries=report.entries,
        )
        return report, result, state

    def _discover_feed(
        self, source: Source, now: datetime, deadline: float, candidates: list[str]
    ) -> tuple[SourceReport, ParseResult | None, dict[str, Any]] | None:
        """Try the feed URLs the pages advertise when the configured RSS URL fails."""
        for candidate in candidates:
            if candidate == source.url or not self.fetcher.allowed(candidate):
                continue
            state = dict(self._states.get(source.url) or {})
            state["discovered"] = candidate
            try:
                response = self._fetch(candidate, deadline)
            except FetchError:
                continue
            report = SourceReport(
                url=source.url, kind="rss", via=candidate, max_age=response.max_age
            )
            if response.not_modified:
                report.outcome, report.entries = "not modified", int(state.get("entries", 0))
                return report, None, state
            result = _parse("rss", response, source.lang, self.catalogue, now)
            if result.observations:
                log.info("feed autodiscovered: %s (configured %s failed)", candidate, source.url)
                report.outcome, report.entries = (
                    "fetched",
                    len({o.oid for o in result.observations}),
                )
                report.warnings = [f"configured feed URL failed; read {candidate} instead"]
                self._stage_http(candidate, response, now)
                state.update(links=_links_to_json(result.links), entries=report.entries)
                return report, result, state
        return None

    def _details_to_fetch(
        self, links: list[DetailLink], now: datetime, report: PollReport
    ) -> list[DetailLink]:
        chosen: dict[tuple[int, Lang], tuple[int, str, DetailLink]] = {}
        refresh = timedelta(seconds=self.settings.detail_refresh_seconds)
        for link in links:
            if not self.fetcher.allowed(link.url):
                continue
            state = self._http.get(link.url, {})
            checked = state.get("checked_at")
            seen_update = state.get("last_updated")
            if not checked or not state.get("parsed"):
                rank = 0
            elif link.last_updated_at and (
                not seen_update or link.last_updated_at > datetime.fromisoformat(seen_update)
            ):
                rank = 1
            elif now - datetime.fromisoformat(checked) >= refresh:
                rank = 2
            else:
                continue
            key = (link.oid, link.lang)
            candidate = (rank, checked or "", link)
            if key not in chosen or candidate[:2] < chosen[key][:2]:
                chosen[key] = candidate
        ordered = sorted(chosen.values(), key=lambda c: (c[0], c[1], c[2].oid))
        limit = self.settings.max_details_per_poll
        report.details_deferred = max(0, len(ordered) - limit)
        return [c[2] for c in ordered[:limit]]

    def _read_detail(
        self, link: DetailLink, now: datetime, deadline: float
    ) -> tuple[DetailLink, Response | None, ParseResult | None, str | None]:
        try:
            response = self._fetch(link.url, deadline)
        except FetchError as e:
            return link, None, None, e.reason
        if response.not_modified:
            return link, response, None, None
        if (truncated := _truncated("detail", response.body)) is not None:
            return link, None, None, truncated
        return link, response, _parse("detail", response, link.lang, self.catalogue, now), None

    # the poll ------------------------------------------------------------------------------

    def poll(self, now: datetime, skip: frozenset[str] = frozenset()) -> PollReport:
        """Run one poll cycle at time ``now`` and commit what it found.

        Sources in ``skip`` (backing off) are not fetched; their stored detail links still are.
        """
        deadline = time.monotonic() + self.settings.poll_budget_seconds
        self._skip = skip
        report = PollReport(started_at=now)
        batch = Batch()
        self._http = dict(self.store.get("meta:http") or {})
        # read here, not in the fetch threads: each new thread would open its own SQLite connection
        self._states = {s.url: self.store.get(f"src:{s.url}") for s in self.sources}
        observations: list[Observation] = []
        links: list[DetailLink] = []
        feed_candidates: list[str] = []
        workers = max(1, self.settings.fetch_workers)
        # every source at once: a slow or hung source never delays the others
        with ThreadPoolExecutor(max_workers=max(1, len(self.sources))) as sources_pool:
            outcomes = list(
                sources_pool.map(lambda s: self._read_source(s, now, deadline), self.sources)
            )
        for source, (_, _, state) in zip(self.sources, outcomes, strict=True):
            if source.kind == "page":
                feed_candidates.extend(state.get("feed_links", []))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for source, (src_report, result, state) in zip(self.sources, outcomes, strict=True):
                if (
                    source.kind == "rss"
                    and src_report.outcome == "failed"
                    and source.url not in skip
                ):
                    found = self._discover_feed(source, now, deadline, feed_candidates)
                    if found is not None:
                        src_report, result, state = found
                report.sources.append(src_report)
                self._collect(source, result, state, batch, observations, links)
            details = self._details_to_fetch(links, now, report)
            for link, response, result, error in pool.map(
                lambda ln: self._read_detail(ln, now, deadline), details
            ):
                if error is not None or response is None:
                    report.details_failed += 1
                    report.detail_errors.append(f"{link.url}: {error}")
                    continue
                if result is None:
                    report.details_not_modified += 1
                    self._stage_http(link.url, response, now)
                    continue
                report.details_fetched += 1
                if not result.observations:
                    report.details_failed += 1
                    report.detail_errors.extend(result.warnings)
                    continue
                observations.extend(result.observations)
                obs = result.observations[0]
                self._stage_http(
                    link.url,
                    response,
                    now,
                    parsed=True,
                    last_updated=obs.last_updated_at.isoformat() if obs.last_updated_at else None,
                )
                for warning in result.warnings:
                    report.detail_errors.append(warning)
        self._merge(observations, batch, report)
        forget = (now - timedelta(days=30)).isoformat()
        batch.put(
            "meta:http",
            {u: st for u, st in self._http.items() if st.get("checked_at", "") >= forget},
        )
        report.finished_at = now
        batch.put("meta:last_poll", _report_to_json(report))
        self.store.commit(batch)
        return report

    def _collect(
        self,
        source: Source,
        result: ParseResult | None,
        state: dict[str, Any],
        batch: Batch,
        observations: list[Observation],
        links: list[DetailLink],
    ) -> None:
        if result is not None:
            observations.extend(result.observations)
            batch.put(f"src:{source.url}", state)
        links.extend(_links_from_json(state.get("links", [])))

    # merging into the store ----------------------------------------------------------------

    def _merge(self, new: list[Observation], batch: Batch, report: PollReport) -> None:
        by_oid: dict[int, list[Observation]] = {}
        for obs in new:
            by_oid.setdefault(obs.oid, []).append(obs)
        current: dict[int, list[Observation]] = {}
        changed: list[int] = []
        for oid, fresh in by_oid.items():
            existing = self.store.observations(oid)
            known = {fingerprint(o) for o in existing}
            if all(fingerprint(o) in known for o in fresh):
                current[oid] = existing
                continue
            merged = add_observations(existing, fresh)
            current[oid] = merged
            Store.stage_observations(batch, oid, merged)
            changed.append(oid)
        if not changed:
            return
        affected = self._affected(changed, current, batch)
        old_keys = {k for oid in affected if (k := self.store.key_for_oid(oid))}
        pool = [o for oid in affected for o in current[oid]]
        new_keys: set[str] = set()
        for group in group_oids(pool):
            incident = derive_incident([o for o in pool if o.oid in group])
            new_keys.add(incident.key)
            stored = self.store.incident(incident.key)
            if stored == incident:
                continue
            Store.stage_incident(batch, incident)
            (report.changed_keys if stored else report.new_keys).append(incident.key)
        for gone in old_keys - new_keys:
            batch.delete(f"inc:{gone}")  # merged into another incident
            report.removed_keys.append(gone)
        if report.new_keys or report.changed_keys or report.removed_keys:
            batch.put("meta:generation", self.store.generation() + 1)
            count = int(self.store.get("meta:incident_count") or 0)
            batch.put(
                "meta:incident_count", count + len(report.new_keys) - len(report.removed_keys)
            )

    def _affected(
        self, changed: list[int], current: dict[int, list[Observation]], batch: Batch
    ) -> set[int]:
        """Changed oids plus every oid that shares an incident with one of them."""
        affected: set[int] = set()
        frontier = list(changed)
        ref_members: dict[str, set[int]] = {}
        while frontier:
            oid = frontier.pop()
            if oid in affected:
                continue
            affected.add(oid)
            if oid not in current:
                current[oid] = self.store.observations(oid)
            linked: set[int] = set()
            for ref in {o.ref for o in current[oid] if o.ref}:
                members = ref_members.setdefault(ref, self.store.oids_for_ref(ref))
                members.add(oid)
                linked |= members
            key = self.store.key_for_oid(oid)
            stored = self.store.incident(key) if key else None
            if stored is not None:
                linked |= set(stored.oids)
            frontier.extend(linked - affected)
        for ref, members in ref_members.items():
            batch.put(f"ref:{ref}", sorted(members))
        return affected


def _report_to_json(report: PollReport) -> dict[str, Any]:
    return {
        "started_at": report.started_at.isoformat(),
        "ok": report.ok,
        "sources": [
            {
                "url": s.url,
                "kind": s.kind,
                "outcome": s.outcome,
                "entries": s.entries,
                "error": s.error,
                "warnings": s.warnings,
                "unknown_systems": s.unknown_systems,
                "via": s.via,
            }
            for s in report.sources
        ],
        "details": {
            "fetched": report.details_fetched,
            "not_modified": report.details_not_modified,
            "failed": report.details_failed,
            "deferred": report.details_deferred,
            "errors": report.detail_errors[:20],
        },
        "new": report.new_keys,
        "changed": report.changed_keys,
    }
