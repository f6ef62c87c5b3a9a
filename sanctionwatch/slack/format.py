"""Slack alert messages: mrkdwn escaping and Block Kit formatting as pure functions.

Delivery lives beside it: ``poster`` (Slack) and ``dryrun`` (a terminal).

Everything that comes from a feed or a watchlist is untrusted: it goes through ``escape`` so that
``<!channel>``, ``<@U123>`` or ``<http://evil|click>`` in a headline shows as text and pings or
links nobody. Only the item's own URL becomes a link, and only after ``safe_link`` accepts it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sanctionwatch.models import Match
from sanctionwatch.slack.blockkit import (
    ELLIPSIS,
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MAX_TEXT_OBJECT,
    checked,
    clean,
    fit,
    slack_len,
)

log = logging.getLogger(__name__)

# Block Kit limits live in ``sanctionwatch.slack.blockkit`` (with the validation every message passes);
# re-exported here. Texts are budgeted after escaping, in ``slack_len`` units.
MAX_CONTEXT_TEXT = MAX_TEXT_OBJECT  # per context element
# Our own caps, well inside the limits, so that one pathological value cannot crowd out the rest.
MAX_TITLE_CHARS = 500  # a headline longer than this is not a headline
MAX_MATCH_LINE_CHARS = 600  # one matched entity line
MAX_DETAIL_CHARS = 300  # one match "why" note in the context block
MAX_URL_CHARS = 2000  # longer URLs are almost always tracking junk; shown unlinked
MAX_USER_CHARS = 200  # a reviewer shown by name rather than as a mention
# A link that leaves less room than this for its title is not worth the cut: the title is shown
# whole and unlinked instead (only with absurd URLs: 2,000 characters of mostly "&").
MIN_LINKED_TITLE_CHARS = 60
LINK_MARKUP = "*<|>*"  # what wraps url and title in the title section
LINK_TOO_LONG_NOTE = " _(link too long for Slack: open it from the feed or the CSV export)_"

SEVERITY_EMOJI = {
    "low": ":large_blue_circle:",
    "medium": ":large_yellow_circle:",
    "high": ":large_orange_circle:",
    "critical": ":red_circle:",
}
UNKNOWN_SEVERITY_EMOJI = ":white_circle:"

REVIEW_BLOCK_PREFIX = "review:"
REVIEW_ACTIONS = (
    # (action_id, button label, disposition stored, style)
    ("review_true_match", "True match", "true_match", "danger"),
    ("review_false_positive", "False positive", "false_positive", None),
    ("review_escalate", "Escalate", "escalate", "primary"),
)
DISPOSITION_LABELS = {
    "true_match": "✅ True match",
    "false_positive": "🚫 False positive",
    "escalate": "⚠️ Escalated",
}
_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]+$")
_FORBIDDEN_URL_CHARS = re.compile(r"[\s|<>\x00-\x1f\x7f]")
_TIME_FORMAT = "%Y-%m-%d %H:%M UTC"


@dataclass(frozen=True)
class AlertView:
    """Everything an alert message shows; built by the pipeline from the store."""

    alert_id: int
    rule: str
    severity: str  # low | medium | high | critical
    channel: str
    title: str
    link: str | None  # re-validated here: only a clean http(s) URL becomes a link
    feed: str
    published_at: datetime | None
    detected_at: datetime
    matches: tuple[Match, ...]
    explanation: str = ""
    disposition: str | None = None  # "true_match" | "false_positive" | "escalate"
    disposition_by: str | None = None  # Slack user id (rendered as a mention) or a name
    disposition_at: datetime | None = None
    # One message per item and channel (slack/storyformat.py); empty for older alerts.
    rules: tuple[tuple[str, str, str], ...] = ()  # (rule, severity, description), top first
    excerpt: tuple[tuple[str, bool], ...] = ()  # (text, bold) segments
    language: str = ""
    actors: tuple[Match, ...] = ()  # every match in the item, for the actor lines
    also_reported: tuple[str, ...] = ()  # the outlets whose copies went into the thread
    disposition_reason: str | None = None
    story_id: int | None = None


def escape(text: str) -> str:
    """Escape untrusted text for Slack mrkdwn: ``&`` ``<`` ``>`` become entities.

    That is all Slack needs: mentions, special pings and links are all written inside ``<…>``,
    so without a literal ``<`` none can form. Already-escaped text is escaped again on purpose:
    a headline that really contains "&amp;" is then shown as "&amp;", exactly as written.
    """
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_fit(text: str, limit: int) -> str:
    """``escape(text)`` cut to at most ``limit`` (``slack_len``) characters, never inside an
    entity or between a letter and its accent. When cut, the result ends in "…" (counted)."""
    return fit(text, limit, escape)


def truncate(text: str, limit: int) -> str:
    """Plain (already safe) text cut to ``limit`` characters with a trailing "…"."""
    return fit(text, limit)


def safe_link(url: str | None) -> str | None:
    """The URL if it may become a Slack link (http/https, host, no whitespace, | < > or
    control characters, not absurdly long), else None."""
    if not url or len(url) > MAX_URL_CHARS or _FORBIDDEN_URL_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def format_time(moment: datetime | None) -> str:
    """``2026-11-28 10:00 UTC``; naive datetimes are taken to be UTC already."""
    if moment is None:
        return "unknown"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(_TIME_FORMAT)


def format_score(score: float) -> str:
    """100.0 → "100", 96.45 → "96.5"."""
    return f"{round(score, 1):g}"


def format_user(user: str) -> str:
    """A Slack user id as a mention; anything else as escaped text (cut: it is a name)."""
    return f"<@{user}>" if _USER_ID_RE.match(user) else escape_fit(user, MAX_USER_CHARS)


def match_line(m: Match) -> str:
    """``*Kim Jong Un* (dprk) ← "Ким Чен Ын" via alias "Ким Чен Ын", score 100``."""
    line = (
        f'*{escape(m.entity)}* ({escape(m.watchlist)}) ← "{escape(m.text)}" '
        f'via alias "{escape(m.alias)}", score {format_score(m.score)}'
    )
    if slack_len(line) <= MAX_MATCH_LINE_CHARS:
        return line
    # Only happens with absurd inputs; rebuild from cut parts so no entity is split.
    part = MAX_MATCH_LINE_CHARS // 5
    return (
        f"*{escape_fit(m.entity, part)}* ({escape_fit(m.watchlist, part)}) ← "
        f'"{escape_fit(m.text, part)}" via alias "{escape_fit(m.alias, part)}", '
        f"score {format_score(m.score)}"
    )


def _unique_matches(matches: tuple[Match, ...]) -> list[Match]:
    """Drop exact repeats (same entity, words, alias, score), keeping the first order."""
    seen: set[tuple[str, str, str, str, float]] = set()
    out = []
    for m in matches:
        key = (m.entity_id, m.watchlist, m.text, m.alias, m.score)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def disposition_line(view: AlertView) -> str | None:
    """``✅ True match — by <@U123> at 2026-11-28 10:00 UTC``, or None if not reviewed."""
    if not view.disposition:
        return None
    line = DISPOSITION_LABELS.get(view.disposition) or escape_fit(view.disposition, 100)
    if view.disposition_by:
        line += f" — by {format_user(view.disposition_by)}"
    if view.disposition_at is not None:
        line += f" at {format_time(view.disposition_at)}"
    return line


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _match_sections(lines: list[str], max_sections: int) -> list[dict[str, Any]]:
    """Pack bullet lines into as few sections as fit MAX_SECTION_TEXT, at most ``max_sections``;
    what does not fit is summarised as "… and N more" (N counts every line not shown)."""
    sections: list[list[str]] = [["*Matched*"]]
    for i, line in enumerate(lines):
        bullet = f"• {line}"
        if slack_len("\n".join([*sections[-1], bullet])) <= MAX_SECTION_TEXT:
            sections[-1].append(bullet)
            continue
        if len(sections) < max_sections:
            sections.append([bullet])
            continue
        rest, last = len(lines) - i, sections[-1]
        while len(last) > 1 and slack_len("\n".join([*last, _more(rest)])) > MAX_SECTION_TEXT:
            last.pop()
            rest += 1
        last.append(_more(rest))
        break
    return [{"type": "section", "text": _mrkdwn("\n".join(s))} for s in sections]


def _more(n: int) -> str:
    return f"{ELLIPSIS} and {n} more"


def title_markup(title: str, link: str | None, max_title: int, alert_id: int = 0) -> str:
    """``*<url|title>*`` when the escaped URL and title fit one section together (the title is
    cut to make room, down to MIN_LINKED_TITLE_CHARS), else ``*title*`` unlinked."""
    shown = escape_fit(title, max_title)
    if link is None:
        return f"*{shown}*"
    url = escape(link)
    room = MAX_SECTION_TEXT - slack_len(url) - len(LINK_MARKUP)
    if room >= min(slack_len(shown), MIN_LINKED_TITLE_CHARS):
        return f"*<{url}|{escape_fit(title, min(max_title, room))}>*"
    log.info(
        "alert link too long to linkify alert_id=%s escaped_chars=%d", alert_id, slack_len(url)
    )
    return f"*{shown}*{LINK_TOO_LONG_NOTE}"


def review_actions(alert_id: int) -> dict[str, Any]:
    """The actions block with the three review buttons (value = alert id)."""
    return {
        "type": "actions",
        "block_id": f"{REVIEW_BLOCK_PREFIX}{alert_id}",
        "elements": [
            {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": str(alert_id),
                **({"style": style} if style else {}),
            }
            for action_id, label, _disp, style in REVIEW_ACTIONS
        ],
    }


def format_alert(view: AlertView) -> tuple[str, list[dict[str, Any]]]:
    """(plain-text fallback, Block Kit blocks) for one alert; every limit respected."""
    severity = view.severity.lower()
    emoji = SEVERITY_EMOJI.get(severity, UNKNOWN_SEVERITY_EMOJI)
    header = truncate(f"{emoji} {severity.upper()} · {view.rule}", MAX_HEADER_TEXT)

    title = view.title.strip() or "(no title)"
    link = safe_link(view.link)
    if link is None and view.link:
        log.info("alert link not linkified alert_id=%s link=%r", view.alert_id, view.link[:200])
    title_text = title_markup(title, link, MAX_TITLE_CHARS, view.alert_id)

    meta = (
        f"Feed: {escape_fit(view.feed, MAX_TITLE_CHARS)} · "
        f"Published: {format_time(view.published_at)} · "
        f"Detected: {format_time(view.detected_at)} · Alert #{view.alert_id}"
    )
    matches = _unique_matches(view.matches)
    lines = [match_line(m) for m in matches] or ["(no matches recorded)"]

    context: list[dict[str, Any]] = []
    if view.explanation.strip():
        context.append(_mrkdwn(escape_fit(view.explanation.strip(), MAX_CONTEXT_TEXT)))
    for m in matches:
        if len(context) >= MAX_CONTEXT_ELEMENTS:
            break
        if m.detail:
            note = f"{m.entity}: {m.detail}"
            context.append(_mrkdwn(escape_fit(note, MAX_DETAIL_CHARS)))

    head: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": _mrkdwn(title_text)},
        {"type": "context", "elements": [_mrkdwn(meta)]},
    ]
    tail: list[dict[str, Any]] = []
    if context:
        tail.append({"type": "context", "elements": context})
    disposition = disposition_line(view)
    if disposition:
        tail.append({"type": "context", "elements": [_mrkdwn(disposition)]})
    tail.append(review_actions(view.alert_id))
    blocks = head + _match_sections(lines, MAX_BLOCKS - len(head) - len(tail)) + tail

    entities = ", ".join(dict.fromkeys(m.entity for m in matches)) or "no entities"
    fallback = escape_fit(
        f"[{severity.upper()}] {view.rule}: {title} — {entities}", MAX_FALLBACK_TEXT
    )
    return checked(fallback, blocks, f"alert {view.alert_id}")


def format_alert_reduced(view: AlertView) -> tuple[str, list[dict[str, Any]]]:
    """A small fallback of ``format_alert`` for when Slack refused the full message
    (``invalid_blocks`` / ``msg_too_long``): severity, rule, title (linked only when the link
    fits), the actors' names and the review buttons, each cut well inside Block Kit's limits."""
    severity = view.severity.lower()
    emoji = SEVERITY_EMOJI.get(severity, UNKNOWN_SEVERITY_EMOJI)
    header = truncate(f"{emoji} {severity.upper()} · {view.rule}", MAX_HEADER_TEXT)
    title = view.title.strip() or "(no title)"
    title_text = title_markup(title, safe_link(view.link), MAX_TITLE_CHARS // 2, view.alert_id)
    entities = list(dict.fromkeys(m.entity for m in view.matches))
    actors = escape_fit(", ".join(entities) or "no entities", MAX_SECTION_TEXT // 2)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": _mrkdwn(title_text)},
        {"type": "section", "text": _mrkdwn(f"*Matched:* {actors}")},
        {
            "type": "context",
            "elements": [
                _mrkdwn(f"Alert #{view.alert_id} (shortened: the full alert was refused)")
            ],
        },
        review_actions(view.alert_id),
    ]
    fallback = escape_fit(
        f"[{severity.upper()}] {view.rule}: {title} — {', '.join(entities) or 'no entities'}",
        MAX_FALLBACK_TEXT // 4,
    )
    return checked(fallback, blocks, f"reduced alert {view.alert_id}")


__all__ = [
    "AlertView",
    "escape",
    "format_alert",
    "format_alert_reduced",
]
