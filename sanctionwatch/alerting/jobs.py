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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import schedule

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.outbox import enqueue, outbox_row
from sanctionwatch.alerting.pipeline import RunReport, run_cycle
from sanctionwatch.clock import iso, utcnow
from sanctionwatch.config.settings import WEEKDAYS, Settings
from sanctionwatch.errors import DeliveryError, SanctionwatchError
from sanctionwatch.matching.engine import Engine
from sanctionwatch.reporting.companions import write_changes
from sanctionwatch.reporting.export import ExportRow, format_entities, write_csv
from sanctionwatch.slack.format import escape_fit
from sanctionwatch.slack.poster import Poster
from sanctionwatch.storage.db import Store, matches_from_json

log = logging.getLogger(__name__)

TICK_SECONDS = 60  # how often due feeds and due jobs are looked for
# An ops notice names the feed and quotes its last error; both come from outside (config, a
# server's error page), so they are cut to keep the notice inside Slack's 4,000-character text.
MAX_OPS_FEED_CHARS = 200
MAX_OPS_ERROR_CHARS = 1500


def week_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The previous ISO week: Monday 00:00 UTC (inclusive) to this Monday 00:00 (exclusive)."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    this_monday = day - timedelta(days=day.weekday())
    return this_monday - timedelta(days=7), this_monday


def export_rows(store: Store, since: datetime, until: datetime) -> list[ExportRow]:
    rows = []
    for r in store.alerts_between(since, until):
        rows.append(
            ExportRow(
                alert_id=r["id"],
                detected_at=r["created_at"] or "",
                published_at=r["published_at"] or "",
                feed=r["feed"] or "",
                title=r["title"] or "",
                link=r["link"] or "",
                rule=r["rule"],
                severity=r["severity"],
                channel=r["channel"],
                entities=format_entities(matches_from_json(r["matches"])),
                delivered="yes" if r["status"] == "delivered" else "no",
                disposition=r["disposition"] or "",
                disposition_by=r["disposition_by"] or "",
                disposition_at=r["disposition_at"] or "",
            )
        )
    return rows


# Extra files uploaded beside the weekly CSV (e.g. the watchlist-changes companion):
# functions (store, since, until, exports_dir) -> Path | None.
CompanionWriter = Callable[[Store, datetime, datetime, Path], "Path | None"]
COMPANIONS: tuple[CompanionWriter, ...] = (write_changes,)


def export_range(
    settings: Settings,
    store: Store,
    since: datetime,
    until: datetime,
    out: Path | None = None,
    to_slack: str | None = None,
    poster: Poster | None = None,
    companions: bool = False,
) -> tuple[Path, int]:
    """Write the alerts created in [since, until) as CSV; optionally upload it to Slack."""
    if until <= since:
        raise SanctionwatchError(
            f"export range is empty: --until {until:%Y-%m-%d} is not after --since {since:%Y-%m-%d}"
        )
    if out is None:
        iso_year, iso_week, _ = since.isocalendar()
        if until - since == timedelta(days=7) and since.weekday() == 0:
            name = f"alerts-{iso_year}-W{iso_week:02d}.csv"
        else:
            name = f"alerts-{since:%Y-%m-%d}-to-{until:%Y-%m-%d}.csv"
        out = settings.exports_dir / name
    out.parent.mkdir(parents=True, exist_ok=True)
    count = write_csv(export_rows(store, since, until), out)
    files = [out]
    if companions:
        for writer in COMPANIONS:
            extra = writer(store, since, until, out.parent)
            if extra is not None:
                files.append(extra)
    export_id = store.record_export(since, until, out, count, None, None, utcnow())
    log.info("export written path=%s rows=%d", out, count)
    if to_slack:
        if poster is None:
            raise SanctionwatchError("no Slack poster to upload with")
        _upload_export(store, poster, export_id, files, to_slack, since, until, count, out)
    return out, count


def _upload_export(
    store: Store,
    poster: Poster,
    export_id: int,
    files: list[Path],
    channel: str,
    since: datetime,
    until: datetime,
    count: int,
    out: Path,
) -> None:
    """Queue the export's files in the outbox and deliver them now; a failed upload stays
    queued (retried by later runs) and is reported as a ``DeliveryError``."""
    comment = f"sanctionwatch alerts {since:%Y-%m-%d} to {until:%Y-%m-%d} (UTC): {count} alerts"
    ref = f"export:{export_id}"
    with store.transaction():
        ids = [
            enqueue(
                store,
                "upload",
                channel,
                comment if path == out else "",
                file_path=path,
                title=path.name,
                ref=ref,
            )
            for path in files
        ]
    deliver_all(store, poster, alerts=False, outbox_ids=ids)
    rows = [outbox_row(store, i) or {} for i in ids]
    errors = [str(r.get("last_error")) for r in rows if r.get("status") != "delivered"]
    if not errors:
        log.info("export uploaded export=%d channel=%s files=%d", export_id, channel, len(ids))
        return
    store.db.execute("UPDATE exports SET error = ? WHERE id = ?", [errors[0], export_id])
    log.warning("export upload failed channel=%s error=%r", channel, errors[0])
    failed = any(r.get("status") == "failed" for r in rows)
    raise DeliveryError(
        f"CSV written to {out} but the upload to {channel} failed: {errors[0]}"
        + ("" if failed else "; it stays queued and is retried on the next run"),
        hint="check the bot is in that channel and has files:write"
        + ("; then run `bot.py deliver --retry-failed`" if failed else ""),
    )


def export_due(settings: Settings, store: Store, now: datetime) -> tuple[datetime, datetime] | None:
    """The week to export if this week's scheduled time has passed and it is not done yet."""
    since, until = week_bounds(now)
    hour, minute = (int(x) for x in settings.slack.export_time.split(":"))
    scheduled = until + timedelta(
        days=WEEKDAYS.index(settings.slack.export_weekday), hours=hour, minutes=minute
    )
    if now < scheduled:
        return None
    # done: uploaded, or its uploads are still queued in the outbox (a later run sends them)
    row = store.db.execute(
        "SELECT count(*) FROM exports e WHERE e.since = ? AND e.until = ? AND"
        " (e.uploaded_to IS NOT NULL OR EXISTS (SELECT 1 FROM outbox o WHERE"
        " o.ref = 'export:' || e.id AND o.status IN ('pending', 'retrying', 'unknown')))",
        [iso(since), iso(until)],
    ).fetchone()
    return None if row[0] else (since, until)


def weekly_export_job(
    settings: Settings, store: Store, poster: Poster, now: datetime | None = None
) -> Path | None:
    week = export_due(settings, store, now or utcnow())
    if week is None:
        return None
    path, _ = export_range(
        settings,
        store,
        *week,
        to_slack=settings.slack.export_channel,
        poster=poster,
        companions=True,
    )
    return path


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
) -> RunReport:
    """One poll cycle plus ops notices; ``jitter`` (forever mode) spreads next polls.

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


def run_forever(
    settings: Settings,
    store: Store,
    engine_for: Callable[[], Engine],
    poster: Poster,
    stop: threading.Event,
) -> None:
    """Poll on schedule until ``stop`` is set (SIGTERM/SIGINT set it)."""
    sched = schedule.Scheduler()
    # Every job checks `stop` before it starts, so a stop between jobs runs no further job.
    poll_job = safe(
        "poll", lambda: once(settings, store, engine_for, poster, stop=stop, jitter=True), stop
    )
    export_job = safe("export", lambda: weekly_export_job(settings, store, poster), stop)
    prune_job = safe("retention", lambda: retention_job(settings, store), stop)
    sched.every(TICK_SECONDS).seconds.do(poll_job)
    sched.every(TICK_SECONDS).seconds.do(export_job)
    sched.every(6).hours.do(prune_job)
    poll_job()
    export_job()
    prune_job()
    while not stop.is_set():
        sched.run_pending()
        stop.wait(1.0)
    log.info("scheduler stopped")
