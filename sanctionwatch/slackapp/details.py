"""The alert's "Details" button: the clause trace and scores, shown to whoever clicked.

Shown as an ephemeral message (``chat.postEphemeral``) in the alert's channel, not as a thread
reply, because:

* the thread is the story's: it holds the other outlets' copies, and its reply count is read
  as "how many outlets"; a trace there would be noise every reader of the channel scrolls past;
* the trace is asked for by one analyst at a time; an ephemeral message reaches only them and
  leaves nothing behind to keep exactly-once or to update after a review;
* nothing about the alert changes: the only write is the request's replay key, so a Slack
  retry of the click is not answered twice.

Anyone who can see the alert may click (reading is not judging: ``[slack] reviewers`` does not
apply). The listener acks first; this runs after the ack, on the work pool (storage/replay.py
decides what is a replay).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from sanctionwatch.alerting.threads import alert_view, traces
from sanctionwatch.slack.storyformat import format_details
from sanctionwatch.slackapp.work import AppDeps, ephemeral
from sanctionwatch.storage.replay import DuplicateRequest, RequestKey, claim

log = logging.getLogger(__name__)


def run_details(
    deps: AppDeps, body: dict[str, Any], action: dict[str, Any], key: RequestKey | None
) -> None:
    """Post the trace of the clicked alert to the clicker (already acked)."""
    user_id = str((body.get("user") or {}).get("id") or "")
    channel_id = str((body.get("channel") or {}).get("id") or "") or None
    value = str(action.get("value") or "").strip()
    if not value.isdigit():
        ephemeral(deps.client, channel_id, user_id, f"No alert number in this button: {value!r}")
        return
    alert_id = int(value)
    store = deps.stores.get()
    try:
        with store.transaction() as db:
            claim(db, key)
    except DuplicateRequest:
        return
    view = alert_view(store, alert_id)
    if view is None:
        ephemeral(deps.client, channel_id, user_id, f"Alert #{alert_id} is no longer stored.")
        return
    text, blocks = format_details(view, traces(store, alert_id))
    if not channel_id:
        log.warning("details not shown alert=%d user=%s: no channel in payload", alert_id, user_id)
        return
    try:
        deps.client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, blocks=blocks)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("details not shown alert=%d user=%s error=%s", alert_id, user_id, exc)
        return
    log.info("details shown alert=%d user=%s sections=%d", alert_id, user_id, len(blocks))
