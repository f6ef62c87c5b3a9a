"""Alert review: the True match / False positive / Escalate buttons on every alert message.

A click records a disposition (who, when) in ``alert_dispositions`` (the full history: a second
click by someone else adds a row, the latest stands), copies the latest onto the alert row
(``disposition``, ``disposition_by``, ``disposition_at`` — read by the CSV export), appends an
``alert.disposition`` record to the audit log, all in one transaction, and then re-renders the
Slack message in place with ``chat.update``.

Who may judge: when ``[slack] reviewers`` lists user ids, only they may (a disposition is a
compliance record); anyone else is refused and nothing is recorded. When it is unset, everyone
who can see an alert's channel may, and ``bot.py check`` says so.

A click from the Slack app carries a ``RequestKey``; it is claimed in the same transaction as
the disposition, so a replayed or retried click is acked and not recorded twice (replay.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from sanctionwatch.alerting.digestreview import refresh_digest
from sanctionwatch.alerting.escalation import EscalationTarget, queue_escalation
from sanctionwatch.alerting.threads import reviewed_view
from sanctionwatch.clock import iso, utcnow
from sanctionwatch.errors import DeliveryError, ReviewError, ReviewRefused
from sanctionwatch.slack.digestformat import DIGEST_REVIEW_ACTION
from sanctionwatch.slack.format import REVIEW_ACTIONS, AlertView
from sanctionwatch.slack.poster import Poster
from sanctionwatch.slack.storyformat import render_alert
from sanctionwatch.storage.audit import Actor, audit
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.replay import RequestKey, claim
from sanctionwatch.storage.schema import DISPOSITION_COLUMNS, DISPOSITIONS_TABLE

log = logging.getLogger(__name__)

HISTORY_TABLE = DISPOSITIONS_TABLE
ALERT_COLUMNS = DISPOSITION_COLUMNS
# action_id of each button → the disposition stored
ACTION_DISPOSITIONS = {action_id: disp for action_id, _label, disp, _style in REVIEW_ACTIONS}
DISPOSITIONS = tuple(ACTION_DISPOSITIONS.values())
REVIEWERS_ONLY = "only the reviewers listed in [slack] reviewers may judge alerts"


def may_review(reviewers: Sequence[str], user_id: str) -> bool:
    """Everyone when no reviewers are configured; otherwise only the listed user ids."""
    return not reviewers or user_id in reviewers


def reviewers_summary(reviewers: Sequence[str]) -> str:
    """The ``check`` line about who may set dispositions."""
    if not reviewers:
        return "reviewers: not set — anyone in an alert's channel may set dispositions"
    return f"reviewers: {len(reviewers)} user(s) may set dispositions"


@dataclass(frozen=True)
class ReviewResult:
    alert_id: int
    disposition: str
    previous: dict[str, Any] | None  # the disposition this one replaced, if any
    view: AlertView
    message_updated: bool
    update_error: str | None = None
    queued: tuple[int, ...] = ()  # outbox rows the decision queued (the escalation post)


def history(db: sqlite_utils.Database, alert_id: int) -> list[dict[str, Any]]:
    """Every disposition of an alert, oldest first."""
    return list(
        db.query(f"SELECT * FROM {HISTORY_TABLE} WHERE alert_id = ? ORDER BY id", [alert_id])
    )


def review_view(store: Store, alert_id: int) -> AlertView | None:
    """The alert as its message shows it, with the latest disposition (user as a mention)."""
    return reviewed_view(store, alert_id)


def record_disposition(
    store: Store,
    alert_id: int,
    disposition: str,
    actor: Actor,
    now: datetime | None = None,
    *,
    request: RequestKey | None = None,
    escalate_to: EscalationTarget | None = None,
) -> dict[str, Any] | None:
    """Record one decision (history + alert row + audit); returns the one it replaced.

    ``request`` is claimed in the same transaction: DuplicateRequest if it was applied already.
    An escalation with ``escalate_to`` queues its post in that same transaction.
    """
    return _record(store, alert_id, disposition, actor, now, request, escalate_to)[0]


def _record(
    store: Store,
    alert_id: int,
    disposition: str,
    actor: Actor,
    now: datetime | None,
    request: RequestKey | None,
    escalate_to: EscalationTarget | None,
) -> tuple[dict[str, Any] | None, tuple[int, ...]]:
    if disposition not in DISPOSITIONS:
        raise ReviewError(f"Unknown review decision {disposition!r}.")
    now = now or utcnow()
    with store.transaction() as db:
        claim(db, request, now)
        row = db.execute(
            "SELECT disposition, disposition_by, disposition_at FROM alerts WHERE id = ?",
            [alert_id],
        ).fetchone()
        if row is None:
            raise ReviewError(
                f"Alert #{alert_id} does not exist (it may have been pruned, or the message"
                " comes from another sanctionwatch database). Nothing was recorded."
            )
        before = dict(zip(ALERT_COLUMNS, row, strict=True)) if row[0] else None
        after = {
            "disposition": disposition,
            "disposition_by": actor.label,
            "disposition_at": iso(now),
        }
        db.table(HISTORY_TABLE).insert(
            {
                "alert_id": alert_id,
                "disposition": disposition,
                "user_id": actor.id,
                "user_name": actor.name,
                "via": actor.via,
                "at": iso(now),
            }
        )
        db.execute(
            "UPDATE alerts SET disposition = ?, disposition_by = ?, disposition_at = ?,"
            " disposition_reason = NULL WHERE id = ?",  # a new decision: its reason comes later
            [disposition, actor.label, iso(now), alert_id],
        )
        audit(db, actor, "alert.disposition", "", str(alert_id), before, after, now)
        queued: tuple[int, ...] = ()
        if disposition == "escalate" and escalate_to is not None:
            outbox_id = queue_escalation(store, escalate_to, alert_id, actor, None, now)
            queued = (outbox_id,) if outbox_id is not None else ()
    log.info(
        "alert reviewed alert=%d disposition=%s by=%s previous=%s",
        alert_id,
        disposition,
        actor.id,
        before["disposition"] if before else None,
    )
    return before, queued


def parse_alert_id(value: str) -> int:
    try:
        alert_id = int(value)
    except (TypeError, ValueError):
        raise ReviewError(f"This button does not name an alert ({value!r}).") from None
    if alert_id <= 0:
        raise ReviewError(f"This button does not name an alert ({value!r}).")
    return alert_id


def apply_review(
    store: Store,
    poster: Poster,
    action_id: str,
    value: str,
    actor: Actor,
    *,
    channel_id: str | None = None,
    message_ts: str | None = None,
    now: datetime | None = None,
    reviewers: Sequence[str] = (),
    request: RequestKey | None = None,
    escalate_to: EscalationTarget | None = None,
) -> ReviewResult:
    """Handle one click: record it, then update the message it came from.

    A button of an alert message names the decision (``action_id``) and the alert
    (``value``); the message is re-rendered in place. It is found from the alert row
    (``slack_channel``/``slack_ts`` as delivered); ``channel_id``/``message_ts`` from the
    click payload are preferred when they name that same message, since the payload carries
    the channel id that ``chat.update`` needs. A digest story's menu (``DIGEST_REVIEW_ACTION``)
    carries both in its choice (``"<review action>:<alert id>"``); the digest is updated with
    the decisions on its stories (``alerting/digestreview.py``).
    ReviewRefused (nothing recorded, nothing updated) when ``reviewers`` is set and the actor
    is not in it.
    """
    if not may_review(reviewers, actor.id):
        log.info("review refused user=%s (not in [slack] reviewers)", actor.id)
        raise ReviewRefused(f"Sorry — {REVIEWERS_ONLY}. Nothing was recorded.")
    in_digest = action_id == DIGEST_REVIEW_ACTION
    if in_digest:
        action_id, _sep, value = value.partition(":")
    disposition = ACTION_DISPOSITIONS.get(action_id)
    if disposition is None:
        raise ReviewError(f"Unknown review button {action_id!r}.")
    alert_id = parse_alert_id(value)
    previous, queued = _record(store, alert_id, disposition, actor, now, request, escalate_to)
    view = review_view(store, alert_id)
    assert view is not None  # the row existed inside the transaction; alerts are never deleted
    if in_digest:
        error = refresh_digest(store, poster, alert_id, channel_id)
    else:
        error = _update_message(store, poster, view, channel_id, message_ts)
    return ReviewResult(alert_id, disposition, previous, view, error is None, error, queued)


def _update_message(
    store: Store, poster: Poster, view: AlertView, channel_id: str | None, message_ts: str | None
) -> str | None:
    """Re-render the alert's own message; None when done, else why not."""
    row = store.db.execute(
        "SELECT slack_channel, slack_ts FROM alerts WHERE id = ?", [view.alert_id]
    ).fetchone()
    channel, ts = (row[0], row[1]) if row else (None, None)
    if message_ts and channel_id and (ts is None or ts == message_ts):
        channel, ts = channel_id, message_ts
    if not channel or not ts:
        return "the alert message is not known"
    text, blocks = render_alert(view)
    try:
        poster.update(channel, ts, text, blocks)
    except DeliveryError as exc:
        log.warning("review message update failed alert=%d error=%r", view.alert_id, exc.message)
        return exc.message
    return None
