"""One alert row per item and channel: every rule that fired for that channel in one message.

The rules are grouped here, at record time, so the outbox keeps one row per message and its
exactly-once delivery stays as it is: ``rule``/``severity`` are the highest-severity rule (so
the (item_id, rule) index still names one row), ``rules`` lists them all with their
descriptions and traces, ``matches`` is the union of their matches. The excerpt is cut here
too, while the item's whole text is at hand (the items table keeps only a summary).

Story copies (``stories.assign`` joined the item to an earlier story) get ``thread_of`` = the
story's first alert in the same channel and are posted into its thread. A copy of a story
judged a false positive, and a message whose every rule is muted, are recorded with status
``suppressed`` and never posted. A message for a digest channel or rule (``digest.py``) is
recorded with status ``digest`` and listed in the period's digest instead of posted alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from sanctionwatch.alerting.digest import DIGEST_STATUS, DigestPolicy, add_entry
from sanctionwatch.alerting.excerpt import excerpt
from sanctionwatch.alerting.language import guess_language
from sanctionwatch.alerting.mutes import (
    FALSE_POSITIVE_STORY,
    SUPPRESSED,
    active_mutes,
    muted_rules,
)
from sanctionwatch.alerting.stories import assign, signature
from sanctionwatch.clock import iso
from sanctionwatch.models import Alert, Item, Match
from sanctionwatch.storage.db import matches_to_json

log = logging.getLogger(__name__)

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@dataclass(frozen=True)
class ChannelAlert:
    """Every rule that fired on one item for one channel."""

    channel: str
    alerts: tuple[Alert, ...]  # highest severity first

    @property
    def top(self) -> Alert:
        return self.alerts[0]

    @property
    def matches(self) -> tuple[Match, ...]:
        seen: dict[tuple[str, str, int, int], Match] = {}
        for a in self.alerts:
            for m in a.matches:
                seen.setdefault((m.entity_id, m.field, m.start, m.end), m)
        return tuple(seen.values())


def rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity.lower(), -1)


def group_by_channel(alerts: Sequence[Alert]) -> list[ChannelAlert]:
    """Alerts of one item grouped by channel (first-seen channel order), rules in each by
    severity (highest first), then by their order in the rules folder."""
    by_channel: dict[str, list[Alert]] = {}
    for a in alerts:
        by_channel.setdefault(a.channel, []).append(a)
    return [
        ChannelAlert(ch, tuple(sorted(group, key=lambda a: -rank(a.severity))))
        for ch, group in by_channel.items()
    ]


def rules_json(group: Sequence[Alert]) -> str:
    return json.dumps(
        [
            {
                "rule": a.rule,
                "severity": a.severity,
                "description": a.description,
                "explanation": a.explanation,
            }
            for a in group
        ],
        ensure_ascii=False,
    )


def record_alerts(
    db: sqlite_utils.Database,
    item: Item,
    matches: Sequence[Match],
    alerts: Sequence[Alert],
    now: datetime,
    story_window: timedelta,
    digests: DigestPolicy | None = None,
) -> list[int]:
    """Queue one alert row per channel for a just-recorded item; the ids of rows to post
    (alone, or in their channel's digest)."""
    if not alerts:
        return []
    mutes = active_mutes(db, now)
    decision = assign(
        db, item, signature(item, matches, [a.rule for a in alerts]), now, story_window
    )
    language = guess_language(f"{item.title}\n{item.text}")
    ids: list[int] = []
    for group in group_by_channel(alerts):
        kept = [a for a in group.alerts if a.rule not in muted_rules(mutes, a)]
        suppressed = None
        if not kept:
            suppressed = "muted: " + "; ".join(
                sorted({why for a in group.alerts for why in muted_rules(mutes, a).values()})
            )
            kept = list(group.alerts)
        shown = ChannelAlert(group.channel, tuple(kept))
        thread_of = None
        if decision.joined:
            row = db.execute(
                "SELECT id, disposition FROM alerts WHERE story_id = ? AND channel = ?"
                " AND thread_of IS NULL ORDER BY id LIMIT 1",
                [decision.story_id, group.channel],
            ).fetchone()
            if row is not None:
                thread_of = int(row[0])
                if row[1] == "false_positive" and suppressed is None:
                    suppressed = FALSE_POSITIVE_STORY
        period = None if suppressed or digests is None else digests.period_for(group.channel, kept)
        status = SUPPRESSED if suppressed else (DIGEST_STATUS if period else "pending")
        top = shown.top
        cur = db.execute(
            "INSERT OR IGNORE INTO alerts (item_id, rule, severity, channel, explanation,"
            " matches, status, attempts, created_at, rules, excerpt, language, story_id,"
            " story_first, thread_of, suppressed) VALUES (?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?)",
            [
                item.item_id,
                top.rule,
                top.severity,
                group.channel,
                "\n".join(a.explanation for a in shown.alerts),
                matches_to_json(shown.matches),
                status,
                iso(now),
                rules_json(shown.alerts),
                json.dumps(excerpt(item.text, shown.matches, matches), ensure_ascii=False),
                language,
                decision.story_id,
                0 if thread_of else 1,
                thread_of,
                suppressed,
            ],
        )
        if cur.rowcount and cur.lastrowid is not None:
            if suppressed:
                log.info(
                    "alert recorded, not posted alert=%d channel=%s why=%r",
                    cur.lastrowid,
                    group.channel,
                    suppressed,
                )
            else:
                if period:
                    add_entry(db, cur.lastrowid, group.channel, period, now)
                ids.append(cur.lastrowid)
    return ids
