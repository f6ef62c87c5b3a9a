"""The weekly compliance export: when it runs, what it writes and uploads, and catching up."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sanctionwatch.cli.watchlist  # noqa: F401 - registers the watchlist-changes companion
from sanctionwatch.alerting.exports import export_due, week_bounds, weekly_export_job
from sanctionwatch.config.settings import load_settings
from sanctionwatch.models import Alert
from sanctionwatch.slack.poster import SlackPoster
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.overlay import add_entry
from tests.support.factories import make_item, make_match
from tests.support.pipeline import TOKEN
from tests.support.slack_api import SlackApiStub

# Wednesday 2026-11-25; the previous ISO week is Mon 2026-11-16 .. Mon 2026-11-23.
IN_WEEK = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_week_bounds() -> None:
    assert week_bounds(datetime(2026, 11, 25, 9, tzinfo=UTC)) == (
        MONDAY - timedelta(days=7),
        MONDAY,
    )
    assert week_bounds(MONDAY) == (MONDAY - timedelta(days=7), MONDAY)


def _seed(store: Store) -> None:
    m = make_match("North Korea", "DPRK", detail="exact")
    item = make_item(
        "guid:x|1",
        title='=HYPERLINK("http://evil") DPRK shells',
        link="https://e.org/1",
        published=IN_WEEK,
    )
    with store.transaction() as db:
        store.record_item(
            db,
            item,
            None,
            [m],
            [Alert(rule="r", severity="high", channel="#a", matches=(m,))],
            IN_WEEK,
        )


def test_weekly_job_runs_once_after_its_time_and_uploads_both_files(
    tmp_path: Path, slack_api: SlackApiStub
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'database = "sw.db"\n[slack]\nexport_weekday = "monday"\n'
        'export_time = "08:00"\nexport_channel = "#compliance"\n',
        encoding="utf-8",
    )
    settings = load_settings(str(cfg), env={}, cwd=tmp_path)
    store = Store(settings.database)
    _seed(store)
    add_entry(store, [], Actor("U1", "ana"), "vessels", "Sky Aries", etype="vessel", now=IN_WEEK)
    slack_api.add_channel("#compliance")
    poster = SlackPoster(TOKEN, slack_api.base_url, backoff_s=0.01)

    assert export_due(settings, store, MONDAY + timedelta(hours=7, minutes=59)) is None
    path = weekly_export_job(settings, store, poster, now=MONDAY + timedelta(hours=8, minutes=1))
    assert path is not None and path.name == "alerts-2026-W47.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig", newline="")))
    assert len(rows) == 1 and rows[0]["title"].startswith("'=HYPERLINK")  # made inert
    names = sorted(u["filename"] for u in slack_api.uploads.values())
    assert names == ["alerts-2026-W47.csv", "watchlist-changes-2026-W47.csv"]
    # done for this week: later ticks do nothing; a bot that was down catches up next time
    assert weekly_export_job(settings, store, poster, now=MONDAY + timedelta(hours=9)) is None
    assert export_due(settings, store, MONDAY + timedelta(days=7, hours=10)) == (
        MONDAY,
        MONDAY + timedelta(days=7),
    )


def test_dry_run_export_is_not_recorded_as_uploaded_so_the_real_upload_follows(
    tmp_path: Path, slack_api: SlackApiStub
) -> None:
    import io

    from sanctionwatch.slack.dryrun import DryRunPoster

    cfg = tmp_path / "c.toml"
    cfg.write_text('database = "sw.db"\n[slack]\nexport_channel = "#compliance"\n', "utf-8")
    settings = load_settings(str(cfg), env={}, cwd=tmp_path)
    store = Store(settings.database)
    _seed(store)
    terminal = io.StringIO()
    after = MONDAY + timedelta(hours=9)
    path = weekly_export_job(settings, store, DryRunPoster(terminal), now=after)
    assert path is not None and "alerts-2026-W47.csv" in terminal.getvalue()
    last = store.last_export()
    assert last is not None and last["uploaded_to"] is None
    assert last["error"] == "dry run: not uploaded to #compliance"
    # still in dry run: the week is done, no export every minute
    assert weekly_export_job(settings, store, DryRunPoster(terminal), now=after) is None
    # a real token later: the week is still owed its upload, and gets it
    slack_api.add_channel("#compliance")
    poster = SlackPoster(TOKEN, slack_api.base_url, backoff_s=0.01)
    assert weekly_export_job(settings, store, poster, now=after + timedelta(minutes=1))
    assert "alerts-2026-W47.csv" in sorted(u["filename"] for u in slack_api.uploads.values())
    assert store.last_export()["uploaded_to"] == "#compliance"
