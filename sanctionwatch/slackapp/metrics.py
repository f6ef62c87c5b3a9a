"""``/metrics``: Prometheus text format, every name ``sanctionwatch_…``.

Each app builds its own ``CollectorRegistry`` (no module-level metrics that two servers or two
tests would share). What the database knows (feeds by state, alerts by rule and severity,
pending and failed alerts, delivery latency, list ages) is read when Prometheus scrapes, so a
restart loses no history and the numbers agree with ``bot.py status``; what only the running
poller knows (cycle durations, fetch errors, items seen since start) comes from its
``PollerState``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from sanctionwatch.alerting.health import CycleSummary, PollerState
from sanctionwatch.alerting.outbox import count_waiting
from sanctionwatch.clock import parse_iso, utcnow
from sanctionwatch.config.settings import Settings
from sanctionwatch.config.yamlfiles import yaml_files
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.imported import list_imported

# Seconds from an alert being queued to Slack accepting it: most go out in the same cycle
# (under a second to a few seconds), a Slack outage or rate limit pushes some to hours.
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)
# Poll cycle wall time: 2,000 feeds take ~30 s on a first poll, unchanged ones ~2 s.
CYCLE_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)


class DatabaseCollector:
    """Reads the numbers a scrape needs from the database (one short read each)."""

    def __init__(
        self,
        settings: Settings,
        store_for: Callable[[], Store],
        state: PollerState | None,
        poller_alive: Callable[[], bool | None],
    ) -> None:
        self.settings = settings
        self.store_for = store_for
        self.state = state
        self.poller_alive = poller_alive

    def collect(self) -> Iterator[Metric]:
        store = self.store_for()
        now = utcnow()
        yield from self._feeds(store)
        yield from self._alerts(store)
        yield self._latency(store)
        yield from self._list_ages(store, now)
        yield from self._poller()

    def _feeds(self, store: Store) -> Iterator[Metric]:
        feeds = GaugeMetricFamily(
            "sanctionwatch_feeds", "Configured feeds by state.", labels=["state"]
        )
        counts = {"ok": 0, "failing": 0, "gone": 0}
        for row in store.feeds():
            state = "gone" if row["gone"] else "failing" if row["consecutive_failures"] else "ok"
            counts[state] += 1
        for state, n in counts.items():
            feeds.add_metric([state], n)
        yield feeds
        items = GaugeMetricFamily(
            "sanctionwatch_items_stored", "Feed items kept in the database (after retention)."
        )
        items.add_metric([], store.db.execute("SELECT count(*) FROM items").fetchone()[0])
        yield items

    def _alerts(self, store: Store) -> Iterator[Metric]:
        by_rule = CounterMetricFamily(
            "sanctionwatch_alerts",
            "Alerts raised, by rule and severity (alerts are never pruned).",
            labels=["rule", "severity"],
        )
        for rule, severity, n in store.db.execute(
            "SELECT rule, severity, count(*) FROM alerts GROUP BY rule, severity ORDER BY 1, 2"
        ):
            by_rule.add_metric([rule, severity], n)
        yield by_rule
        pending = GaugeMetricFamily(
            "sanctionwatch_alerts_pending",
            "Alerts waiting for delivery (pending, retrying, unknown).",
        )
        pending.add_metric([], count_waiting(store))
        yield pending
        failed = GaugeMetricFamily(
            "sanctionwatch_alerts_failed", "Alerts Slack refused for good (bot.py alerts --failed)."
        )
        failed.add_metric(
            [],
            store.db.execute("SELECT count(*) FROM alerts WHERE status = 'failed'").fetchone()[0],
        )
        yield failed

    def _latency(self, store: Store) -> Metric:
        """Histogram of delivered_at - created_at over every delivered alert, counted in SQL."""
        seconds = "(julianday(delivered_at) - julianday(created_at)) * 86400.0"
        cases = ", ".join(f"sum({seconds} <= {b})" for b in LATENCY_BUCKETS)
        row = store.db.execute(
            f"SELECT count(*), coalesce(sum({seconds}), 0), {cases} FROM alerts"
            " WHERE status = 'delivered' AND delivered_at IS NOT NULL AND created_at IS NOT NULL"
        ).fetchone()
        count, total, *cumulative = row
        buckets = [
            (str(float(b)), int(c or 0)) for b, c in zip(LATENCY_BUCKETS, cumulative, strict=True)
        ]
        buckets.append(("+Inf", int(count)))
        family = HistogramMetricFamily(
            "sanctionwatch_delivery_latency_seconds",
            "Seconds from an alert being queued to Slack accepting it.",
        )
        family.add_metric([], buckets, float(total))
        return family

    def _list_ages(self, store: Store, now: datetime) -> Iterator[Metric]:
        ages = GaugeMetricFamily(
            "sanctionwatch_list_age_seconds",
            "Seconds since each watchlist last changed: file lists by modification time,"
            " imported official lists by import time.",
            labels=["list", "source"],
        )
        for path in (
            yaml_files(self.settings.watchlists) if self.settings.watchlists.is_dir() else []
        ):
            ages.add_metric([path.stem, "file"], max(0.0, now.timestamp() - path.stat().st_mtime))
        for row in list_imported(store.db):
            at = parse_iso(row["imported_at"])
            if at is not None:
                ages.add_metric([row["name"], "import"], (now - at).total_seconds())
        yield ages

    def _poller(self) -> Iterator[Metric]:
        alive = self.poller_alive()
        up = GaugeMetricFamily(
            "sanctionwatch_poller_up", "1 while the poller thread runs (absent with --no-poll)."
        )
        if alive is not None:
            up.add_metric([], 1.0 if alive else 0.0)
        yield up
        if self.state is None:
            return
        _, _, last, _ = self.state.snapshot()
        errors = CounterMetricFamily(
            "sanctionwatch_fetch_errors", "Feed fetches that failed since the process started."
        )
        errors.add_metric([], self.state.fetch_errors)
        yield errors
        items = CounterMetricFamily(
            "sanctionwatch_items_seen", "New feed items recorded since the process started."
        )
        items.add_metric([], self.state.items)
        yield items
        end = GaugeMetricFamily(
            "sanctionwatch_last_cycle_end_timestamp_seconds",
            "Unix time the last poll cycle ended (absent before the first).",
        )
        if last is not None:
            end.add_metric([], last.ended_at.timestamp())
        yield end


def build_registry(
    settings: Settings,
    store_for: Callable[[], Store],
    state: PollerState | None,
    poller_alive: Callable[[], bool | None],
) -> CollectorRegistry:
    """A fresh registry for one app: the database collector plus the cycle-duration histogram,
    fed by ``state``'s cycle listener."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(settings, store_for, state, poller_alive))
    if state is not None:
        cycle = Histogram(
            "sanctionwatch_cycle_duration_seconds",
            "Wall time of one poll cycle (deliver, fetch, match, record, deliver).",
            buckets=CYCLE_BUCKETS,
            registry=registry,
        )

        def observe(summary: CycleSummary) -> None:
            cycle.observe(summary.duration_s)

        state.listeners.append(observe)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
