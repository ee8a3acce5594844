"""After an upgrade that changes the merge rules, stored incidents are derived again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app import create_app
from app.config import Settings
from app.ingest.decide import Neighbourhood, rederive_all
from app.ingest.remerge import remerge_if_needed
from app.ingest.rules import merge_digest
from app.merge import derive_incident
from app.model import Lang, Observation, SourceKind, Status
from app.runtime import Runtime
from app.service import Service
from app.store import Batch, Store

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _obs(oid: int, **kw: object) -> Observation:
    base: dict[str, object] = dict(
        oid=oid,
        ref="INC000000000009",
        lang=Lang.EN,
        source_kind=SourceKind.PAGE,
        observed_at=T0 + timedelta(days=9),
        title=f"message {oid}",
        created_at=T0,
        last_updated_at=T0,
        message_text=f"text {oid}",
        message_html=f"<p>text {oid}</p>",
        status=Status.CLOSED,
    )
    base.update(kw)
    return Observation(**base)  # type: ignore[arg-type]


def _around(observations: list[Observation], stored_closed_at: datetime | None) -> Neighbourhood:
    incident = derive_incident(observations)
    stored = replace(incident, closed_at=stored_closed_at)  # as older rules derived it
    by_oid: dict[int, tuple[Observation, ...]] = {}
    for o in observations:
        by_oid[o.oid] = (*by_oid.get(o.oid, ()), o)
    return Neighbourhood(
        observations=by_oid,
        keys=dict.fromkeys(by_oid, incident.key),
        incidents={incident.key: stored},
        generation=7,
        incident_count=1,
    )


def test_rederiving_puts_only_what_the_rules_now_derive_differently() -> None:
    later = T0 + timedelta(days=2)
    observations = [_obs(1), _obs(2, created_at=T0 + timedelta(hours=1), last_updated_at=later)]
    stale = _around(observations, stored_closed_at=T0)  # the old rule: the first closing
    decision = rederive_all(stale)
    assert decision.changed_keys == ("INC000000000009",) and not decision.new_keys
    assert [i.closed_at for i in decision.incidents] == [later]
    assert (decision.generation, decision.incident_count) == (8, 1)
    assert not decision.observations and not decision.refs  # the observations stay as they are

    current = _around(observations, stored_closed_at=later)
    nothing = rederive_all(current)
    assert nothing.incidents == () and nothing.generation is None
    assert rederive_all(Neighbourhood()).incidents == ()


def _tamper(settings: Settings, key: str) -> tuple[str, str]:
    """Store ``key`` as older rules might have derived it; return its title and the stale one."""
    store = Store.open(settings.data_dir)
    try:
        incident = store.incident(key)
        assert incident is not None
        stale = replace(incident, title={**incident.title, "en": "As the old rules said"})
        batch = Batch()
        Store.stage_incident(batch, stale)  # as a poll of the older code committed it
        Store.stage_generation(batch, store.generation() + 1, store.incident_count())
        Store.stage_merge_rules(batch, "the rules before the upgrade")
        store.commit(batch)
        return incident.title["en"], stale.title["en"]
    finally:
        store.close()


def test_the_first_poll_after_an_upgrade_derives_every_incident_again(
    filled: Settings, tmp_path: Path
) -> None:
    notify = tmp_path / "notify.toml"
    notify.write_text(
        '[[target]]\nname = "all"\nkind = "webhook"\nurl = "http://127.0.0.1:9/"\n'
        'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n'
    )
    settings = replace(filled, notify=str(notify))
    key = "WO0000001586573"
    title, stale = _tamper(settings, key)
    with Runtime.open(settings) as runtime:
        store = runtime.store
        assert store.merge_rules() != merge_digest()
        seq, generation = store.outbox_seq(), store.generation()
        service = Service(runtime)
        report = service.poll_once(force=True)
        assert report is not None and not report.changed_keys  # upstream said nothing new
        repaired = store.incident(key)
        assert repaired is not None and repaired.title["en"] == title
        assert store.merge_rules() == merge_digest()
        assert store.generation() == generation + 1
        assert store.outbox_seq() == seq  # nothing happened upstream: nothing to push

        # current rules: nothing is derived again, nothing written
        assert remerge_if_needed(store) is None
        again = service.poll_once(force=True)
        assert again is not None and store.generation() == generation + 1

    app = create_app(settings, poll=False)
    try:
        feed = app.test_client().get("/feeds/all.atom").get_data(as_text=True)
    finally:
        app.extensions["toldfeed"].runtime.close()
    assert title in feed and stale not in feed
