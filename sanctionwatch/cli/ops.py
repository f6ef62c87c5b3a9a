"""Operator commands: ``feeds`` (per-feed health) and ``status`` (a monitoring check)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TextIO

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


def cmd_feeds(args: argparse.Namespace, out: TextIO) -> int:

    settings = settings_from_args(args)
    store = open_store(settings)
    store.sync_feeds((f.name, f.url) for f in settings.feeds)
    now = utcnow()
    rows = store.feeds()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2), file=out)
        return 0
    for r in rows:
        health = "GONE" if r["gone"] else ("FAILING" if r["consecutive_failures"] else "ok")
        print(f"{r['name']}  [{health}]  {r['url']}", file=out)
        print(f"  last fetch:   {_ago(r['last_fetch_at'], now)}  HTTP {r['last_status']}", file=out)
        print(f"  last success: {_ago(r['last_success_at'], now)}", file=out)
        print(
            f"  last error:   {r['last_error'] or '-'}"
            f"{' at ' + r['last_error_at'] if r['last_error'] else ''}",
            file=out,
        )
        print(
            f"  failures in a row: {r['consecutive_failures']}  items seen: {r['items_seen']}"
            f"  alerts: {r['alerts']}",
            file=out,
        )
        print(
            f"  next poll:    {'never (gone)' if r['gone'] else _ago(r['next_poll_at'], now)}",
            file=out,
        )
    if not rows:
        print("No feeds configured.", file=out)
    return 0


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 0 healthy, 1 when feeds fail, alerts wait or failed, or a configured list failed
    to refresh or is stale (monitoring checks use this)."""
    from sanctionwatch.cli.delivery import status_lines

    settings = settings_from_args(args)
    store = open_store(settings)
    store.sync_feeds((f.name, f.url) for f in settings.feeds)
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
