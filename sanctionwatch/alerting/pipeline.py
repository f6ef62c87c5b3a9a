"""One poll cycle: fetch due feeds → parse → match → record → queue alerts → deliver.

Fetching runs in a bounded thread pool with a per-host limit. For a large poll (at least
`warmpool.POOL_MIN_FEEDS` feeds) each fetched document is pre-scanned, parsed (only as far
as it is new), matched and evaluated in a process pool (`workers.AnalysisPool`) so every
core works; a long-running poller passes a `warmpool.WarmPool` so the same workers, with
their engine and caches, serve every poll. Small polls, and any poll whose pool broke,
parse in the fetch threads and match on the calling thread. Either way every
database write happens on the calling thread, one short transaction per feed document that
is opened only after matching, so Slack edits are never starved of the write lock. A feed
that fails is recorded against that feed and never stops the others. A stop (SIGTERM)
aborts fetches in flight within about a second; unfinished feeds stay due.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.digest import DigestPolicy
from sanctionwatch.alerting.fetchwork import Fetched, HostLimiter, fetch_and_parse
from sanctionwatch.alerting.messages import record_alerts
from sanctionwatch.alerting.nextpoll import next_poll, spread_next_polls
from sanctionwatch.alerting.warmpool import WarmPool, refresh_engine, start_pool
from sanctionwatch.alerting.workers import Analysis, analyse_items
from sanctionwatch.clock import iso, parse_iso, utcnow
from sanctionwatch.config.settings import FeedConfig, Settings
from sanctionwatch.ingest.fetch import FetchState, make_client
from sanctionwatch.matching.engine import Engine
from sanctionwatch.slack.poster import Poster
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.feedstore import active_feeds

__all__ = ["WarmPool", "poll", "record_feed", "run_cycle", "deliver_pending"]

log = logging.getLogger(__name__)

# Fetches submitted ahead of the recording thread, per worker: enough to keep every worker
# busy while one result is recorded, few enough that finished-but-unrecorded documents stay
# bounded (with all 2,000 submitted at once, peak RSS reached 283 MiB in bench/polling.py).
IN_FLIGHT_PER_WORKER = 2
# How long the poll loop waits for a finished fetch before looking at the stop flag again.
STOP_CHECK_S = 0.25
# How often a process-pool poll asks whether the engine changed (an edit in Slack, a list
# import); the workers then load the new one by its fingerprint.
ENGINE_CHECK_S = 1.0


@dataclass
class FeedOutcome:
    name: str
    status: int | None = None
    new_items: int = 0
    alerts: int = 0
    not_modified: bool = False
    error: str | None = None
    parsed: bool = False  # feedparser read a document (False for 304s and failed fetches)
    # The pre-scan found every item of the changed document recorded: not parsed, 0 new.
    prescanned: bool = False
    cut: int = 0  # entries already recorded, cut from the document before it was parsed
    # The changed document's entries are those of the last one recorded (`ingest.samedoc`):
    # neither pre-scanned nor parsed, 0 new.
    same_entries: bool = False
    matched: int = 0  # items run through the matcher
    # First poll only: items that matched a rule but were older than the backfill window, so
    # they were recorded as seen without alerting (the summary says so, not just "0 alerts").
    held_back: int = 0


@dataclass
class RunReport:
    feeds: list[FeedOutcome] = field(default_factory=list)
    delivered: int = 0
    delivery_failures: int = 0
    pending: int = 0

    @property
    def failed_feeds(self) -> list[FeedOutcome]:
        return [f for f in self.feeds if f.error]


def due_feeds(
    settings: Settings, store: Store, now: datetime, feeds: Sequence[FeedConfig] | None = None
) -> list[FeedConfig]:
    """The feeds (default: the TOML ones) whose next poll is due."""
    due = []
    rows = store.feed_rows()
    for feed in settings.feeds if feeds is None else feeds:
        row = rows.get(feed.name, {})
        if row.get("gone"):
            continue
        next_at = parse_iso(row.get("next_poll_at"))
        if next_at is None or next_at <= now:
            due.append(feed)
    return due


def poll(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    feeds: Sequence[FeedConfig],
    now: datetime | None = None,
    stop: threading.Event | None = None,
    processes: bool | None = None,
    warm: WarmPool | None = None,
) -> list[FeedOutcome]:
    """Fetch the given feeds concurrently and record everything they bring.

    ``processes``: parse and match in worker processes (True), in-thread (False), or
    decide by the number of feeds (None: at least POOL_MIN_FEEDS). ``warm``: take the
    workers from there (they stay up after the poll); without it a pool is started for
    this poll and stopped at its end. Returns when every feed
    is recorded, or soon after ``stop`` is set (fetches in flight are abandoned and their
    feeds stay due).
    """
    now = now or utcnow()
    limiter = HostLimiter(settings.poll.per_host)
    abort = threading.Event()
    outcomes: list[FeedOutcome] = []
    if warm is not None:
        analysis_pool = warm.for_poll(engine_for, len(feeds), processes)
    else:
        analysis_pool = start_pool(store, engine_for, len(feeds), processes)
    own_pool = warm is None
    client = make_client(settings.fetch, per_host=settings.poll.per_host)
    rows = store.feed_rows()  # as at the poll's start; only this poll changes what it reads
    # Not a `with` block: leaving one joins every thread, i.e. waits for hanging fetches.
    pool = ThreadPoolExecutor(max_workers=settings.poll.max_workers, thread_name_prefix="fetch")
    finished = False
    try:
        pending: set[Future[Fetched]] = set()
        todo = list(reversed(feeds))
        in_flight = max(1, settings.poll.max_workers * IN_FLIGHT_PER_WORKER)
        engine_checked = time.monotonic()
        while (todo or pending) and not (stop is not None and stop.is_set()):
            if analysis_pool is not None and time.monotonic() - engine_checked >= ENGINE_CHECK_S:
                refresh_engine(analysis_pool, engine_for)
                engine_checked = time.monotonic()
            while todo and len(pending) < in_flight:
                feed = todo.pop()
                row = rows.setdefault(feed.name, {})
                state = FetchState(etag=row.get("etag"), last_modified=row.get("last_modified"))
                pending.add(
                    pool.submit(
                        fetch_and_parse,
                        feed,
                        state,
                        settings,
                        client,
                        limiter,
                        abort,
                        analysis_pool,
                        bool(row.get("first_polled_at")),  # a first poll: all new, no pre-scan
                        row.get("entries_hash"),
                    )  # fmt: skip
                )
            done, pending = wait(pending, timeout=STOP_CHECK_S, return_when=FIRST_COMPLETED)
            for fut in done:
                fetched = fut.result()
                row = rows[fetched.feed.name]
                outcomes.append(record_feed(settings, store, engine_for, fetched, now, row))
        finished = not todo and not pending
    finally:
        if finished:
            pool.shutdown(wait=True)
            if analysis_pool is not None and own_pool:
                analysis_pool.close()
            client.close()
        else:
            # Stopping (or an unexpected error): abandon what is in flight. Fetch threads
            # see `abort` within netdeadline.ABORT_CHECK_S; the client is left to them (closing it
            # under a running read is not thread-safe) and is collected after they end.
            abort.set()
            pool.shutdown(wait=False, cancel_futures=True)
            if analysis_pool is not None and own_pool:
                analysis_pool.close(cancel=True)
            log.info(
                "poll interrupted; unfinished feeds stay due recorded=%d unfinished=%d",
                len(outcomes),
                len(feeds) - len(outcomes),
            )
    return outcomes


def record_feed(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    fetched: Fetched,
    now: datetime,
    row: dict[str, Any] | None = None,
) -> FeedOutcome:
    """Record one feed's fetch and its new items. Feed state is saved in ``finally``.
    ``row``: the feed's row as read before its fetch (read here when not given)."""
    feed, result = fetched.feed, fetched.result
    row = store.feed(feed.name) if row is None else row
    outcome = FeedOutcome(
        feed.name,
        status=result.status,
        not_modified=result.not_modified,
        parsed=fetched.parsed,
        prescanned=fetched.prescanned,
        cut=fetched.cut,
        same_entries=fetched.same_entries,
    )
    error = result.error or fetched.parse_error
    first_poll = not row.get("first_polled_at")
    try:
        analysis = fetched.analysis
        if error is None and analysis is None and fetched.items is not None:
            # matched here, before (never inside) the write transaction
            analysis = analyse_items(
                engine_for,
                fetched.items,
                store.known_items,
                feed.channel or settings.slack.default_channel,
            )
        if error is None and analysis is not None:
            outcome.matched = analysis.matched
            outcome.new_items, outcome.alerts, outcome.held_back = _record_items(
                settings, store, feed, analysis, now, first_poll
            )
    except Exception as exc:  # a bug or a locked database must not lose the feed state
        log.exception("recording items failed feed=%s", feed.name)
        error = f"recording items failed: {type(exc).__name__}: {exc}"
    finally:
        outcome.error = error
        failures = (int(row.get("consecutive_failures") or 0) + 1) if error else 0
        fields: dict[str, object] = {
            "last_fetch_at": iso(now),
            "last_status": result.status,
            "consecutive_failures": failures,
            "next_poll_at": iso(next_poll(feed, settings, failures, now, result.retry_after_s)),
        }
        if error:
            fields.update(last_error=error, last_error_at=iso(now))
            log.warning(
                "feed failed feed=%s status=%s failures=%d error=%r",
                feed.name,
                result.status,
                failures,
                error,
            )
        else:
            fields.update(last_success_at=iso(now), ops_notified=0)
            if result.etag or result.last_modified or not result.not_modified:
                fields.update(etag=result.etag, last_modified=result.last_modified)
            if first_poll:
                fields["first_polled_at"] = iso(now)
            if fetched.entries_hash is not None:  # every item of this document is recorded
                fields["entries_hash"] = fetched.entries_hash
            fields["items_seen"] = int(row.get("items_seen") or 0) + outcome.new_items
            log.info(
                "feed polled feed=%s status=%s new=%d alerts=%d not_modified=%s first_poll=%s"
                " held_back=%d same_entries=%s",
                feed.name,
                result.status,
                outcome.new_items,
                outcome.alerts,
                result.not_modified,
                first_poll,
                outcome.held_back,
                outcome.same_entries,
            )
        if result.gone:
            fields["gone"] = 1
        store.update_feed(feed.name, **fields)
    return outcome


def _record_items(
    settings: Settings,
    store: Store,
    feed: FeedConfig,
    analysis: Analysis,
    now: datetime,
    first_poll: bool,
) -> tuple[int, int, int]:
    """Write the analysed new items in one transaction.

    Returns (new items, alerts, items held back by the backfill window)."""
    if not analysis.fresh:
        return 0, 0, 0
    # Exact re-check: the analysis may have read the database before another feed's
    # transaction recorded the same story.
    known = store.known_items(
        [a.item for a in analysis.fresh], [a.link_key for a in analysis.fresh]
    )
    fresh = [a for a in analysis.fresh if a.item.item_id not in known]
    if not fresh:
        return 0, 0, 0
    backfill = feed.backfill_days if feed.backfill_days is not None else settings.backfill_days
    oldest = now - timedelta(days=backfill)
    n_alerts = held_back = 0
    window = timedelta(hours=settings.story_window_hours)
    digests = DigestPolicy(settings.channels)
    with store.transaction() as db:
        for a in fresh:
            if a.duplicate:  # same link twice in one document
                continue
            alerts = a.alerts
            if first_poll and a.item.published is not None and a.item.published < oldest:
                held_back += bool(alerts)
                alerts = ()  # backfill: recorded as seen, not alerted
            present = db.execute(
                "SELECT 1 FROM items WHERE item_id = ?", [a.item.item_id]
            ).fetchone()
            store.record_item(db, a.item, a.link_key, a.matches, (), now)
            if present is None:  # one message per channel, grouped into stories
                queued = record_alerts(db, a.item, a.matches, alerts, now, window, digests)
                n_alerts += len(queued)
    return len(fresh), n_alerts, held_back


def deliver_pending(
    store: Store,
    poster: Poster,
    limit: int = 1000,
    ops_channel: str | None = None,
    now: datetime | None = None,
) -> tuple[int, int]:
    """One delivery round (see ``delivery``), digests due by ``now`` included. Returns
    (delivered, failed attempts)."""
    report = deliver_all(store, poster, ops_channel=ops_channel, limit=limit, now=now)
    return report.delivered, report.failed_attempts


def run_cycle(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    poster: Poster,
    *,
    now: datetime | None = None,
    all_feeds: bool = False,
    stop: threading.Event | None = None,
    processes: bool | None = None,
    jitter_s: float = 0.0,
    warm: WarmPool | None = None,
) -> RunReport:
    """Deliver what is pending, poll every due feed, deliver what the poll queued.

    After a stop, what the poll queued is left pending for the next start (no Slack
    round trips while the process is asked to exit). ``jitter_s`` (forever mode) spreads the
    polled feeds' next polls over that many seconds, so feeds added together drift apart.
    ``all_feeds`` polls every configured feed now, except those gone (HTTP 410)."""
    given_now = now  # a moved clock (tests) also decides which digests are due
    now = now or utcnow()
    report = RunReport()
    d, f = deliver_pending(store, poster, ops_channel=settings.slack.ops_channel, now=given_now)
    report.delivered += d
    report.delivery_failures += f
    # TOML feeds plus those added or paused from Slack/CLI, read now: no restart needed
    configured = active_feeds(settings.feeds, store.db)
    store.sync_feeds((feed.name, feed.url) for feed in configured)
    if all_feeds:
        rows = store.feed_rows()
        feeds = [f for f in configured if not rows.get(f.name, {}).get("gone")]
    else:
        feeds = due_feeds(settings, store, now, configured)
    random.shuffle(feeds)  # spread hosts across the pool
    report.feeds = poll(settings, store, engine_for, feeds, now, stop, processes, warm)
    if jitter_s > 0:
        spread_next_polls(store, [o.name for o in report.feeds], jitter_s)
    if stop is None or not stop.is_set():
        d, f = deliver_pending(store, poster, ops_channel=settings.slack.ops_channel, now=given_now)
        report.delivered += d
        report.delivery_failures += f
    report.pending = store.count_pending()
    return report
