"""The compliance export: the CSV rows of a week (or any range), written to a file or a stream,
its companions, and the upload to Slack through the outbox. A dry run is never recorded as
uploaded, and the weekly job is decided from the database, so a bot that was down at export
time catches up when it returns.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.digest import in_digest
from sanctionwatch.alerting.outbox import enqueue, outbox_row
from sanctionwatch.clock import iso, utcnow
from sanctionwatch.config.settings import WEEKDAYS, Settings
from sanctionwatch.errors import DeliveryError, SanctionwatchError
from sanctionwatch.reporting.companions import write_changes
from sanctionwatch.reporting.export import (
    ExportRow,
    format_entities,
    write_csv,
    write_csv_stream,
)
from sanctionwatch.slack.poster import Poster
from sanctionwatch.storage.db import Store, matches_from_json

log = logging.getLogger(__name__)


def week_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The previous ISO week: Monday 00:00 UTC (inclusive) to this Monday 00:00 (exclusive)."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    this_monday = day - timedelta(days=day.weekday())
    return this_monday - timedelta(days=7), this_monday


def _sources(store: Store, story_id: int | None, cache: dict[int, str]) -> str:
    """``Reuters; AP`` — the feeds whose items joined the story, in the order they came."""
    if not story_id:
        return ""
    if story_id not in cache:
        feeds = store.db.execute(
            "SELECT i.feed FROM story_items s JOIN items i ON i.item_id = s.item_id"
            " WHERE s.story_id = ? ORDER BY s.joined_at, s.rowid",
            [story_id],
        ).fetchall()
        cache[story_id] = "; ".join(dict.fromkeys(str(f[0]) for f in feeds))
    return cache[story_id]


def _delivered(status: str, digest: bool) -> str:
    """``yes``: posted as its own message; ``digest``: listed in a posted digest; ``no``: not
    posted (yet), including an alert whose digest period has not ended."""
    if status != "delivered":
        return "no"
    return "digest" if digest else "yes"


# Called with (rows done, rows in the range) while the export is built (the CLI's progress).
ExportProgress = Callable[[int, int], None]


def export_rows(
    store: Store, since: datetime, until: datetime, progress: ExportProgress | None = None
) -> list[ExportRow]:
    sources: dict[int, str] = {}
    rows = []
    alerts = store.alerts_between(since, until)
    digested = in_digest(store, [int(r["id"]) for r in alerts])
    for r in alerts:
        rows.append(
            ExportRow(
                alert_id=r["id"],
                detected_at=r["created_at"] or "",
                published_at=r["published_at"] or "",
                feed=r["feed"] or "",
                title=r["title"] or "",
                link=r["link"] or "",
                rule="; ".join(x["rule"] for x in json.loads(r["rules"]))
                if r.get("rules")
                else r["rule"],
                severity=r["severity"],
                channel=r["channel"],
                entities=format_entities(matches_from_json(r["matches"])),
                delivered=_delivered(r["status"], int(r["id"]) in digested),
                disposition=r["disposition"] or "",
                disposition_by=r["disposition_by"] or "",
                disposition_at=r["disposition_at"] or "",
                story_id=r.get("story_id"),
                story_first=bool(r["story_first"]) if r.get("story_id") else None,
                story_sources=_sources(store, r.get("story_id"), sources),
                disposition_reason=r.get("disposition_reason") or "",
            )
        )
        if progress is not None:
            progress(len(rows), len(alerts))
    return rows


def export_to_stream(
    store: Store,
    since: datetime,
    until: datetime,
    stream: TextIO,
    progress: ExportProgress | None = None,
) -> int:
    """The CSV for [since, until) written to ``stream`` (stdout). Not recorded as an export:
    nothing was kept or uploaded, so the weekly job still owes its file and upload."""
    if until <= since:
        raise SanctionwatchError(
            f"export range is empty: --until {until:%Y-%m-%d} is not after --since {since:%Y-%m-%d}"
        )
    return write_csv_stream(export_rows(store, since, until, progress), stream)


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
    progress: ExportProgress | None = None,
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
    count = write_csv(export_rows(store, since, until, progress), out)
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
        if is_dry_run(poster):
            _show_dry_run_upload(store, poster, export_id, files, to_slack)
        else:
            _upload_export(store, poster, export_id, files, to_slack, since, until, count, out)
    return out, count


def is_dry_run(poster: Poster | None) -> bool:
    """True for the terminal poster (no SLACK_BOT_TOKEN): nothing it "sends" reaches Slack."""
    return bool(getattr(poster, "dry_run", False))


DRY_RUN_EXPORT_NOTE = "dry run: not uploaded to {channel}"


def _show_dry_run_upload(
    store: Store, poster: Poster, export_id: int, files: list[Path], channel: str
) -> None:
    """Show what would be uploaded, and record that it was not: the export keeps
    ``uploaded_to`` empty (its ``error`` says why), so a run with a real token uploads it."""
    for path in files:
        poster.upload_file(channel, path, title=path.name)
    note = DRY_RUN_EXPORT_NOTE.format(channel=channel)
    with store.transaction() as db:
        db.execute("UPDATE exports SET error = ? WHERE id = ?", [note, export_id])
    log.warning("export not uploaded export=%d channel=%s reason=dry_run", export_id, channel)


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


def export_due(
    settings: Settings, store: Store, now: datetime, dry_run: bool = False
) -> tuple[datetime, datetime] | None:
    """The week to export if this week's scheduled time has passed and it is not done yet.

    Done: uploaded, or its uploads still queued. In a dry run a written export is done too
    (there is nowhere to upload it); with a real token the same week is due again, so a
    dry run before the token was set never stands in for the upload."""
    since, until = week_bounds(now)
    hour, minute = (int(x) for x in settings.slack.export_time.split(":"))
    scheduled = until + timedelta(
        days=WEEKDAYS.index(settings.slack.export_weekday), hours=hour, minutes=minute
    )
    if now < scheduled:
        return None
    row = store.db.execute(
        "SELECT count(*) FROM exports e WHERE e.since = ? AND e.until = ? AND"
        " (? OR e.uploaded_to IS NOT NULL OR EXISTS (SELECT 1 FROM outbox o WHERE"
        " o.ref = 'export:' || e.id AND o.status IN ('pending', 'retrying', 'unknown')))",
        [iso(since), iso(until), int(dry_run)],
    ).fetchone()
    return None if row[0] else (since, until)


def weekly_export_job(
    settings: Settings, store: Store, poster: Poster, now: datetime | None = None
) -> Path | None:
    week = export_due(settings, store, now or utcnow(), dry_run=is_dry_run(poster))
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
