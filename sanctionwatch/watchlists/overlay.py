"""Watchlist edits made from Slack or the terminal, stored in SQLite on top of the files.

The YAML files in ``watchlists/`` (and imported official lists) stay the versioned baseline.
``/watchlist add`` and ``python bot.py watchlist add`` store new entries in the
``watchlist_overlay`` table; the engine loads them as one more entry source, so ``run``,
``match`` and ``serve`` see them on their next engine lookup without a restart. ``remove``
deletes overlay entries only: a baseline entry is removed from its file by a pull request
(``watchlist dump`` writes the merged list back out as YAML for that).

Every change is written, in the same transaction, to the append-only audit log (audit.py):
who, when, what, the list, and the entry before and after as JSON.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from sanctionwatch.clock import iso, utcnow
from sanctionwatch.errors import EditError
from sanctionwatch.matching.engine import EntrySource
from sanctionwatch.models import ENTRY_TYPES, Entry
from sanctionwatch.storage.audit import WATCHLIST_ACTIONS, Actor, audit
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.replay import RequestKey, claim
from sanctionwatch.storage.schema import AUDIT_TABLE, OVERLAY_TABLE
from sanctionwatch.watchlists import imported as liststore
from sanctionwatch.watchlists.files import load_watchlists, slugify

log = logging.getLogger(__name__)

# Longer than any real name or alias (the longest OFAC SDN names are ~150 characters); a
# longer "name" is a pasted paragraph, which would only produce noise.
MAX_NAME_CHARS = 200
# One or two letters match inside countless words and acronyms ("AI", "EU", "UK" are not
# names one can watch for on their own).
MIN_NAME_LETTERS = 3
SYLLABLE_LETTERS = 2  # weight of one Hangul syllable / CJK ideograph in that count
MAX_ALIASES = 25  # one entry with more spellings than this is really several entries
SOURCE_SLACK = "slack"
NEW_LIST_TYPE = "keyword"  # exact matching only: the safe default when a list has no entries
_LIST_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Words that mean nothing on their own; a "name" made only of these would match almost every
# item. Languages of the press the default watchlists cover.
STOP_WORDS = frozenset(
    """
    a an and the of in on at to for from by with or not is are was be it this that news
    report reports today new said says
    der die das und ein eine in im am zu von mit nicht ist den dem des auf für
    le la les un une et de du des en au aux sur pour par avec est pas
    el los las y o del al en con por para es un una no
    il lo gli i e di da in con per che non una uno
    i w z na do nie się to jest od za po
    и в во на с со к по из за не что это как а но о об от у
    і в на з до та що це як не але
    """.split()
)


@dataclass(frozen=True)
class AddResult:
    entry: Entry
    created_list: bool


# ---- entry source -----------------------------------------------------------------------
def _fingerprint(db: sqlite_utils.Database | None) -> str:
    """Changes with every watchlist edit: the newest watchlist audit id (never reused)."""
    if db is None or AUDIT_TABLE not in db.table_names():  # a bare database (tools, tests)
        return "overlay:none"
    row = db.execute(
        f"SELECT max(id) FROM {AUDIT_TABLE} WHERE action IN (?, ?)", list(WATCHLIST_ACTIONS)
    ).fetchone()
    return f"overlay:{row[0] or 0}"


def overlay_entries(db: sqlite_utils.Database, list_name: str | None = None) -> list[Entry]:
    where, params = ("WHERE list = ?", [list_name]) if list_name else ("", [])
    rows = db.query(f"SELECT * FROM {OVERLAY_TABLE} {where} ORDER BY id", params)
    return [_entry(r) for r in rows]


def _load(db: sqlite_utils.Database | None) -> list[Entry]:
    if db is None or OVERLAY_TABLE not in db.table_names():
        return []
    return overlay_entries(db)


def _entry(row: dict[str, Any]) -> Entry:
    return Entry(
        id=row["entry_id"],
        name=row["name"],
        type=row["type"],
        list=row["list"],
        aliases=tuple(json.loads(row["aliases"] or "[]")),
        tags=tuple(json.loads(row["tags"] or "[]")),
        source=SOURCE_SLACK,
        notes=row["notes"] or "",
        added_by=row["added_by"] or "",
        strict=bool(row["strict"]),
    )


def entry_dict(entry: Entry) -> dict[str, Any]:
    """An entry as audit JSON (lists, not tuples)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(entry).items()}


# ---- validation -------------------------------------------------------------------------
def name_key(name: str) -> str:
    """Comparison key for duplicates: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def clean_name(raw: str, what: str = "name") -> str:
    """A trimmed, validated name or alias; raises EditError with a reason the user can act on."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not name:
        raise EditError(f"The {what} is empty.")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise EditError(f"The {what} contains control characters.")
    if len(name) > MAX_NAME_CHARS:
        raise EditError(
            f"The {what} is {len(name)} characters long; the limit is {MAX_NAME_CHARS}."
            " Add the short, distinctive name and put other spellings in aliases."
        )
    letters = sum(_letter_weight(ch) for ch in name)
    if letters < MIN_NAME_LETTERS:
        raise EditError(
            f"The {what} {name!r} is too short: with fewer than {MIN_NAME_LETTERS} letters or"
            " digits it would match almost every item."
        )
    words = re.findall(r"\w+", name.casefold())
    if words and all(w in STOP_WORDS for w in words):
        raise EditError(
            f"The {what} {name!r} is made only of common words; it would match almost every"
            " item. Add the distinctive name instead."
        )
    return name


def _letter_weight(ch: str) -> int:
    """A Hangul syllable or CJK ideograph carries a whole syllable: it counts as two letters
    (so 북한 passes and a lone 북 does not)."""
    if "\uac00" <= ch <= "\ud7a3" or "\u4e00" <= ch <= "\u9fff":
        return SYLLABLE_LETTERS
    return 1 if ch.isalnum() else 0


def check_list_name(raw: str) -> str:
    name = raw.strip().lower()
    if not _LIST_NAME_RE.match(name):
        raise EditError(
            f"{raw!r} is not a valid list name: use lower-case letters, digits, '-' and '_'"
            " (e.g. vessels, dprk, my-brokers)."
        )
    return name


def list_names(entries: Iterable[Entry]) -> list[str]:
    return sorted({e.list for e in entries})


def find_in(entries: Iterable[Entry], name: str) -> list[Entry]:
    """Entries whose canonical name or an alias equals ``name`` (case-insensitive)."""
    key = name_key(name)
    return [e for e in entries if any(name_key(n) == key for n in e.names)]


def list_defaults(entries: Sequence[Entry]) -> tuple[str, tuple[str, ...], bool]:
    """(type, tags, strict) a new entry of this list inherits: the list's usual type, the tags
    every entry shares, and strict when every entry is strict."""
    if not entries:
        return NEW_LIST_TYPE, (), False
    etype = Counter(e.type for e in entries).most_common(1)[0][0]
    shared = set(entries[0].tags)
    for e in entries[1:]:
        shared &= set(e.tags)
    tags = tuple(t for t in entries[0].tags if t in shared)
    return etype, tags, all(e.strict for e in entries)


# ---- edits ------------------------------------------------------------------------------
def add_entry(
    store: Store,
    baseline: Sequence[Entry],
    actor: Actor,
    list_name: str,
    name: str,
    aliases: Sequence[str] = (),
    *,
    etype: str | None = None,
    tags: Sequence[str] | None = None,
    now: datetime | None = None,
    request: RequestKey | None = None,
) -> AddResult:
    """Add an entry to ``list_name`` (created if new), audited; raises EditError when refused.

    ``baseline`` holds the file and imported entries (not overlay ones: those are read inside
    the transaction, so two concurrent adds of one name cannot both succeed). ``request``
    (a Slack request) is claimed in that transaction: a replay raises DuplicateRequest.
    """
    now = now or utcnow()
    list_name = check_list_name(list_name)
    name = clean_name(name)
    clean_aliases = [clean_name(a, "alias") for a in aliases]
    if len(clean_aliases) > MAX_ALIASES:
        raise EditError(f"{len(clean_aliases)} aliases is too many (at most {MAX_ALIASES}).")
    if etype is not None and etype not in ENTRY_TYPES:
        raise EditError(f"Unknown type {etype!r}; use one of: {', '.join(ENTRY_TYPES)}.")
    keys = {name_key(name)}
    unique_aliases = []
    for alias in clean_aliases:
        if name_key(alias) not in keys:
            keys.add(name_key(alias))
            unique_aliases.append(alias)
    with store.transaction() as db:
        claim(db, request, now)
        in_list = [e for e in baseline if e.list == list_name] + overlay_entries(db, list_name)
        for candidate in (name, *unique_aliases):
            found = find_in(in_list, candidate)
            if found:
                where = (
                    f"added by {found[0].added_by}"
                    if found[0].source == SOURCE_SLACK
                    else "in the files"
                )
                raise EditError(
                    f"{candidate!r} is already in list {list_name!r} as {found[0].name!r}"
                    f" ({where}). Nothing changed."
                )
        entry_id = f"{list_name}:{slugify(name)}"
        if any(e.id == entry_id for e in in_list):
            raise EditError(
                f"List {list_name!r} already has an entry with id {entry_id!r}"
                " (a name spelled almost the same). Nothing changed."
            )
        default_type, default_tags, strict = list_defaults(in_list)
        entry = Entry(
            id=entry_id,
            name=name,
            type=etype or default_type,
            list=list_name,
            aliases=tuple(unique_aliases),
            tags=tuple(t.lower() for t in tags) if tags is not None else default_tags,
            source=SOURCE_SLACK,
            added_by=actor.name,
            strict=strict,
        )
        db.table(OVERLAY_TABLE).insert(
            {
                "entry_id": entry.id,
                "list": entry.list,
                "name": entry.name,
                "type": entry.type,
                "aliases": json.dumps(list(entry.aliases), ensure_ascii=False),
                "tags": json.dumps(list(entry.tags), ensure_ascii=False),
                "strict": int(entry.strict),
                "notes": "",
                "added_by": actor.name,
                "added_by_id": actor.id,
                "added_at": iso(now),
            }
        )
        audit(db, actor, "watchlist.add", list_name, name, None, entry_dict(entry), now)
    log.info(
        "watchlist entry added list=%s name=%r by=%s via=%s new_list=%s",
        list_name,
        name,
        actor.id,
        actor.via,
        not in_list,
    )
    return AddResult(entry, created_list=not in_list)


def remove_entry(
    store: Store,
    baseline: Sequence[Entry],
    actor: Actor,
    list_name: str,
    name: str,
    now: datetime | None = None,
    request: RequestKey | None = None,
) -> Entry:
    """Remove an entry added from Slack/CLI (by name or alias), audited; EditError if refused.

    ``request`` is claimed in the same transaction (a replay raises DuplicateRequest)."""
    now = now or utcnow()
    list_name = list_name.strip().lower()
    name = " ".join(name.split())
    if not name:
        raise EditError("Which name? Usage: remove <list> <name>")
    with store.transaction() as db:
        claim(db, request, now)
        overlay = overlay_entries(db, list_name)
        base = [e for e in baseline if e.list == list_name]
        if not overlay and not base:
            known = list_names([*baseline, *overlay_entries(db)])
            raise EditError(f"There is no list {list_name!r}. Lists: {', '.join(known) or 'none'}.")
        found = find_in(overlay, name)
        if not found:
            in_base = find_in(base, name)
            if in_base:
                raise EditError(
                    f"{in_base[0].name!r} in list {list_name!r} comes from the versioned"
                    f" watchlist files ({in_base[0].source}); remove it there with a pull"
                    " request. Nothing changed."
                )
            raise EditError(
                f"{name!r} is not in list {list_name!r}. Nothing changed."
                f" See `list {list_name}` for its entries."
            )
        entry = found[0]
        db.execute(f"DELETE FROM {OVERLAY_TABLE} WHERE entry_id = ?", [entry.id])
        audit(db, actor, "watchlist.remove", list_name, entry.name, entry_dict(entry), None, now)
    log.info(
        "watchlist entry removed list=%s name=%r by=%s via=%s",
        list_name,
        entry.name,
        actor.id,
        actor.via,
    )
    return entry


def baseline_entries(watchlists: Path, db: sqlite_utils.Database | None) -> list[Entry]:
    """The versioned baseline: the watchlist files plus imported official lists."""
    entries = list(load_watchlists(watchlists))
    if db is not None and "imported_lists" in db.table_names():
        entries.extend(liststore.load_imported(db))
    return entries


ENTRY_SOURCE = EntrySource("overlay", _fingerprint, _load)
