"""The work of a poll besides recording: fetch threads (with per-host politeness), and the
CPU-bound half — parse → drop known items → match → rules — with a process pool that runs it
on every core.

`analyse_items` is the one implementation of "what does this document bring": the pipeline
calls it in-thread for small runs, and pool workers call it for large ones, so both paths
give the same items, matches and alerts. Workers never write: each opens its own read-only
connection to the database only to skip items already recorded; every write (and a final,
exact re-check of what is new) stays in the main process.

Workers receive the engine once, pickled, in their initializer. When the engine's
fingerprint changes (watchlist/rule edits, imports, Slack edits) `AnalysisPool.refresh`
starts fresh workers with the new engine; work already queued finishes on the old one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import sqlite_utils

from sanctionwatch.config.settings import FeedConfig, FetchSettings, Settings
from sanctionwatch.errors import FeedError
from sanctionwatch.ingest.fetch import FetchResult, FetchState, fetch
from sanctionwatch.ingest.parse import normalize_link, parse
from sanctionwatch.matching.engine import Engine
from sanctionwatch.models import Alert, Item, Match
from sanctionwatch.storage.db import BUSY_TIMEOUT_MS, Store

log = logging.getLogger(__name__)

# Below this many feeds in one poll, starting worker processes (about a second of CPU to
# import and unpickle the engine) costs more than it saves; the work stays in-thread.
POOL_MIN_FEEDS = 50
# forkserver: workers start from a clean single-threaded server process, never by forking
# the poller with its fetch threads, open sockets and SQLite connection.
START_METHOD = "forkserver"

KnownLookup = Callable[[Sequence[Item], Sequence[str | None]], set[str]]


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


def scoped(item: Item) -> Item:
    """Make an item id global: a link is the same story everywhere, but a plain guid or a
    title hash only identifies an item within its own feed ("1" in two feeds is two items)."""
    if item.item_id.startswith("link:"):
        return item
    kind, _, rest = item.item_id.partition(":")
    return replace(item, item_id=f"{kind}:{item.feed}|{rest}")


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


def _init_worker(engine_blob: bytes, db_path: str) -> None:
    global _engine, _reader
    _engine = pickle.loads(engine_blob)
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute("PRAGMA query_only = ON")
    # A Store without __init__ (which migrates, i.e. writes): only its read queries are used.
    reader = Store.__new__(Store)
    reader.path = Path(db_path)
    reader.db = sqlite_utils.Database(conn)
    _reader = reader


def _analyse_in_worker(
    body: bytes,
    feed_name: str,
    content_type: str | None,
    base_url: str | None,
    settings: FetchSettings,
    default_channel: str,
) -> Analysis:
    assert _engine is not None and _reader is not None, "worker not initialised"
    items, error = parse_document(body, feed_name, content_type, base_url, settings)
    if error is not None:
        return Analysis(0, (), error, 0, _engine.fingerprint)
    engine = _engine
    return analyse_items(lambda: engine, items, _reader.known_items, default_channel)


# --------------------------------------------------------------------------- main process


class PoolUnavailable(Exception):
    """The pool is broken or closed: analyse this document in-thread instead."""


class AnalysisPool:
    """Worker processes holding the current engine. Thread-safe; use from fetch threads.

    Nothing starts until the first document is submitted, so a poll answered only by 304s
    costs no process start and no engine pickling.
    """

    def __init__(self, engine: Engine, db_path: Path, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.db_path = str(db_path)
        self._lock = threading.Lock()
        self._closed = False
        self.broken = False
        self._engine = engine
        self.fingerprint = engine.fingerprint
        self._executor: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        """The executor, started on first use (call with the lock held)."""
        if self._executor is None:
            blob = pickle.dumps(self._engine, protocol=pickle.HIGHEST_PROTOCOL)
            context = multiprocessing.get_context(START_METHOD)
            # workers fork from a server that has already imported the parser and matcher
            context.set_forkserver_preload([__name__])
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(blob, self.db_path),
            )
            log.info("analysis workers started workers=%d engine_bytes=%d", self.workers, len(blob))
        return self._executor

    def refresh(self, engine: Engine) -> None:
        """Use fresh workers if the engine changed since they started."""
        with self._lock:
            if self._closed or self.broken or engine.fingerprint == self.fingerprint:
                return
            old, self._executor = self._executor, None
            self._engine, self.fingerprint = engine, engine.fingerprint
        if old is not None:
            old.shutdown(wait=False)  # what it already holds finishes on the old engine
            log.info("engine changed; analysis workers restarted")

    def submit(
        self,
        body: bytes,
        feed_name: str,
        content_type: str | None,
        base_url: str | None,
        settings: FetchSettings,
        default_channel: str,
    ) -> Future[Analysis]:
        with self._lock:
            if self._closed or self.broken:
                raise PoolUnavailable
            try:
                return self._started().submit(
                    _analyse_in_worker,
                    body,
                    feed_name,
                    content_type,
                    base_url,
                    settings,
                    default_channel,
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
    ) -> Analysis:
        """Run one document through a worker and wait for it. Raises PoolUnavailable if the
        pool broke (a worker died): the caller analyses in-thread."""
        future = self.submit(body, feed_name, content_type, base_url, settings, default_channel)
        try:
            return future.result()
        except BrokenProcessPool as exc:
            with self._lock:
                self._mark_broken(exc)
            raise PoolUnavailable from exc

    def _mark_broken(self, exc: BaseException) -> None:
        if not self.broken and not self._closed:
            log.error("analysis workers broke; analysing in-thread error=%r", str(exc))
        self.broken = True

    def close(self, cancel: bool = False) -> None:
        """Stop the workers. ``cancel``: drop queued work and do not wait (stopping)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=not cancel, cancel_futures=cancel)


# --------------------------------------------------------------------------- fetch threads


@dataclass
class Fetched:
    """One feed's fetch, with its document parsed (and maybe analysed) in the fetch thread."""

    feed: FeedConfig
    result: FetchResult
    items: list[Item] | None = None  # parsed in-thread; matching is left to record_feed
    parse_error: str | None = None
    analysis: Analysis | None = None  # parsed and matched by a worker process
    parsed: bool = False


class HostLimiter:
    """At most ``per_host`` concurrent requests to one host (politeness)."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._sems: dict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(self._per_host)
        )
        self._lock = threading.Lock()

    def semaphore(self, url: str) -> threading.BoundedSemaphore:
        host = urlsplit(url).hostname or "local"
        with self._lock:
            return self._sems[host]


def fetch_and_parse(
    feed: FeedConfig,
    state: FetchState,
    settings: Settings,
    client: httpx.Client,
    limiter: HostLimiter,
    abort: threading.Event,
    analysis_pool: AnalysisPool | None,
) -> Fetched:
    """Runs in a fetch thread: fetch, then parse (and, with a pool, match) the document."""
    with limiter.semaphore(feed.url):
        result = fetch(feed.url, state, settings.fetch, client, abort)
    if result.body is None or result.error:
        return Fetched(feed, result)
    args = (result.body, feed.name, result.content_type, result.url, settings.fetch)
    if analysis_pool is not None:
        try:
            analysis = analysis_pool.analyse(*args, feed.channel or settings.slack.default_channel)
        except PoolUnavailable:
            pass  # parsed here instead, matched on the recording thread
        else:
            # the raw bytes are not needed after parsing
            return Fetched(
                feed,
                replace(result, body=None),
                parse_error=analysis.parse_error,
                analysis=analysis,
                parsed=True,
            )
    items, error = parse_document(*args)
    return Fetched(feed, replace(result, body=None), items, error, parsed=True)


def start_pool(
    store: Store, engine_for: Callable[[], Engine], n_feeds: int, processes: bool | None
) -> AnalysisPool | None:
    if not (n_feeds >= POOL_MIN_FEEDS if processes is None else processes):
        return None
    try:
        return AnalysisPool(engine_for(), store.path)
    except Exception as exc:  # e.g. an engine that cannot be pickled: in-thread still works
        log.warning("analysis workers unavailable; analysing in-thread error=%r", str(exc))
        return None


def refresh_engine(analysis_pool: AnalysisPool, engine_for: Callable[[], Engine]) -> None:
    try:
        engine = engine_for()
    except Exception as exc:  # e.g. a watchlist file saved half-edited: keep the last engine
        log.warning("engine rebuild failed; workers keep the last engine error=%r", str(exc))
        return
    analysis_pool.refresh(engine)
