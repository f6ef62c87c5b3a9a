"""The reason modal: a review click opens it, its submission adds a reason to the decision.

The click has already recorded the decision (review.py): a modal that is closed, skipped or
never opened (an expired trigger_id) loses nothing. A submitted reason goes onto the
decision it explains (``alert_dispositions.reason``, the submitting user's latest decision on
that alert), onto the alert row when that decision is still the latest (``alerts.
disposition_reason``: the CSV's ``disposition_reason`` column and the message), into the
audit log (``alert.reason``), and, for an escalation, under the escalation post. The alert id
comes from the modal's ``private_metadata`` and is checked against the store.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.digestreview import refresh_digest
from sanctionwatch.alerting.escalation import queue_reason
from sanctionwatch.alerting.threads import refresh_message
from sanctionwatch.clock import iso, utcnow
from sanctionwatch.errors import ReviewError
from sanctionwatch.slack.format import escape
from sanctionwatch.slack.reviewformat import (
    MAX_REASON_INPUT,
    REASON_ACTION,
    REASON_BLOCK,
    reason_modal,
)
from sanctionwatch.storage.audit import Actor, audit
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.replay import DuplicateRequest, RequestKey, claim
from sanctionwatch.storage.schema import DISPOSITIONS_TABLE

log = logging.getLogger(__name__)


def open_reason_modal(
    client: WebClient,
    trigger_id: str,
    alert_id: int,
    disposition: str,
    channel: str | None,
    ts: str | None,
) -> bool:
    """``views.open`` with the click's trigger_id; False (logged) when Slack refuses it."""
    if not trigger_id:
        return False
    try:
        client.views_open(
            trigger_id=trigger_id, view=reason_modal(alert_id, disposition, channel, ts)
        )
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.info("reason modal not opened alert=%d error=%s", alert_id, exc)
        return False
    return True


def add_reason(
    store: Store,
    alert_id: int,
    actor: Actor,
    reason: str,
    now: datetime | None = None,
    *,
    request: RequestKey | None = None,
) -> tuple[int, ...]:
    """Add ``reason`` to ``actor``'s latest decision on the alert; the outbox rows it queued.

    ReviewError when that user made no decision on it (nothing recorded)."""
    now = now or utcnow()
    reason = reason.strip()[:MAX_REASON_INPUT]
    with store.transaction() as db:
        claim(db, request, now)
        row = db.execute(
            f"SELECT id, disposition FROM {DISPOSITIONS_TABLE} WHERE alert_id = ? AND user_id = ?"
            " ORDER BY id DESC LIMIT 1",
            [alert_id, actor.id],
        ).fetchone()
        if row is None:
            raise ReviewError(f"You made no decision on alert #{alert_id}; no reason recorded.")
        latest = db.execute(
            f"SELECT max(id) FROM {DISPOSITIONS_TABLE} WHERE alert_id = ?", [alert_id]
        ).fetchone()[0]
        db.execute(f"UPDATE {DISPOSITIONS_TABLE} SET reason = ? WHERE id = ?", [reason, row[0]])
        if latest == row[0]:
            db.execute("UPDATE alerts SET disposition_reason = ? WHERE id = ?", [reason, alert_id])
        after = {"disposition": row[1], "reason": reason, "at": iso(now)}
        audit(db, actor, "alert.reason", "", str(alert_id), None, after, now)
        queued: tuple[int, ...] = ()
        if row[1] == "escalate":
            outbox_id = queue_reason(store, alert_id, actor, reason, now)
            queued = (outbox_id,) if outbox_id is not None else ()
    log.info("review reason added alert=%d by=%s chars=%d", alert_id, actor.id, len(reason))
    return queued


def submitted_reason(view: dict[str, Any]) -> tuple[int, str]:
    """(alert id, reason) from a submitted reason modal."""
    try:
        meta = json.loads(str(view.get("private_metadata") or "{}"))
        alert_id = int(meta["alert_id"])
    except (ValueError, KeyError, TypeError):
        raise ReviewError("This form does not name an alert.") from None
    values = ((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    reason = str((values.get(REASON_ACTION) or {}).get("value") or "")
    return alert_id, reason


def handle_submission(
    store: Store,
    client: WebClient,
    poster: Any,
    body: dict[str, Any],
    actor: Actor,
    request: RequestKey | None,
) -> None:
    """One submitted modal (already acked): record the reason, update the message, deliver
    the escalation reply. An empty reason changes nothing."""
    alert_id, reason = submitted_reason(body.get("view") or {})
    if not reason.strip():
        return
    try:
        queued = add_reason(store, alert_id, actor, reason, request=request)
    except DuplicateRequest:
        return
    except ReviewError as exc:
        log.info("reason refused alert=%d user=%s: %s", alert_id, actor.id, exc.message)
        _tell(client, actor.id, f":warning: {escape(exc.message)}")
        return
    if not refresh_message(store, poster, alert_id):  # no message of its own: in a digest?
        refresh_digest(store, poster, alert_id)
    if queued:
        deliver_all(store, poster, alerts=False, outbox_ids=list(queued))


def _tell(client: WebClient, user: str, text: str) -> None:
    try:
        client.chat_postMessage(channel=user, text=text)  # a DM: the modal has no channel
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("reason refusal not sent user=%s error=%s", user, exc)
