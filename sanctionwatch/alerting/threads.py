"""What an alert row looks like in Slack, and the thread around it.

``alert_view`` reads one row (with its item, every match of the item, its rules and excerpt)
into an ``AlertView``. A story copy (``thread_of`` set) is posted into the thread of its
story's first message in the same channel; after it is delivered the first message is
updated to say how many outlets also reported the story. The clause trace and scores are not
posted: the message's "Details" button opens them in a modal (``details_view``), and
``bot.py match`` shows them for any text.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from sanctionwatch.alerting.outbox import WAITING
from sanctionwatch.clock import parse_iso, utcnow
from sanctionwatch.errors import DeliveryError
from sanctionwatch.slack.format import AlertView
from sanctionwatch.slack.poster import Poster
from sanctionwatch.slack.storyformat import render_alert
from sanctionwatch.storage.db import Store, matches_from_json
from sanctionwatch.storage.schema import DISPOSITIONS_TABLE

log = logging.getLogger(__name__)


def _item_matches(store: Store, item_id: str) -> tuple[Any, ...]:
    rows = store.db.execute(
        "SELECT entity_id, entity, watchlist, alias, text, field, start, [end], score, detail,"
        " type, tags FROM matches WHERE item_id = ? ORDER BY id",
        [item_id],
    ).fetchall()
    data = [
        {
            "entity_id": r[0],
            "entity": r[1],
            "watchlist": r[2],
            "alias": r[3],
            "text": r[4],
            "field": r[5],
            "start": r[6],
            "end": r[7],
            "score": r[8],
            "detail": r[9],
            "type": r[10] or "",
            "tags": json.loads(r[11] or "[]"),
        }
        for r in rows
    ]
    return matches_from_json(json.dumps(data))


def also_reported(store: Store, alert_id: int) -> tuple[str, ...]:
    """Outlets (feeds) of the delivered copies in this alert's thread, first first."""
    rows = store.db.execute(
        "SELECT DISTINCT i.feed FROM alerts a JOIN items i ON i.item_id = a.item_id"
        " WHERE a.thread_of = ? AND a.status = 'delivered' ORDER BY a.id",
        [alert_id],
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def alert_view(store: Store, alert_id: int) -> AlertView | None:
    row = store.alert_with_item(alert_id)
    if row is None:
        return None
    rules = json.loads(row.get("rules") or "[]")
    return AlertView(
        alert_id=row["id"],
        rule=row["rule"],
        severity=row["severity"],
        channel=row["channel"],
        title=row["title"] or "",
        link=row["link"],
        feed=row["feed"],
        published_at=parse_iso(row["published_at"]),
        detected_at=parse_iso(row["created_at"]) or utcnow(),
        matches=matches_from_json(row["matches"]),
        explanation=row["explanation"] or "",
        disposition=row.get("disposition"),
        disposition_by=row.get("disposition_by"),
        disposition_at=parse_iso(row.get("disposition_at")),
        rules=tuple((r["rule"], r["severity"], r.get("description") or "") for r in rules),
        excerpt=tuple((str(t), bool(b)) for t, b in json.loads(row.get("excerpt") or "[]")),
        language=row.get("language") or "",
        actors=_item_matches(store, row["item_id"]) if rules else (),
        also_reported=also_reported(store, alert_id),
        disposition_reason=row.get("disposition_reason"),
        story_id=row.get("story_id"),
    )


def reviewed_view(store: Store, alert_id: int) -> AlertView | None:
    """``alert_view`` with the latest decision's reviewer as a Slack user id (shown as a
    mention; the alert row keeps the printable label for the CSV)."""
    view = alert_view(store, alert_id)
    if view is None or not view.disposition:
        return view
    row = store.db.execute(
        f"SELECT disposition, user_id, at FROM {DISPOSITIONS_TABLE} WHERE alert_id = ?"
        " ORDER BY id DESC LIMIT 1",
        [alert_id],
    ).fetchone()
    if row is None:
        return view
    return replace(
        view, disposition=row[0], disposition_by=row[1], disposition_at=parse_iso(row[2])
    )


def traces(store: Store, alert_id: int) -> list[str]:
    row = store.db.execute("SELECT rules, explanation FROM alerts WHERE id = ?", [alert_id])
    found = row.fetchone()
    if found is None:
        return []
    rules = json.loads(found[0] or "[]")
    return [str(r.get("explanation") or "") for r in rules if r.get("explanation")] or [
        str(found[1] or "")
    ]


def parent_of(store: Store, row: dict[str, Any]) -> dict[str, Any] | None:
    """The story's first alert in this channel, for a copy; None for a top-level alert."""
    parent_id = row.get("thread_of")
    if not parent_id:
        return None
    rows = list(store.db.query("SELECT * FROM alerts WHERE id = ?", [int(parent_id)]))
    return rows[0] if rows else None


def copy_parent_ts(store: Store, row: dict[str, Any]) -> str | None:
    """The ts to reply under, or None to post top-level (no parent, or the parent failed).
    Raises ``DeliveryError`` (retryable) while the parent still waits for delivery."""
    parent = parent_of(store, row)
    if parent is None:
        return None
    if parent["status"] == "delivered" and parent.get("slack_ts"):
        return str(parent["slack_ts"])
    if parent["status"] in WAITING:
        raise DeliveryError(
            f"alert {row['id']} waits for its story's first message (alert {parent['id']})"
        )
    return None


def after_delivery(store: Store, poster: Poster, row: dict[str, Any], ts: str) -> None:
    """A story copy was delivered: the first message now says how many outlets reported it."""
    parent = parent_of(store, row)
    if parent is not None and parent.get("slack_ts"):
        refresh_message(store, poster, int(parent["id"]))


def refresh_message(store: Store, poster: Poster, alert_id: int) -> bool:
    """Re-render a delivered alert's message in place (also-reported count, a decision)."""
    row = store.db.execute(
        "SELECT slack_channel, slack_ts, channel FROM alerts WHERE id = ?", [alert_id]
    ).fetchone()
    view = reviewed_view(store, alert_id)
    if row is None or not row[1] or view is None:
        return False
    text, blocks = render_alert(view)
    try:
        poster.update(str(row[0] or row[2]), str(row[1]), text, blocks)
    except DeliveryError as exc:  # the copy is delivered; the count catches up next time
        log.warning("story message not updated alert=%d error=%r", alert_id, exc.message)
        return False
    return True
