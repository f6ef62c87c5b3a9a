"""Escalate reaches people: the story, who escalated it and why, to ``[slack] escalation_channel``.

The post is queued in the outbox inside the transaction that records the decision (so a click
either records both or neither, and a replayed click neither), then delivered by the delivery
machinery: at once by the app, or by the next poll when Slack is down. With only
``[slack] escalation_mention`` set, the post goes into the alert's own thread, mentioning the
group there. With neither, Escalate is a decision on the message and nothing more.

A reason typed into the modal after the click is added in the escalation post's thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sanctionwatch.alerting.outbox import enqueue
from sanctionwatch.alerting.threads import alert_view
from sanctionwatch.config.settings import SlackSettings
from sanctionwatch.slack.reviewformat import format_escalation, format_escalation_reason
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store

log = logging.getLogger(__name__)

KIND = "escalation"  # outbox kind
REASON_KIND = "escalation_reason"


@dataclass(frozen=True)
class EscalationTarget:
    """Where Escalate posts: a channel, a mention, or both."""

    channel: str | None
    mention: str | None = None

    @classmethod
    def from_settings(cls, slack: SlackSettings) -> EscalationTarget | None:
        if not slack.escalation_channel and not slack.escalation_mention:
            return None
        return cls(slack.escalation_channel, slack.escalation_mention)


def queue_escalation(
    store: Store,
    target: EscalationTarget,
    alert_id: int,
    actor: Actor,
    reason: str | None,
    now: datetime,
) -> int | None:
    """Queue the escalation post of one alert; its outbox id (None: the alert has no item).

    Call inside the transaction that records the decision."""
    view = alert_view(store, alert_id)
    if view is None:
        return None
    row = store.db.execute(
        "SELECT slack_channel, slack_ts FROM alerts WHERE id = ?", [alert_id]
    ).fetchone()
    channel, thread_ts = target.channel, None
    if channel is None:  # mention only: into the alert's own thread
        channel = str(row[0] or view.channel) if row else view.channel
        thread_ts = str(row[1]) if row and row[1] else None
    text, blocks = format_escalation(view, actor.id, actor.name, reason, mention=target.mention)
    outbox_id = enqueue(store, KIND, channel, text, blocks, ref=f"alert:{alert_id}", now=now)
    if thread_ts:
        store.db.execute("UPDATE outbox SET thread_ts = ? WHERE id = ?", [thread_ts, outbox_id])
    log.info(
        "escalation queued alert=%d outbox=%d channel=%s by=%s",
        alert_id,
        outbox_id,
        channel,
        actor.id,
    )
    return outbox_id


def queue_reason(
    store: Store, alert_id: int, actor: Actor, reason: str, now: datetime
) -> int | None:
    """A reason given in the modal for an escalation: a reply under the latest escalation
    post of this alert (delivered or still waiting: then it waits for it)."""
    row = store.db.execute(
        "SELECT id, channel, status, slack_ts, thread_ts FROM outbox WHERE kind = ? AND ref = ?"
        " ORDER BY id DESC LIMIT 1",
        [KIND, f"alert:{alert_id}"],
    ).fetchone()
    if row is None:
        return None
    text, blocks = format_escalation_reason(alert_id, actor.id, reason)
    outbox_id = enqueue(
        store, REASON_KIND, str(row[1]), text, blocks, ref=f"alert:{alert_id}", now=now
    )
    thread = row[4] or row[3]
    if thread:
        store.db.execute("UPDATE outbox SET thread_ts = ? WHERE id = ?", [str(thread), outbox_id])
    return outbox_id
