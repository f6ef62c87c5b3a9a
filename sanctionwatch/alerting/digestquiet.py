"""What changed while an alert waited for its digest: a mute set since, or its story judged a
false positive since, keeps it out of the digest, as either would have kept it from being
posted had it come in now (``messages.record_alerts`` applies both at record time).

Such an alert is recorded ``suppressed`` with why (the CSV and `status` say so) and its
digest entry is dropped, in the transaction that builds the digest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

import sqlite_utils

from sanctionwatch.alerting.mutes import (
    FALSE_POSITIVE_STORY,
    SUPPRESSED,
    Mute,
    active_mutes,
    why_muted,
)
from sanctionwatch.storage.db import matches_from_json
from sanctionwatch.storage.digestschema import DIGEST_ENTRIES_TABLE

log = logging.getLogger(__name__)


def _why_quiet(db: sqlite_utils.Database, alert_id: int, mutes: Sequence[Mute]) -> str | None:
    row = db.execute(
        "SELECT rule, rules, matches, story_id, channel FROM alerts WHERE id = ?", [alert_id]
    ).fetchone()
    if row is None:
        return None
    rule, rules_json, matches_json, story_id, channel = row
    if story_id is not None:
        first = db.execute(
            "SELECT disposition FROM alerts WHERE story_id = ? AND channel = ? AND id != ?"
            " AND disposition = 'false_positive' LIMIT 1",
            [story_id, channel, alert_id],
        ).fetchone()
        if first is not None:
            return FALSE_POSITIVE_STORY
    matches = matches_from_json(matches_json)
    names = [str(r["rule"]) for r in json.loads(rules_json or "[]")] or [str(rule)]
    whys = [why_muted(mutes, name, matches) for name in names]
    if all(w is not None for w in whys):
        return "muted: " + "; ".join(sorted({w for w in whys if w is not None}))
    return None


def quiet_waiting(db: sqlite_utils.Database, alert_ids: Sequence[int], now: datetime) -> list[int]:
    """The alerts of ``alert_ids`` still to list; the others are recorded suppressed and
    their digest entries removed."""
    mutes = active_mutes(db, now)
    kept = []
    for alert_id in alert_ids:
        why = _why_quiet(db, alert_id, mutes)
        if why is None:
            kept.append(alert_id)
            continue
        db.execute(
            "UPDATE alerts SET status = ?, suppressed = ? WHERE id = ?",
            [SUPPRESSED, why, alert_id],
        )
        db.execute(
            f"DELETE FROM {DIGEST_ENTRIES_TABLE} WHERE alert_id = ? AND outbox_id IS NULL",
            [alert_id],
        )
        log.info("digest alert quieted while waiting alert=%d why=%r", alert_id, why)
    return kept
