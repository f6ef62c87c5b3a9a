"""The matching engine as the pipeline sees it: watchlists + rules → matches + alerts.

The engine is rebuilt only when its inputs change (watchlist/rule files, imported lists,
Slack edits), so edits take effect on the next poll without a restart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from sanctionwatch.matching.lemmas import detect_language
from sanctionwatch.matching.matcher import Matcher
from sanctionwatch.matching.rules import evaluate, load_rules
from sanctionwatch.models import Alert, Entry, Match, Rule
from sanctionwatch.storage.db import register_migration
from sanctionwatch.watchlists import imported as liststore
from sanctionwatch.watchlists.files import load_watchlists

log = logging.getLogger(__name__)

# Extra entry sources (imported official lists, Slack edits) register here: each provides
# a cheap fingerprint and a loader taking the sqlite-utils Database.
EntrySource = tuple[Callable[[object], str], Callable[[object], list[Entry]]]
_SOURCES: dict[str, EntrySource] = {}


def register_entry_source(
    name: str, fingerprint: Callable[[object], str], load: Callable[[object], list[Entry]]
) -> None:
    _SOURCES[name] = (fingerprint, load)


@dataclass(frozen=True)
class Engine:
    matcher: Matcher
    rules: tuple[Rule, ...]
    entries: tuple[Entry, ...]
    fingerprint: str

    def match(self, title: str, text: str) -> list[Match]:
        """Matches of title and text; the item's language is detected once for both."""
        lang = detect_language(f"{title}\n{text}")
        return [
            *self.matcher.find(title, "title", lang),
            *self.matcher.find(text, "text", lang),
        ]

    def evaluate(self, matches: Sequence[Match], default_channel: str) -> list[Alert]:
        return evaluate(self.rules, matches, default_channel)


def _files_fingerprint(*folders: Path) -> str:
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
            st = path.stat()
            h.update(f"{path}:{st.st_mtime_ns}:{st.st_size};".encode())
    return h.hexdigest()


def build_engine(watchlists: Path, rules: Path, db: object | None = None) -> Engine:
    """Load every entry source and every rule, and build the matcher."""
    entries = list(load_watchlists(watchlists))
    if db is not None:
        for name, (_fp, load) in _SOURCES.items():
            extra = load(db)
            log.debug("loaded entries source=%s count=%d", name, len(extra))
            entries.extend(extra)
    rule_list = tuple(load_rules(rules))
    matcher = Matcher.build(entries)
    return Engine(matcher, rule_list, tuple(entries), fingerprint(watchlists, rules, db))


def fingerprint(watchlists: Path, rules: Path, db: object | None) -> str:
    parts = [_files_fingerprint(watchlists, rules)]
    if db is not None:
        parts.extend(fp(db) for fp, _load in _SOURCES.values())
    return "|".join(parts)


class EngineCache:
    """Holds the current engine; ``get`` rebuilds it when any input changed."""

    def __init__(self, watchlists: Path, rules: Path) -> None:
        self.watchlists = watchlists
        self.rules = rules
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self, db: object | None = None) -> Engine:
        with self._lock:
            fp = fingerprint(self.watchlists, self.rules, db)
            if self._engine is None or self._engine.fingerprint != fp:
                self._engine = build_engine(self.watchlists, self.rules, db)
                log.info(
                    "engine built entries=%d rules=%d names=%d",
                    len(self._engine.entries),
                    len(self._engine.rules),
                    len(self._engine.matcher),
                )
            return self._engine


def _imported_fingerprint(db: object) -> str:
    """Changes whenever an official list is (re)imported: names and version counters."""
    assert isinstance(db, sqlite_utils.Database)
    if "imported_lists" not in db.table_names():
        return ""
    row = db.execute(
        "SELECT group_concat(name || ':' || version, ',') FROM imported_lists"
    ).fetchone()
    return str(row[0] or "")


def _imported_load(db: object) -> list[Entry]:
    assert isinstance(db, sqlite_utils.Database)
    if "imported_lists" not in db.table_names():
        return []
    return liststore.load_imported(db)


register_migration("imported_lists", liststore.ensure_schema)
register_entry_source("imported", _imported_fingerprint, _imported_load)
