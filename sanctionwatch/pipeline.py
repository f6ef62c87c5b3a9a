"""One poll cycle: fetch due feeds → parse → match → record → queue alerts → deliver.

Fetching and parsing run in a bounded thread pool with a per-host limit; matching and
every database write happen on the calling thread, one transaction per feed document.
A feed that fails is recorded against that feed and never stops the others.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from .config import FeedConfig, Settings
from .engine import Engine
from .errors import DeliveryError, FeedError
from .feeds import ParsedFeed, normalize_link, parse
from .fetch import FetchResult, FetchState, fetch, make_client
from .models import Item
from .slack import AlertView, Poster, format_alert
from .store import Store, iso, matches_from_json, parse_iso, utcnow

log = logging.getLogger(__name__)

# Slack outage guard: after this many failed posts in one delivery round, stop trying
# until the next round instead of hammering a service that is down.
MAX_FAILURES_PER_ROUND = 3
# Fetches submitted ahead of the recording thread, per worker: enough to keep every worker
# busy while one result is recorded, few enough that finished-but-unrecorded documents stay
# bounded (with all 2,000 submitted at once, peak RSS reached 283 MiB in bench/polling.py).
IN_FLIGHT_PER_WORKER = 2


@dataclass
class FeedOutcome:
    name: str
    status: int | None = None
    new_items: int = 0
    alerts: int = 0
    not_modified: bool = False
    error: str | None = None


@dataclass
class RunReport:
    feeds: list[FeedOutcome] = field(default_factory=list)
    delivered: int = 0
    delivery_failures: int = 0
    pending: int = 0

    @property
    def failed_feeds(self) -> list[FeedOutcome]:
        return [f for f in self.feeds if f.error]


@dataclass
class _Fetched:
    feed: FeedConfig
    result: FetchResult
    parsed: ParsedFeed | None
    parse_error: str | None


def due_feeds(settings: Settings, store: Store, now: datetime) -> list[FeedConfig]:
    due = []
    for feed in settings.feeds:
        row = store.feed(feed.name)
        if row.get("gone"):
            continue
        next_at = parse_iso(row.get("next_poll_at"))
        if next_at is None or next_at <= now:
            due.append(feed)
    return due


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


def _fetch_and_parse(
    feed: FeedConfig,
    state: FetchState,
    settings: Settings,
    client: httpx.Client,
    limiter: HostLimiter,
) -> _Fetched:
    with limiter.semaphore(feed.url):
        result = fetch(feed.url, state, settings.fetch, client)
    parsed = None
    error = None
    if result.body is not None and not result.error:
        try:
            parsed = parse(
                result.body,
                feed.name,
                content_type=result.content_type,
                base_url=result.url,
                settings=settings.fetch,
            )
        except FeedError as exc:
            error = exc.message
        except Exception as exc:  # hostile input must never stop the cycle
            log.exception("parser crashed feed=%s", feed.name)
            error = f"parser crashed: {type(exc).__name__}: {exc}"
    if parsed is not None or error is not None:
        result = replace(result, body=None)  # the raw bytes are not needed after parsing
    return _Fetched(feed, result, parsed, error)


def poll(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    feeds: Sequence[FeedConfig],
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> list[FeedOutcome]:
    """Fetch the given feeds concurrently and record everything they bring."""
    now = now or utcnow()
    limiter = HostLimiter(settings.poll.per_host)
    outcomes: list[FeedOutcome] = []
    with (
        make_client(settings.fetch) as client,
        ThreadPoolExecutor(
            max_workers=settings.poll.max_workers, thread_name_prefix="fetch"
        ) as pool,
    ):
        pending: set[Future[_Fetched]] = set()
        todo = list(reversed(feeds))
        in_flight = max(1, settings.poll.max_workers * IN_FLIGHT_PER_WORKER)
        while todo or pending:
            while todo and len(pending) < in_flight:
                feed = todo.pop()
                row = store.feed(feed.name)
                state = FetchState(etag=row.get("etag"), last_modified=row.get("last_modified"))
                pending.add(pool.submit(_fetch_and_parse, feed, state, settings, client, limiter))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                fetched = fut.result()
                outcomes.append(record_feed(settings, store, engine_for, fetched, now))
            if stop is not None and stop.is_set():
                for fut in pending:
                    fut.cancel()
                log.info("poll interrupted; unfinished feeds stay due")
                break
    return outcomes


def _next_poll(
    feed: FeedConfig, settings: Settings, failures: int, now: datetime, retry_after_s: float | None
) -> datetime:
    minutes = float(feed.interval_minutes)
    if failures:
        minutes = min(minutes * 2 ** (failures - 1), float(settings.poll.backoff_max_minutes))
    at = now + timedelta(minutes=minutes)
    if retry_after_s:
        at = max(at, now + timedelta(seconds=retry_after_s))
    return at


def record_feed(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    fetched: _Fetched,
    now: datetime,
) -> FeedOutcome:
    """Record one feed's fetch and its new items. Feed state is saved in ``finally``."""
    feed, result = fetched.feed, fetched.result
    row = store.feed(feed.name)
    outcome = FeedOutcome(feed.name, status=result.status, not_modified=result.not_modified)
    error = result.error or fetched.parse_error
    first_poll = not row.get("first_polled_at")
    try:
        if error is None and fetched.parsed is not None:
            new, alerts = _record_items(
                settings, store, engine_for, feed, fetched.parsed.items, now, first_poll
            )
            outcome.new_items, outcome.alerts = new, alerts
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
            "next_poll_at": iso(_next_poll(feed, settings, failures, now, result.retry_after_s)),
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
            fields["items_seen"] = int(row.get("items_seen") or 0) + outcome.new_items
            log.info(
                "feed polled feed=%s status=%s new=%d alerts=%d not_modified=%s",
                feed.name,
                result.status,
                outcome.new_items,
                outcome.alerts,
                result.not_modified,
            )
        if result.gone:
            fields["gone"] = 1
        store.update_feed(feed.name, **fields)
    return outcome


def scoped(item: Item) -> Item:
    """Make an item id global: a link is the same story everywhere, but a plain guid or a
    title hash only identifies an item within its own feed ("1" in two feeds is two items)."""
    if item.item_id.startswith("link:"):
        return item
    kind, _, rest = item.item_id.partition(":")
    return replace(item, item_id=f"{kind}:{item.feed}|{rest}")


def _record_items(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    feed: FeedConfig,
    items: Sequence[Item],
    now: datetime,
    first_poll: bool,
) -> tuple[int, int]:
    items = [scoped(it) for it in items]
    link_keys = [normalize_link(it.link) if it.link else None for it in items]
    known = store.known_items(items, link_keys)
    fresh = [(it, k) for it, k in zip(items, link_keys, strict=True) if it.item_id not in known]
    if not fresh:
        return 0, 0
    engine = engine_for()
    backfill = feed.backfill_days if feed.backfill_days is not None else settings.backfill_days
    oldest = now - timedelta(days=backfill)
    n_alerts = 0
    seen_keys: set[str] = set()
    with store.transaction() as db:
        for item, key in fresh:
            if key and key in seen_keys:  # same link twice in one document
                continue
            if key:
                seen_keys.add(key)
            matches = engine.match(item.title, item.text)
            alerts = engine.evaluate(matches, settings.slack.default_channel) if matches else []
            if first_poll and item.published is not None and item.published < oldest:
                alerts = []  # backfill: recorded as seen, not alerted
            n_alerts += len(store.record_item(db, item, key, matches, alerts, now))
    return len(fresh), n_alerts


def alert_view(store: Store, alert_id: int) -> AlertView | None:
    row = store.alert_with_item(alert_id)
    if row is None:
        return None
    return AlertView(
        alert_id=row["id"],
        rule=row["rule"],
        severity=row["severity"],
        channel=row["channel"],
        title=row["title"] or "",
        link=row["link"],
        feed=row["feed"],
        published_at=parse_iso(row["published_at"]),
        detected_at=parse_iso(row["created_at"]) or utcnow(),
        matches=matches_from_json(row["matches"]),
        explanation=row["explanation"] or "",
    )


def deliver_pending(store: Store, poster: Poster, limit: int = 1000) -> tuple[int, int]:
    """Send queued alerts, oldest first. Returns (delivered, failed attempts)."""
    delivered = failed = 0
    for row in store.pending_alerts(limit):
        view = alert_view(store, row["id"])
        if view is None:
            continue
        text, blocks = format_alert(view)
        try:
            ts = poster.post(view.channel, text, blocks)
        except DeliveryError as exc:
            failed += 1
            store.mark_attempt_failed(row["id"], exc.message)
            log.warning(
                "delivery failed alert=%d channel=%s error=%r", row["id"], view.channel, exc.message
            )
            if failed >= MAX_FAILURES_PER_ROUND:
                log.warning(
                    "stopping delivery round after %d failures; alerts stay pending", failed
                )
                break
            continue
        store.mark_delivered(row["id"], view.channel, ts, utcnow())
        delivered += 1
        log.info(
            "alert delivered alert=%d rule=%s channel=%s ts=%s",
            row["id"],
            view.rule,
            view.channel,
            ts,
        )
    return delivered, failed


def run_cycle(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    poster: Poster,
    *,
    now: datetime | None = None,
    all_feeds: bool = False,
    stop: threading.Event | None = None,
) -> RunReport:
    """Deliver what is pending, poll every due feed, deliver what the poll queued."""
    now = now or utcnow()
    report = RunReport()
    d, f = deliver_pending(store, poster)
    report.delivered += d
    report.delivery_failures += f
    store.sync_feeds((feed.name, feed.url) for feed in settings.feeds)
    feeds = list(settings.feeds) if all_feeds else due_feeds(settings, store, now)
    random.shuffle(feeds)  # spread hosts across the pool
    report.feeds = poll(settings, store, engine_for, feeds, now, stop)
    d, f = deliver_pending(store, poster)
    report.delivered += d
    report.delivery_failures += f
    report.pending = store.count_pending()
    return report
