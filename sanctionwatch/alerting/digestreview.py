"""Decisions taken from a digest show in that digest.

A digested alert has no message of its own: it is one line of its channel's digest. A story
judged from the digest's menu (or given a reason afterwards) is recorded like a click on an
alert's buttons (``slackapp/review.py``); then the digest is updated in place, from the
blocks it was posted with (the outbox row) plus the current decision under every judged
story, so the update is the same whichever decision came last, and repeats nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sanctionwatch.alerting.threads import reviewed_view
from sanctionwatch.errors import DeliveryError
from sanctionwatch.slack.digestformat import mark_decisions, story_alerts
from sanctionwatch.slack.poster import Poster
from sanctionwatch.slack.storyformat import reviewed_line
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.digestschema import DIGEST_ENTRIES_TABLE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestMessage:
    """A posted digest: where it is and what it was posted with."""

    outbox_id: int
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]


def digest_message(store: Store, alert_id: int) -> DigestMessage | None:
    """The posted digest that lists ``alert_id``, or None (not digested, or not posted yet)."""
    row = store.db.execute(
        f"SELECT o.id, o.channel, o.slack_ts, o.text, o.blocks FROM {DIGEST_ENTRIES_TABLE} e"
        " JOIN outbox o ON o.id = e.outbox_id WHERE e.alert_id = ? AND o.status = 'delivered'"
        " AND o.slack_ts IS NOT NULL ORDER BY o.id DESC LIMIT 1",
        [alert_id],
    ).fetchone()
    if row is None:
        return None
    blocks = json.loads(row[4] or "[]")
    return DigestMessage(int(row[0]), str(row[1]), str(row[2]), str(row[3] or ""), blocks)


def refresh_digest(
    store: Store, poster: Poster, alert_id: int, channel_id: str | None = None
) -> str | None:
    """Update the digest listing ``alert_id`` with the decisions on its stories. None when
    done; otherwise why not (no posted digest lists it, or Slack refused the update).
    ``channel_id``: the channel's id when known (a click carries it)."""
    digest = digest_message(store, alert_id)
    if digest is None:
        return "no posted digest lists this alert"
    lines = {}
    for story_alert in story_alerts(digest.blocks):
        view = reviewed_view(store, story_alert)
        line = reviewed_line(view) if view is not None else None
        if line:
            lines[story_alert] = line
    ref = f"outbox:{digest.outbox_id}"
    text, blocks = mark_decisions(digest.text, digest.blocks, lines, ref)
    try:
        poster.update(channel_id or digest.channel, digest.ts, text, blocks)
    except DeliveryError as exc:
        log.warning("digest not updated outbox=%d error=%r", digest.outbox_id, exc.message)
        return exc.message
    log.info(
        "digest updated outbox=%d alert=%d decisions=%d", digest.outbox_id, alert_id, len(lines)
    )
    return None
