"""The matching engine as the pipeline sees it: entries + rules → matches + alerts.

Where entries come from (watchlist files, imported official lists, Slack edits) is not known
here: each source is an ``EntrySource`` with a cheap fingerprint and a loader, and the list of
sources is assembled once, in ``sanctionwatch.runtime``. The engine is rebuilt only when a
source's fingerprint or the rule files change, so edits take effect on the next poll without
a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from sanctionwatch.config.yamlfiles import folder_fingerprint
from sanctionwatch.matching.lemmas import detect_language
from sanctionwatch.matching.matcher import Matcher
from sanctionwatch.matching.rulecontext import with_rule_context
from sanctionwatch.matching.rules import evaluate, load_rules
from sanctionwatch.models import Alert, Entry, Match, Rule

log = logging.getLogger(__name__)

Database = sqlite_utils.Database


@dataclass(frozen=True)
class EntrySource:
    """Where some of the engine's entries come from. Both functions take the database (None
    for commands that never create one); ``fingerprint`` must be cheap (it runs per poll)."""

    name: str
    fingerprint: Callable[[Database | None], str]
    load: Callable[[Database | None], list[Entry]]


@dataclass(frozen=True)
class Engine:
    matcher: Matcher
    rules: tuple[Rule, ...]
    entries: tuple[Entry, ...]
    fingerprint: str

    def match(self, title: str, text: str) -> list[Match]:
        """Matches of title and text; the item's language is detected once for both. A
        one-word official match of an ordinary word with no second signal in the item is
        listed only when a rule that asks for such matches fires with it (``rulecontext``)."""
        lang = detect_language(f"{title}\n{text}")
        held: list[Match] = []
        found = self.matcher.find_item((("title", title), ("text", text)), lang, held)
        return with_rule_context(self.rules, found, held, ("title", "text")) if held else found

    def evaluate(self, matches: Sequence[Match], default_channel: str) -> list[Alert]:
        return evaluate(self.rules, matches, default_channel)


def build_engine(sources: Sequence[EntrySource], rules: Path, db: Database | None = None) -> Engine:
    """Load every entry source and every rule, and build the matcher."""
    entries: list[Entry] = []
    for source in sources:
        loaded = source.load(db)
        log.debug("loaded entries source=%s count=%d", source.name, len(loaded))
        entries.extend(loaded)
    rule_list = tuple(load_rules(rules))
    matcher = Matcher.build(entries)
    return Engine(matcher, rule_list, tuple(entries), fingerprint(sources, rules, db))


def fingerprint(sources: Sequence[EntrySource], rules: Path, db: Database | None) -> str:
    return "|".join([folder_fingerprint(rules), *(s.fingerprint(db) for s in sources)])


class EngineCache:
    """Holds the current engine; ``get`` rebuilds it when any input changed."""

    def __init__(self, sources: Sequence[EntrySource], rules: Path) -> None:
        self.sources = tuple(sources)
        self.rules = rules
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self, db: Database | None = None) -> Engine:
        with self._lock:
            fp = fingerprint(self.sources, self.rules, db)
            if self._engine is None or self._engine.fingerprint != fp:
                self._engine = self._make(fp, db)
            return self._engine

    def _make(self, fp: str, db: Database | None) -> Engine:
        """A new engine for inputs with fingerprint ``fp`` (``enginestore`` loads it from
        disk when it can)."""
        engine = build_engine(self.sources, self.rules, db)
        log.info(
            "engine built entries=%d rules=%d names=%d",
            len(engine.entries),
            len(engine.rules),
            len(engine.matcher),
        )
        return engine
