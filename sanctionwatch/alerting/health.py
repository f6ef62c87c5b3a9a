"""What a monitor needs to trust ``/healthz``: is the poller alive, did a cycle end recently,
which feeds fail, how many alerts wait or failed.

``PollerState`` is written by the poll loop (``jobs.run_forever``) and read by the HTTP
threads, so it keeps its fields behind a lock. ``health_report`` turns it plus the database
into one JSON-ready dict and the verdict: unhealthy (HTTP 503) when the poller thread is dead,
when no cycle ended within ``STALE_FACTOR`` times the shortest feed interval, or when alerts
have failed for good (someone must act: ``bot.py alerts --failed``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sanctionwatch.alerting.outbox import count_waiting
from sanctionwatch.clock import iso, utcnow
from sanctionwatch.config.settings import Settings
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.refresh import list_health

# A cycle runs every minute and polls the feeds that are due; three of the shortest intervals
# without a finished cycle means the loop is stuck (a hung fetch past every timeout, a lock).
STALE_FACTOR = 3
# With no feeds configured a cycle is still expected every minute (jobs.TICK_SECONDS).
NO_FEEDS_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class CycleSummary:
    """What one poll cycle did, kept for the health answer and the metrics."""

    started_at: datetime
    ended_at: datetime
    feeds: int
    feeds_failed: int
    new_items: int
    alerts: int
    held_back: int = 0

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


CycleListener = Callable[[CycleSummary], None]


@dataclass
class PollerState:
    """The poll loop's progress, shared between the poller thread and the HTTP threads."""

    started_at: datetime = field(default_factory=utcnow)
    cycle_started_at: datetime | None = None
    last_cycle: CycleSummary | None = None
    cycles: int = 0
    fetch_errors: int = 0
    items: int = 0
    listeners: list[CycleListener] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cycle_started(self, now: datetime | None = None) -> None:
        with self._lock:
            self.cycle_started_at = now or utcnow()

    def cycle_ended(self, summary: CycleSummary) -> None:
        with self._lock:
            self.last_cycle = summary
            self.cycle_started_at = None
            self.cycles += 1
            self.fetch_errors += summary.feeds_failed
            self.items += summary.new_items
            listeners = list(self.listeners)
        for listener in listeners:
            listener(summary)

    def snapshot(self) -> tuple[datetime, datetime | None, CycleSummary | None, int]:
        with self._lock:
            return self.started_at, self.cycle_started_at, self.last_cycle, self.cycles


def shortest_interval(settings: Settings) -> timedelta:
    minutes = [f.interval_minutes for f in settings.feeds]
    return timedelta(minutes=min(minutes)) if minutes else NO_FEEDS_INTERVAL


def health_report(
    settings: Settings,
    store: Store,
    state: PollerState | None,
    poller_alive: bool | None,
    now: datetime | None = None,
) -> tuple[bool, dict[str, Any]]:
    """(healthy, body). ``poller_alive`` None: this process does not poll (``--no-poll``)."""
    now = now or utcnow()
    problems: list[str] = []
    poller: dict[str, Any] = {"running": poller_alive}
    if poller_alive is None:
        poller["state"] = "disabled"
    elif not poller_alive:
        poller["state"] = "dead"
        problems.append("poller is not running (see the log for 'poller crashed')")
    else:
        poller["state"] = "running"
    if state is not None and poller_alive is not None:
        started, cycle_started, last, cycles = state.snapshot()
        limit = STALE_FACTOR * shortest_interval(settings)
        reference = last.ended_at if last else started
        poller.update(
            started_at=iso(started),
            cycles=cycles,
            cycle_running_since=iso(cycle_started) if cycle_started else None,
            last_cycle=_cycle_dict(last),
            stale_after_s=limit.total_seconds(),
        )
        if poller_alive and now - reference > limit:
            what = f"last cycle ended {iso(last.ended_at)}" if last else "no cycle ended yet"
            problems.append(f"poller stalled: {what}, more than {limit} ago")
    feeds = store.feeds()
    failing = [
        {
            "name": r["name"],
            "failures": int(r["consecutive_failures"] or 0),
            "gone": bool(r["gone"]),
            "error": r["last_error"] or "",
        }
        for r in feeds
        if r["consecutive_failures"] or r["gone"]
    ]
    failed = int(
        store.db.execute("SELECT count(*) FROM alerts WHERE status = 'failed'").fetchone()[0]
    )
    if failed:
        problems.append(f"{failed} alerts failed for good (bot.py alerts --failed)")
    # Official lists failing to refresh or stale: shown, and the status says "degraded", but
    # still 200: the process answers Slack, and a load balancer must not take the only
    # instance out for a stale list (`status` exits 1 for monitors that want to page).
    warnings = [
        f"list {h.name!r}: {h.problem}" for h in list_health(store.db, settings) if h.problem
    ]
    body = {
        "status": "unhealthy" if problems else ("degraded" if warnings else "ok"),
        "problems": problems,
        "warnings": warnings,
        "poller": poller,
        "feeds": {"total": len(feeds), "failing": failing},
        "alerts": {"pending": count_waiting(store), "failed": failed},
        "checked_at": iso(now),
    }
    return not problems, body


def _cycle_dict(last: CycleSummary | None) -> dict[str, Any] | None:
    if last is None:
        return None
    return {
        "started_at": iso(last.started_at),
        "ended_at": iso(last.ended_at),
        "duration_s": round(last.duration_s, 3),
        "feeds": last.feeds,
        "feeds_failed": last.feeds_failed,
        "new_items": last.new_items,
        "alerts": last.alerts,
        "held_back": last.held_back,
    }
