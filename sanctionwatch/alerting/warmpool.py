"""The analysis worker pool of a long-running poller, kept warm from one poll to the next.

Starting workers costs about a second of CPU each (imports, then the engine, whose matcher
also starts with empty look-up caches), and a poller polls every minute. `WarmPool` owns one
`workers.AnalysisPool` for the life of `run`/`serve`: each poll that wants processes gets the
same workers, told of engine changes by fingerprint (`AnalysisPool.refresh`), and a pool that
broke (a worker killed) is replaced by fresh workers at the start of the next poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from sanctionwatch.alerting.workers import AnalysisPool
from sanctionwatch.matching.engine import Engine
from sanctionwatch.storage.db import Store

log = logging.getLogger(__name__)

# Below this many feeds in one poll, starting worker processes (about a second of CPU to
# import and load the engine) costs more than it saves; the work stays in-thread. A warm
# pool whose workers already run is used for any poll of at least this size, too: the
# in-thread path matches on the recording thread, one document at a time.
POOL_MIN_FEEDS = 50


def wants_processes(n_feeds: int, processes: bool | None) -> bool:
    """``processes`` if given, else whether the poll is large enough."""
    return n_feeds >= POOL_MIN_FEEDS if processes is None else processes


def start_pool(
    store: Store, engine_for: Callable[[], Engine], n_feeds: int, processes: bool | None
) -> AnalysisPool | None:
    """A pool for one poll (the caller closes it), or None to analyse in-thread."""
    if not wants_processes(n_feeds, processes):
        return None
    return _new_pool(store.path, engine_for)


def _new_pool(
    db_path: Path, engine_for: Callable[[], Engine], workers: int | None = None
) -> AnalysisPool | None:
    try:
        return AnalysisPool(engine_for(), db_path, workers)
    except Exception as exc:  # e.g. the engine failed to build: in-thread still reports it
        log.warning("analysis workers unavailable; analysing in-thread error=%r", str(exc))
        return None


def refresh_engine(analysis_pool: AnalysisPool, engine_for: Callable[[], Engine]) -> None:
    try:
        engine = engine_for()
    except Exception as exc:  # e.g. a watchlist file saved half-edited: keep the last engine
        log.warning("engine rebuild failed; workers keep the last engine error=%r", str(exc))
        return
    analysis_pool.refresh(engine)


class WarmPool:
    """One `AnalysisPool` across polls. Thread-safe; `close` it when the poller stops."""

    def __init__(self, db_path: Path, workers: int | None = None) -> None:
        self.db_path = db_path
        self.workers = workers
        self._pool: AnalysisPool | None = None
        self._closed = False
        self._lock = threading.Lock()

    def for_poll(
        self, engine_for: Callable[[], Engine], n_feeds: int, processes: bool | None
    ) -> AnalysisPool | None:
        """The warm pool for this poll (started on first need, revived if it broke, told of
        the current engine), or None when the poll runs in-thread."""
        if not wants_processes(n_feeds, processes):
            return None
        with self._lock:
            if self._closed:
                return None
            if self._pool is None:
                self._pool = _new_pool(self.db_path, engine_for, self.workers)
                return self._pool
            pool = self._pool
        pool.revive()
        refresh_engine(pool, engine_for)
        return pool

    @property
    def pool(self) -> AnalysisPool | None:
        return self._pool

    def close(self, cancel: bool = False) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(cancel=cancel)
