"""Wiring: the one place that assembles settings into a store, an engine and a poster.

Everything above (the command line, the Slack app) asks here; everything below receives what
it needs as arguments. The sources of watchlist entries are listed once, in
``entry_sources``: the versioned files, then imported official lists, then Slack edits (which
may refine entries of the first two, so they come last).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from sanctionwatch.config.settings import Settings
from sanctionwatch.matching.engine import Database, Engine, EngineCache, EntrySource
from sanctionwatch.matching.engine import build_engine as _build_engine
from sanctionwatch.matching.enginestore import StoredEngineCache, engine_file_for
from sanctionwatch.slack.dryrun import DryRunPoster
from sanctionwatch.slack.poster import Poster, SlackPoster
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists import imported, overlay
from sanctionwatch.watchlists.files import file_source


def entry_sources(watchlists: Path) -> tuple[EntrySource, ...]:
    """Where the engine's entries come from, in order."""
    return (file_source(watchlists), imported.ENTRY_SOURCE, overlay.ENTRY_SOURCE)


def engine_cache(watchlists: Path, rules: Path, stored: Path | None = None) -> EngineCache:
    """The engine cache; with ``stored``, built engines are kept in that file between runs."""
    if stored is None:
        return EngineCache(entry_sources(watchlists), rules)
    return StoredEngineCache(entry_sources(watchlists), rules, stored)


def engine_file(settings: Settings) -> Path:
    """Where the built engine is kept between runs: beside the database (``enginestore``)."""
    return engine_file_for(settings.database)


def build_engine(watchlists: Path, rules: Path, db: Database | None = None) -> Engine:
    """An engine over the watchlist folder, the rules folder and (with a database) the
    imported lists and Slack edits in it."""
    return _build_engine(entry_sources(watchlists), rules, db)


def open_store(settings: Settings) -> Store:
    return Store(settings.database)


def make_poster(settings: Settings, out: TextIO) -> Poster:
    """Slack when a bot token is set; otherwise a dry run that writes messages to ``out``."""
    if settings.slack.dry_run:
        return DryRunPoster(out)
    assert settings.slack.token is not None
    return SlackPoster(
        settings.slack.token,
        settings.slack.api_url,
        max_retries=settings.slack.max_retries,
        max_retry_after_s=settings.slack.retry_after_cap_s,
        timeout_s=settings.slack.timeout_s,
    )


def warm_engine(settings: Settings) -> tuple[Engine, Callable[[], bool]]:
    """The engine for commands that only read (match, backtest, check): file watchlists and
    rules, plus imported lists and Slack edits when the database already exists (never
    creates it), loaded from the engine file when its inputs are unchanged. The second value
    saves the engine again when this command warmed its look-up caches (call it at the end).
    """
    store = open_store(settings) if settings.database.exists() else None
    cache = StoredEngineCache(
        entry_sources(settings.watchlists), settings.rules, engine_file(settings)
    )
    engine = cache.get(store.db if store else None)
    return engine, lambda: cache.keep_warm(engine)


def read_only_engine(settings: Settings) -> Engine:
    """``warm_engine`` for commands that match too little to warm anything."""
    return warm_engine(settings)[0]


def engine_getter(settings: Settings, store: Store) -> Callable[[], Engine]:
    """The engine for a long-running process: rebuilt when any of its inputs changed (and
    then kept in the engine file, so the next start loads it instead of building it)."""
    cache = engine_cache(settings.watchlists, settings.rules, engine_file(settings))
    return lambda: cache.get(store.db)
