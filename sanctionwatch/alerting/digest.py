"""Digests: a channel (``[channels."#x"] digest``) or a rule (``digest:``) may ask for one
message per UTC hour or day listing its stories instead of one message per story.

Lifecycle of an alert routed to a digest, every step in SQLite so a restart loses nothing:

1. ``record_alerts`` asks ``DigestPolicy.period_for``; a digest alert is recorded with
   ``status = 'digest'`` and a ``digest_entries`` row (``add_entry``) in the match's
   transaction. Severity at or above ``digest_immediate_from`` (default high) posts at once.
2. After the period ends (``period_bounds``, UTC), the next delivery round
   (``queue_due_digests``) writes one outbox message per channel and period and stamps its id
   on the entries, in one transaction: each entry is in exactly one digest.
3. The outbox delivers it like any notice (metadata, retries, history look-up: exactly once);
   ``digest_delivered`` then marks its alerts ``delivered`` (the CSV says ``digest``). A crash
   between the two is repaired by the next round.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from sanctionwatch.alerting.digestquiet import quiet_waiting
from sanctionwatch.alerting.outbox import enqueue
from sanctionwatch.clock import iso, parse_iso
from sanctionwatch.config.channels import DEFAULT_IMMEDIATE_FROM, ChannelSettings, channel_settings
from sanctionwatch.models import Alert
from sanctionwatch.slack.digestformat import DigestStory, format_digest
from sanctionwatch.slack.storyformat import actor_groups
from sanctionwatch.storage.db import Store, matches_from_json
from sanctionwatch.storage.digestschema import DIGEST_ENTRIES_TABLE

log = logging.getLogger(__name__)

DIGEST_STATUS = "digest"  # alerts.status of an alert waiting for its digest
DIGEST_KIND = "digest"  # outbox.kind of a digest message
PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
SEVERITIES = ("low", "medium", "high", "critical")  # ascending, as the rules' severities
SQL_CHUNK = 500  # ids per IN (...) query, far below SQLite's bound on query parameters


def period_bounds(period: str, at: datetime) -> tuple[datetime, datetime]:
    """The UTC hour or day that contains ``at``: [start, end)."""
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    if period == "daily":
        start = at.replace(hour=0, minute=0, second=0, microsecond=0)
    elif period == "hourly":
        start = at.replace(minute=0, second=0, microsecond=0)
    else:
        raise ValueError(f"not a digest period: {period!r}")
    return start, start + PERIODS[period]


def _rank(severity: str) -> int:
    s = severity.lower()
    return SEVERITIES.index(s) if s in SEVERITIES else -1


@dataclass(frozen=True)
class DigestPolicy:
    """Which alert groups wait for a digest: from ``Settings.channels`` and each rule's
    ``digest``."""

    channels: tuple[ChannelSettings, ...] = ()

    def period_for(self, channel: str, alerts: Sequence[Alert]) -> str | None:
        """The digest period of one message (every rule that fired for ``channel``), or None
        to post it at once. A rule's own ``digest`` wins over the channel's; the message waits
        only when every rule in it asks to (one rule that wants it now is enough to post),
        for the shortest period asked; its highest severity at or above the channel's
        ``digest_immediate_from`` (default high) posts at once."""
        if not alerts:
            return None
        cs = channel_settings(self.channels, channel)
        periods = [a.digest or (cs.digest if cs else None) for a in alerts]
        if any(p is None for p in periods):
            return None
        threshold = cs.digest_immediate_from if cs else DEFAULT_IMMEDIATE_FROM
        top = max(_rank(a.severity) for a in alerts)
        if threshold != "none" and top >= _rank(threshold):
            return None
        return min((p for p in periods if p), key=lambda p: PERIODS[p])


def add_entry(
    db: sqlite_utils.Database, alert_id: int, channel: str, period: str, now: datetime
) -> None:
    """Record that ``alert_id`` waits for the digest of the period containing ``now``."""
    start, end = period_bounds(period, now)
    db.execute(
        f"INSERT OR IGNORE INTO {DIGEST_ENTRIES_TABLE} (alert_id, channel, period,"
        " period_start, period_end, created_at) VALUES (?,?,?,?,?,?)",
        [alert_id, channel, period, iso(start), iso(end), iso(now)],
    )
    log.info(
        "alert waits for digest alert=%d channel=%s period=%s until=%s",
        alert_id,
        channel,
        period,
        iso(end),
    )


def _stories(store: Store, alert_ids: Sequence[int]) -> list[DigestStory]:
    rows: list[dict[str, Any]] = []
    for i in range(0, len(alert_ids), SQL_CHUNK):
        chunk = list(alert_ids[i : i + SQL_CHUNK])
        marks = ",".join("?" * len(chunk))
        rows += store.db.query(
            "SELECT a.id, a.story_id, a.severity, a.rule, a.rules, a.matches, i.title, i.link"
            f" FROM alerts a JOIN items i ON i.item_id = a.item_id WHERE a.id IN ({marks})"
            " ORDER BY a.id",
            chunk,
        )
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["story_id"] or f"alert:{r['id']}", []).append(r)
    stories = []
    for members in groups.values():
        first = members[0]
        matches = [m for r in members for m in matches_from_json(r["matches"])]
        groups_found = actor_groups(matches)
        actors = tuple(
            a[0] for title, found in groups_found.items() for a in found if title != "Activity"
        )
        rules: dict[str, None] = {}
        for r in members:
            for rule in json.loads(r["rules"] or "[]") or [{"rule": r["rule"]}]:
                rules[str(rule["rule"])] = None
        stories.append(
            DigestStory(
                story_id=first["story_id"],
                severity=max((r["severity"] for r in members), key=_rank),
                title=str(first["title"] or ""),
                link=first["link"],
                actors=actors,
                outlets=_outlets(store, first["story_id"]) if first["story_id"] else 1,
                rules=tuple(rules),
                alert_ids=tuple(int(r["id"]) for r in members),
            )
        )
    stories.sort(key=lambda s: (-_rank(s.severity), s.alert_ids[0]))
    return stories


def _outlets(store: Store, story_id: int) -> int:
    row = store.db.execute(
        "SELECT count(DISTINCT i.feed) FROM story_items s JOIN items i ON i.item_id = s.item_id"
        " WHERE s.story_id = ?",
        [story_id],
    ).fetchone()
    return max(int(row[0] or 0), 1)


def queue_due_digests(store: Store, now: datetime) -> list[int]:
    """Queue the digest of every channel and period that ended by ``now``; their outbox ids.

    Also finishes digests delivered just before a crash (their alerts still say waiting)."""
    _repair(store)
    due = store.db.execute(
        f"SELECT DISTINCT channel, period, period_start, period_end FROM {DIGEST_ENTRIES_TABLE}"
        " WHERE outbox_id IS NULL AND period_end <= ? ORDER BY period_end, channel",
        [iso(now)],
    ).fetchall()
    queued = []
    for channel, period, start, end in due:
        with store.transaction() as db:
            ids = [
                int(r[0])
                for r in db.execute(
                    f"SELECT e.alert_id FROM {DIGEST_ENTRIES_TABLE} e JOIN alerts a"
                    " ON a.id = e.alert_id WHERE e.outbox_id IS NULL AND e.channel = ?"
                    " AND e.period = ? AND e.period_start = ? ORDER BY e.alert_id",
                    [channel, period, start],
                )
            ]
            ids = quiet_waiting(db, ids, now)  # muted or judged meanwhile: not listed
            where = "outbox_id IS NULL AND channel = ? AND period = ? AND period_start = ?"
            if not ids:  # every alert of it was pruned or quieted meanwhile: nothing to list
                db.execute(
                    f"DELETE FROM {DIGEST_ENTRIES_TABLE} WHERE {where}", [channel, period, start]
                )
                continue
            begin, finish = parse_iso(start), parse_iso(end)
            assert begin is not None and finish is not None
            ref = f"digest:{channel}:{period}:{start}"
            text, blocks = format_digest(channel, period, begin, finish, _stories(store, ids), ref)
            outbox_id = enqueue(store, DIGEST_KIND, channel, text, blocks, ref=ref, now=now)
            db.execute(
                f"UPDATE {DIGEST_ENTRIES_TABLE} SET outbox_id = ? WHERE {where}",
                [outbox_id, channel, period, start],
            )
        log.info(
            "digest queued outbox=%d channel=%s period=%s start=%s alerts=%d",
            outbox_id,
            channel,
            period,
            start,
            len(ids),
        )
        queued.append(outbox_id)
    return queued


def digest_delivered(store: Store, outbox_id: int, channel: str, at: datetime) -> int:
    """The digest message ``outbox_id`` was posted: its alerts are delivered (in it)."""
    cur = store.db.execute(
        "UPDATE alerts SET status = 'delivered', delivered_at = ?, slack_channel = ?,"
        " last_error = NULL WHERE status = ? AND id IN (SELECT alert_id FROM"
        f" {DIGEST_ENTRIES_TABLE} WHERE outbox_id = ?)",
        [iso(at), channel, DIGEST_STATUS, outbox_id],
    )
    log.info("digest delivered outbox=%d channel=%s alerts=%d", outbox_id, channel, cur.rowcount)
    return int(cur.rowcount)


def _repair(store: Store) -> None:
    rows = store.db.execute(
        "SELECT DISTINCT o.id, o.channel, o.delivered_at FROM alerts a"
        f" JOIN {DIGEST_ENTRIES_TABLE} e ON e.alert_id = a.id JOIN outbox o ON o.id = e.outbox_id"
        " WHERE a.status = ? AND o.status = 'delivered'",
        [DIGEST_STATUS],
    ).fetchall()
    for outbox_id, channel, delivered_at in rows:
        at = parse_iso(delivered_at) or datetime.now(UTC)
        with store.transaction():
            digest_delivered(store, int(outbox_id), str(channel), at)


def waiting(store: Store) -> dict[str, Any]:
    """For ``status``: alerts waiting for a digest (by design, not a problem) and when the
    next digest is due."""
    row = store.db.execute(
        f"SELECT count(*), min(e.period_end) FROM {DIGEST_ENTRIES_TABLE} e JOIN alerts a"
        " ON a.id = e.alert_id WHERE a.status = ?",
        [DIGEST_STATUS],
    ).fetchone()
    return {"waiting": int(row[0] or 0), "next_at": row[1]}


def in_digest(store: Store, alert_ids: Sequence[int]) -> set[int]:
    """Which of ``alert_ids`` are (or wait to be) listed in a digest."""
    found: set[int] = set()
    for i in range(0, len(alert_ids), SQL_CHUNK):
        chunk = list(alert_ids[i : i + SQL_CHUNK])
        marks = ",".join("?" * len(chunk))
        found.update(
            int(r[0])
            for r in store.db.execute(
                f"SELECT alert_id FROM {DIGEST_ENTRIES_TABLE} WHERE alert_id IN ({marks})", chunk
            )
        )
    return found
