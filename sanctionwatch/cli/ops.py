"""Operator commands: the ``feeds`` listing (per-feed health) and ``status`` (a monitoring
check)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, TextIO

from sanctionwatch.cli.common import settings_from_args
from sanctionwatch.clock import parse_iso, utcnow
from sanctionwatch.runtime import open_store


def _ago(value: str | None, now: datetime) -> str:
    dt = parse_iso(value)
    if dt is None:
        return "never"
    secs = int((now - dt).total_seconds())
    sign = "ago" if secs >= 0 else "from now"
    secs = abs(secs)
    unit = (
        f"{secs // 86400}d"
        if secs >= 86400
        else f"{secs // 3600}h"
        if secs >= 3600
        else f"{secs // 60}m"
        if secs >= 60
        else f"{secs}s"
    )
    return f"{value} ({unit} {sign})"


def print_feeds(rows: list[dict[str, Any]], out: TextIO) -> None:
    """The ``feeds`` listing: one block per feed."""
    now = utcnow()
    for r in rows:
        if r.get("paused"):
            health = "PAUSED"
        else:
            health = (
                "GONE" if r.get("gone") else ("FAILING" if r.get("consecutive_failures") else "ok")
            )
        print(f"{r['name']}  [{health}]  {r['url']}", file=out)
        extra = f"  channel: {r['channel']}" if r.get("channel") else ""
        print(f"  from: {r['origin']}  every {r['interval_minutes']} min{extra}", file=out)
        status = r.get("last_status")
        print(f"  last fetch:   {_ago(r.get('last_fetch_at'), now)}  HTTP {status}", file=out)
        print(f"  last success: {_ago(r.get('last_success_at'), now)}", file=out)
        print(
            f"  last error:   {r.get('last_error') or '-'}"
            f"{' at ' + r['last_error_at'] if r.get('last_error') else ''}",
            file=out,
        )
        print(
            f"  failures in a row: {r.get('consecutive_failures') or 0}"
            f"  items seen: {r.get('items_seen') or 0}  alerts: {r.get('alerts') or 0}",
            file=out,
        )
        nxt = "never (gone)" if r.get("gone") else _ago(r.get("next_poll_at"), now)
        print(f"  next poll:    {nxt}", file=out)
    if not rows:
        print("No feeds configured.", file=out)


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 0 healthy, 1 when feeds fail, alerts wait or failed, or a configured list failed
    to refresh or is stale (monitoring checks use this)."""
    from sanctionwatch.cli.delivery import status_lines

    settings = settings_from_args(args)
    store = open_store(settings)
    from sanctionwatch.storage.feedstore import active_feeds

    store.sync_feeds((f.name, f.url) for f in active_feeds(settings.feeds, store.db))
    rows = store.feeds()
    failing = [r["name"] for r in rows if r["consecutive_failures"] or r["gone"]]
    pending = store.count_pending()
    last = store.last_export()
    print(
        f"feeds: {len(rows) - len(failing)} healthy, {len(failing)} failing"
        + (f" ({', '.join(failing)})" if failing else ""),
        file=out,
    )
    print(f"alerts pending delivery: {pending}", file=out)
    failed_lines, failed = status_lines(store)
    for line in failed_lines:
        print(line, file=out)
    from sanctionwatch.cli.lists import status_lines as list_status_lines

    list_lines, lists_bad = list_status_lines(settings, store)
    for line in list_lines:
        print(line, file=out)
    print(
        "last export: "
        + (
            f"{last['created_at']} {last['path']} ({last['rows']} rows"
            f"{', uploaded to ' + last['uploaded_to'] if last['uploaded_to'] else ''})"
            if last
            else "never"
        ),
        file=out,
    )
    return 1 if failing or pending or failed or lists_bad else 0
