"""Delivery: each alert and outbox message is its own little state machine.

    pending ──post ok──────────────────────────────► delivered
       │  429 / 5xx / connection error (not sent) ──► retrying (backoff, next_attempt_at)
       │  answer lost (reset after send, timeout) ──► unknown (look in history first)
       │  permanent Slack error ────────────────────► failed (error_code kept)

Nothing and nobody holds the others back. Rows are taken by next-attempt time, so one in
backoff goes behind the rest. A transient failure skips only that channel for the rest of the
round; a channel-wide error (gone, archived, bot not invited) fails that channel's waiting
rows and lets every other channel go on; one refused message (``invalid_blocks``,
``msg_too_long``) is tried once shortened and then failed, alone. Only a bad token stops the
round for everyone, since no post can work; its row is failed, not retried forever. Transient
errors give up too, after MAX_TRANSIENT_ATTEMPTS or MAX_RETRY_AGE.

Exactly once: every post carries Slack message metadata naming the alert (or notice) id.
When the answer to a post is lost, the row becomes ``unknown since`` that attempt; before it is
posted again the channel's history from then on is searched for that id, and a message found
there is recorded as the delivery instead of posting a second copy.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sanctionwatch.alerting.digest import DIGEST_KIND, digest_delivered, queue_due_digests
from sanctionwatch.alerting.mutes import FALSE_POSITIVE_STORY
from sanctionwatch.alerting.outbox import (
    WAITING,
    Job,
    channel_row,
    due_jobs,
    enqueue,
    fail_channel,
    set_channel,
    set_state,
    waiting_channels,
)
from sanctionwatch.alerting.threads import after_delivery, alert_view, copy_parent_ts, parent_of
from sanctionwatch.clock import iso, utcnow
from sanctionwatch.errors import DeliveryError
from sanctionwatch.slack.format import escape
from sanctionwatch.slack.poster import Poster
from sanctionwatch.slack.storyformat import format_copy, render_alert
from sanctionwatch.storage.db import Store

log = logging.getLogger(__name__)

ALERT_EVENT = "sanctionwatch_alert"  # metadata event_type of alert messages
NOTICE_EVENT = "sanctionwatch_notice"  # … of outbox notices
# A channel-wide error: no message to that channel can work until someone fixes the channel.
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
# The token or the app is wrong: no post to any channel can work.
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "missing_scope"}
)
# Slack refused this one message: a shortened version may pass.
REFUSED_ERRORS = frozenset({"invalid_blocks", "msg_too_long"})
# Transient errors give up after this many attempts or this long after the first attempt,
# whichever comes first. 24 h is longer than any Slack outage on record, and an alert that
# old has lost its worth as a push notice (it is in the CSV and `alerts --failed`, and
# `deliver --retry-failed` sends it anyway). With the backoff below, 20 attempts span at least
# 15 hours, so the count only bites when runs come very often.
MAX_TRANSIENT_ATTEMPTS = 20
MAX_RETRY_AGE = timedelta(hours=24)
# Backoff after a transient failure: the next run tries again (runs are already minutes apart),
# then 1, 2, 4 … minutes, at most an hour, so a long outage costs one attempt an hour per row.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# Slack itself looks down (5xx / connection errors on this many channels in a row, nothing
# delivered in between): stop the round rather than wait out every channel's retries.
SLACK_DOWN_AFTER = 3
ROUND_LIMIT = 1000  # rows per table per round; the rest are taken next round
NOTICE_TEXT_CHARS = 3000  # a notice's text-only fallback, inside a section's limit


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed_attempts: int = 0  # attempts that did not deliver (retrying, unknown or failed)
    found_in_history: int = 0  # unknown rows found already posted
    failed: list[tuple[str, int, str]] = field(default_factory=list)  # (table, id, code)
    stopped: str | None = None  # why the round ended early (bad token, Slack down)


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt (1-based)."""
    if attempts <= 1:
        return timedelta(0)
    steps = min(attempts - 2, (BACKOFF_MAX // BACKOFF_BASE).bit_length())  # no overflow
    wait: timedelta = min(BACKOFF_BASE * 2**steps, BACKOFF_MAX)
    return wait


class _Round:
    def __init__(self, store: Store, poster: Poster, now: datetime) -> None:
        self.store = store
        self.poster = poster
        self.now = now
        self.report = DeliveryReport()
        self.skip: set[str] = waiting_channels(store, now)  # channels left alone this round
        self.down: set[str] = set()  # channels with 5xx/connection errors since a delivery
        self.streaks: dict[str, str] = {}  # channel → error that started a failure streak

    # ---- one job ----------------------------------------------------------------------------
    def handle(self, job: Job) -> None:
        if self.report.stopped or job.channel in self.skip:
            return
        if job.table == "alerts" and job.row.get("thread_of") and self._held(job):
            return
        attempt_at = utcnow()
        try:
            if job.status == "unknown" and job.unknown_since is not None and job.kind != "upload":
                ts = self._find(job)
                if ts is not None:
                    self.report.found_in_history += 1
                    log.info(
                        "found in history, not posted again %s=%d channel=%s ts=%s",
                        _label(job),
                        job.id,
                        job.channel,
                        ts,
                    )
                    self._delivered(job, ts, attempt_at, attempt=False)
                    return
            ts = self._send(job)
        except DeliveryError as exc:
            self._failed(job, exc, attempt_at)
            return
        self._delivered(job, ts, attempt_at)

    def _held(self, job: Job) -> bool:
        """A story copy waits while its first message waits; a copy of a story judged a false
        positive is never posted (recorded as suppressed)."""
        parent = parent_of(self.store, job.row)
        if parent is None:
            return False
        if parent.get("disposition") == "false_positive":
            self.store.db.execute(
                "UPDATE alerts SET status = 'suppressed', suppressed = ? WHERE id = ?",
                [FALSE_POSITIVE_STORY, job.id],
            )
            log.info("story copy quieted alert=%d story_alert=%d", job.id, parent["id"])
            return True
        return parent["status"] in WAITING

    def _thread_ts(self, job: Job) -> str | None:
        if job.table == "alerts":
            return copy_parent_ts(self.store, job.row)
        return str(job.row["thread_ts"]) if job.row.get("thread_ts") else None

    def _find(self, job: Job) -> str | None:
        assert job.unknown_since is not None
        event, key = (ALERT_EVENT, "alert_id") if job.table == "alerts" else (NOTICE_EVENT, "id")
        thread = self._thread_ts(job)
        if thread:
            return self.poster.find_message(
                job.channel, event, key, job.id, job.unknown_since, thread_ts=thread
            )
        return self.poster.find_message(job.channel, event, key, job.id, job.unknown_since)

    def _post(self, job: Job, text: str, blocks: list[dict[str, Any]], meta: dict[str, Any]) -> str:
        thread = self._thread_ts(job)
        if thread:
            return self.poster.post(job.channel, text, blocks, meta, thread_ts=thread)
        return self.poster.post(job.channel, text, blocks, meta)

    def _send(self, job: Job) -> str:
        if job.table == "alerts":
            view = alert_view(self.store, job.id)
            if view is None:  # the item is gone: nothing left to say
                raise DeliveryError(f"alert {job.id} has no item to show")
            if self._thread_ts(job) and not job.reduced:
                text, blocks = format_copy(view)
            else:
                text, blocks = render_alert(view, reduced=job.reduced)
            meta = {"event_type": ALERT_EVENT, "event_payload": {"alert_id": job.id}}
            return self._post(job, text, blocks, meta)
        row = job.row
        if job.kind == "upload":
            path = Path(str(row["file_path"]))
            self.poster.upload_file(
                job.channel, path, title=str(row["title"] or path.name), comment=row["text"] or ""
            )
            return ""
        text = str(row["text"] or "")
        blocks = [] if job.reduced else json.loads(row["blocks"] or "[]")
        if job.reduced:
            text = text[:NOTICE_TEXT_CHARS]
        meta = {"event_type": NOTICE_EVENT, "event_payload": {"id": job.id, "kind": job.kind}}
        return self._post(job, text, blocks, meta)

    # ---- outcomes ---------------------------------------------------------------------------
    def _delivered(self, job: Job, ts: str, at: datetime, attempt: bool = True) -> None:
        attempts = job.attempts + (1 if attempt else 0)
        if job.table == "alerts":
            self.store.mark_delivered(job.id, job.channel, ts, at)  # also counts attempts
            set_state(
                self.store,
                job,
                "delivered",
                attempts=attempts,
                next_attempt_at=None,
                error_code=None,
                first_attempt_at=iso(job.first_attempt_at or at),
            )
            log.info(
                "alert delivered alert=%d rule=%s channel=%s ts=%s",
                job.id,
                job.row.get("rule"),
                job.channel,
                ts,
            )
            after_delivery(self.store, self.poster, job.row, ts)
        else:
            set_state(
                self.store,
                job,
                "delivered",
                attempts=attempts,
                delivered_at=iso(at),
                slack_ts=ts or None,
                next_attempt_at=None,
                last_error=None,
                error_code=None,
            )
            log.info(
                "message delivered outbox=%d kind=%s channel=%s", job.id, job.kind, job.channel
            )
            _after_outbox_delivery(self.store, job, at)
        self.report.delivered += 1
        self.down.clear()
        if job.table == "alerts" and channel_row(self.store, job.channel).get("failing_since"):
            set_channel(self.store, job.channel, failing_since=None, notified=0, last_error=None)
            log.info("channel delivers again channel=%s", job.channel)

    def _failed(self, job: Job, exc: DeliveryError, at: datetime) -> None:
        code = str(getattr(exc, "error", "") or "error")
        retryable = bool(getattr(exc, "retryable", True))
        unknown = bool(getattr(exc, "unknown", False))
        self.report.failed_attempts += 1
        attempts = job.attempts + 1
        first = job.first_attempt_at or at
        common = {"attempts": attempts, "first_attempt_at": iso(first), "last_error": exc.message}
        log.warning(
            "delivery failed %s=%d channel=%s error=%s attempts=%d message=%r",
            _label(job),
            job.id,
            job.channel,
            code,
            attempts,
            exc.message,
        )
        if code in AUTH_ERRORS:
            self._fail(job, code, **common)
            self.report.stopped = code
            log.error("delivery stopped for every channel error=%s hint=%r", code, exc.hint)
            return
        if code in REFUSED_ERRORS and not job.reduced:
            set_state(self.store, job, job.status, reduced=1, **common)
            job.reduced, job.attempts, job.first_attempt_at = True, attempts, first
            log.info("retrying shortened %s=%d channel=%s", _label(job), job.id, job.channel)
            self.handle(job)
            return
        if not retryable:
            self._fail(job, code, **common)
            if code in CHANNEL_ERRORS:
                self.skip.add(job.channel)
                others = fail_channel(self.store, job.table, job.channel, code, exc.message)
                for other in others:
                    self.report.failed.append((job.table, other, code))
                self._streak(job, code)
            return
        self.skip.add(job.channel)  # transient: this channel waits for the next round
        if attempts >= MAX_TRANSIENT_ATTEMPTS or at - first >= MAX_RETRY_AGE:
            self._fail(job, code, **common)
            self._streak(job, code)
        elif unknown:
            since = job.unknown_since or at
            set_state(
                self.store, job, "unknown", unknown_since=iso(since), next_attempt_at=None, **common
            )
        else:
            wait = backoff(attempts)
            retry_after = getattr(exc, "retry_after_s", None)
            if retry_after:
                wait = max(wait, timedelta(seconds=float(retry_after)))
                set_channel(
                    self.store,
                    job.channel,
                    retry_after_until=iso(at + timedelta(seconds=float(retry_after))),
                )
            set_state(self.store, job, "retrying", next_attempt_at=iso(at + wait), **common)
        if code != "ratelimited":
            self.down.add(job.channel)
            if len(self.down) >= SLACK_DOWN_AFTER:
                self.report.stopped = "slack_unavailable"
                log.warning("delivery round stopped: Slack looks down channels=%d", len(self.down))

    def _fail(self, job: Job, code: str, **fields: object) -> None:
        set_state(self.store, job, "failed", error_code=code, next_attempt_at=None, **fields)
        self.report.failed.append((job.table, job.id, code))

    def _streak(self, job: Job, code: str) -> None:
        """A channel of alerts starts (or continues) failing: remembered for one ops notice."""
        if job.table != "alerts":
            return
        row = channel_row(self.store, job.channel)
        if not row.get("failing_since"):
            set_channel(self.store, job.channel, failing_since=iso(self.now), notified=0)
        set_channel(self.store, job.channel, last_error=code)
        self.streaks[job.channel] = code

    def notify(self, ops_channel: str | None) -> int:
        """Queue one ops notice per channel whose failure streak was not told yet."""
        sent = 0
        rows = self.store.db.query(
            "SELECT * FROM delivery_channels WHERE failing_since IS NOT NULL AND notified = 0"
        )
        for row in list(rows):
            channel = str(row["channel"])
            failed = int(
                self.store.db.execute(
                    "SELECT count(*) FROM alerts WHERE channel = ? AND status = 'failed'",
                    [channel],
                ).fetchone()[0]
            )
            text = (
                f":warning: Alerts to {escape(channel)} cannot be delivered: "
                f"{escape(str(row['last_error']))} ({failed} alert(s) failed since "
                f"{row['failing_since']}). Fix the channel (invite the bot, unarchive it, or "
                "point the rule elsewhere), then run `bot.py deliver --retry-failed --channel "
                f"{escape(channel)}`."
            )
            if ops_channel and ops_channel != channel:
                enqueue(self.store, "ops", ops_channel, text, ref=f"channel:{channel}")
            log.warning(
                "channel failing channel=%s error=%s failed=%d", channel, row["last_error"], failed
            )
            set_channel(self.store, channel, notified=1)
            sent += 1
        return sent


def _label(job: Job) -> str:
    return "alert" if job.table == "alerts" else "outbox"


def _after_outbox_delivery(store: Store, job: Job, at: datetime) -> None:
    """A digest delivered: its alerts are delivered. An export's last upload delivered: the
    export counts as uploaded."""
    if job.kind == DIGEST_KIND:
        digest_delivered(store, job.id, job.channel, at)
        return
    ref = str(job.row.get("ref") or "")
    if job.kind != "upload" or not ref.startswith("export:"):
        return
    left = store.db.execute(
        "SELECT count(*) FROM outbox WHERE ref = ? AND status != 'delivered'", [ref]
    ).fetchone()[0]
    if not left:
        store.db.execute(
            "UPDATE exports SET uploaded_to = ?, error = NULL WHERE id = ?",
            [job.channel, int(ref.split(":", 1)[1])],
        )


def deliver_all(
    store: Store,
    poster: Poster,
    *,
    ops_channel: str | None = None,
    now: datetime | None = None,
    limit: int = ROUND_LIMIT,
    outbox_ids: list[int] | None = None,
    alerts: bool = True,
) -> DeliveryReport:
    """One delivery round: due alerts, then ops notices about failing channels, then the
    rest of the outbox (``outbox_ids``: only those rows, e.g. a notice just queued). A full
    round (``alerts``) first queues the digests whose period ended by ``now``."""
    now = now or utcnow()
    rnd = _Round(store, poster, now)
    if alerts:
        queue_due_digests(store, now)
        for job in due_jobs(store, "alerts", now, limit):
            rnd.handle(job)
            if rnd.report.stopped:
                break
        rnd.notify(ops_channel)
    if not rnd.report.stopped:
        for job in due_jobs(store, "outbox", now, limit, outbox_ids):
            rnd.handle(job)
            if rnd.report.stopped:
                break
    return rnd.report
