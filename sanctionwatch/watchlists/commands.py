"""The watchlist commands (add, remove, list, show) written once, as functions returning data.

Slack's ``/watchlist`` (slackapp/commands.py) and the terminal's ``bot.py watchlist``
(cli/watchlist.py) both call these and render the result: Slack as escaped mrkdwn, the
terminal as plain text. Nothing here formats for either; a refusal is a ``Refused`` with a
reason written for the person who typed the command (it may name a command in backticks).

Edits go through overlay.py (validated, audited, one transaction); ``DuplicateRequest`` from
a replayed Slack request passes through untouched, since the caller must stay silent then.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sanctionwatch.errors import EditError
from sanctionwatch.models import Entry
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.replay import RequestKey
from sanctionwatch.watchlists.overlay import (
    SOURCE_SLACK,
    add_entry,
    find_in,
    list_defaults,
    list_names,
    overlay_entries,
    remove_entry,
)

# The syntax after the command name, for usage replies ("Usage: `/watchlist add …`").
ADD_USAGE = "add <list> <name> [| alias | alias …]"
ADD_NAME_USAGE = "add <list> <name> [| alias …]"
REMOVE_USAGE = "remove <list> <name>"
SHOW_USAGE = "show <name>"
_OPTION_RE = re.compile(r"^(type|tags)=(\S*)$", re.IGNORECASE)


# ---- results ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refused:
    """Nothing changed: ``reason`` says why; ``usage`` is the syntax when the input was
    malformed (without the command name, which only the renderer knows)."""

    reason: str = ""
    usage: str = ""


@dataclass(frozen=True)
class AddRequest:
    """``add`` arguments parsed from one line of text."""

    list_name: str
    name: str
    aliases: tuple[str, ...]
    etype: str | None
    tags: tuple[str, ...] | None


@dataclass(frozen=True)
class Added:
    entry: Entry
    created_list: bool


@dataclass(frozen=True)
class Removed:
    entry: Entry


@dataclass(frozen=True)
class ListCount:
    name: str
    entries: int
    from_slack: int  # overlay entries (added from Slack or the terminal)


@dataclass(frozen=True)
class Lists:
    """``list`` without a name: every list, sorted by name."""

    lists: tuple[ListCount, ...]


@dataclass(frozen=True)
class ListEntries:
    """``list <list>``: its entries and what a new entry would inherit."""

    name: str
    entries: tuple[Entry, ...]
    new_type: str
    new_tags: tuple[str, ...]


@dataclass(frozen=True)
class Holders:
    """``show <name>``: the entries holding the name (canonical or alias); may be empty."""

    name: str
    entries: tuple[Entry, ...]


# ---- parsing --------------------------------------------------------------------------------
def parse_add(rest: str) -> AddRequest | Refused:
    """``<list> [type=T] [tags=a,b] <name> [| alias …]`` → the add arguments."""
    parts = rest.split(None, 1)
    if len(parts) < 2:
        return Refused(usage=ADD_USAGE)
    list_name, remainder = parts
    etype: str | None = None
    tags: tuple[str, ...] | None = None
    while True:
        head = remainder.split(None, 1)
        m = _OPTION_RE.match(head[0]) if head else None
        if not m:
            break
        key, value = m.group(1).lower(), m.group(2)
        if key == "type":
            etype = value.lower()
        else:
            tags = tuple(t.strip().lower() for t in value.split(",") if t.strip())
        remainder = head[1] if len(head) > 1 else ""
    name, *aliases = (p.strip() for p in remainder.split("|"))
    if not name:
        return Refused("Which name?", usage=ADD_NAME_USAGE)
    return AddRequest(list_name, name, tuple(a for a in aliases if a), etype, tags)


def split_remove(rest: str) -> tuple[str, str] | Refused:
    """``<list> <name>`` → (list, name)."""
    parts = rest.split(None, 1)
    if len(parts) < 2:
        return Refused(usage=REMOVE_USAGE)
    return parts[0], parts[1]


# ---- commands -------------------------------------------------------------------------------
def add(
    store: Store,
    baseline: Sequence[Entry],
    actor: Actor,
    args: AddRequest,
    request: RequestKey | None = None,
) -> Added | Refused:
    """Add an entry (audited as ``actor``); ``baseline`` holds the file and imported entries."""
    try:
        result = add_entry(
            store,
            baseline,
            actor,
            args.list_name,
            args.name,
            args.aliases,
            etype=args.etype,
            tags=args.tags,
            request=request,
        )
    except EditError as exc:
        return Refused(exc.message)
    return Added(result.entry, result.created_list)


def remove(
    store: Store,
    baseline: Sequence[Entry],
    actor: Actor,
    list_name: str,
    name: str,
    request: RequestKey | None = None,
) -> Removed | Refused:
    """Remove an entry added from Slack or the terminal (audited as ``actor``)."""
    try:
        entry = remove_entry(store, baseline, actor, list_name, name, request=request)
    except EditError as exc:
        return Refused(exc.message)
    return Removed(entry)


def current_entries(store: Store, baseline: Sequence[Entry]) -> list[Entry]:
    """Every entry the engine watches: the baseline plus the overlay."""
    return [*baseline, *overlay_entries(store.db)]


def lists(entries: Sequence[Entry]) -> Lists:
    counts = Counter(e.list for e in entries)
    slack = Counter(e.list for e in entries if e.source == SOURCE_SLACK)
    return Lists(tuple(ListCount(name, counts[name], slack[name]) for name in sorted(counts)))


def list_entries(entries: Sequence[Entry], list_name: str) -> ListEntries | Refused:
    name = list_name.split()[0].lower() if list_name.split() else ""
    members = tuple(e for e in entries if e.list == name)
    if not members:
        known = ", ".join(f"`{n}`" for n in list_names(entries))
        return Refused(f"There is no list {name!r}. Lists: {known or 'none'}.")
    etype, tags, _strict = list_defaults(members)
    return ListEntries(name, members, etype, tags)


def show(entries: Sequence[Entry], name: str) -> Holders | Refused:
    wanted = " ".join(name.split())
    if not wanted:
        return Refused(usage=SHOW_USAGE)
    return Holders(wanted, tuple(find_in(entries, wanted)))


def cut(
    lines: Sequence[str], max_lines: int, max_chars: int | None = None
) -> tuple[list[str], int]:
    """The first lines that fit (at most ``max_lines``, and ``max_chars`` counting a newline
    each), and how many were left off: the renderer says "… and N more"."""
    used = 0
    for i, line in enumerate(lines):
        if i >= max_lines or (max_chars is not None and used + len(line) + 1 > max_chars):
            return list(lines[:i]), len(lines) - i
        used += len(line) + 1
    return list(lines), 0
