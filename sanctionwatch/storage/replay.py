"""Apply each Slack request once: replayed signatures and Slack's retries are acked, not redone.

Bolt rejects a forged or stale signature (older than the five-minute window) with 401, but a
request captured in flight verifies again for five minutes, and Slack redelivers a request it
thinks was not acked (``X-Slack-Retry-Num``), with a fresh timestamp and signature. Either
would record a disposition twice, or re-add an entry an admin removed in between.

So every request that changes something carries a ``RequestKey``, and the change claims it in
``slack_requests_seen`` inside the same transaction (``claim``): the claim and the effect commit
together or not at all, so a crash between them can neither apply a request twice nor lose it.

* ``sig:<timestamp>:<signature>`` — the request itself; seen before → a replay.
* ``delivery:<trigger_id or event_id>`` — what Slack redelivers unchanged in a retry; looked at
  only when the request says it is a retry (a fresh request never reuses a trigger id, but this
  keeps a mistaken id from swallowing a real command). A retry whose original never arrived
  (that key unseen) is applied: it is the only copy.

Socket Mode requests carry no signature (the websocket is authenticated); there the delivery
key is the request's identity.

Rows older than the signature window plus a margin are pruned on every claim: a replay that old
gets 401 from bolt anyway, and Slack's last retry comes about five minutes after the first try.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from sanctionwatch.clock import iso, utcnow
from sanctionwatch.storage.schema import SEEN_REQUESTS_TABLE

log = logging.getLogger(__name__)

SEEN_TABLE = SEEN_REQUESTS_TABLE
# Slack's signature window (bolt's SignatureVerifier rejects older timestamps).
SIGNATURE_WINDOW = timedelta(minutes=5)
# Slack retries after ~1 and ~5 minutes; clocks drift. Rows this much past the window go.
PRUNE_MARGIN = timedelta(minutes=10)
RETRY_HEADER = "x-slack-retry-num"
_KEEP = SIGNATURE_WINDOW + PRUNE_MARGIN


class DuplicateRequest(Exception):
    """This request (or its original, for a retry) was applied already; do nothing more."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class RequestKey:
    """Identity of one Slack request for replay and retry detection."""

    signature: str | None  # "sig:<timestamp>:<v0=…>" (None in Socket Mode)
    delivery: str | None  # "delivery:<trigger_id|event_id>", stable across Slack's retries
    retry: int = 0  # X-Slack-Retry-Num (0: a first delivery)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k in (self.signature, self.delivery) if k)


def _header(headers: Mapping[str, Sequence[str] | str], name: str) -> str:
    value = headers.get(name)
    if isinstance(value, str):
        return value.strip()
    return str(value[0]).strip() if value else ""


def request_key(headers: Mapping[str, Sequence[str] | str], body: Mapping[str, Any]) -> RequestKey:
    """The key of a request from its (lower-cased) headers and parsed body."""
    signature = _header(headers, "x-slack-signature")
    timestamp = _header(headers, "x-slack-request-timestamp")
    retry_text = _header(headers, RETRY_HEADER)
    try:
        retry = int(retry_text) if retry_text else 0
    except ValueError:
        retry = 1  # present but odd: still a redelivery
    ident = str(body.get("trigger_id") or body.get("event_id") or "")
    return RequestKey(
        signature=f"sig:{timestamp}:{signature}" if signature else None,
        delivery=f"delivery:{ident}" if ident else None,
        retry=retry,
    )


def _seen(db: sqlite_utils.Database, key: str) -> bool:
    return db.execute(f"SELECT 1 FROM {SEEN_TABLE} WHERE key = ?", [key]).fetchone() is not None


def ensure_new(db: sqlite_utils.Database, key: RequestKey | None) -> None:
    """DuplicateRequest if ``key`` was applied already; records nothing.

    For a check before slow work that precedes the change (``/feeds add`` fetches the feed
    first): a replay is dropped before it costs a download. ``claim`` still decides, inside
    the transaction, since two copies can pass this check at once."""
    if key is None:
        return
    primary = key.signature or key.delivery
    if primary is None:
        return
    if _seen(db, primary):
        log.warning("slack request replayed key=%s; acked, not applied again", primary[:40])
        raise DuplicateRequest(primary)
    if key.retry and key.delivery and key.delivery != primary and _seen(db, key.delivery):
        log.info("slack retry ignored retry=%d key=%s: applied already", key.retry, key.delivery)
        raise DuplicateRequest(key.delivery)


def claim(db: sqlite_utils.Database, key: RequestKey | None, now: datetime | None = None) -> None:
    """Record ``key`` as applied, inside the caller's transaction; DuplicateRequest if it was.

    Call it first in the transaction that makes the request's change, so the row and the change
    commit together.
    """
    if key is None:
        return
    now = now or utcnow()
    db.execute(f"DELETE FROM {SEEN_TABLE} WHERE seen_at < ?", [iso(now - _KEEP)])
    if (key.signature or key.delivery) is None:
        return  # nothing identifies it (no signature, no trigger id): cannot dedupe
    ensure_new(db, key)
    for k in key.keys:
        db.execute(
            f"INSERT OR IGNORE INTO {SEEN_TABLE} (key, seen_at) VALUES (?, ?)", [k, iso(now)]
        )
