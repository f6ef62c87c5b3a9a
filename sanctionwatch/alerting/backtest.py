"""Backtest: today's watchlists and rules over the items already recorded.

Each stored item (title and its kept text, ``storage.db.ITEM_TEXT_CHARS``) is matched and
evaluated again with the current engine, and what would alert now is set against what
alerted then (the ``alerts`` table, whatever its delivery state): per item and rule,
``new`` (would alert now, did not then), ``gone`` (alerted then, would not now) or ``same``.

Limits, said where the user sees them (README): items are only those still kept by the
retention settings; an item's text is the stored part, so a rule that then fired on words
past ITEM_TEXT_CHARS (or past the 500 characters older releases kept) can show as ``gone``;
items that were recorded without alerting because of the first-poll backfill window show as
``new``. Nothing is written: a backtest never queues an alert.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sanctionwatch.clock import iso
from sanctionwatch.matching.engine import Engine
from sanctionwatch.storage.db import Store

log = logging.getLogger(__name__)

NEW, GONE, SAME = "new", "gone", "same"
BATCH = 500  # items read per query, so a year of items is never held at once


@dataclass(frozen=True)
class BacktestRow:
    item_id: str
    feed: str
    title: str
    link: str | None
    first_seen_at: str
    rule: str
    change: str  # new | gone | same

    def as_dict(self) -> dict[str, str | None]:
        return {
            "link": self.link,
            "title": self.title,
            "rule": self.rule,
            "change": self.change,
            "item_id": self.item_id,
            "feed": self.feed,
            "first_seen_at": self.first_seen_at,
        }


def _where(since: datetime | None, until: datetime | None) -> tuple[str, list[str]]:
    clauses, params = [], []
    if since is not None:
        clauses.append("first_seen_at >= ?")
        params.append(iso(since) or "")
    if until is not None:
        clauses.append("first_seen_at < ?")
        params.append(iso(until) or "")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def count_items(store: Store, since: datetime | None, until: datetime | None) -> int:
    where, params = _where(since, until)
    return int(store.db.execute(f"SELECT count(*) FROM items{where}", params).fetchone()[0])


def _items(
    store: Store, since: datetime | None, until: datetime | None
) -> Iterator[dict[str, str]]:
    where, params = _where(since, until)
    last = ("", "")
    while True:
        page = "(first_seen_at, item_id) > (?, ?)"
        cond = f"{where} AND {page}" if where else f" WHERE {page}"
        rows = list(
            store.db.query(
                "SELECT item_id, feed, title, summary, link, first_seen_at FROM items"
                f"{cond} ORDER BY first_seen_at, item_id LIMIT {BATCH}",
                [*params, *last],
            )
        )
        yield from rows
        if len(rows) < BATCH:
            return
        last = (rows[-1]["first_seen_at"], rows[-1]["item_id"])


def backtest(
    store: Store,
    engine: Engine,
    default_channel: str,
    *,
    rule: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[BacktestRow]:
    """One row per (item, rule) that alerted then or would alert now, in first-seen order."""
    done = 0
    for row in _items(store, since, until):
        then = _alerted_rules(store, row["item_id"])
        matches = engine.match(row["title"] or "", row["summary"] or "")
        now = {a.rule for a in engine.evaluate(matches, default_channel)} if matches else set()
        if rule is not None:
            then, now = then & {rule}, now & {rule}
        for name in sorted(then | now):
            change = SAME if name in then and name in now else (NEW if name in now else GONE)
            yield BacktestRow(
                row["item_id"],
                row["feed"],
                row["title"] or "",
                row["link"],
                row["first_seen_at"],
                name,
                change,
            )
        done += 1
        if progress is not None:
            progress(done)


def _alerted_rules(store: Store, item_id: str) -> set[str]:
    """Every rule that alerted on the item then: an alert row is one message per item and
    channel, its ``rule`` the top rule and ``rules`` (JSON) all of those that fired."""
    fired: set[str] = set()
    for top, rules in store.db.execute(
        "SELECT rule, rules FROM alerts WHERE item_id = ?", [item_id]
    ):
        fired.add(top)
        fired.update(r["rule"] for r in json.loads(rules or "[]"))
    return fired
