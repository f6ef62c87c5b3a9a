"""The digest message: one post per period lists a digest channel's stories.

    🗞️ Digest · #dprk-desk · 2026-12-01 10:00–11:00 UTC
    3 stories (4 alerts), highest severity first
    🟡 MEDIUM · *<link|Arms broker Viktor Bout …>*
    Actors: Viktor Bout, Houthis · 2 outlets · Rule: arms-broker-activity · Alert #12, #14
    … and 25 more stories: `bot.py story ALERT_ID` explains one; the CSV lists them all

Pure: the stories come in as ``DigestStory`` values (alerting/digest.py reads them from the
database). Everything from a feed or watchlist is escaped, every story's section is budgeted,
and at most ``MAX_DIGEST_STORIES`` are listed so the message stays far inside Block Kit's 50
blocks; the result is checked like every other message.

Each story can be judged from the digest: its section carries a menu (True match, False
positive, Escalate) naming the story's first alert, and its ``block_id`` names that alert
too, so ``mark_decisions`` can show the decisions under their stories when the digest is
updated (``alerting/digestreview.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sanctionwatch.slack.blockkit import MAX_FALLBACK_TEXT, MAX_HEADER_TEXT, checked
from sanctionwatch.slack.format import (
    REVIEW_ACTIONS,
    SEVERITY_EMOJI,
    UNKNOWN_SEVERITY_EMOJI,
    escape,
    escape_fit,
    safe_link,
    title_markup,
    truncate,
)

# A digest is read in one sitting: 20 stories is a screenful or two, and with the header,
# the summary and the "and N more" line it uses 23 of Block Kit's 50 blocks.
MAX_DIGEST_STORIES = 20
MAX_DIGEST_TITLE_CHARS = 300  # a story's headline in the list (a headline is shorter)
MAX_DIGEST_ACTORS = 6  # actors named per story; the message itself names them all
MAX_ACTOR_NAME_CHARS = 80
MAX_RULES_CHARS = 300
MAX_ALERT_IDS = 10  # "Alert #1, #2 …" per story
DIGEST_EMOJI = ":newspaper:"
DIGEST_REVIEW_ACTION = "digest_review"  # the story menu; option values "<review action>:<id>"
DIGEST_STORY_BLOCK = "digest-story:"  # block_id of a story's section: this, then its alert id


@dataclass(frozen=True)
class DigestStory:
    """One story of a digest: its first alert's headline and what its alerts name."""

    story_id: int | None
    severity: str  # the highest of its alerts
    title: str
    link: str | None
    actors: tuple[str, ...]
    outlets: int  # distinct feeds that carried the story so far
    rules: tuple[str, ...]
    alert_ids: tuple[int, ...]  # first first


def period_label(period: str, start: datetime, end: datetime) -> str:
    """``2026-12-01 10:00–11:00 UTC`` (hourly) or ``2026-12-01 UTC`` (daily)."""
    if period == "daily":
        return f"{start:%Y-%m-%d} UTC"
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"


def story_text(story: DigestStory) -> str:
    severity = story.severity.lower()
    emoji = SEVERITY_EMOJI.get(severity, UNKNOWN_SEVERITY_EMOJI)
    title = story.title.strip() or "(no title)"
    head = f"{emoji} *{escape(severity.upper())}* · " + title_markup(
        title, safe_link(story.link), MAX_DIGEST_TITLE_CHARS, story.alert_ids[0]
    )
    actors = [escape_fit(a, MAX_ACTOR_NAME_CHARS) for a in story.actors[:MAX_DIGEST_ACTORS]]
    if len(story.actors) > MAX_DIGEST_ACTORS:
        actors.append(f"+{len(story.actors) - MAX_DIGEST_ACTORS} more")
    ids = ", ".join(f"#{i}" for i in story.alert_ids[:MAX_ALERT_IDS])
    if len(story.alert_ids) > MAX_ALERT_IDS:
        ids += f" +{len(story.alert_ids) - MAX_ALERT_IDS}"
    outlets = f"{story.outlets} outlet{'s' if story.outlets != 1 else ''}"
    rules = escape_fit(", ".join(story.rules), MAX_RULES_CHARS)
    line = (
        f"Actors: {', '.join(actors) or '(none named)'} · {outlets} · Rule: {rules} · Alert {ids}"
    )
    return f"{head}\n{line}"


def format_digest(
    channel: str,
    period: str,
    start: datetime,
    end: datetime,
    stories: Sequence[DigestStory],
    digest_ref: str,
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback, blocks) of the digest of ``stories`` (sorted by the caller, most severe
    first). ``digest_ref`` names the digest in logs when a budget is off."""
    label = period_label(period, start, end)
    n_alerts = sum(len(s.alert_ids) for s in stories)
    header = truncate(f"{DIGEST_EMOJI} Digest · {channel} · {label}", MAX_HEADER_TEXT)
    summary = (
        f"*{len(stories)} stor{'y' if len(stories) == 1 else 'ies'}* ({n_alerts} alert"
        f"{'s' if n_alerts != 1 else ''}), highest severity first"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": _md(summary)},
    ]
    shown = stories[:MAX_DIGEST_STORIES]
    for story in shown:
        first = story.alert_ids[0]
        blocks.append(
            {
                "type": "section",
                "block_id": f"{DIGEST_STORY_BLOCK}{first}",
                "text": _md(story_text(story)),
                "accessory": review_menu(first),
            }
        )
    rest = len(stories) - len(shown)
    if rest > 0:
        # the export's --until is exclusive: the day after the period's last second
        until = f"{end - timedelta(seconds=1) + timedelta(days=1):%Y-%m-%d}"
        blocks.append(
            {
                "type": "context",
                "elements": [
                    _md(
                        f"… and {rest} more stor{'y' if rest == 1 else 'ies'}: `bot.py story"
                        " ALERT_ID` (or `/watchlist story ALERT_ID`) explains one; `bot.py"
                        f" export --since {start:%Y-%m-%d} --until {until}` lists them all"
                    )
                ],
            }
        )
    tops = "; ".join(f"[{s.severity.upper()}] {s.title.strip() or '(no title)'}" for s in shown[:5])
    count = f"{len(stories)} stor{'y' if len(stories) == 1 else 'ies'}"
    fallback = escape_fit(f"Digest for {channel}, {label}: {count} — {tops}", MAX_FALLBACK_TEXT)
    return checked(fallback, blocks, f"digest {digest_ref}")


def review_menu(alert_id: int) -> dict[str, Any]:
    """The story's menu: the alert buttons' decisions, for the story's first alert."""
    return {
        "type": "overflow",
        "action_id": DIGEST_REVIEW_ACTION,
        "options": [
            {"text": {"type": "plain_text", "text": label}, "value": f"{action_id}:{alert_id}"}
            for action_id, label, _disposition, _style in REVIEW_ACTIONS
        ],
    }


def story_alerts(blocks: Sequence[Mapping[str, Any]]) -> list[int]:
    """The alert each story section of a digest names (its first alert), in order."""
    return [i for i in map(_story_alert, blocks) if i is not None]


def mark_decisions(
    text: str, blocks: Sequence[Mapping[str, Any]], lines: Mapping[int, str], digest_ref: str
) -> tuple[str, list[dict[str, Any]]]:
    """The digest as posted (``blocks``), with each judged story's decision line (by its
    alert id, already formatted: ``storyformat.reviewed_line``) under its section."""
    out: list[dict[str, Any]] = copy.deepcopy([dict(b) for b in blocks])
    for block in out:
        alert_id = _story_alert(block)
        line = lines.get(alert_id) if alert_id is not None else None
        if line:
            block["text"] = _md(f"{block['text']['text']}\n{line}")
    return checked(text, out, f"digest {digest_ref}")


def _story_alert(block: Mapping[str, Any]) -> int | None:
    block_id = str(block.get("block_id") or "")
    tail = block_id[len(DIGEST_STORY_BLOCK) :]
    if block.get("type") == "section" and block_id.startswith(DIGEST_STORY_BLOCK):
        return int(tail) if tail.isdigit() else None
    return None


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}
