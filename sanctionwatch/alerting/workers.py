"""The CPU-bound half of a poll — pre-scan → parse → drop known items → match → rules — and
the process pool that runs it on every core (fetch threads: `fetchwork`).

`analyse_items` is the one implementation of "what does this document bring": the pipeline
calls it in-thread for small runs, and pool workers call it for large ones, so both paths
give the same items, matches and alerts. Workers never write: each opens its own read-only
connection to the database only to skip items already recorded; every write (and a final,
exact re-check of what is new) stays in the main process.

The pool lives as long as the poller (`warmpool.WarmPool`), and its workers keep their engine
and the matcher's look-up caches from one poll to the next. Every task names the engine by
fingerprint; a worker holding another one loads the new engine once from the file
`enginefile.EngineFiles` wrote for that fingerprint, so an edit (watchlist/rule files,
imports, Slack edits) reaches the workers without restarting them or pickling per task.

Before feedparser runs, `prescan.scan_identities` reads the document's item identities; when
it vouches for all of them and all are recorded, the document brings nothing and is not
parsed (`Analysis.prescanned`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

import sqlite_utils

from sanctionwatch.alerting.enginefile import EngineFiles, load_engine
from sanctionwatch.alerting.newonly import KnownLookup, scoped_id, unread_part
from sanctionwatch.config.settings import FetchSettings
from sanctionwatch.errors import FeedError
from sanctionwatch.ingest.parse import normalize_link, parse
from sanctionwatch.matching.engine import Engine
from sanctionwatch.matching.enginestore import engine_file_for
from sanctionwatch.models import Alert, Item, Match
from sanctionwatch.storage.db import BUSY_TIMEOUT_MS, Store

log = logging.getLogger(__name__)

# forkserver: workers start from a clean single-threaded server process, never by forking
# the poller with its fetch threads, open sockets and SQLite connection.
START_METHOD = "forkserver"


@dataclass(frozen=True)
class Analysed:
    """One item of a document not yet recorded, with what the engine found in it."""

    item: Item
    link_key: str | None
    matches: tuple[Match, ...] = ()
    alerts: tuple[Alert, ...] = ()
    duplicate: bool = False  # same link as an earlier item of this document: not recorded


@dataclass(frozen=True)
class Analysis:
    """What one feed document brings: its new items, or why it could not be read."""

    items: int  # items in the document (0 when it could not be parsed)
    fresh: tuple[Analysed, ...]
    parse_error: str | None = None
    matched: int = 0  # items run through the matcher (0 when nothing was new)
    engine: str = ""  # fingerprint of the engine that matched them
    prescanned: bool = False  # every item was known from the pre-scan: feedparser not run
    cut: int = 0  # recorded entries cut from the document before feedparser read it


def scoped(item: Item) -> Item:
    """Make an item id global: a link is the same story everywhere, but a plain guid or a
    title hash only identifies an item within its own feed ("1" in two feeds is two items)."""
    if item.item_id.startswith("link:"):
        return item
    return replace(item, item_id=scoped_id(item.item_id, item.feed))


def parse_document(
    body: bytes,
    feed_name: str,
    content_type: str | None,
    base_url: str | None,
    settings: FetchSettings,
) -> tuple[list[Item], str | None]:
    """Parsed items, or an error message. Hostile input never raises."""
    try:
        parsed = parse(
            body, feed_name, content_type=content_type, base_url=base_url, settings=settings
        )
    except FeedError as exc:
        return [], exc.message
    except Exception as exc:  # hostile input must never stop the cycle
        log.exception("parser crashed feed=%s", feed_name)
        return [], f"parser crashed: {type(exc).__name__}: {exc}"
    return parsed.items, None


def analyse_items(
    engine_for: Callable[[], Engine],
    items: Sequence[Item],
    known: KnownLookup,
    default_channel: str,
) -> Analysis:
    """Scope ids, drop items already recorded, match and evaluate the rest (no writes).

    ``engine_for`` is called only when some item is new."""
    scoped_items = [scoped(it) for it in items]
    keys = [normalize_link(it.link) if it.link else None for it in scoped_items]
    seen_ids = known(scoped_items, keys)
    fresh: list[Analysed] = []
    seen_keys: set[str] = set()
    matched = 0
    engine: Engine | None = None
    for item, key in zip(scoped_items, keys, strict=True):
        if item.item_id in seen_ids:
            continue
        engine = engine or engine_for()
        if key and key in seen_keys:
            fresh.append(Analysed(item, key, duplicate=True))
            continue
        if key:
            seen_keys.add(key)
        matches = engine.match(item.title, item.text)
        matched += 1
        alerts = engine.evaluate(matches, default_channel) if matches else []
        fresh.append(Analysed(item, key, tuple(matches), tuple(alerts)))
    return Analysis(len(items), tuple(fresh), None, matched, engine.fingerprint if engine else "")


# --------------------------------------------------------------------------- worker process

_engine: Engine | None = None
_reader: Store | None = None


def _init_worker(db_path: str) -> None:
    global _reader
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute("PRAGMA query_only = ON")
    # A Store without __init__ (which migrates, i.e. writes): only its read queries are used.
    reader = Store.__new__(Store)
    reader.path = Path(db_path)
    reader.db = sqlite_utils.Database(conn)
    _reader = reader


def _worker_engine(fingerprint: str, engine_path: str) -> Engine:
    """This worker's engine, loaded from its file when the fingerprint moved on."""
    global _engine
    if _engine is None or _engine.fingerprint != fingerprint:
        _engine = load_engine(engine_path, fingerprint)
        log.info("worker loaded engine pid=%d names=%d", os.getpid(), len(_engine.matcher))
    return _engine


def _analyse_in_worker(
    fingerprint: str,
    engine_path: str,
    body: bytes,
    feed_name: str,
    content_type: str | None,
    base_url: str | None,
    settings: FetchSettings,
    default_channel: str,
    prescan: bool,
) -> Analysis:
    assert _reader is not None, "worker not initialised"
    unread = None
    if prescan:
        unread = unread_part(
            body, feed_name, content_type, base_url, _reader.known_items, settings.max_items
        )
    if unread is not None and unread.body is None:
        return Analysis(unread.entries, (), None, 0, fingerprint, prescanned=True)
    part = body if unread is None or unread.body is None else unread.body
    items, error = parse_document(part, feed_name, content_type, base_url, settings)
    if error is not None:
        return Analysis(0, (), error, 0, fingerprint)
    analysis = analyse_items(
        lambda: _worker_engine(fingerprint, engine_path),
        items,
        _reader.known_items,
        default_channel,
    )
    return replace(analysis, cut=unread.cut) if unread is not None else analysis


# --------------------------------------------------------------------------- main process


class PoolUnavailable(Exception):
    """The pool is broken or closed: analyse this document in-thread instead."""


class AnalysisPool:
    """Worker processes that analyse documents with the current engine. Thread-safe; use
    from fetch threads.

    Nothing starts until the first document is submitted, so a poll answered only by 304s
    costs no process start and no engine pickling. The workers outlive a poll when the pool
    does (`warmpool.WarmPool`); `refresh` only changes the fingerprint tasks carry.
    """

    def __init__(
        self,
        engine: Engine,
        db_path: Path,
        workers: int | None = None,
        files: EngineFiles | None = None,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.db_path = str(db_path)
        self._lock = threading.Lock()
        self._closed = False
        self.broken = False
        self._engine = engine
        self.fingerprint = engine.fingerprint
        self._files = files or EngineFiles()
        self._engine_path: str | None = None  # the current engine's file, once written
        self._executor: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        """The executor, started on first use (call with the lock held)."""
        if self._engine_path is None:
            stored = engine_file_for(Path(self.db_path))  # where the engine cache keeps it
            self._engine_path = str(self._files.publish(self._engine, stored))
        if self._executor is None:
            context = multiprocessing.get_context(START_METHOD)
            # workers fork from a server that has already imported the parser and matcher
            context.set_forkserver_preload([__name__])
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(self.db_path,),
            )
            log.info("analysis workers started workers=%d", self.workers)
        return self._executor

    def refresh(self, engine: Engine) -> None:
        """Make tasks from now on carry ``engine``'s fingerprint; each worker loads it once
        (from its file) when it first meets it. Work already queued keeps the old one."""
        with self._lock:
            if self._closed or engine.fingerprint == self.fingerprint:
                return
            self._engine, self.fingerprint = engine, engine.fingerprint
            self._engine_path = None  # written on the next submit
        log.info("engine changed; workers load it by fingerprint")

    def revive(self) -> bool:
        """Replace broken workers by fresh ones (started on the next submit). True if the
        pool had broken."""
        with self._lock:
            # the executor marks itself broken as soon as a worker dies, before any submit
            died = self._executor is not None and bool(getattr(self._executor, "_broken", False))
            if not (self.broken or died) or self._closed:
                return False
            old, self._executor, self.broken = self._executor, None, False
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        log.warning("analysis workers replaced after a failure")
        return True

    def worker_pids(self) -> list[int]:
        """The worker processes running now (for tests and diagnostics)."""
        with self._lock:
            executor = self._executor
            return sorted(executor._processes) if executor is not None else []

    def submit(
        self,
        body: bytes,
        feed_name: str,
        content_type: str | None,
        base_url: str | None,
        settings: FetchSettings,
        default_channel: str,
        prescan: bool = True,
    ) -> Future[Analysis]:
        """Queue one document. ``prescan``: try the pre-scan first (pointless on a feed's
        first poll, when nothing of it is recorded yet)."""
        with self._lock:
            if self._closed or self.broken:
                raise PoolUnavailable
            try:
                executor = self._started()
                assert self._engine_path is not None
                return executor.submit(
                    _analyse_in_worker,
                    self.fingerprint,
                    self._engine_path,
                    body,
                    feed_name,
                    content_type,
                    base_url,
                    settings,
                    default_channel,
                    prescan,
                )
            except Exception as exc:  # broken pool, unpicklable engine, no processes allowed
                self._mark_broken(exc)
                raise PoolUnavailable from exc

    def analyse(
        self,
        body: bytes,
        feed_name: str,
        content_type: str | None,
        base_url: str | None,
        settings: FetchSettings,
        default_channel: str,
        prescan: bool = True,
    ) -> Analysis:
        """Run one document through a worker and wait for it. Raises PoolUnavailable if the
        pool broke (a worker died): the caller analyses in-thread."""
        future = self.submit(
            body, feed_name, content_type, base_url, settings, default_channel, prescan
        )
        try:
            return future.result()
        except BrokenProcessPool as exc:
            with self._lock:
                self._mark_broken(exc)
            raise PoolUnavailable from exc
        except Exception as exc:  # a bug met in a worker: the in-thread path records it
            log.error("analysis failed in a worker; analysing in-thread feed=%s error=%r",
                      feed_name, f"{type(exc).__name__}: {exc}")  # fmt: skip
            raise PoolUnavailable from exc

    def _mark_broken(self, exc: BaseException) -> None:
        if not self.broken and not self._closed:
            log.error("analysis workers broke; analysing in-thread error=%r", str(exc))
        self.broken = True

    def close(self, cancel: bool = False) -> None:
        """Stop the workers and remove the engine files. ``cancel``: drop queued work and do
        not wait (stopping)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=not cancel, cancel_futures=cancel)
        self._files.close()
