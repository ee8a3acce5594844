"""``toldfeed subscribers count|list|remove ADDRESS|export FILE``: the operator's view of the
self-service subscriptions (the only place that shows their addresses)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from app.config import Settings
from app.errors import StoreError
from app.store import Store
from app.store.subscriber_records import Subscription

NOT_FOUND = 1


def _state(sub: Subscription) -> str:
    return "confirmed" if sub.confirmed else "waiting"


def _line(sub: Subscription) -> str:
    chosen = sub.choices or sub.requested
    systems = ",".join(sorted(chosen.systems)) or "all" if chosen else "-"
    what = ",".join(sorted(i.value for i in chosen.interests)) if chosen else "-"
    since = (sub.confirmed_at or sub.created_at).date().isoformat()
    return f"{sub.address}  {_state(sub)} {since}  {sub.lang.value}  {systems}  {what}"


def _record(sub: Subscription) -> dict[str, object]:
    chosen = sub.choices or sub.requested
    return {
        "address": sub.address,
        "state": _state(sub),
        "created_at": sub.created_at.isoformat(),
        "confirmed_at": sub.confirmed_at.isoformat() if sub.confirmed_at else None,
        "lang": sub.lang.value,
        "systems": sorted(chosen.systems) if chosen else [],  # empty: every system
        "what": sorted(i.value for i in chosen.interests) if chosen else [],
    }


def subscribers(settings: Settings, action: str, value: str | None) -> int:
    """Run one subscribers action; the exit status (StoreError when the data directory holds
    no store: the command creates none)."""
    from app.runtime import Runtime

    if not Store.location(settings.data_dir).is_dir():  # a wrong TOLDFEED_DATA_DIR, likely
        raise StoreError(
            f"no store in {settings.data_dir} (is TOLDFEED_DATA_DIR right?); nothing was created"
        )
    with Runtime.open(settings) as runtime:
        store = runtime.store
        if action == "count":
            confirmed, waiting = store.subscription_counts()
            print(f"{confirmed} confirmed, {waiting} waiting for confirmation")
            return 0
        if action == "list":
            for sub in store.subscriptions():
                print(_line(sub))
            return 0
        if action == "remove":
            assert value is not None
            if runtime.subscriptions.remove(value):
                print(f"removed {value.strip()}: the address and its choices are deleted")
                return 0
            print(f"no subscription of {value.strip()}")
            return NOT_FOUND
        assert action == "export" and value is not None
        records = [_record(sub) for sub in store.subscriptions()]
    path = Path(value)
    # addresses are personal data: readable by the operator only
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(records, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(records)} subscription(s) to {path}")
    return 0
