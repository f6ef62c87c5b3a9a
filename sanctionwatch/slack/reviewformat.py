"""Messages and views of the review that acts: the escalation post and the reason modal.

An escalation goes to people who did not see the alert: it carries the story itself (severity,
title as a link, the actors), who escalated it, why, and a link back to the alert message, so
the reader can act without opening the alert channel. The reason modal is what a click opens:
the decision is already recorded, the modal only adds an optional reason to it.
Everything from a feed, a watchlist or a user is escaped and budgeted, and the result checked
against Block Kit's limits (blockkit.checked).
"""

from __future__ import annotations

import json
from typing import Any

from sanctionwatch.slack.blockkit import MAX_FALLBACK_TEXT, MAX_HEADER_TEXT, checked
from sanctionwatch.slack.format import (
    DISPOSITION_LABELS,
    MAX_TITLE_CHARS,
    SEVERITY_EMOJI,
    UNKNOWN_SEVERITY_EMOJI,
    AlertView,
    escape_fit,
    safe_link,
    title_markup,
    truncate,
)
from sanctionwatch.slack.storyformat import actor_names, actors_section

REASON_CALLBACK = "review_reason"  # callback_id of the reason modal (view_submission)
REASON_BLOCK = "reason"
REASON_ACTION = "reason_input"
# Slack allows 3000 characters in a plain-text input; a reason is a sentence or two, and it is
# shown on the alert message and in the CSV, so keep it to what fits a context line.
MAX_REASON_INPUT = 500
MAX_MODAL_TITLE = 24  # Slack: a view's title is at most 24 characters
MAX_NAME_CHARS = 80  # a user's display name in a message


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def format_escalation(
    view: AlertView,
    user_id: str,
    user_name: str,
    reason: str | None,
    *,
    mention: str | None = None,
    permalink: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback, blocks) of the post to the escalation channel for one alert's story."""
    severity = view.severity.lower()
    emoji = SEVERITY_EMOJI.get(severity, UNKNOWN_SEVERITY_EMOJI)
    title = view.title.strip() or "(no title)"
    header = truncate(f"{emoji} Escalated · {severity.upper()} · {view.rule}", MAX_HEADER_TEXT)
    who = f"<@{user_id}>" if user_id else escape_fit(user_name, MAX_NAME_CHARS)
    lead = f"{mention} " if mention else ""
    lead += f"*Escalated by {who}*"
    lead += f" — “{escape_fit(reason, MAX_REASON_INPUT)}”" if reason else " (no reason given yet)"
    where = f"Alert #{view.alert_id} in {escape_fit(view.channel, 80)}"
    if permalink and safe_link(permalink):
        where = f"<{safe_link(permalink)}|{where}>"
    meta = f"{where} · Feed: {escape_fit(view.feed, MAX_TITLE_CHARS)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": _md(lead)},
        {
            "type": "section",
            "text": _md(title_markup(title, safe_link(view.link), MAX_TITLE_CHARS, view.alert_id)),
        },
        {"type": "section", "text": _md(actors_section(view))},
        {"type": "context", "elements": [_md(meta)]},
    ]
    actors = ", ".join(actor_names(view)) or "no entities"
    name = user_name or user_id
    fallback = escape_fit(
        f"[ESCALATED {severity.upper()}] {title} — {actors} — by {name}"
        + (f": {reason}" if reason else ""),
        MAX_FALLBACK_TEXT,
    )
    if mention:
        fallback = f"{mention} {fallback}"[:MAX_FALLBACK_TEXT]
    return checked(fallback, blocks, f"escalation of alert {view.alert_id}")


def format_escalation_reason(
    alert_id: int, user_id: str, reason: str
) -> tuple[str, list[dict[str, Any]]]:
    """A reason given after the escalation was posted: a reply in its thread."""
    text = f"<@{user_id}>'s reason for escalating alert #{alert_id}: “{escape_fit(reason, 500)}”"
    blocks = [{"type": "section", "text": _md(text)}]
    return checked(f"Reason for escalating alert #{alert_id}", blocks, "escalation reason")


def reason_modal(
    alert_id: int, disposition: str, channel: str | None, ts: str | None
) -> dict[str, Any]:
    """The modal a review click opens: an optional reason for the decision just recorded.

    ``private_metadata`` carries the alert and the message, so the submission can update both
    without trusting anything else in the payload (the alert id is re-checked on submit)."""
    label = DISPOSITION_LABELS.get(disposition, disposition)
    meta = json.dumps(
        {"alert_id": alert_id, "disposition": disposition, "channel": channel, "ts": ts}
    )
    return {
        "type": "modal",
        "callback_id": REASON_CALLBACK,
        "private_metadata": meta,
        "title": {"type": "plain_text", "text": truncate("Reason", MAX_MODAL_TITLE)},
        "submit": {"type": "plain_text", "text": "Add reason"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            {
                "type": "section",
                "text": _md(
                    f"*{label}* is recorded for alert #{alert_id}. Add a reason for the record"
                    " (optional: it is shown on the message and exported in the CSV)."
                ),
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION,
                    "multiline": True,
                    "max_length": MAX_REASON_INPUT,
                },
            },
        ],
    }
