"""Scheduled work: the poll cycle, the weekly compliance export, ops notices, retention.

Every job is wrapped so that one failure is logged and the loop goes on. Time-of-week
jobs are decided from the database (was this week's export written?), not from the
scheduler's memory, so a bot that was down at export time catches up when it returns.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import schedule

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.exports import weekly_export_job
from sanctionwatch.alerting.health import CycleSummary, PollerState
from sanctionwatch.alerting.outbox import enqueue
from sanctionwatch.alerting.pipeline import RunReport, run_cycle
from sanctionwatch.alerting.warmpool import WarmPool
from sanctionwatch.clock import iso, utcnow
from sanctionwatch.config.settings import Settings
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.matching.engine import Engine
from sanctionwatch.slack.format import escape_fit
from sanctionwatch.slack.poster import Poster
from sanctionwatch.storage.db import Store

log = logging.getLogger(__name__)

TICK_SECONDS = 60  # how often due feeds and due jobs are looked for
# An ops notice names the feed and quotes its last error; both come from outside (config, a
# server's error page), so they are cut to keep the notice inside Slack's 4,000-character text.
MAX_OPS_FEED_CHARS = 200
MAX_OPS_ERROR_CHARS = 1500


def notify_ops(settings: Settings, store: Store, poster: Poster) -> int:
    """Tell the ops channel once about each feed failing beyond the threshold or gone.

    The notice goes through the outbox (queued and marked told in one transaction, then
    delivered now or by a later run), so a Slack outage delays it but never loses it."""
    channel = settings.slack.ops_channel
    queued: list[int] = []
    told = 0
    for row in store.feeds():
        failing = int(row.get("consecutive_failures") or 0) >= settings.poll.failure_report_after
        if not (failing or row.get("gone")) or row.get("ops_notified"):
            continue
        what = (
            "is gone (HTTP 410); polling stopped"
            if row.get("gone")
            else (f"has failed {row['consecutive_failures']} polls in a row")
        )
        since = row.get("last_success_at") or "never"
        text = (
            f":warning: Feed *{escape_fit(row['name'], MAX_OPS_FEED_CHARS)}* {what}. Last error: "
            f"{escape_fit(row.get('last_error') or 'none', MAX_OPS_ERROR_CHARS)} "
            f"(last success: {since})"
        )
        with store.transaction():
            if channel:
                queued.append(enqueue(store, "ops", channel, text, ref=f"feed:{row['name']}"))
            store.update_feed(row["name"], ops_notified=1)
        log.warning("feed needs attention feed=%s %s", row["name"], json.dumps(what))
        told += 1
    if queued:
        deliver_all(store, poster, alerts=False, outbox_ids=queued)
    return told


def retention_job(settings: Settings, store: Store, now: datetime | None = None) -> int:
    now = now or utcnow()
    cutoff = now - timedelta(days=settings.retention_days)
    pruned = store.prune_items(cutoff, now - timedelta(days=settings.match_retention_days))
    log.info("retention pruned=%d older_than=%s", pruned, iso(cutoff))
    return pruned


def once(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    poster: Poster,
    all_feeds: bool = False,
    stop: threading.Event | None = None,
    jitter: bool = False,
    warm: WarmPool | None = None,
) -> RunReport:
    """One poll cycle plus ops notices; ``jitter`` (forever mode) spreads next polls;
    ``warm`` (forever mode) keeps the analysis workers up between cycles.

    Configured official lists that are due are refreshed first, so a new designation is
    matched in the same cycle (a failing list never stops the poll)."""
    if settings.lists and (stop is None or not stop.is_set()):
        from sanctionwatch.alerting.listjobs import refresh_due  # only when lists are set

        safe("lists", lambda: refresh_due(settings, store, poster), stop)()
    report = run_cycle(
        settings,
        store,
        engine_for,
        poster,
        all_feeds=all_feeds,
        stop=stop,
        jitter_s=settings.poll.jitter_s if jitter else 0.0,
        warm=warm,
    )
    if stop is None or not stop.is_set():
        notify_ops(settings, store, poster)
    return report


def safe(
    name: str, fn: Callable[[], object], stop: threading.Event | None = None
) -> Callable[[], None]:
    """`fn` with failures logged, not raised; skipped once ``stop`` is set."""

    def run() -> None:
        if stop is not None and stop.is_set():
            log.info("job skipped job=%s reason=stopping", name)
            return
        try:
            fn()
        except SanctionwatchError as exc:
            log.error("job failed job=%s error=%r", name, str(exc))
        except Exception:
            log.exception("job crashed job=%s", name)

    return run


def summarize(report: RunReport, started_at: datetime, ended_at: datetime) -> CycleSummary:
    return CycleSummary(
        started_at=started_at,
        ended_at=ended_at,
        feeds=len(report.feeds),
        feeds_failed=len(report.failed_feeds),
        new_items=sum(f.new_items for f in report.feeds),
        alerts=sum(f.alerts for f in report.feeds),
        held_back=sum(f.held_back for f in report.feeds),
    )


def tracked_once(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    poster: Poster,
    stop: threading.Event,
    state: PollerState | None,
    warm: WarmPool | None = None,
) -> RunReport:
    """``once`` in forever mode, telling ``state`` when the cycle starts and ends (a cycle
    that raises never ends, so ``/healthz`` sees the loop stall)."""
    started = utcnow()
    if state is not None:
        state.cycle_started(started)
    report = once(settings, store, engine_for, poster, stop=stop, jitter=True, warm=warm)
    if state is not None:
        state.cycle_ended(summarize(report, started, utcnow()))
    return report


def run_forever(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    poster: Poster,
    stop: threading.Event,
    state: PollerState | None = None,
) -> None:
    """Poll on schedule until ``stop`` is set (SIGTERM/SIGINT set it). ``state`` (serve's
    health endpoint) hears of every cycle."""
    sched = schedule.Scheduler()
    warm = WarmPool(store.path)  # the same analysis workers for every cycle
    # Every job checks `stop` before it starts, so a stop between jobs runs no further job.
    poll_job = safe(
        "poll",
        lambda: tracked_once(settings, store, engine_for, poster, stop, state, warm),
        stop,
    )
    export_job = safe("export", lambda: weekly_export_job(settings, store, poster), stop)
    prune_job = safe("retention", lambda: retention_job(settings, store), stop)
    sched.every(TICK_SECONDS).seconds.do(poll_job)
    sched.every(TICK_SECONDS).seconds.do(export_job)
    sched.every(6).hours.do(prune_job)
    try:
        poll_job()
        export_job()
        prune_job()
        while not stop.is_set():
            sched.run_pending()
            stop.wait(1.0)
    finally:
        warm.close(cancel=True)
    log.info("scheduler stopped")
