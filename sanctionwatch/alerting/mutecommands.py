"""``mute``, ``unmute`` and ``mutes`` written once, as functions returning data.

Slack's ``/watchlist mute …`` (slackapp/commands.py) and the terminal's ``bot.py watchlist
mute …`` (cli/mutes.py) both call these and render the result. A mute names a rule or a
watchlist entry (by name or alias; ``rule:`` or ``entity:`` in front settles a name that is
both), a duration and an optional reason::

    mute North Korea 4h the weekly summit coverage
    mute rule:dprk-russia-leader-meeting 2d
    unmute North Korea

Every mute and unmute is audited (``mute.add``, ``mute.lift``) in the transaction that makes
it. Muted matches are still recorded (status ``suppressed``, in the CSV): see mutes.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sanctionwatch.alerting.mutes import Mute, active_mutes, parse_duration
from sanctionwatch.clock import iso, utcnow
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.models import Entry
from sanctionwatch.storage.audit import Actor, audit
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.schema import MUTES_TABLE
from sanctionwatch.watchlists.commands import Refused

log = logging.getLogger(__name__)

MUTE_USAGE = "mute <entity|rule> <duration> [reason]"
UNMUTE_USAGE = "unmute <entity|rule>"
MAX_REASON_CHARS = 500  # a mute's reason, shown in status and the audit log
_PREFIXES = ("rule:", "entity:")


@dataclass(frozen=True)
class Target:
    kind: str  # "entity" | "rule"
    target: str  # casefolded entity id, or the rule name casefolded (mutes.muted_rules)
    label: str  # as a person reads it


@dataclass(frozen=True)
class Muted:
    mute: Mute
    replaced: int  # active mutes of the same target this one replaced


@dataclass(frozen=True)
class Unmuted:
    label: str
    lifted: int


@dataclass(frozen=True)
class MuteList:
    mutes: tuple[Mute, ...]


def resolve(text: str, entries: Sequence[Entry], rules: Sequence[str]) -> Target | Refused:
    """A rule name or a watchlist entry (name or alias, case-insensitive)."""
    text = text.strip()
    want = ""
    for prefix in _PREFIXES:
        if text.lower().startswith(prefix):
            want, text = prefix[:-1], text[len(prefix) :].strip()
    key = text.casefold()
    if not key:
        return Refused("Name a rule or a watchlist entry to mute.", MUTE_USAGE)
    if want != "entity":
        for rule in rules:
            if rule.casefold() == key:
                return Target("rule", key, rule)
    if want != "rule":
        for e in entries:
            if e.name.casefold() == key or any(a.casefold() == key for a in e.aliases):
                return Target("entity", e.id.casefold(), e.name)
    what = {"rule": "a rule", "entity": "a watchlist entry"}.get(want, "a rule or watchlist entry")
    return Refused(f"“{text}” is not {what} (exact name or alias).")


def parse_mute(rest: str) -> tuple[str, str, str] | Refused:
    """``<target> <duration> [reason]`` → (target, duration, reason): the first word that is a
    duration ends the target, so names with spaces need no quotes."""
    words = rest.split()
    for i, word in enumerate(words):
        if i == 0:
            continue
        try:
            parse_duration(word)
        except SanctionwatchError:
            continue
        return " ".join(words[:i]), word, " ".join(words[i + 1 :])
    return Refused(
        "A mute needs a target and a duration (30m, 4h, 2d, 1w; at most 90d).", MUTE_USAGE
    )


def mute(
    store: Store,
    entries: Sequence[Entry],
    rules: Sequence[str],
    actor: Actor,
    rest: str,
    now: datetime | None = None,
) -> Muted | Refused:
    """Mute a rule or an entity for a while; a new mute of the same target replaces the old."""
    now = now or utcnow()
    parsed = parse_mute(rest)
    if isinstance(parsed, Refused):
        return parsed
    text, duration_text, reason = parsed
    target = resolve(text, entries, rules)
    if isinstance(target, Refused):
        return target
    until = now + parse_duration(duration_text)
    reason = reason[:MAX_REASON_CHARS]
    with store.transaction() as db:
        replaced = _lift(store, target, actor, now)
        cur = db.execute(
            f"INSERT INTO {MUTES_TABLE} (kind, target, label, reason, until, created_at,"
            " created_by) VALUES (?,?,?,?,?,?,?)",
            [target.kind, target.target, target.label, reason, iso(until), iso(now), actor.label],
        )
        after = {"kind": target.kind, "target": target.label, "until": iso(until)}
        after["reason"] = reason
        audit(db, actor, "mute.add", "", target.label, None, after, now)
    assert cur.lastrowid is not None
    log.info(
        "muted kind=%s target=%r until=%s by=%s", target.kind, target.label, iso(until), actor.id
    )
    made = Mute(
        int(cur.lastrowid), target.kind, target.target, target.label, reason, until, actor.label
    )
    return Muted(made, replaced)


def _lift(store: Store, target: Target, actor: Actor, now: datetime) -> int:
    """Lift the active mutes of ``target`` (inside the caller's transaction); how many."""
    rows = store.db.execute(
        f"SELECT id, until, reason FROM {MUTES_TABLE} WHERE kind = ? AND target = ?"
        " AND lifted_at IS NULL AND until > ?",
        [target.kind, target.target, iso(now)],
    ).fetchall()
    for row in rows:
        store.db.execute(
            f"UPDATE {MUTES_TABLE} SET lifted_at = ?, lifted_by = ? WHERE id = ?",
            [iso(now), actor.label, row[0]],
        )
        before = {"kind": target.kind, "target": target.label, "until": row[1], "reason": row[2]}
        audit(store.db, actor, "mute.lift", "", target.label, before, None, now)
    return len(rows)


def unmute(
    store: Store,
    entries: Sequence[Entry],
    rules: Sequence[str],
    actor: Actor,
    rest: str,
    now: datetime | None = None,
) -> Unmuted | Refused:
    now = now or utcnow()
    target = resolve(rest, entries, rules)
    if isinstance(target, Refused):
        return Refused(target.reason, UNMUTE_USAGE) if not rest.strip() else target
    with store.transaction():
        lifted = _lift(store, target, actor, now)
    if not lifted:
        return Refused(f"“{target.label}” is not muted.")
    log.info("unmuted kind=%s target=%r by=%s", target.kind, target.label, actor.id)
    return Unmuted(target.label, lifted)


def mutes(store: Store, now: datetime | None = None) -> MuteList:
    return MuteList(tuple(active_mutes(store.db, now or utcnow())))


def mute_status(store: Store, now: datetime | None = None) -> list[dict[str, str]]:
    """Active mutes for ``status`` (and ``status --json`` field ``mutes``)."""
    return [
        {
            "kind": m.kind,
            "target": m.label,
            "until": iso(m.until) or "",
            "reason": m.reason,
            "by": m.created_by,
        }
        for m in mutes(store, now).mutes
    ]
