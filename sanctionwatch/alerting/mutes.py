"""Mutes: ``/watchlist mute <entity|rule> <duration> [reason]`` keeps an entity or a rule quiet
for a while. Muted alerts are recorded (in the CSV, with why) but not posted.

A muted rule drops out of a message; a muted entity drops the rules that fired on it (they
fired because of it). A message left with no rule is recorded as ``suppressed``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from sanctionwatch.clock import iso, parse_iso
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.models import Alert, Match

SUPPRESSED = "suppressed"  # alerts.status of recorded, never posted rows (muted, quieted)
FALSE_POSITIVE_STORY = "story judged a false positive"  # why a quieted story copy is
# The longest mute: a quarter. A longer silence is a watchlist or rule change, made in review.
MAX_MUTE = timedelta(days=90)
_DURATION_RE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Mute:
    id: int
    kind: str  # "entity" | "rule"
    target: str  # casefolded entity id / name, or the rule name
    label: str
    reason: str
    until: datetime
    created_by: str


def parse_duration(text: str) -> timedelta:
    """``30m``, ``4h``, ``2d``, ``1w`` → timedelta; at most MAX_MUTE."""
    m = _DURATION_RE.match(text.strip().lower())
    if not m:
        raise SanctionwatchError(
            f"not a duration: {text!r}", hint="write a number and m, h, d or w: 30m, 4h, 2d, 1w"
        )
    value = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if value <= timedelta(0) or value > MAX_MUTE:
        raise SanctionwatchError(
            f"mute duration {text!r} is out of range", hint="between 1m and 90d"
        )
    return value


def active_mutes(db: sqlite_utils.Database, now: datetime) -> list[Mute]:
    rows = db.execute(
        "SELECT id, kind, target, label, reason, until, created_by FROM mutes"
        " WHERE lifted_at IS NULL AND until > ? ORDER BY id",
        [iso(now)],
    ).fetchall()
    out = []
    for r in rows:
        until = parse_iso(r[5])
        assert until is not None
        out.append(Mute(int(r[0]), r[1], r[2], r[3] or r[2], r[4] or "", until, r[6]))
    return out


def why_muted(mutes: Sequence[Mute], rule: str, matches: Sequence[Match]) -> str | None:
    """Why ``rule``, having fired on ``matches``, is muted now; None when it is not."""
    for mute in mutes:
        if mute.kind == "rule" and mute.target == rule.casefold():
            return f"rule {rule} muted until {iso(mute.until)}"
        if mute.kind == "entity" and any(
            mute.target in (m.entity_id.casefold(), m.entity.casefold()) for m in matches
        ):
            return f"{mute.label} muted until {iso(mute.until)}"
    return None


def muted_rules(mutes: list[Mute], alert: Alert) -> dict[str, str]:
    """{rule: why} when ``alert``'s rule is muted or fired on a muted entity; else {}."""
    why = why_muted(mutes, alert.rule, alert.matches)
    return {} if why is None else {alert.rule: why}
