"""Refreshing the configured official lists: on schedule (each poll cycle asks which are due)
and on demand (``watchlist refresh``). New designations are announced as after a file
import; a list that fails to refresh or goes stale is told to the ops channel once per
problem, through the outbox (queued, then delivered now or by a later run)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.designations import announce
from sanctionwatch.alerting.outbox import enqueue
from sanctionwatch.clock import utcnow
from sanctionwatch.config.lists import ListConfig
from sanctionwatch.config.settings import Settings
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.slack.format import escape_fit
from sanctionwatch.slack.poster import Poster
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.refresh import (
    IMPORTED,
    RefreshOutcome,
    check_list_configs,
    due_lists,
    list_health,
    mark_notified,
    notified,
    refresh_list,
)

log = logging.getLogger(__name__)

SCHEDULE_ACTOR = Actor("scheduler", "scheduled list refresh", "schedule")
MAX_OPS_PROBLEM_CHARS = 1500  # the error quotes a server's text; keep the notice in bounds


def _announce(settings: Settings, store: Store, poster: Poster, outcome: RefreshOutcome) -> None:
    report = outcome.report
    if outcome.status != IMPORTED or report is None or not settings.slack.alert_designations:
        return
    announce(report, poster, settings.slack.default_channel, report.version == 1, store)


def refresh_lists(
    settings: Settings,
    store: Store,
    poster: Poster,
    lists: Sequence[ListConfig],
    *,
    actor: Actor = SCHEDULE_ACTOR,
    now: datetime | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> list[RefreshOutcome]:
    """Refresh the given lists one after the other, then tell ops about any problem.

    ``progress`` is called with (lists done, name) before each list (the CLI's terminal
    line: a download and import of an official list can take a minute)."""
    now = now or utcnow()
    check_list_configs(settings)
    outcomes = []
    for done, cfg in enumerate(lists):
        if progress is not None:
            progress(done, cfg.name)
        outcome = refresh_list(store.db, settings, cfg, actor=actor, now=now)
        outcomes.append(outcome)
        try:
            _announce(settings, store, poster, outcome)
        except SanctionwatchError as exc:  # the import stands; the notice is retried later
            log.error("designation notice failed list=%s error=%r", cfg.name, str(exc))
    notify_list_problems(settings, store, poster, now)
    return outcomes


def refresh_due(
    settings: Settings, store: Store, poster: Poster, now: datetime | None = None
) -> list[RefreshOutcome]:
    """The per-cycle due check of ``run`` and ``serve``."""
    now = now or utcnow()
    due = due_lists(store.db, settings, now)
    if not due:
        if settings.lists:
            notify_list_problems(settings, store, poster, now)  # staleness grows with time
        return []
    return refresh_lists(settings, store, poster, due, now=now)


def notify_list_problems(
    settings: Settings, store: Store, poster: Poster, now: datetime | None = None
) -> int:
    """Queue one ops notice per list per new problem kind (failed / stale); a list back to
    health is forgotten so its next problem is told again. Returns notices queued."""
    channel = settings.slack.ops_channel
    queued: list[int] = []
    for health in list_health(store.db, settings, now):
        kind = health.problem.split(":", 1)[0] if health.problem else None
        if kind == notified(store.db, health.name):
            continue
        if health.problem is not None and channel:
            text = (
                f":warning: Official list *{escape_fit(health.name, 200)}*: "
                f"{escape_fit(health.problem, MAX_OPS_PROBLEM_CHARS)} "
                f"(last good copy: {health.last_success_at or 'never'}; {health.list_date})"
            )
            with store.transaction():
                queued.append(enqueue(store, "ops", channel, text, ref=f"list:{health.name}"))
                mark_notified(store.db, health.name, kind)
        else:
            mark_notified(store.db, health.name, kind)
        if health.problem is not None:
            log.warning("list needs attention list=%s problem=%r", health.name, health.problem)
    if queued:
        deliver_all(store, poster, alerts=False, outbox_ids=queued)
    return len(queued)
