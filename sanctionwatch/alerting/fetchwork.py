"""What a fetch thread does with one due feed: fetch it (at most ``per_host`` requests to one
host at a time), then have its document analysed by the worker pool, or parse it right
there when there is no pool or the pool broke (matching is then left to the recording
thread)."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from sanctionwatch.alerting.workers import Analysis, AnalysisPool, PoolUnavailable, parse_document
from sanctionwatch.config.settings import FeedConfig, Settings
from sanctionwatch.ingest.fetch import FetchClient, FetchResult, FetchState, fetch
from sanctionwatch.ingest.samedoc import entries_hash
from sanctionwatch.models import Item


@dataclass
class Fetched:
    """One feed's fetch, with its document parsed (and maybe analysed) in the fetch thread."""

    feed: FeedConfig
    result: FetchResult
    items: list[Item] | None = None  # parsed in-thread; matching is left to record_feed
    parse_error: str | None = None
    analysis: Analysis | None = None  # parsed and matched by a worker process
    parsed: bool = False  # feedparser read the document
    prescanned: bool = False  # the pre-scan found every item recorded: not parsed
    cut: int = 0  # recorded entries cut out before feedparser read the rest
    # `samedoc.entries_hash` of the document fetched (None: nothing fetched); `same_entries`:
    # it equals the hash of the last document recorded, so nothing was pre-scanned or parsed.
    entries_hash: str | None = None
    same_entries: bool = False


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
    client: FetchClient,
    limiter: HostLimiter,
    abort: threading.Event,
    analysis_pool: AnalysisPool | None,
    prescan: bool = True,
    recorded_hash: str | None = None,
) -> Fetched:
    """Runs in a fetch thread: fetch, then parse (and, with a pool, match) the document.
    ``prescan``: let the worker try the pre-scan (False on a feed's first poll).
    ``recorded_hash``: the entries hash of the feed's last recorded document; a document
    with the same one is not analysed at all (`samedoc`)."""
    with limiter.semaphore(feed.url):
        result = fetch(feed.url, state, settings.fetch, client, abort)
    if result.body is None or result.error:
        return Fetched(feed, result)
    digest = entries_hash(result.body, result.url, result.content_type, settings.fetch)
    if prescan and digest == recorded_hash:
        return Fetched(feed, replace(result, body=None), entries_hash=digest, same_entries=True)
    args = (result.body, feed.name, result.content_type, result.url, settings.fetch)
    if analysis_pool is not None:
        try:
            channel = feed.channel or settings.slack.default_channel
            analysis = analysis_pool.analyse(*args, channel, prescan)
        except PoolUnavailable:
            pass  # parsed here instead, matched on the recording thread
        else:
            # the raw bytes are not needed after parsing
            return Fetched(
                feed,
                replace(result, body=None),
                parse_error=analysis.parse_error,
                analysis=analysis,
                parsed=not analysis.prescanned,
                prescanned=analysis.prescanned,
                cut=analysis.cut,
                entries_hash=digest,
            )
    items, error = parse_document(*args)
    return Fetched(feed, replace(result, body=None), items, error, parsed=True, entries_hash=digest)
